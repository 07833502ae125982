/**
 * The kernel's names over one allocator (`@mem/buddy/compat`): `alloc_pages`, `__free_pages`,
 * `__get_free_pages`, `get_zeroed_page`, `free_pages`, `get_page`, `put_page`, `page_count`,
 * `free_hot_cold_page`, and hook registration. Bind the allocator first with
 * {@link set_page_allocator}.
 *
 * @module
 */
import type { FreePageHook } from "@mem/machine";
import type { BuddyAllocator } from "./buddy-allocator.js";
import { __GFP_ZERO } from "./gfp.js";

let current: BuddyAllocator | null = null;

function mm(): BuddyAllocator {
  if (current === null)
    throw new Error("no page allocator bound: call set_page_allocator(allocator) first");
  return current;
}

/** Binds the allocator the compat names act on (null unbinds). */
export function set_page_allocator(allocator: BuddyAllocator | null): void {
  current = allocator;
}

/** The bound allocator, or null. */
export function page_allocator(): BuddyAllocator | null {
  return current;
}

/** `alloc_pages(gfp_mask, order)`: the first pfn of the block, or null on failure. */
export function alloc_pages(gfp_mask: number, order: number): number | null {
  const pfn = mm().alloc(gfp_mask, order);
  return pfn < 0 ? null : pfn;
}

/** `alloc_page(gfp_mask)`: `alloc_pages(gfp_mask, 0)`. */
export function alloc_page(gfp_mask: number): number | null {
  return alloc_pages(gfp_mask, 0);
}

/** `__free_pages(page, order)`: drops a reference; the last frees the block. */
export function __free_pages(pfn: number, order: number): void {
  mm().free(pfn, order);
}

/** `__free_page(page)`. */
export function __free_page(pfn: number): void {
  mm().free(pfn, 0);
}

/** `__get_free_pages(gfp_mask, order)`: the physical address of the block, 0 on failure. */
export function __get_free_pages(gfp_mask: number, order: number): number {
  const a = mm();
  const pfn = a.alloc(gfp_mask, order);
  return pfn < 0 ? 0 : pfn * a.machine.pageSize;
}

/** `__get_free_page(gfp_mask)`. */
export function __get_free_page(gfp_mask: number): number {
  return __get_free_pages(gfp_mask, 0);
}

/** `get_zeroed_page(gfp_mask)`: a zeroed page's physical address, 0 on failure. */
export function get_zeroed_page(gfp_mask: number): number {
  return __get_free_pages(gfp_mask | __GFP_ZERO, 0);
}

/** `free_pages(addr, order)`: frees by physical address; address 0 is ignored, as in Linux. */
export function free_pages(addr: number, order: number): void {
  if (addr === 0) return;
  const a = mm();
  const ps = a.machine.pageSize;
  if (!Number.isSafeInteger(addr) || addr < 0 || addr % ps !== 0)
    throw new RangeError(`free_pages: address ${addr} is not a page-aligned address`);
  a.free(addr / ps, order);
}

/** `free_page(addr)`. */
export function free_page(addr: number): void {
  free_pages(addr, 0);
}

/** `get_page(page)`. */
export function get_page(pfn: number): void {
  mm().getPage(pfn);
}

/** `put_page(page)`. */
export function put_page(pfn: number): void {
  mm().putPage(pfn);
}

/** `page_count(page)`. */
export function page_count(pfn: number): number {
  return mm().pageCount(pfn);
}

/** `free_hot_cold_page(page, cold)`: frees an order-0 page to the hot or cold end of the pcp list. */
export function free_hot_cold_page(pfn: number, cold: boolean | number): void {
  mm().freeHotCold(pfn, Boolean(cold));
}

/** `drain_all_pages()`. */
export function drain_all_pages(): void {
  mm().drain();
}

/** Registers an `arch_free_page` hook; returns the function that removes it. */
export function register_free_page_hook(hook: FreePageHook): () => void {
  return mm().addFreeHook(hook);
}

/** Removes an `arch_free_page` hook. */
export function unregister_free_page_hook(hook: FreePageHook): boolean {
  return mm().removeFreeHook(hook);
}
