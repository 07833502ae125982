/**
 * Each bug of the 2005 seed (Hansen/Cunningham dyn_pageflags), with a test that fails on the
 * seed's behaviour and passes on ours.
 */
import { createPageFlags } from "@mem/pageflags";
import {
  ALL_PAGES,
  allocate_dyn_pageflags,
  type DynPageflagsRef,
  dyn_pageflags_init,
  ENOMEM,
  free_dyn_pageflags,
  PAGE_UL_PTR,
  PAGES_PER_BITMAP,
  PRESENT_PAGES_ONLY,
  set_dynpageflag,
  test_dynpageflag,
} from "@mem/pageflags/compat";
import { describe, expect, it } from "vitest";
import { FakeAllocator, FakeSpace, GIB } from "./fake-machine.js";

const LEAF = 32768;

describe("seed bugs", () => {
  it("pfn_valid_range gets the pfn, not the bitmap index: memory high up gets its bitmap page", () => {
    // Seed: pfn_valid_range(i, i + BITS_PER_PAGE) checks pfns 32, 32800 for bitmap page 32 (pfns
    // from 2^20): not present there, so the page at 4 GiB is never allocated.
    const space = new FakeSpace({ ranges: [[2 ** 20, 2 ** 20 + LEAF]] });
    const allocator = new FakeAllocator();
    const map = createPageFlags({ space, allocator, mode: "present" })!;
    expect(map.covers(2 ** 20)).toBe(true);
    map.set(2 ** 20 + 5);
    expect(map.test(2 ** 20 + 5)).toBe(true);
  });

  it("pfn_valid_range looks at the whole range, not the two ends: a hole-edged node is covered", () => {
    // Present memory strictly inside bitmap page 3 (neither its first pfn nor the next page's).
    const space = new FakeSpace({ ranges: [[3 * LEAF + 1000, 3 * LEAF + 3000]] });
    const map = createPageFlags({ space, allocator: new FakeAllocator(), mode: "present" })!;
    expect(map.bitmapPages()).toBe(1);
    map.set(3 * LEAF + 2000);
    expect(map.test(3 * LEAF + 2000)).toBe(true);
  });

  it("the range end is exclusive: a page is not taken because the next page's first pfn is present", () => {
    // Seed: pfn_valid(end) with end = first pfn of the next bitmap page allocates page 0 here.
    const space = new FakeSpace({ ranges: [[LEAF, 2 * LEAF]] });
    const map = createPageFlags({ space, allocator: new FakeAllocator(), mode: "present" })!;
    expect(map.bitmapPages()).toBe(1);
    expect(map.covers(LEAF - 1)).toBe(false);
  });

  it("free gives back exactly the pages taken ((*pagemap)[i], not pagemap[i]), holes included", () => {
    // Seed: tests pagemap[i] (the pointer-to-table walking off into memory) and frees whatever
    // (*pagemap)[i] holds, NULL or uninitialised, for every i.
    const space = new FakeSpace({
      ranges: [
        [0, LEAF],
        [10 * LEAF, 11 * LEAF],
      ],
    });
    const allocator = new FakeAllocator();
    dyn_pageflags_init(space, allocator);
    const ref: DynPageflagsRef = { value: null };
    expect(allocate_dyn_pageflags(ref, PRESENT_PAGES_ONLY)).toBe(0);
    const taken = allocator.outstanding;
    expect(taken).toBe(3); // 2 bitmap pages + the table page
    expect(free_dyn_pageflags(ref)).toBe(0); // FakeAllocator throws on a free of a page it did not give
    expect(allocator.outstanding).toBe(0);
    expect(allocator.frees).toBe(taken);
    expect(ref.value).toBeNull();
  });

  it("skipped table entries read as missing (the seed kmallocs the table without zeroing it)", () => {
    const space = new FakeSpace({ ranges: [[0, LEAF]] });
    dyn_pageflags_init(space, new FakeAllocator());
    const ref: DynPageflagsRef = { value: null };
    allocate_dyn_pageflags(ref, PRESENT_PAGES_ONLY);
    expect(PAGE_UL_PTR(ref, 5 * LEAF)).toBeNull();
    expect(test_dynpageflag(ref, 5 * LEAF)).toBe(0);
    free_dyn_pageflags(ref);
  });

  it("a failure midway returns -ENOMEM, gives back every page, and leaves the map NULL", () => {
    // Seed: unwinds through the broken free loop (freeing uninitialised entries) and never
    // checks the kmalloc of the table itself.
    const space = new FakeSpace({ ranges: [[0, 8 * GIB]] });
    for (const n of [0, 1, 17, 64]) {
      const allocator = new FakeAllocator({ failAfter: n });
      dyn_pageflags_init(space, allocator);
      const ref: DynPageflagsRef = { value: null };
      expect(allocate_dyn_pageflags(ref, PRESENT_PAGES_ONLY)).toBe(-ENOMEM);
      expect(ref.value).toBeNull();
      expect(allocator.outstanding).toBe(0);
      expect(allocator.frees).toBe(allocator.allocs);
    }
  });

  it("PAGES_PER_BITMAP counts pages for 2^(bits - PAGE_SHIFT) pfns, not (bits - PAGE_SHIFT) pfns", () => {
    // Seed: MAX_MAPNR = MAX_PHYSADDR_BITS - PAGE_SHIFT = 24 pfns -> PAGES_PER_BITMAP = 1.
    const space = new FakeSpace({ physAddrBits: 36, ranges: [[0, LEAF]] });
    dyn_pageflags_init(space, new FakeAllocator());
    expect(PAGES_PER_BITMAP).toBe(512);
    const ref: DynPageflagsRef = { value: null };
    expect(allocate_dyn_pageflags(ref, ALL_PAGES)).toBe(0);
    set_dynpageflag(ref, 2 ** 24 - 1);
    expect(test_dynpageflag(ref, 2 ** 24 - 1)).toBe(1);
    free_dyn_pageflags(ref);
  });

  it("PAGE_UL_PTR indexes the table ((*bitmap)[n]), giving the word that holds the bit", () => {
    const space = new FakeSpace({ ranges: [[0, 4 * LEAF]] });
    dyn_pageflags_init(space, new FakeAllocator());
    const ref: DynPageflagsRef = { value: null };
    allocate_dyn_pageflags(ref, PRESENT_PAGES_ONLY);
    set_dynpageflag(ref, 2 * LEAF + 70);
    const ul = PAGE_UL_PTR(ref, 2 * LEAF + 70)!;
    expect(ul[0]).toBe(1 << 6);
    expect(PAGE_UL_PTR(ref, 2 * LEAF)![0]).toBe(0);
    free_dyn_pageflags(ref);
  });

  it("pfns past 2^31 and 2^32 are not truncated (the seed keeps pfns and indices in int)", () => {
    const space = new FakeSpace({ physAddrBits: 52, ranges: [[2 ** 32 - LEAF, 2 ** 32 + LEAF]] });
    const map = createPageFlags({ space, allocator: new FakeAllocator(), mode: "present" })!;
    map.set(2 ** 32 + 1);
    expect(map.test(1)).toBe(false);
    expect(map.test(2 ** 32 + 1)).toBe(true);
    expect(map.nextSet(0)).toBe(2 ** 32 + 1);
  });

  it("goes beyond the seed's 2 TiB ceiling (512 entries x 128 KiB) to 4 PiB", () => {
    const space = new FakeSpace({ physAddrBits: 52, ranges: [[2 ** 40 - LEAF, 2 ** 40]] });
    const map = createPageFlags({ space, allocator: new FakeAllocator(), mode: "present" })!;
    map.set(2 ** 40 - 1);
    expect(map.test(2 ** 40 - 1)).toBe(true);
    expect(map.pagesUsed()).toBe(4);
  });
});
