export {
  EXTENT_FIXED_STORAGE_SIZE,
  type ExtentCreateOptions,
  type extent,
  extent_alloc,
  extent_alloc_region,
  extent_alloc_subregion,
  extent_alloc_subregion1,
  extent_alloc1,
  extent_create,
  extent_destroy,
  extent_free,
  extent_print,
} from "./internal/compat-api.js";
export {
  EAGAIN,
  EINTR,
  EINVAL,
  ENOMEM,
  ER_ALLOC,
  EX_BOUNDZERO,
  EX_CATCH,
  EX_EARLY,
  EX_FAST,
  EX_MALLOCOK,
  EX_NOALIGN,
  EX_NOBOUNDARY,
  EX_NOCOALESCE,
  EX_NOWAIT,
  EX_WAITOK,
  EX_WAITSPACE,
  EXF_EARLY,
  EXF_FIXED,
  EXF_NOCOALESCE,
} from "./internal/constants.js";
export type { ExtentCore, OutParam } from "./internal/core.js";
export type { Engine } from "./internal/engine.js";
export { InvalidArgumentError, KernelPanic } from "./internal/errors.js";
export type { Query } from "./internal/fit.js";
