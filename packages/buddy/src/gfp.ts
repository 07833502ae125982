/**
 * GFP ("get free pages") flags and migratetypes, with Linux's bit values (include/linux/gfp_types.h,
 * 6.x). The low four bits choose the highest zone an allocation may use (`gfp_zone`), the next two
 * its migratetype (`gfp_migratetype`), the rest how hard the allocator may try.
 *
 * @module
 */

/** Allocate from ZONE_DMA (below 16 MiB on x86). */
export const __GFP_DMA: number = 0x01;
/** May use ZONE_HIGHMEM (ZONE_NORMAL where there is none). */
export const __GFP_HIGHMEM: number = 0x02;
/** Allocate from ZONE_DMA32 or below (below 4 GiB). */
export const __GFP_DMA32: number = 0x04;
/** The page can be moved by migration or reclaimed (page cache, user memory). */
export const __GFP_MOVABLE: number = 0x08;
/** The page is reclaimable (slab caches with shrinkers). */
export const __GFP_RECLAIMABLE: number = 0x10;
/** High priority: may dip to half of the min watermark. */
export const __GFP_HIGH: number = 0x20;
/** May start physical I/O. */
export const __GFP_IO: number = 0x40;
/** May call into the file system. */
export const __GFP_FS: number = 0x80;
/** Return zeroed pages. Page contents are not modelled: the allocator counts zeroed pages. */
export const __GFP_ZERO: number = 0x100;
/** May enter direct reclaim (sleep). */
export const __GFP_DIRECT_RECLAIM: number = 0x400;
/** May wake kswapd. */
export const __GFP_KSWAPD_RECLAIM: number = 0x800;
/** Page will be written (dirty balancing). */
export const __GFP_WRITE: number = 0x1000;
/** Do not warn on failure. */
export const __GFP_NOWARN: number = 0x2000;
/** Retry, but may fail. */
export const __GFP_RETRY_MAYFAIL: number = 0x4000;
/** Must not fail (ignored: the model has no reclaim to retry with). */
export const __GFP_NOFAIL: number = 0x8000;
/** Do not retry. */
export const __GFP_NORETRY: number = 0x10000;
/** May use all reserves. */
export const __GFP_MEMALLOC: number = 0x20000;
/** Make a compound page. Every order > 0 allocation here is compound, with or without it. */
export const __GFP_COMP: number = 0x40000;
/** Never use the emergency reserves. */
export const __GFP_NOMEMALLOC: number = 0x80000;
/** Enforce the cpuset memory policy. */
export const __GFP_HARDWALL: number = 0x100000;
/** No fallback to other nodes. */
export const __GFP_THISNODE: number = 0x200000;
/** Account to the memory cgroup. */
export const __GFP_ACCOUNT: number = 0x400000;

/** Both reclaim bits. */
export const __GFP_RECLAIM: number = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;
/** Interrupt context: may not sleep, may use part of the min reserve. */
export const GFP_ATOMIC: number = __GFP_HIGH | __GFP_KSWAPD_RECLAIM;
/** Normal kernel allocations. */
export const GFP_KERNEL: number = __GFP_RECLAIM | __GFP_IO | __GFP_FS;
/** Kernel allocations charged to a cgroup. */
export const GFP_KERNEL_ACCOUNT: number = GFP_KERNEL | __GFP_ACCOUNT;
/** May not sleep, no reserves. */
export const GFP_NOWAIT: number = __GFP_KSWAPD_RECLAIM;
/** No I/O. */
export const GFP_NOIO: number = __GFP_RECLAIM;
/** No file system calls. */
export const GFP_NOFS: number = __GFP_RECLAIM | __GFP_IO;
/** User-space allocations the kernel accesses directly. */
export const GFP_USER: number = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL;
/** ZONE_DMA only. */
export const GFP_DMA: number = __GFP_DMA;
/** ZONE_DMA32 and below. */
export const GFP_DMA32: number = __GFP_DMA32;
/** User pages that may live in high memory. */
export const GFP_HIGHUSER: number = GFP_USER | __GFP_HIGHMEM;
/** Movable user pages (ZONE_MOVABLE allowed). */
export const GFP_HIGHUSER_MOVABLE: number = GFP_HIGHUSER | __GFP_MOVABLE;
/** Transparent huge pages. */
export const GFP_TRANSHUGE_LIGHT: number =
  (GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOMEMALLOC | __GFP_NOWARN) & ~__GFP_RECLAIM;

/** Migratetype of unmovable kernel allocations. */
export const MIGRATE_UNMOVABLE = 0;
/** Migratetype of movable allocations. */
export const MIGRATE_MOVABLE = 1;
/** Migratetype of reclaimable allocations. */
export const MIGRATE_RECLAIMABLE = 2;
/** Types kept on per-CPU lists (the three above). */
export const MIGRATE_PCPTYPES = 3;
/** High-order atomic reserve (never filled by this model: no reserve is set aside). */
export const MIGRATE_HIGHATOMIC = 3;
/** Isolated pageblocks (offlining, contiguous allocations): never allocated from. */
export const MIGRATE_ISOLATE = 4;
/** Number of migratetypes (no CMA). */
export const MIGRATE_TYPES = 5;
/** Names as /proc/pagetypeinfo prints them. */
export const MIGRATETYPE_NAMES: readonly string[] = [
  "Unmovable",
  "Movable",
  "Reclaimable",
  "HighAtomic",
  "Isolate",
];

/** The migratetype a GFP mask asks for (`gfp_migratetype`), or -1 for both mobility bits. */
export function gfpMigratetype(gfp: number): number {
  const bits = (gfp & (__GFP_MOVABLE | __GFP_RECLAIMABLE)) >>> 3;
  return bits === 3 ? -1 : bits;
}
