import { ENOMEM, InvalidArgumentError } from "./errors.js";
import { geometryOf } from "./internal/geometry.js";
import { PageFlagMap, type PageFlagMode } from "./page-flag-map.js";
import type { PageAllocator, PfnSpace } from "./types.js";

/** `enum pageflags_type`: bitmap pages only where valid pfns exist. */
export const PRESENT_PAGES_ONLY = 0;
/** `enum pageflags_type`: bitmap pages for every pfn the address width allows. */
export const ALL_PAGES = 1;
/** Sparse maps (TuxOnIce's `allocate_dyn_pageflags(map, sparse)`): pages taken on `set`. */
export const SPARSE_PAGES = 2;

/** A dynamic page flag map (`dyn_pageflags_t`). */
export type dyn_pageflags_t = PageFlagMap;

/** `dyn_pageflags_t *`: the out-parameter the C passes; `value` is null until allocated. */
export interface DynPageflagsRef {
  value: PageFlagMap | null;
}

/** `PAGE_SIZE * 8`: pfns per bitmap page. Live binding, set by `dyn_pageflags_init`. */
export let BITS_PER_PAGE: number = 4096 * 8;
/**
 * Bitmap pages covering every possible pfn: `ceil((1 << (MAX_PHYSADDR_BITS - PAGE_SHIFT)) /
 * BITS_PER_PAGE)`. Live binding, set by `dyn_pageflags_init` (0 before).
 */
export let PAGES_PER_BITMAP: number = 0;
/**
 * Highest pfn the address width allows; `get_next_bit_on` ends with (and starts from)
 * `max_pfn + 1`. Live binding, set by `dyn_pageflags_init` (-1 before).
 */
export let max_pfn: number = -1;

let space: PfnSpace | null = null;
let allocator: PageAllocator | null = null;
const live = new Set<PageFlagMap>();

/**
 * Boot-time setup (TuxOnIce `dyn_pageflags_init`): the machine and the allocator bitmap pages
 * come from (bootmem). Recomputes `BITS_PER_PAGE`, `PAGES_PER_BITMAP` and `max_pfn`.
 */
export function dyn_pageflags_init(machine: PfnSpace, pages: PageAllocator): void {
  const g = geometryOf(machine);
  if (pages === null || typeof pages !== "object") {
    throw new InvalidArgumentError(
      "EINVAL",
      "dyn_pageflags_init: allocator is not a PageAllocator",
    );
  }
  space = machine;
  allocator = pages;
  BITS_PER_PAGE = g.bitsPerLeaf;
  PAGES_PER_BITMAP = g.leafSlots;
  max_pfn = g.pfnLimit - 1;
  live.clear();
}

/**
 * Switches later page allocations, of new maps and of sparse `set`s in existing ones, to
 * `pages` (the buddy allocator once it is up). Pages still go back to where they came from.
 */
export function dyn_pageflags_use_kzalloc(pages: PageAllocator): void {
  if (space === null) throw notInitialised("dyn_pageflags_use_kzalloc");
  if (pages === null || typeof pages !== "object") {
    throw new InvalidArgumentError(
      "EINVAL",
      "dyn_pageflags_use_kzalloc: allocator is not a PageAllocator",
    );
  }
  allocator = pages;
  for (const map of live) map.useAllocator(pages);
}

/**
 * Allocates a map into `pagemap.value`: `type` is PRESENT_PAGES_ONLY, ALL_PAGES or SPARSE_PAGES.
 * Returns 0, or -ENOMEM with every page taken given back and `pagemap.value` left null.
 */
export function allocate_dyn_pageflags(pagemap: DynPageflagsRef, type: number): number {
  if (space === null || allocator === null) throw notInitialised("allocate_dyn_pageflags");
  checkRef(pagemap, "allocate_dyn_pageflags");
  if (pagemap.value !== null) {
    throw new InvalidArgumentError(
      "EINVAL",
      "allocate_dyn_pageflags: the map is already allocated",
    );
  }
  const mode: PageFlagMode | undefined =
    type === PRESENT_PAGES_ONLY
      ? "present"
      : type === ALL_PAGES
        ? "all"
        : type === SPARSE_PAGES
          ? "sparse"
          : undefined;
  if (mode === undefined) {
    throw new InvalidArgumentError(
      "EINVAL",
      `allocate_dyn_pageflags: type ${String(type)} is not a pageflags_type`,
    );
  }
  const map = new PageFlagMap({ space, allocator, mode });
  if (map.populate() !== 0) return -ENOMEM;
  pagemap.value = map;
  live.add(map);
  return 0;
}

/** Frees every page of `pagemap.value` and sets it to null. Returns 0, or 1 when it was null. */
export function free_dyn_pageflags(pagemap: DynPageflagsRef): number {
  checkRef(pagemap, "free_dyn_pageflags");
  const map = pagemap.value;
  if (map === null) return 1;
  map.free();
  live.delete(map);
  pagemap.value = null;
  return 0;
}

/** Clears every bit of the allocated bitmap pages (the C passes the map by value). */
export function clear_dyn_pageflags(pagemap: dyn_pageflags_t): void {
  if (!(pagemap instanceof PageFlagMap)) {
    throw new InvalidArgumentError("EINVAL", "clear_dyn_pageflags: not an allocated map");
  }
  pagemap.clearAll();
}

/** Sets the bit of `pfn` (sparse maps allocate; KernelPanic if that fails). */
export function set_dynpageflag(bitmap: DynPageflagsRef, pfn: number): void {
  mapOf(bitmap, "set_dynpageflag").set(pfn);
}

/** Clears the bit of `pfn`; never allocates. */
export function clear_dynpageflag(bitmap: DynPageflagsRef, pfn: number): void {
  mapOf(bitmap, "clear_dynpageflag").clear(pfn);
}

/** 1 when the bit of `pfn` is set, else 0; never allocates. */
export function test_dynpageflag(bitmap: DynPageflagsRef, pfn: number): number {
  return mapOf(bitmap, "test_dynpageflag").test(pfn) ? 1 : 0;
}

/**
 * The next set pfn strictly after `counter`, or `max_pfn + 1` when there is none. Passing
 * `max_pfn + 1` starts from pfn 0: `for (c = get_next_bit_on(m, max_pfn + 1); c <= max_pfn;
 * c = get_next_bit_on(m, c))` visits every set pfn.
 */
export function get_next_bit_on(bitmap: DynPageflagsRef, counter: number): number {
  const map = mapOf(bitmap, "get_next_bit_on");
  const end = map.pfnLimit;
  if (!(Number.isInteger(counter) && counter >= 0 && counter <= end)) {
    throw new InvalidArgumentError(
      "EINVAL",
      `get_next_bit_on: counter ${String(counter)} is not a pfn in [0, ${end}]`,
    );
  }
  const next = map.nextSet(counter === end ? 0 : counter + 1);
  return next < 0 ? end : next;
}

/**
 * Pointer to the word holding the bit of `pagenum`: a Uint32Array view aliasing the bitmap page
 * from that word on (element 0 is the word, bit `pagenum % 32`), or null when the bitmap page is
 * missing.
 */
export function PAGE_UL_PTR(bitmap: DynPageflagsRef, pagenum: number): Uint32Array | null {
  const map = mapOf(bitmap, "PAGE_UL_PTR");
  const page = map.bitmapPage(pagenum);
  if (page === null) return null;
  const bit = pagenum % map.bitsPerPage;
  return page.subarray(Math.floor(bit / 32));
}

function checkRef(ref: DynPageflagsRef, fn: string): void {
  if (ref === null || typeof ref !== "object" || !("value" in ref)) {
    throw new InvalidArgumentError("EINVAL", `${fn}: expected a { value } reference to a map`);
  }
}

function mapOf(ref: DynPageflagsRef, fn: string): PageFlagMap {
  checkRef(ref, fn);
  const map = ref.value;
  if (map === null)
    throw new InvalidArgumentError("EINVAL", `${fn}: the map is not allocated (NULL)`);
  return map;
}

function notInitialised(fn: string): InvalidArgumentError {
  return new InvalidArgumentError(
    "EINVAL",
    `${fn}: call dyn_pageflags_init(space, allocator) first`,
  );
}
