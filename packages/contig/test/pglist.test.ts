import { BuddyAllocator } from "@mem/buddy";
import { createContigCompat, EINVAL, ENOMEM } from "@mem/contig/compat";
import { Extent } from "@mem/extent";
import { createMachine, KernelPanic, PRESETS } from "@mem/machine";
import { describe, expect, it } from "vitest";

const K = 1024;
const M = 1024 * K;

function setup() {
  const m = createMachine(PRESETS.small!);
  const b = new BuddyAllocator(m);
  b.freeAllRam();
  const km = new Extent({ name: "kernel_map", start: 0xc0000000, end: 0xffffffff });
  const api = createContigCompat(m.pages, b, km);
  return { m, b, api };
}

describe("uvm_pglistalloc", () => {
  it("serves the seed's DMA request: 16 KiB, 8 KiB aligned, not crossing 64 KiB, below 16 MiB", () => {
    const { b, api } = setup();
    // Fragment low memory: take every 4th page of the first 4 MiB and 60 KiB at each 64 KiB line.
    for (let p = 16; p < 1024; p += 4) b.allocContigRange(p, p + 1);
    const rlist: number[] = [];
    expect(api.uvm_pglistalloc(16 * K, 0, 16 * M, 8 * K, 64 * K, rlist, 1, 0)).toBe(0);
    expect(rlist.length).toBe(4);
    const pa = rlist[0]! * 4096;
    for (let k = 1; k < 4; k++) expect(rlist[k]).toBe(rlist[0]! + k);
    expect(pa % (8 * K)).toBe(0);
    expect(Math.floor(pa / (64 * K))).toBe(Math.floor((pa + 16 * K - 1) / (64 * K)));
    expect(pa + 16 * K).toBeLessThanOrEqual(16 * M);
    expect(api.allocator.mirror).not.toBeNull();
    api.allocator.checkInvariants();
    api.uvm_pglistfree(rlist);
    expect(rlist.length).toBe(0);
    api.allocator.checkInvariants();
  });

  it("raises alignment below a page to a page, returns EINVAL for boundary < size, panics on non-powers", () => {
    const { b, api } = setup();
    const digest = b.stateDigest();
    const r: number[] = [];
    expect(api.uvm_pglistalloc(16 * K, 0, 16 * M, 8 * K, 8 * K, r, 1, 0)).toBe(EINVAL);
    expect(() => api.uvm_pglistalloc(16 * K, 0, 16 * M, 3 * K, 0, r, 1, 0)).toThrow(KernelPanic);
    expect(() => api.uvm_pglistalloc(16 * K, 0, 16 * M, 4 * K, 96 * K, r, 1, 0)).toThrow(
      KernelPanic,
    );
    expect(b.stateDigest()).toBe(digest);
    expect(api.uvm_pglistalloc(4 * K, 0, 16 * M, 512, 0, r, 1, 0)).toBe(0);
    expect(r.length).toBe(1);
    api.uvm_pglistfree(r);
  });

  it("takes scattered pages on the simple path when nsegs allows, one segment otherwise", () => {
    const { b, api } = setup();
    // [4 MiB, 4 MiB + 64 KiB) with every other page taken.
    const base = 1024;
    b.allocContigRange(base - 64, base);
    for (let p = base; p < base + 16; p += 2) b.allocContigRange(p, p + 1);
    b.allocContigRange(base + 16, base + 80);
    const low = base * 4096;
    const high = (base + 16) * 4096;
    const r1: number[] = [];
    expect(api.uvm_pglistalloc(16 * K, low, high, 4096, 0, r1, 1, 0)).toBe(ENOMEM);
    expect(r1.length).toBe(0);
    const r2: number[] = [];
    expect(api.uvm_pglistalloc(16 * K, low, high, 4096, 0, r2, 4, 0)).toBe(0);
    expect(r2).toEqual([base + 1, base + 3, base + 5, base + 7]);
    const free = b.freePageCount;
    const r3: number[] = [];
    expect(api.uvm_pglistalloc(32 * K, low, high, 4096, 0, r3, 8, 1)).toBe(ENOMEM);
    expect(b.freePageCount).toBe(free);
    api.allocator.checkInvariants();
    api.uvm_pglistfree(r2);
    expect(() => api.uvm_pglistfree([base + 1])).toThrow(KernelPanic);
    api.allocator.checkInvariants();
  });
});
