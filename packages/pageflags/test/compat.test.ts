import * as compat from "@mem/pageflags/compat";
import {
  ALL_PAGES,
  allocate_dyn_pageflags,
  BITS_PER_PAGE,
  clear_dyn_pageflags,
  clear_dynpageflag,
  type DynPageflagsRef,
  dyn_pageflags_init,
  dyn_pageflags_use_kzalloc,
  ENOMEM,
  free_dyn_pageflags,
  get_next_bit_on,
  InvalidArgumentError,
  KernelPanic,
  max_pfn,
  PAGE_UL_PTR,
  PAGES_PER_BITMAP,
  PRESENT_PAGES_ONLY,
  SPARSE_PAGES,
  set_dynpageflag,
  test_dynpageflag,
} from "@mem/pageflags/compat";
import { describe, expect, it } from "vitest";
import { FakeAllocator, FakeSpace } from "./fake-machine.js";

const LEAF = 32768;

describe("@mem/pageflags/compat", () => {
  it("exports the issue's C names", () => {
    for (const name of [
      "allocate_dyn_pageflags",
      "free_dyn_pageflags",
      "clear_dyn_pageflags",
      "set_dynpageflag",
      "clear_dynpageflag",
      "test_dynpageflag",
      "get_next_bit_on",
      "PAGE_UL_PTR",
      "PAGES_PER_BITMAP",
      "BITS_PER_PAGE",
      "PRESENT_PAGES_ONLY",
      "ALL_PAGES",
    ]) {
      expect(compat).toHaveProperty(name);
    }
    expect(PRESENT_PAGES_ONLY).toBe(0);
    expect(ALL_PAGES).toBe(1);
  });

  it("runs the C lifecycle: allocate, set, test, walk, clear, free", () => {
    const space = new FakeSpace({ physAddrBits: 40, ranges: [[0, 4 * LEAF]] });
    const allocator = new FakeAllocator();
    dyn_pageflags_init(space, allocator);
    expect(BITS_PER_PAGE).toBe(32768);
    expect(PAGES_PER_BITMAP).toBe(2 ** 28 / 32768);
    expect(max_pfn).toBe(2 ** 28 - 1);
    const map: DynPageflagsRef = { value: null };
    expect(allocate_dyn_pageflags(map, PRESENT_PAGES_ONLY)).toBe(0);
    expect(map.value).not.toBeNull();
    for (const p of [3, 64, LEAF + 1]) set_dynpageflag(map, p);
    expect(test_dynpageflag(map, 64)).toBe(1);
    expect(test_dynpageflag(map, 65)).toBe(0);
    clear_dynpageflag(map, 64);
    expect(test_dynpageflag(map, 64)).toBe(0);
    const seen: number[] = [];
    for (let c = get_next_bit_on(map, max_pfn + 1); c <= max_pfn; c = get_next_bit_on(map, c)) {
      seen.push(c);
    }
    expect(seen).toEqual([3, LEAF + 1]);
    expect(get_next_bit_on(map, LEAF + 1)).toBe(max_pfn + 1);
    clear_dyn_pageflags(map.value!);
    expect(get_next_bit_on(map, max_pfn + 1)).toBe(max_pfn + 1);
    expect(free_dyn_pageflags(map)).toBe(0);
    expect(map.value).toBeNull();
    expect(free_dyn_pageflags(map)).toBe(1);
    expect(allocator.outstanding).toBe(0);
  });

  it("returns -ENOMEM when the allocator runs dry", () => {
    const space = new FakeSpace({ physAddrBits: 36, ranges: [[0, LEAF]] });
    dyn_pageflags_init(space, new FakeAllocator({ failAfter: 100 }));
    const map: DynPageflagsRef = { value: null };
    expect(allocate_dyn_pageflags(map, ALL_PAGES)).toBe(-ENOMEM);
    expect(map.value).toBeNull();
  });

  it("switches sparse allocations to the buddy allocator on dyn_pageflags_use_kzalloc", () => {
    const space = new FakeSpace({ physAddrBits: 40, ranges: [[0, LEAF]] });
    const bootmem = new FakeAllocator({ base: 10 });
    const buddy = new FakeAllocator({ base: 10_000_000 });
    dyn_pageflags_init(space, bootmem);
    const map: DynPageflagsRef = { value: null };
    expect(allocate_dyn_pageflags(map, SPARSE_PAGES)).toBe(0);
    set_dynpageflag(map, 1);
    dyn_pageflags_use_kzalloc(buddy);
    set_dynpageflag(map, 5 * LEAF);
    expect(bootmem.outstanding).toBe(2);
    expect(buddy.outstanding).toBe(1);
    free_dyn_pageflags(map);
    expect(bootmem.outstanding + buddy.outstanding).toBe(0);
  });

  it("panics when a sparse set cannot get a page", () => {
    dyn_pageflags_init(new FakeSpace({ ranges: [] }), new FakeAllocator({ failAfter: 0 }));
    const map: DynPageflagsRef = { value: null };
    allocate_dyn_pageflags(map, SPARSE_PAGES);
    expect(() => set_dynpageflag(map, 9)).toThrow(KernelPanic);
    expect(test_dynpageflag(map, 9)).toBe(0);
  });

  it("rejects NULL maps, bad types, bad counters and double allocation", () => {
    dyn_pageflags_init(new FakeSpace({ ranges: [[0, LEAF]] }), new FakeAllocator());
    const nul: DynPageflagsRef = { value: null };
    expect(() => set_dynpageflag(nul, 1)).toThrow(InvalidArgumentError);
    expect(() => PAGE_UL_PTR(nul, 1)).toThrow(InvalidArgumentError);
    expect(() => allocate_dyn_pageflags(nul, 7)).toThrow(InvalidArgumentError);
    expect(() => clear_dyn_pageflags(null as never)).toThrow(InvalidArgumentError);
    expect(allocate_dyn_pageflags(nul, PRESENT_PAGES_ONLY)).toBe(0);
    expect(() => allocate_dyn_pageflags(nul, PRESENT_PAGES_ONLY)).toThrow(/already/);
    expect(() => get_next_bit_on(nul, -1)).toThrow(InvalidArgumentError);
    expect(() => get_next_bit_on(nul, 0.5)).toThrow(InvalidArgumentError);
    expect(() => set_dynpageflag(nul, -3)).toThrow(InvalidArgumentError);
    free_dyn_pageflags(nul);
  });
});
