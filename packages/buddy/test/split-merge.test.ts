import {
  __GFP_MEMALLOC,
  BuddyAllocator,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  MIGRATE_MOVABLE,
} from "@mem/buddy";
import { describe, expect, it } from "vitest";
import { blockStrings, bootedSmall, smallMachine } from "./helpers.js";

describe("BuddyAllocator.alloc", () => {
  it("splits an order-4 block for an order-2 request as Linux's expand() does", () => {
    const m = smallMachine();
    const a = new BuddyAllocator(m, { pcp: false });
    // One free block: pfns 4096-4111 (relative 0-15), order 4.
    a.freePagesBootmem(4096, 4);
    expect(blockStrings(a)).toEqual(["4096/4"]);
    const pfn = a.alloc(GFP_HIGHUSER_MOVABLE | __GFP_MEMALLOC, 2);
    // 0-3 are returned, 8-15 go to order 3, 4-7 to order 2.
    expect(pfn).toBe(4096);
    expect(a.freeBlocks()).toEqual([
      { pfn: 4100, order: 2, zoneId: 1, migratetype: MIGRATE_MOVABLE },
      { pfn: 4104, order: 3, zoneId: 1, migratetype: MIGRATE_MOVABLE },
    ]);
    expect(a.zoneInfo(1).nrFree).toEqual([0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
    a.checkInvariants();
    a.free(pfn, 2);
    expect(blockStrings(a)).toEqual(["4096/4"]);
    a.checkInvariants();
  });

  it("refuses an allocation below the watermarks unless __GFP_MEMALLOC", () => {
    const m = smallMachine();
    const a = new BuddyAllocator(m, { pcp: false });
    a.freePagesBootmem(4096, 4);
    // 16 managed pages: min_free_kbytes 128 -> min 32 pages > 16 free.
    expect(a.alloc(GFP_HIGHUSER_MOVABLE, 0)).toBe(-1);
    expect(a.stats.allocFail).toBe(1);
    expect(a.stats.allocWarn).toBe(1);
  });
});

describe("BuddyAllocator.free", () => {
  it("merges every block back to MAX_ORDER blocks after a mixed workload", () => {
    const { a } = bootedSmall({ checkPages: true });
    const before = blockStrings(a);
    expect(a.zoneInfo(1).nrFree[10]).toBe(12); // DMA32: 12 blocks of 1024 pages
    const live: [number, number][] = [];
    for (let k = 0; k < 200; k++) {
      const order = k % 7;
      const pfn = a.alloc(GFP_KERNEL, order);
      expect(pfn).toBeGreaterThan(0);
      live.push([pfn, order]);
    }
    a.checkInvariants();
    // Free in a scrambled order.
    for (let k = 0; k < live.length; k++) {
      const [pfn, order] = live[(k * 37) % live.length]!;
      a.free(pfn, order);
    }
    a.drain();
    a.checkInvariants();
    expect(blockStrings(a)).toEqual(before);
    expect(a.zoneInfo(1).nrFree[10]).toBe(12);
  });

  it("puts hot pages at the head and cold pages at the tail of the per-CPU list", () => {
    const { a } = bootedSmall();
    const p1 = a.alloc(GFP_KERNEL, 0);
    const p2 = a.alloc(GFP_KERNEL, 0);
    a.freeHotCold(p1, true); // cold: tail
    a.freeHotCold(p2, false); // hot: head
    expect(a.alloc(GFP_KERNEL, 0)).toBe(p2);
    a.checkInvariants();
  });

  it("returns a batch to the buddy lists when a per-CPU list reaches high", () => {
    const { a } = bootedSmall();
    const info = a.zoneInfo(1);
    const pages: number[] = [];
    for (let k = 0; k < info.pcpHigh + 10; k++) pages.push(a.alloc(GFP_KERNEL, 0));
    for (const p of pages) a.free(p, 0);
    const after = a.zoneInfo(1);
    expect(after.pcpCounts[0]).toBeLessThan(info.pcpHigh);
    a.checkInvariants();
  });
});
