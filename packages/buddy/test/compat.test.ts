import { BuddyAllocator } from "@mem/buddy";
import {
  __free_pages,
  __get_free_pages,
  alloc_pages,
  free_hot_cold_page,
  free_pages,
  GFP_KERNEL,
  get_page,
  get_zeroed_page,
  page_count,
  put_page,
  register_free_page_hook,
  set_page_allocator,
  unregister_free_page_hook,
} from "@mem/buddy/compat";
import { createMachine, PRESETS } from "@mem/machine";
import { describe, expect, it } from "vitest";

describe("@mem/buddy/compat", () => {
  it("mirrors the kernel names over one allocator", () => {
    const m = createMachine(PRESETS.small!);
    expect(() => alloc_pages(GFP_KERNEL, 0)).toThrow();
    const a = new BuddyAllocator(m);
    set_page_allocator(a);
    expect(alloc_pages(GFP_KERNEL, 0)).toBeNull(); // nothing handed over yet
    a.freeAllRam();
    const pfn = alloc_pages(GFP_KERNEL, 2)!;
    expect(page_count(pfn)).toBe(1);
    get_page(pfn + 1);
    expect(page_count(pfn)).toBe(2);
    put_page(pfn);
    __free_pages(pfn, 2);
    const addr = __get_free_pages(GFP_KERNEL, 1);
    expect(addr % 4096).toBe(0);
    free_pages(addr, 1);
    free_pages(0, 3); // ignored, as in Linux
    const z = get_zeroed_page(GFP_KERNEL);
    expect(a.stats.zeroedPages).toBe(1);
    const seen: number[] = [];
    const hook = { name: "obs", onFree: (p: number) => seen.push(p) > 0 && false };
    register_free_page_hook(hook);
    free_hot_cold_page(z / 4096, 1);
    expect(seen).toEqual([z / 4096]);
    expect(unregister_free_page_hook(hook)).toBe(true);
    a.checkInvariants();
    set_page_allocator(null);
  });
});
