/**
 * The benchmark scenarios, written once against the operations both the word-at-a-time
 * `Rootmem` and the bit-at-a-time `ReferenceRootmem` share, so the equivalence test can run
 * them on both.
 */
import { Rootmem } from "../src/index.js";
import { ReferenceRootmem } from "./reference.js";

export const PAGE = 4096;

/** What the scenarios need from an implementation. */
export interface Impl {
  registerNode(nid: number, start: number, end: number): void;
  mapPages(): number;
  setup(mapPfn: number): void;
  free(addr: number, size: number): void;
  reserve(addr: number, size: number, exclusive?: boolean): number;
  allocNode(nid: number, size: number, align: number, goal: number, limit: number): number | null;
  releaseNode(nid: number, sink: (pfn: number, order: number) => void): number;
}

/** The word-at-a-time allocator. */
export function fast(): Impl {
  return new Rootmem({ pageSize: PAGE, bitsPerLong: 64 });
}

/** The bit-at-a-time reference. */
export function naive(): Impl {
  return new ReferenceRootmem(PAGE, 64);
}

/**
 * A booted machine of `pages` pages: one node, page 0 and the low megabyte's firmware hole
 * reserved, the kernel image at 16 MiB, the bitmap right after the first MiB.
 */
export function booted(make: () => Impl, pages: number): Impl {
  const r = make();
  r.registerNode(0, 0, pages);
  const mapPages = r.mapPages();
  r.setup(256);
  r.free(PAGE, 0x9f000 - PAGE);
  r.free(0x100000, pages * PAGE - 0x100000);
  r.reserve(256 * PAGE, mapPages * PAGE);
  r.reserve(16 * 1024 * 1024, 12 * 1024 * 1024);
  return r;
}

/** Sizes of the small allocations: 24..280 bytes, deterministic. */
export function smallSize(i: number): number {
  return 24 + ((i * 37) % 257);
}

/** `n` small allocations with merging (align 8, no goal); returns the addresses. */
export function smallAllocs(r: Impl, n: number, out: number[] = []): number[] {
  for (let i = 0; i < n; i++) out.push(r.allocNode(-1, smallSize(i), 8, 0, 0) ?? -1);
  return out;
}

/** `n` page-aligned blocks of 1..16 pages from the 16 MiB goal; returns the addresses. */
export function pageBlocks(r: Impl, n: number, out: number[] = [], first = 0): number[] {
  for (let i = first; i < first + n; i++) {
    out.push(r.allocNode(-1, (1 + (i % 16)) * PAGE, PAGE, 16 * 1024 * 1024, 0) ?? -1);
  }
  return out;
}
