import {
  BuddyAllocator,
  type FreePoolObserver,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
} from "@mem/buddy";
import { describe, expect, it } from "vitest";
import { blockStrings, bootedSmall } from "./helpers.js";

describe("BuddyAllocator hotplug", () => {
  it("takes onlined memory as free and managed, vetoes busy offlining, forgets offlined memory", () => {
    const { m, a } = bootedSmall();
    const managed = a.managedPages;
    m.addMemory(32768, 32768); // section 1, Normal zone
    expect(a.managedPages).toBe(managed + 32768);
    const normal = m.zones.find((z) => z.name === "Normal")!.id;
    expect(a.zoneInfo(normal).freePages).toBe(32768);
    a.checkInvariants();
    const p = a.alloc(GFP_KERNEL, 0); // Normal first in the zonelist
    expect(p).toBeGreaterThanOrEqual(32768);
    const before = a.stateDigest();
    expect(m.removeMemory(32768, 32768)).toBe(false); // vetoed: a page is in use
    expect(a.stateDigest()).toBe(before);
    a.free(p, 0);
    expect(m.removeMemory(32768, 32768)).toBe(true);
    expect(a.managedPages).toBe(managed);
    expect(a.zoneInfo(normal).managed).toBe(0);
    a.checkInvariants();
  });

  it("gives an isolated range back when another listener vetoes", () => {
    const { m, a } = bootedSmall();
    m.addMemory(32768, 32768, 0, true); // Movable
    const free = a.freePageCount;
    const off = m.subscribe((e) => (e.type === "going-offline" ? false : undefined));
    expect(m.removeMemory(32768, 32768)).toBe(false);
    expect(a.freePageCount).toBe(free);
    a.checkInvariants();
    off();
    expect(a.alloc(GFP_HIGHUSER_MOVABLE, 10)).toBeGreaterThanOrEqual(32768);
  });
});

describe("BuddyAllocator ranges", () => {
  it("allocates a free pfn range, splitting blocks, and gives it back", () => {
    const { a } = bootedSmall({ checkPages: true });
    const before = blockStrings(a);
    expect(a.allocContigRange(5000, 5003)).toBe(true);
    expect(a.pageCount(5000)).toBe(1);
    expect(a.pageCount(5002)).toBe(1);
    expect(a.rangeIsFree(4999, 5001)).toBe(false);
    a.checkInvariants();
    const digest = a.stateDigest();
    expect(a.allocContigRange(4990, 5001)).toBe(false); // overlaps allocated pages
    expect(a.stateDigest()).toBe(digest);
    a.freeContigRange(5000, 5003);
    a.drain();
    expect(blockStrings(a)).toEqual(before);
    a.checkInvariants();
  });

  it("isolates and un-isolates, draining per-CPU pages in the range", () => {
    const { a } = bootedSmall();
    const p = a.alloc(GFP_KERNEL, 0);
    a.free(p, 0); // now on a per-CPU list
    expect(a.isolateFreeRange(p - 2, p + 2)).toBe(true);
    a.checkInvariants();
    a.unisolateRange(p - 2, p + 2);
    a.checkInvariants();
    expect(() => a.unisolateRange(p, p + 1)).toThrow();
  });

  it("lists free blocks and notifies the observer of pages entering and leaving", () => {
    const { a } = bootedSmall();
    let net = 0;
    const obs: FreePoolObserver = {
      pagesFreed: (_p, n) => {
        net += n;
      },
      pagesTaken: (_p, n) => {
        net -= n;
      },
    };
    a.setFreePoolObserver(obs);
    const x = a.alloc(GFP_KERNEL, 2);
    const y = a.alloc(GFP_KERNEL, 0);
    expect(net).toBe(-5);
    a.free(x, 2);
    a.free(y, 0);
    expect(net).toBe(0);
    a.setFreePoolObserver(null);
    let pages = 0;
    a.forEachFreeBlock((_pfn, order) => {
      pages += 2 ** order;
    });
    expect(pages + a.zoneInfo(0).pcpPages + a.zoneInfo(1).pcpPages).toBe(a.managedPages);
    expect(a.freeBlocks(0).every((b) => b.zoneId === 0)).toBe(true);
  });

  it("allocates migration targets inside constraints", () => {
    const { a } = bootedSmall();
    const p = a.allocPagesIn(GFP_KERNEL, 3, { zoneId: 0 });
    expect(p).toBeLessThan(4096);
    const q = a.allocPagesIn(GFP_KERNEL, 0, { avoid: { start: 0, end: 15000 } });
    expect(q).toBeGreaterThanOrEqual(15000);
    expect(a.allocPagesIn(GFP_KERNEL, 10, { avoid: { start: 0, end: 16384 } })).toBe(-1);
    a.checkInvariants();
    const pa = a.pageAllocator();
    const r = pa.allocPages(1);
    pa.freePages(r, 1);
    a.free(p, 3);
    a.free(q, 0);
    a.checkInvariants();
    expect(new BuddyAllocator(a.machine, { hotplug: false }).allocPages(0)).toBe(-1);
  });
});
