export {
  ALL_PAGES,
  allocate_dyn_pageflags,
  BITS_PER_PAGE,
  clear_dyn_pageflags,
  clear_dynpageflag,
  type DynPageflagsRef,
  dyn_pageflags_init,
  type dyn_pageflags_t,
  dyn_pageflags_use_kzalloc,
  free_dyn_pageflags,
  get_next_bit_on,
  max_pfn,
  PAGE_UL_PTR,
  PAGES_PER_BITMAP,
  PRESENT_PAGES_ONLY,
  SPARSE_PAGES,
  set_dynpageflag,
  test_dynpageflag,
} from "./dyn-pageflags.js";
export { ENOMEM, InvalidArgumentError, KernelPanic } from "./errors.js";
export type { HotplugEvent, HotplugSource, PageAllocator, PfnRange, PfnSpace } from "./types.js";
