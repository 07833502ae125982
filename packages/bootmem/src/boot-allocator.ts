/**
 * The interface every boot-time allocator in this package implements, so a simulator can boot
 * with either the rootmem bitmap or the memblock region arrays behind one option.
 *
 * @module
 */
import type { FreePageSink, PfnRange, PhysRange } from "@mem/machine";
import { InvalidArgumentError } from "@mem/machine";

/** A free-page sink as a plain function: receives each released block of 2^order pages. */
export type FreePageFn = (pfn: number, order: number) => void;

/** Where released pages go: a {@link FreePageSink} (the buddy allocator) or a function. */
export type ReleaseTarget = FreePageSink | FreePageFn;

/** Options of {@link BootAllocator.alloc}. Addresses and sizes are in bytes. */
export interface BootAllocOptions {
  /** Alignment of the block's start, a power of two. @defaultValue the cache line size (`SMP_CACHE_BYTES`) */
  readonly align?: number | undefined;
  /** Preferred lowest address (rootmem: start of the search; memblock: `min_addr`). @defaultValue 0 */
  readonly goal?: number | undefined;
  /** One past the highest usable address; 0 for none. @defaultValue 0 */
  readonly limit?: number | undefined;
  /** Node to allocate from; -1 for any node. @defaultValue -1 */
  readonly nid?: number | undefined;
}

/** The two implementations. */
export type BootAllocatorKind = "rootmem" | "memblock";

/**
 * A boot-time allocator: it serves the kernel before the page allocator exists, then hands every
 * free page to the page allocator and is torn down.
 *
 * Expected misses (no fit) return `null`; misuse (double free in rootmem, calls after release,
 * bad sizes) throws a `KernelPanic` or `InvalidArgumentError` and changes nothing.
 */
export interface BootAllocator {
  /** Which implementation this is. */
  readonly kind: BootAllocatorKind;
  /** Page size in bytes. */
  readonly pageSize: number;
  /** Log lines printed so far, in the kernel's wording. */
  readonly log: readonly string[];
  /** Marks `[addr, addr + size)` reserved (rootmem: every page it touches; memblock: the bytes). */
  reserve(addr: number, size: number): unknown;
  /** Gives `[addr, addr + size)` back (rootmem: whole pages inside, double free is a BUG). */
  free(addr: number, size: number): void;
  /** Allocates `size` bytes; returns the physical address or `null` when nothing fits. */
  alloc(size: number, options?: BootAllocOptions): number | null;
  /** Whether the page is unavailable (reserved, allocated, or outside known memory). */
  isReserved(pfn: number): boolean;
  /** The pfn ranges the allocator manages (rootmem: node spans; memblock: memory regions). */
  spans(): PfnRange[];
  /** The reserved ranges inside known memory, sorted, merged, in bytes (for display). */
  reservedRanges(): PhysRange[];
  /** Releases the free pages of node `nid` into `sink`; returns the number of pages. */
  releaseNode(nid: number, sink?: ReleaseTarget): number;
  /** Releases every node not yet released, in node order; returns the number of pages. */
  releaseAll(sink?: ReleaseTarget): number;
  /** Whether every node has been released (the allocator is gone). */
  readonly released: boolean;
}

/** Turns a {@link ReleaseTarget} into a function. */
export function toSinkFn(target: ReleaseTarget | undefined, field = "sink"): FreePageFn {
  if (typeof target === "function") return target;
  if (target !== undefined && target !== null && typeof target.freePagesBootmem === "function") {
    return (pfn, order) => target.freePagesBootmem(pfn, order);
  }
  throw new InvalidArgumentError(
    `${field} must be a FreePageSink or a function (pfn, order), got ${String(target)}`,
    "EINVAL",
    field,
  );
}
