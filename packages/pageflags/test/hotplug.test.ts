import { createPageFlags, InvalidArgumentError } from "@mem/pageflags";
import { describe, expect, it } from "vitest";
import { FakeAllocator, FakeHotplug, FakeSpace, GIB } from "./fake-machine.js";
import { checkInvariants } from "./invariants.js";

const LEAF = 32768; // one 128 MiB section = one 4 KiB bitmap page

function machine(mode: "present" | "sparse" | "all", failAfter?: number) {
  const space = new FakeSpace({ physAddrBits: 40, ranges: [[0, 4 * LEAF]] });
  const allocator = new FakeAllocator(failAfter !== undefined ? { failAfter } : {});
  const hotplug = new FakeHotplug(space);
  const map = createPageFlags({ space, allocator, mode })!;
  const off = map.subscribe(hotplug);
  return { space, allocator, hotplug, map, off };
}

describe("PageFlagMap.subscribe", () => {
  it("takes bitmap pages for a section coming online in present mode", () => {
    const { space, allocator, hotplug, map } = machine("present");
    expect(map.bitmapPages()).toBe(4);
    hotplug.online(64 * GIB, 64 * GIB + 2 * LEAF, 1);
    expect(map.bitmapPages()).toBe(6);
    map.set(64 * GIB + LEAF + 9);
    expect(map.test(64 * GIB + LEAF + 9)).toBe(true);
    checkInvariants(map, allocator, space);
  });

  it("drops the bitmap pages and their bits when a section goes offline", () => {
    const { space, allocator, hotplug, map } = machine("present");
    hotplug.online(64 * GIB, 64 * GIB + 2 * LEAF);
    map.set(5);
    map.set(64 * GIB + 3);
    map.set(64 * GIB + LEAF + 3);
    expect(hotplug.offline(64 * GIB, 64 * GIB + LEAF)).toBe(true);
    expect(map.bitmapPages()).toBe(5);
    expect([...map]).toEqual([5, 64 * GIB + LEAF + 3]);
    hotplug.offline(64 * GIB + LEAF, 64 * GIB + 2 * LEAF);
    expect([...map]).toEqual([5]);
    expect(map.bitmapPages()).toBe(4);
    // the table page that only served the removed sections went back too; the table keeps the
    // level it grew (root + one table page + 4 bitmap pages), as the kernel's rtree does
    checkInvariants(map, allocator, space);
    expect(map.pagesUsed()).toBe(6);
  });

  it("keeps a bitmap page that still covers present memory, clearing only the offlined bits", () => {
    const { space, allocator, hotplug, map } = machine("present");
    map.set(10);
    map.set(600);
    hotplug.offline(512, 1024); // a 2 MiB subsection inside the first section
    expect(map.bitmapPages()).toBe(4);
    expect([...map]).toEqual([10]);
    checkInvariants(map, allocator, space);
  });

  it("drops sparse bitmap pages left with no set bit", () => {
    const { space, allocator, hotplug, map } = machine("sparse");
    map.set(LEAF + 1);
    map.set(2 * LEAF + 1);
    hotplug.offline(LEAF, 2 * LEAF);
    expect(map.bitmapPages()).toBe(1);
    expect([...map]).toEqual([2 * LEAF + 1]);
    checkInvariants(map, allocator, space);
  });

  it("keeps every page of an all-pages map and only clears bits", () => {
    const space = new FakeSpace({ physAddrBits: 32, ranges: [[0, 4 * LEAF]] });
    const allocator = new FakeAllocator();
    const hotplug = new FakeHotplug(space);
    const map = createPageFlags({ space, allocator, mode: "all" })!;
    map.subscribe(hotplug);
    const pages = map.pagesUsed();
    map.set(LEAF + 4);
    hotplug.offline(LEAF, 2 * LEAF);
    expect(map.pagesUsed()).toBe(pages);
    expect(map.count()).toBe(0);
    hotplug.online(LEAF, 2 * LEAF);
    expect(map.pagesUsed()).toBe(pages);
  });

  it("reports a failed online (no pages) and leaves the range uncovered", () => {
    const { space, allocator, hotplug, map } = machine("present", 6);
    expect(map.pagesUsed()).toBe(5);
    expect(hotplug.online(64 * GIB, 64 * GIB + 2 * LEAF)).toBe(false);
    expect(map.covers(64 * GIB)).toBe(false);
    expect(allocator.outstanding).toBe(5);
    checkInvariants(map, allocator, space);
  });

  it("never vetoes going offline", () => {
    const { map } = machine("present");
    expect(map.onHotplug({ type: "going-offline", startPfn: 0, endPfn: LEAF, nid: 0 })).not.toBe(
      false,
    );
    expect(map.onHotplug({ type: "cancel-offline", startPfn: 0, endPfn: LEAF, nid: 0 })).toBe(
      undefined,
    );
  });

  it("stops listening after unsubscribe and after free", () => {
    const { hotplug, map, off } = machine("present");
    expect(hotplug.subscribers).toBe(1);
    off();
    off();
    expect(hotplug.subscribers).toBe(0);
    hotplug.online(64 * GIB, 64 * GIB + LEAF);
    expect(map.covers(64 * GIB)).toBe(false);
    map.subscribe(hotplug);
    map.free();
    expect(hotplug.subscribers).toBe(0);
  });

  it("rejects a malformed event range", () => {
    const { map } = machine("present");
    for (const [s, e] of [
      [-1, 5],
      [5, 4],
      [0.5, 9],
      [0, 2 ** 40],
    ] as const) {
      expect(() => map.onHotplug({ type: "online", startPfn: s, endPfn: e, nid: 0 })).toThrow(
        InvalidArgumentError,
      );
    }
  });
});
