/**
 * @mem/buddy/compat: the kernel's names (`alloc_pages`, `__free_pages`, `get_page`, ...) and the
 * `GFP_*` constants.
 *
 * @packageDocumentation
 */
export {
  __free_page,
  __free_pages,
  __get_free_page,
  __get_free_pages,
  alloc_page,
  alloc_pages,
  drain_all_pages,
  free_hot_cold_page,
  free_page,
  free_pages,
  get_page,
  get_zeroed_page,
  page_allocator,
  page_count,
  put_page,
  register_free_page_hook,
  set_page_allocator,
  unregister_free_page_hook,
} from "./compat-api.js";
export * from "./gfp.js";
