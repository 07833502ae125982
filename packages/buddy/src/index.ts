/**
 * @mem/buddy: Linux's zoned buddy page allocator with per-CPU lists, migratetypes, watermarks,
 * reference counts, free hooks and the /proc views.
 *
 * @packageDocumentation
 */
export {
  ALLOC_HIGHATOMIC,
  ALLOC_MIN_RESERVE,
  ALLOC_NO_WATERMARKS,
  ALLOC_NON_BLOCK,
  ALLOC_OOM,
  ALLOC_RESERVES,
  ALLOC_WMARK_HIGH,
  ALLOC_WMARK_LOW,
  ALLOC_WMARK_MIN,
  type AllocConstraints,
  BuddyAllocator,
  type BuddyOptions,
  type BuddyStats,
  type FreeBlock,
  type FreePoolObserver,
  PAGE_FLAGS_CHECK_AT_FREE,
  type ZoneAllocInfo,
} from "./buddy-allocator.js";
export * from "./gfp.js";
export {
  buddyinfo,
  type ContigPageInfo,
  extfragIndex,
  fillContigPageInfo,
  fragmentationIndex,
  pagetypeinfo,
  unusableFreeIndex,
  unusableIndex,
  vmstat,
  zoneinfo,
} from "./proc.js";
export {
  calculateMinFreeKbytes,
  DEFAULT_LOWMEM_RESERVE_RATIO,
  fls,
  intSqrt,
  lowmemReserve,
  multFrac,
  rounddownPowOfTwo,
  setupZoneWatermarks,
  vmstatThreshold,
  type WatermarkZone,
  type ZoneWatermarks,
  zoneBatchsize,
  zoneHighsize,
} from "./watermarks.js";
