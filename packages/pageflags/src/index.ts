export { ENOMEM, InvalidArgumentError, KernelPanic } from "./errors.js";
export {
  createPageFlags,
  DEFAULT_PAGE_BUDGET,
  PageFlagMap,
  type PageFlagMode,
  type PageFlagOptions,
} from "./page-flag-map.js";
export type { HotplugEvent, HotplugSource, PageAllocator, PfnRange, PfnSpace } from "./types.js";
