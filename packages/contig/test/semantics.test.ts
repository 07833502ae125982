import { BuddyAllocator } from "@mem/buddy";
import { ContigAllocator, PageQueues } from "@mem/contig";
import { createContigCompat } from "@mem/contig/compat";
import { createMachine, InvalidArgumentError, KernelPanic, PRESETS } from "@mem/machine";
import { describe, expect, it } from "vitest";
import { booted } from "./helpers.js";

const K = 1024;
const M = 1024 * K;
const G = 1024 * M;

describe("ContigAllocator argument semantics", () => {
  it("rounds the size up to whole pages", () => {
    const { c } = booted();
    const h1 = c.allocate({ size: 1 })!;
    expect(h1.pages).toBe(1);
    expect(h1.size).toBe(4096);
    const h2 = c.allocate({ size: 4097 })!;
    expect(h2.pages).toBe(2);
    expect(h2.pfn).toBe(h1.pfn + 1);
    c.free(h1);
    c.free(h2);
    c.checkInvariants();
  });

  it("panics (compat) or throws InvalidArgumentError (idiomatic) on size 0 and non-powers of two", () => {
    const { c } = booted();
    const digest = c.buddy.stateDigest();
    expect(() => c.vmContigPgAlloc(0, 0, 2 ** 32, 4096, 0)).toThrow(KernelPanic);
    expect(() => c.vmContigPgAlloc(4096, 0, 2 ** 32, 3 * 4096, 0)).toThrow(
      /alignment must be a power of 2/,
    );
    expect(() => c.vmContigPgAlloc(4096, 0, 2 ** 32, 4096, 96 * K)).toThrow(
      /boundary must be a power of 2/,
    );
    expect(() => c.vmContigPgAlloc(4096, 0, 2 ** 32, 0, 0)).toThrow(KernelPanic);
    expect(() => c.allocate({ size: 0 })).toThrow(InvalidArgumentError);
    expect(() => c.allocate({ size: 4096, alignment: 12288 })).toThrow(InvalidArgumentError);
    expect(() => c.allocate({ size: 4096, boundary: 3 })).toThrow(InvalidArgumentError);
    expect(c.buddy.stateDigest()).toBe(digest);
  });

  it("treats high as exclusive: a run ending exactly at high fits, one page more does not", () => {
    const { c } = booted();
    const low = 8 * M;
    const high = low + 8 * 4096;
    const h = c.allocate({ size: 8 * 4096, low, high })!;
    expect(h.physAddr).toBe(low);
    c.free(h);
    expect(c.allocate({ size: 9 * 4096, low, high })).toBeNull();
    expect(c.vmContigPgAlloc(9 * 4096, low, high, 4096, 0)).toBe(-1);
    c.checkInvariants();
  });

  it("boundary 64 KiB with 64 KiB only returns aligned runs; 68 KiB never fits; 0 never constrains", () => {
    const { c, b } = booted();
    // Break alignment: take one page at 8 MiB + 4 KiB.
    expect(b.allocContigRange(2049, 2050)).toBe(true);
    const h = c.allocate({ size: 64 * K, low: 8 * M, boundary: 64 * K })!;
    expect(h.physAddr % (64 * K)).toBe(0);
    expect(h.physAddr).toBe(8 * M + 64 * K);
    expect(c.allocate({ size: 68 * K, boundary: 64 * K })).toBeNull();
    const h0 = c.allocate({ size: 68 * K, low: 8 * M, boundary: 0 })!;
    expect(h0.physAddr).toBe(8 * M + 128 * K); // after h: 8 MiB + 8 KiB would overlap it
    c.free(h);
    c.free(h0);
    c.checkInvariants();
  });

  it("applies the boundary test with exact arithmetic above 4 GiB, and high 2^32 - 1 loses the top page", () => {
    const m = createMachine({
      name: "flat-5g",
      arch: "x86_64",
      memoryMap: [{ start: 0x100000, end: 5 * G, type: "usable" }],
    });
    const b = new BuddyAllocator(m);
    b.freeAllRam();
    const c = new ContigAllocator({ buddy: b });
    // 60 KiB above 4 GiB, 8 KiB would cross the 64 KiB line: the run moves to the line.
    const h = c.allocate({ size: 8 * K, low: 2 ** 32 + 60 * K, boundary: 64 * K })!;
    expect(h.physAddr).toBe(2 ** 32 + 64 * K);
    // A 32-bit xor would see 0xF000 ^ 0x10FFF and the same window for many wrong answers; check it.
    expect(Math.floor(h.physAddr / (64 * K))).toBe(
      Math.floor((h.physAddr + h.size - 1) / (64 * K)),
    );
    const top = c.allocate({ size: 4096, low: 2 ** 32 - 4096, high: 2 ** 32 })!;
    expect(top.physAddr).toBe(2 ** 32 - 4096);
    c.free(top);
    expect(c.allocate({ size: 4096, low: 2 ** 32 - 4096, high: 2 ** 32 - 1 })).toBeNull();
    // Alignment to 4 GiB on a 5 GiB machine.
    const big = c.allocate({ size: 4096, alignment: 2 ** 32, low: 1 })!;
    expect(big.physAddr).toBe(2 ** 32);
    c.free(h);
    c.free(big);
    c.checkInvariants();
  });

  it("requires physical adjacency, not adjacency in the page array", () => {
    // numa-64g has holes between nodes; its sections are dense indexes.
    const m = createMachine(PRESETS["x86_64-2node"]!);
    const b = new BuddyAllocator(m);
    b.freeAllRam();
    const c = new ContigAllocator({ buddy: b, search: "linear" });
    const ranges = m.presentPfnRanges();
    expect(ranges.length).toBeGreaterThan(1);
    // Ask for a run straddling the end of the first present range: never granted.
    const end0 = ranges[0]!.end;
    const h = c.allocate({ size: 8 * 4096, low: (end0 - 4) * 4096, high: (end0 + 64) * 4096 });
    if (h !== null) {
      for (let k = 0; k < h.pages; k++) expect(m.pfnIsRam(h.pfn + k)).toBe(true);
      expect(h.pfn >= end0 || h.pfn + h.pages <= end0).toBe(true);
    }
  });
});

describe("i386-4g scenario (PR kern/55081)", () => {
  const high = 0xe0000000;
  const setup = (legacy: boolean) => {
    const m = createMachine(PRESETS["i386-4g"]!);
    const b = new BuddyAllocator(m);
    b.freeAllRam();
    const q = new PageQueues(m);
    const c = new ContigAllocator({ buddy: b, queues: q, legacy, search: "indexed" });
    return { m, b, c };
  };

  it("contigmalloc of 1 GiB fails for lack of kernel VA without leaking; vm_contig_pg_alloc succeeds", () => {
    const { b, c } = setup(false);
    const free0 = b.freePageCount;
    const kva0 = c.kernelMap.print();
    expect(c.contigmalloc(G, 0, high, 4 * M, 0)).toBe(0);
    expect(b.freePageCount).toBe(free0);
    expect(c.kernelMap.print()).toBe(kva0);
    expect(c.stats.leakedPages).toBe(0);

    const idx = c.vmContigPgAlloc(G, 0, high, 4 * M, 0);
    expect(idx).toBeGreaterThanOrEqual(0);
    expect((idx * 4096) % (4 * M)).toBe(0);
    expect(idx * 4096 + G).toBeLessThanOrEqual(high);
    expect(b.freePageCount).toBe(free0 - 262144);
    expect(c.kernelMap.print()).toBe(kva0);
    expect(c.vmContigPgKmapin(idx, G)).toBe(0);
    expect(b.freePageCount).toBe(free0 - 262144);
    c.vmContigPgFree(idx, G);
    expect(b.freePageCount).toBe(free0);
    c.checkInvariants();
  });

  it("legacy contigmalloc1 leaks the 262,144 wired pages when the map is full", () => {
    const { b, c, m } = setup(true);
    const free0 = b.freePageCount;
    expect(c.contigmalloc(G, 0, high, 4 * M, 0)).toBe(0);
    expect(b.freePageCount).toBe(free0 - 262144);
    expect(c.stats.leakedPages).toBe(262144);
    expect(c.allocationCount).toBe(0); // reachable from nothing
    let pinned = 0;
    for (let i = 0; i < m.pages.flags.length; i++) if (m.pages.owner[i] === c.ownerTag) pinned++;
    expect(pinned).toBe(262144);
    c.checkInvariants();
  });

  it("the idiomatic API checks kernel VA first: no page operation at all", () => {
    const { b, c } = setup(false);
    const before = b.stats.pgalloc.reduce((x, y) => x + y, 0);
    const digest = b.stateDigest();
    expect(c.allocate({ size: G, high, alignment: 4 * M, kernelMapping: true })).toBeNull();
    expect(b.stats.pgalloc.reduce((x, y) => x + y, 0)).toBe(before);
    expect(b.stateDigest()).toBe(digest);
    expect(c.stats.kvaFailures).toBe(1);
    const h = c.allocate({ size: G, high, alignment: 4 * M })!;
    expect(h.kernelAddress).toBe(0);
    expect(c.mapKernel(h)).toBe(0);
    c.free(h);
    const small = c.allocate({ size: 64 * K, kernelMapping: true })!;
    expect(small.kernelAddress).toBeGreaterThanOrEqual(0xc0000000);
    expect(c.vtophys(small.kernelAddress + 4096 + 5)).toBe(small.physAddr + 4096 + 5);
    c.free(small);
    c.checkInvariants();
  });
});

describe("compat factory", () => {
  it("rejects a page array that is not the allocator's and a foreign map", () => {
    const m = createMachine(PRESETS.small!);
    const m2 = createMachine(PRESETS.small!);
    const b = new BuddyAllocator(m);
    b.freeAllRam();
    const c0 = new ContigAllocator({ buddy: b });
    expect(() => createContigCompat(m2.pages, b, c0.kernelMap)).toThrow(InvalidArgumentError);
    c0.detach();
    const api = createContigCompat(m.pages, b, c0.kernelMap);
    const idx = api.vm_contig_pg_alloc(8192, 0, 2 ** 32, 4096, 0);
    expect(() => api.vm_contig_pg_kmapin(idx, 8192, c0.mirror as never)).toThrow(
      InvalidArgumentError,
    );
    const va = api.vm_contig_pg_kmapin(idx, 8192, c0.kernelMap);
    expect(va).toBeGreaterThan(0);
    api.vm_contig_pg_free(idx, 8192);
    api.allocator.checkInvariants();
  });
});
