/**
 * Linux's zoned buddy page allocator over the machine's page frame database: free lists per zone,
 * order and migratetype kept in the database's intrusive links, per-CPU lists, GFP zone and
 * migratetype selection, watermarks and lowmem_reserve, reference counts and compound pages,
 * bad_page checks, the arch free hook list, vmstat counters, the boot hand-over and memory hotplug.
 *
 * Page states: a free block's head has `PG_buddy` and `private = order` (and the index of the list
 * it is on in `mapping`); a page on a per-CPU list has `PG_pcp` (list in `mapping`); an allocated
 * block has a reference count above zero on its head; blocks of order > 0 are compound (`PG_head`
 * on the head, `PG_tail` on the others, the order in `private` of the second page, as Linux keeps
 * `compound_order` in `page[1]`).
 *
 * @module
 */
import {
  assertOrder,
  assertUint,
  describeValue,
  type FreePageHook,
  type FreePageSink,
  type HotplugEvent,
  InvalidArgumentError,
  KernelPanic,
  type Machine,
  NO_ZONE,
  type PageAllocator,
  type PageDatabase,
  type PfnRange,
  PG_active,
  PG_buddy,
  PG_foreign,
  PG_head,
  PG_hole,
  PG_isolated,
  PG_locked,
  PG_lru,
  PG_pcp,
  PG_pinned,
  PG_private,
  PG_reserved,
  PG_slab,
  PG_tail,
  PG_writeback,
  pageListCorrupt,
  pageListDoubleAdd,
  ZONE_DMA,
  ZONE_DMA32,
  ZONE_HIGHMEM,
  ZONE_MOVABLE,
  ZONE_NORMAL,
} from "@mem/machine";
import {
  __GFP_DIRECT_RECLAIM,
  __GFP_HIGH,
  __GFP_MEMALLOC,
  __GFP_MOVABLE,
  __GFP_NOWARN,
  __GFP_RECLAIMABLE,
  __GFP_THISNODE,
  __GFP_ZERO,
  GFP_KERNEL,
  gfpMigratetype,
  MIGRATE_HIGHATOMIC,
  MIGRATE_ISOLATE,
  MIGRATE_MOVABLE,
  MIGRATE_PCPTYPES,
  MIGRATE_RECLAIMABLE,
  MIGRATE_TYPES,
  MIGRATE_UNMOVABLE,
} from "./gfp.js";
import { checkInvariants, stateDigest } from "./internal/check.js";
import { fastPaths } from "./internal/fast-paths.js";
import { SectionCache } from "./internal/section-cache.js";
import { ZoneState } from "./internal/zone-state.js";
import {
  calculateMinFreeKbytes,
  DEFAULT_LOWMEM_RESERVE_RATIO,
  lowmemReserve,
  setupZoneWatermarks,
  vmstatThreshold,
  zoneBatchsize,
  zoneHighsize,
} from "./watermarks.js";

/** Allocation flags of the watermark check (mm/internal.h). */
export const ALLOC_WMARK_MIN = 0x00;
/** See {@link ALLOC_WMARK_MIN}. */
export const ALLOC_WMARK_LOW = 0x01;
/** See {@link ALLOC_WMARK_MIN}. */
export const ALLOC_WMARK_HIGH = 0x02;
/** Ignore watermarks (`__GFP_MEMALLOC`). */
export const ALLOC_NO_WATERMARKS = 0x04;
/** OOM victim: may use half of what is left. */
export const ALLOC_OOM = 0x08;
/** Non-blocking allocation (no `__GFP_DIRECT_RECLAIM`). */
export const ALLOC_NON_BLOCK = 0x10;
/** `__GFP_HIGH`: may use half of the min reserve. */
export const ALLOC_MIN_RESERVE = 0x20;
/** May use the high-order atomic reserve. */
export const ALLOC_HIGHATOMIC = 0x200;
/** Any of the reserve flags. */
export const ALLOC_RESERVES: number =
  ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC | ALLOC_OOM;

/** Flags that must be clear when a page is freed (Linux's `PAGE_FLAGS_CHECK_AT_FREE`, adapted). */
export const PAGE_FLAGS_CHECK_AT_FREE: number =
  PG_locked |
  PG_lru |
  PG_active |
  PG_slab |
  PG_reserved |
  PG_private |
  PG_writeback |
  PG_pinned |
  PG_buddy |
  PG_pcp |
  PG_isolated |
  PG_hole;

const NMT = MIGRATE_TYPES;
/** The largest pfn a JavaScript number holds exactly (2^53 - 1). */
const MAX_PFN = Number.MAX_SAFE_INTEGER;
/** The mobility bits of a GFP mask (`__GFP_MOVABLE | __GFP_RECLAIMABLE`, bits 3 and 4). */
const GFP_MT_MASK = __GFP_MOVABLE | __GFP_RECLAIMABLE;
/**
 * Slots per CPU of the order-0 fast path's table: a GFP mask's zone and mobility bits (0-4) and,
 * as bit 5, `__GFP_THISNODE` (bit 21, shifted down by {@link PCP_THISNODE_SHIFT}).
 */
const PCP_KEYS = 64;
/*
 * Module-local copies of imported constants for the order-0 fast paths: V8 folds a module's own
 * constants into optimized code, but loads and checks an imported binding at every use.
 */
/** `MIGRATE_PCPTYPES`. */
const PCP_TYPES = MIGRATE_PCPTYPES;
/** `PG_pcp`. */
const PCP_FLAG = PG_pcp;
/** `__GFP_ZERO`. */
const GFP_ZERO = __GFP_ZERO;
/** Moves `__GFP_THISNODE` (a single bit) to bit 5 of a fast-path table key. */
const PCP_THISNODE_SHIFT = Math.log2(__GFP_THISNODE) - 5;
/**
 * The fast paths' table slot of a GFP mask (a 32-bit word) on `cpu`: the mask's zone and mobility
 * bits and `__GFP_THISNODE` as the key within the CPU's {@link PCP_KEYS} slots.
 */
function tableSlot(cpu: number, gfp: number): number {
  return cpu * PCP_KEYS + ((gfp & 31) | ((gfp >>> PCP_THISNODE_SHIFT) & 32));
}
/** 2^k for k < 31, as small integers (orders are small; pfn arithmetic stays in doubles). */
const POW2: Int32Array = (() => {
  const a = new Int32Array(31);
  for (let k = 0; k < 31; k++) a[k] = 2 ** k;
  return a;
})();

/** 2^-k for k < 32 (exact), so that `floor(x / 2^k)` is the product `floor(x * INV_POW2[k])`. */
const INV_POW2: Float64Array = (() => {
  const a = new Float64Array(32);
  for (let k = 0; k < 32; k++) a[k] = 2 ** -k;
  return a;
})();

/** Linux's fallback table: where each migratetype steals from, in order. */
const FALLBACKS: readonly (readonly number[])[] = [
  [MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE],
  [MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE],
  [MIGRATE_UNMOVABLE, MIGRATE_MOVABLE],
];

/** Options of a {@link BuddyAllocator}. */
export interface BuddyOptions {
  /** Number of orders (`NR_PAGE_ORDERS`), default 11: blocks of 2^0 to 2^10 pages. */
  readonly orders?: number;
  /** `pageblock_order`, default min(9, orders - 1). */
  readonly pageblockOrder?: number;
  /** Simulated CPUs, default the machine's. */
  readonly cpus?: number;
  /** Use per-CPU lists for order-0 pages (default true). */
  readonly pcp?: boolean;
  /** `user_min_free_kbytes`: wins over the computed default when larger. Default 0. */
  readonly minFreeKbytes?: number;
  /** `watermark_scale_factor`, default 10 (0.1 %). */
  readonly watermarkScaleFactor?: number;
  /** `sysctl_lowmem_reserve_ratio` by zone type, default [256, 256, 32, 0, 0]. */
  readonly lowmemReserveRatio?: readonly number[];
  /** `percpu_pagelist_high_fraction`, default 0 (high from the low watermark). */
  readonly percpuPagelistHighFraction?: number;
  /**
   * Check every page of a block on allocation and free, and clear every tail on free (Linux's
   * `check_pages_enabled`, on with CONFIG_DEBUG_VM). Default false: only the head and the first
   * tail page are checked and touched, so a block costs O(1) page writes, not O(2^order).
   */
  readonly checkPages?: boolean;
  /** Subscribe to the machine's memory hotplug events (default true). */
  readonly hotplug?: boolean;
}

/** Notified when pages enter or leave the free pool (buddy lists and per-CPU lists together). */
export interface FreePoolObserver {
  /** Pages `[pfn, pfn + count)` became free. */
  pagesFreed(pfn: number, count: number): void;
  /** Pages `[pfn, pfn + count)` left the free pool (allocated, isolated, discarded, offlined). */
  pagesTaken(pfn: number, count: number): void;
}

/** Constraints of {@link BuddyAllocator.allocPagesIn}. */
export interface AllocConstraints {
  /** Only this zone (`machine.zones` index). */
  readonly zoneId?: number;
  /** Never return a block overlapping this pfn range. */
  readonly avoid?: PfnRange;
}

/** Counters like /proc/vmstat's. */
export interface BuddyStats {
  /** PGALLOC per zone (pages), by `machine.zones` index. */
  readonly pgalloc: readonly number[];
  /** PGFREE (pages). */
  readonly pgfree: number;
  /** Allocations that returned no page. */
  readonly allocFail: number;
  /** Failures without `__GFP_NOWARN` (Linux would print a warning). */
  readonly allocWarn: number;
  /** Pages found bad on allocation and discarded (never handed out). */
  readonly badPages: number;
  /** Frees claimed by a hook. */
  readonly hookClaims: number;
  /** Pages asked for with `__GFP_ZERO`. */
  readonly zeroedPages: number;
}

/** A snapshot of one zone's allocator figures. */
export interface ZoneAllocInfo {
  /** `machine.zones` index. */
  readonly zoneId: number;
  /** Zone name. */
  readonly name: string;
  /** Node. */
  readonly nid: number;
  /** Managed pages. */
  readonly managed: number;
  /** NR_FREE_PAGES (buddy lists only). */
  readonly freePages: number;
  /** Pages on per-CPU lists. */
  readonly pcpPages: number;
  /** Watermarks. */
  readonly min: number;
  /** See {@link min}. */
  readonly low: number;
  /** See {@link min}. */
  readonly high: number;
  /** See {@link min}. */
  readonly promo: number;
  /** `watermark_boost`. */
  readonly boost: number;
  /** `lowmem_reserve`, by zone idx of the node. */
  readonly protection: readonly number[];
  /** Per-CPU list batch. */
  readonly batch: number;
  /** Per-CPU list high. */
  readonly pcpHigh: number;
  /** `high_min`. */
  readonly pcpHighMin: number;
  /** `high_max`. */
  readonly pcpHighMax: number;
  /** Per-CPU page counts. */
  readonly pcpCounts: readonly number[];
  /** Free blocks per order. */
  readonly nrFree: readonly number[];
  /** Free blocks per migratetype and order (`[mt][order]`). */
  readonly nrFreeByType: readonly (readonly number[])[];
  /** vmstat threshold. */
  readonly statThreshold: number;
}

/** A free buddy block. */
export interface FreeBlock {
  /** First pfn. */
  readonly pfn: number;
  /** Order. */
  readonly order: number;
  /** Zone (`machine.zones` index). */
  readonly zoneId: number;
  /** Migratetype of the list it is on. */
  readonly migratetype: number;
}

/**
 * The zoned buddy allocator. Implements {@link FreePageSink} (the boot hand-over) and
 * {@link PageAllocator} (`allocPages` with `GFP_KERNEL`).
 */
export class BuddyAllocator implements FreePageSink, PageAllocator {
  /** The machine. */
  declare readonly machine: Machine;
  /** The page database. */
  declare readonly db: PageDatabase;
  /** Orders (`NR_PAGE_ORDERS`). */
  readonly orders: number;
  /** `pageblock_order`. */
  readonly pageblockOrder: number;
  /** Pages per pageblock. */
  readonly pageblockPages: number;
  /** CPUs. */
  readonly cpus: number;
  /** Whether order-0 pages go through per-CPU lists. */
  readonly pcpEnabled: boolean;
  /** Whether every page of a block is checked on allocation and free. */
  readonly checkPages: boolean;
  /** The CPU the next operations run on. */
  cpu = 0;
  /** Current `min_free_kbytes`. */
  minFreeKbytes = 0;
  /** `user_min_free_kbytes`. */
  userMinFreeKbytes: number;
  /** `watermark_scale_factor`. */
  watermarkScaleFactor: number;
  /** `percpu_pagelist_high_fraction`. */
  percpuPagelistHighFraction: number;
  /** `sysctl_lowmem_reserve_ratio` by zone type. */
  readonly lowmemReserveRatio: readonly number[];

  /** @internal per machine zone. */
  readonly zoneStates: ZoneState[];
  /** @internal pageblock migratetype per (page index / pageblockPages). */
  declare pbType: Uint8Array;
  /** @internal blocks found bad on allocation and leaked, as Linux does. */
  readonly badBlocks: { pfn: number; order: number }[] = [];
  /** @internal ranges isolated for a pending offline. */
  readonly offlinePending: PfnRange[] = [];
  /** @internal the hooks, in registration order. */
  hooks: FreePageHook[] = [];
  /** True when some installed hook has no flag mask: every final free must run the hooks. */
  private hookAll = false;
  /** The union of the installed hooks' flag masks: a free whose flags meet it runs the hooks. */
  private hookMask = 0;

  private observer: FreePoolObserver | null = null;
  private dirty = true;
  private readonly zoneByZn: (ZoneState | undefined)[] = [];
  private readonly zonelists: ZoneState[][] = [];
  private readonly zonesPerNode: number;
  private readonly gfpZoneIdx: Int32Array;
  private readonly cpuNodeIdx: Int32Array;
  private readonly nodeIdxById = new Map<number, number>();
  private unsubscribe: (() => void) | null = null;
  private pgfree = 0;
  private allocFail = 0;
  private allocWarn = 0;
  private badPages = 0;
  private hookClaims = 0;
  private zeroedPages = 0;
  /** `1 / pageblockPages` (exact: a power of two), so that the pageblock of an index is a product. */
  declare private readonly pageblockScale: number;
  /**
   * `pageblockOrder`, for the free fast path: the pageblock of an index below 2^31 is a shift
   * (one cycle on the path to the list head, where the product and floor take several).
   */
  declare private readonly pageblockShift: number;
  /** Exact pfn <-> index conversion for the hot paths. */
  declare private readonly sections: SectionCache;
  /** Per-CPU lists on and fast paths not switched off (see `internal/fast-paths.ts`). */
  declare private readonly pcpFast: boolean;
  /** Buddy-list fast paths on: not switched off, and `checkPages` off. */
  declare private readonly buddyFast: boolean;
  /*
   * The page database's per-page arrays as the order-0 fast paths use them: copies in fields of
   * this class, whose type V8 tracks (the database's own fields start out undefined and are then
   * assigned, so every read of them checks the array's type again). `PageDatabase` replaces all
   * of them together (in its `grow`), so the fast paths compare one ({@link pFlags}) with the
   * database's and take fresh copies when it differs ({@link refreshArrays}).
   */
  /** `db.flags` when last copied. */
  declare private pFlags: Uint32Array;
  /** `db.refcount`, copied with {@link pFlags}. */
  declare private pRefcount: Int32Array;
  /** `db.mapcount`, copied with {@link pFlags}. */
  declare private pMapcount: Int32Array;
  /** `db.private`, copied with {@link pFlags}. */
  declare private pPrivate: Uint32Array;
  /** `db.mapping`, copied with {@link pFlags}. */
  declare private pMapping: Uint32Array;
  /** `db.next`, copied with {@link pFlags}. */
  declare private pNext: Uint32Array;
  /** `db.prev`, copied with {@link pFlags}. */
  declare private pPrev: Uint32Array;
  /** `db.zoneNode`, copied with {@link pFlags}. */
  declare private pZoneNode: Uint16Array;
  /**
   * The fast paths' table (order 0 and the buddy lists), by `cpu * PCP_KEYS + key` (see
   * {@link PCP_KEYS}): the zone the zonelist walk picks (the first with managed pages among the
   * candidates), or undefined when the mask's bits are bad or no candidate has managed pages.
   * Rebuilt with the watermarks: it depends only on managed pages (which set `dirty`, and the fast
   * paths wait for the rebuild), the watermarks and lowmem_reserve, and the fixed zonelists.
   */
  private pcpZone: (ZoneState | undefined)[] = [];
  /** Per {@link pcpZone} slot: `wmLow + boost + lowmemReserve[highest zone idx]` of its zone. */
  private pcpMark: Float64Array = new Float64Array(0);

  /**
   * @param machine - the machine whose page database the allocator manages.
   * @param options - sizes and tunables.
   * @throws {@link @mem/machine!index.InvalidArgumentError} for options the machine cannot support.
   */
  constructor(machine: Machine, options: BuddyOptions = {}) {
    this.machine = machine;
    this.db = machine.pages;
    const orders = options.orders ?? 11;
    assertUint("orders", orders);
    if (orders < 1 || orders > 30 || 2 ** (orders - 1) > machine.sectionPages)
      throw new InvalidArgumentError(
        `orders must be in [1, ${Math.log2(machine.sectionPages) + 1}] (blocks may not exceed a section), got ${describeValue(orders)}`,
        "EINVAL",
        "orders",
      );
    this.orders = orders;
    const pbOrder = options.pageblockOrder ?? Math.min(9, orders - 1);
    assertOrder("pageblockOrder", pbOrder, orders);
    this.pageblockOrder = pbOrder;
    this.pageblockPages = POW2[pbOrder]!;
    this.pageblockScale = 1 / this.pageblockPages;
    this.pageblockShift = pbOrder;
    this.sections = new SectionCache(machine);
    this.refreshArrays();
    const cpus = options.cpus ?? machine.cpus;
    assertUint("cpus", cpus);
    if (cpus < 1) throw new InvalidArgumentError(`cpus must be at least 1, got ${cpus}`);
    this.cpus = cpus;
    this.pcpEnabled = options.pcp ?? true;
    this.pcpFast = this.pcpEnabled && fastPaths.enabled;
    this.checkPages = options.checkPages ?? false;
    this.buddyFast = fastPaths.enabled && !this.checkPages;
    this.userMinFreeKbytes = options.minFreeKbytes ?? 0;
    assertUint("minFreeKbytes", this.userMinFreeKbytes);
    this.watermarkScaleFactor = options.watermarkScaleFactor ?? 10;
    assertUint("watermarkScaleFactor", this.watermarkScaleFactor);
    this.percpuPagelistHighFraction = options.percpuPagelistHighFraction ?? 0;
    assertUint("percpuPagelistHighFraction", this.percpuPagelistHighFraction);
    this.lowmemReserveRatio = options.lowmemReserveRatio ?? DEFAULT_LOWMEM_RESERVE_RATIO;

    const nodes = machine.nodes;
    nodes.forEach((n, k) => {
      this.nodeIdxById.set(n.id, k);
    });
    this.zonesPerNode = nodes[0]!.zones.length;
    this.zoneStates = machine.zones.map(
      (z) => new ZoneState(this.db, z, orders, cpus, this.zonesPerNode),
    );
    // Filled with undefined first, so that the array has no holes (a lookup skips the hole check).
    const zns = Math.max(...this.zoneStates.map((zs) => zs.zone.nid * 8 + 8));
    for (let zn = 0; zn < zns; zn++) this.zoneByZn.push(undefined);
    for (const zs of this.zoneStates) this.zoneByZn[zs.zone.nid * 8 + zs.zone.type] = zs;
    this.cpuNodeIdx = new Int32Array(cpus);
    for (let c = 0; c < cpus; c++) this.cpuNodeIdx[c] = c % nodes.length;
    // Zonelists: per node and highest zone idx, the node's zones from high to low, then the
    // other nodes' (Linux's node-ordered zonelist).
    for (let n = 0; n < nodes.length; n++) {
      for (let hi = 0; hi < this.zonesPerNode; hi++) {
        const list: ZoneState[] = [];
        for (let m = 0; m < nodes.length; m++) {
          const node = nodes[(n + m) % nodes.length]!;
          for (let j = hi; j >= 0; j--) list.push(this.zoneStates[node.zones[j]!.id]!);
        }
        this.zonelists.push(list);
      }
    }
    const idxOf = (type: number): number => machine.zoneTypes.indexOf(type);
    const normal = idxOf(ZONE_NORMAL);
    const opt = (type: number): number => (idxOf(type) >= 0 ? idxOf(type) : normal);
    const t = new Int32Array(16).fill(-1);
    t[0] = normal;
    t[1] = opt(ZONE_DMA);
    t[2] = opt(ZONE_HIGHMEM);
    t[4] = opt(ZONE_DMA32);
    t[8] = normal;
    t[9] = opt(ZONE_DMA);
    t[10] = opt(ZONE_MOVABLE);
    t[12] = opt(ZONE_DMA32);
    this.gfpZoneIdx = t;
    this.pbType = new Uint8Array(Math.ceil(this.db.flags.length / this.pageblockPages)).fill(
      MIGRATE_MOVABLE,
    );
    if (options.hotplug ?? true) this.unsubscribe = machine.subscribe(this.onHotplug);
  }

  /** Stops listening to hotplug events. */
  detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  // ---------------------------------------------------------------------------------------------
  // Allocation

  /**
   * Allocates 2^order pages (`alloc_pages`): the first pfn, or -1 when no zone of the GFP mask's
   * zonelist passes its watermark with a free block. Never throws on failure; counts it.
   *
   * @throws {@link @mem/machine!index.InvalidArgumentError} for a bad order or a GFP mask with contradictory zone or
   * mobility bits.
   */
  alloc(gfp: number, order: number): number {
    if (!this.dirty) {
      if (order === 0 && this.pcpFast) {
        const pfn = this.allocPcpFast(gfp);
        if (pfn >= 0) return pfn;
      } else if (this.buddyFast) {
        const pfn = this.allocBuddyFast(gfp, order);
        if (pfn >= 0) return pfn;
      }
    }
    return this.allocGeneric(gfp, order);
  }

  /**
   * The buddy-list fast path (orders above 0, or order 0 without per-CPU lists): the smallest free
   * block of the GFP mask's migratetype in the first zone with managed pages, when that zone passes
   * the low watermark check and the block's head passes `check_new_pages`, split as `expand()` does.
   * Returns -1 (having changed nothing) in every other case, for {@link allocGeneric}: bad input, a
   * failed watermark (next zone, slow path), no block of the migratetype (fallback stealing), a bad
   * page.
   */
  private allocBuddyFast(gfp: number, order: number): number {
    if (order >>> 0 !== order || order >= this.orders || gfp >>> 0 !== gfp) return -1;
    // The zone the zonelist walk would pick and its low mark plus lowmem_reserve, from the table
    // the order-0 path uses (see rebuildPcpTable); undefined sends the rest to the generic path.
    const slot = tableSlot(this.cpu, gfp);
    const zs = this.pcpZone[slot];
    if (zs === undefined) return -1;
    const mt = (gfp & GFP_MT_MASK) >>> 3;
    const n = POW2[order]!;
    // zone_watermark_fast() with ALLOC_WMARK_LOW: enough free pages above the mark and the reserve
    // (for order 0, free > mark), and (order > 0) a free block of at least that order on an
    // Unmovable, Movable or Reclaimable list, which the search below finds or the generic path
    // handles.
    if (!(zs.freePages - (n - 1) > this.pcpMark[slot]!)) return -1;
    // __rmqueue_smallest(): the first block on the lists of mt, from `order` up.
    const heads = zs.free.heads;
    const orders = this.orders;
    let o = order;
    let i = -1;
    for (; o < orders; o++) {
      i = heads[o * NMT + mt]! - 1;
      if (i >= 0) break;
    }
    if (i < 0) return -1;
    // A block of mt at order o exists, so the watermark's block test passes too.
    const db = this.db;
    const flags = db.flags;
    if ((flags[i]! & ~PG_buddy) !== 0 || db.refcount[i] !== 0 || db.mapcount[i] !== 0) return -1;
    this.delFree(zs, o * NMT + mt, i, o);
    this.expand(zs, i, order, o, mt);
    zs.freePages -= n;
    // prep_new_page()
    db.refcount[i] = 1;
    if (order > 0) {
      flags[i] = PG_head;
      flags[i + 1] = PG_tail;
      db.private[i + 1] = order;
    }
    zs.pgalloc += n;
    if ((gfp & __GFP_ZERO) !== 0) this.zeroedPages += n;
    const pfn = db.pfnOf(i);
    if (this.observer !== null) this.observer.pagesTaken(pfn, n);
    return pfn;
  }

  /**
   * The order-0 fast path: the head of the current CPU's per-CPU list of the first zone with
   * managed pages, when that zone passes the order-0 low watermark check and the page passes
   * `check_new_pages`. Returns -1 (having changed nothing) in every other case, for
   * {@link allocGeneric} to handle exactly as before: bad masks, an empty list (refill), a failed
   * watermark (next zone, slow path), a bad page.
   */
  private allocPcpFast(gfp: number): number {
    if (gfp >>> 0 !== gfp) return -1;
    const cpu = this.cpu;
    // The zone and the order-0 low mark the zonelist walk and zone_watermark_fast() would use,
    // precomputed per CPU and mask (see rebuildPcpTable); undefined sends the rest to the generic
    // path (bad zone or mobility bits, no zone with managed pages, a CPU outside the table).
    const slot = tableSlot(cpu, gfp);
    const zs = this.pcpZone[slot];
    if (zs === undefined || !(zs.freePages > this.pcpMark[slot]!)) return -1;
    const heads = zs.pcpHeads;
    const list = cpu * PCP_TYPES + ((gfp & GFP_MT_MASK) >>> 3);
    const h = heads[list]!;
    if (h === 0) return -1;
    const i = h - 1;
    if (this.db.flags !== this.pFlags) this.refreshArrays();
    const flags = this.pFlags;
    const refcount = this.pRefcount;
    if ((flags[i]! & ~PCP_FLAG) !== 0 || refcount[i] !== 0 || this.pMapcount[i] !== 0) return -1;
    const next = this.pNext;
    const prev = this.pPrev;
    const n = next[i]!;
    if (n === 0) return -1;
    if (n === h) heads[list] = 0;
    else {
      const p = prev[i]!;
      next[p - 1] = n;
      prev[n - 1] = p;
      heads[list] = n;
    }
    next[i] = 0;
    prev[i] = 0;
    zs.pcpCounts[list] = zs.pcpCounts[list]! - 1;
    zs.pcpCount[cpu] = zs.pcpCount[cpu]! - 1;
    flags[i] = 0;
    this.pMapping[i] = 0;
    // prep_new_page()
    refcount[i] = 1;
    zs.pgalloc += 1;
    const pfn = this.sections.pfnOf(i);
    // The rare rest in a call of its own: this function stays under V8's inlining size limit.
    if ((gfp & GFP_ZERO) !== 0 || this.observer !== null) this.allocPcpFastTail(gfp, pfn);
    return pfn;
  }

  /** The end of {@link allocPcpFast} for `__GFP_ZERO` and for an observer. */
  private allocPcpFastTail(gfp: number, pfn: number): void {
    if ((gfp & GFP_ZERO) !== 0) this.zeroedPages += 1;
    if (this.observer !== null) this.observer.pagesTaken(pfn, 1);
  }

  /** {@link alloc} for every case the order-0 fast path leaves. */
  private allocGeneric(gfp: number, order: number): number {
    if (order >>> 0 !== order || order >= this.orders) assertOrder("order", order, this.orders);
    if (gfp >>> 0 !== gfp) this.badGfp(gfp);
    const hi = this.gfpZoneIdx[gfp & 15]!;
    const mt = gfpMigratetype(gfp);
    if (hi < 0 || mt < 0) this.badGfp(gfp);
    if (this.dirty) this.setupZones();
    const zl = this.zonelists[this.cpuNodeIdx[this.cpu]! * this.zonesPerNode + hi]!;
    const limit = (gfp & __GFP_THISNODE) !== 0 ? hi + 1 : zl.length;
    for (let k = 0; k < limit; k++) {
      const zs = zl[k]!;
      if (zs.managed === 0) continue;
      if (!this.watermarkFast(zs, order, zs.wmLow + zs.boost, hi, ALLOC_WMARK_LOW)) continue;
      const i = this.rmqueue(zs, order, mt);
      if (i >= 0) return this.prepNew(zs, i, order, gfp);
    }
    return this.allocSlow(gfp, order, mt, zl, limit, hi);
  }

  /** {@link PageAllocator.allocPages}: `alloc(GFP_KERNEL, order)`. */
  allocPages(order: number): number {
    return this.alloc(GFP_KERNEL, order);
  }

  /** {@link PageAllocator.freePages}: `free(pfn, order)`. */
  freePages(pfn: number, order: number): void {
    this.free(pfn, order);
  }

  /** A {@link PageAllocator} allocating with `gfp`. */
  pageAllocator(gfp: number = GFP_KERNEL): PageAllocator {
    return {
      allocPages: (order: number): number => this.alloc(gfp, order),
      freePages: (pfn: number, order: number): void => this.free(pfn, order),
    };
  }

  /**
   * Allocates 2^order pages within constraints (a migration target): only from `zoneId` if given,
   * never overlapping `avoid`. Searches the buddy lists (not the per-CPU lists), splitting a block
   * that straddles the avoided range. Returns the pfn or -1 (counted as a failure).
   */
  allocPagesIn(gfp: number, order: number, constraints: AllocConstraints = {}): number {
    assertOrder("order", order, this.orders);
    if (gfp >>> 0 !== gfp) this.badGfp(gfp);
    const hi = this.gfpZoneIdx[gfp & 15]!;
    const mt = gfpMigratetype(gfp);
    if (hi < 0 || mt < 0) this.badGfp(gfp);
    const { zoneId, avoid } = constraints;
    if (zoneId !== undefined && this.zoneStates[zoneId] === undefined)
      throw new InvalidArgumentError(`no zone ${describeValue(zoneId)}`, "EINVAL", "zoneId");
    let aStart = 0;
    let aEnd = 0;
    if (avoid !== undefined) {
      assertUint("avoid.start", avoid.start);
      assertUint("avoid.end", avoid.end);
      aStart = avoid.start;
      aEnd = avoid.end;
    }
    if (this.dirty) this.setupZones();
    const zl =
      zoneId !== undefined
        ? [this.zoneStates[zoneId]!]
        : this.zonelists[this.cpuNodeIdx[this.cpu]! * this.zonesPerNode + hi]!;
    const size = POW2[order]!;
    const types = [mt, ...(FALLBACKS[mt] ?? [])];
    const db = this.db;
    for (const zs of zl) {
      if (zs.managed === 0) continue;
      if (!this.watermarkFast(zs, order, zs.wmMin + zs.boost, hi, this.slowFlags(gfp))) continue;
      for (let o = order; o < this.orders; o++) {
        const bsize = POW2[o]!;
        for (const t of types) {
          const list = o * NMT + t;
          for (let i = zs.free.first(list); i >= 0; i = zs.free.nextOf(list, i)) {
            const p = db.pfnOf(i);
            let q = p;
            if (aEnd > aStart && p < aEnd && aStart < p + bsize) {
              if (p + size <= aStart) q = p;
              else {
                q = Math.ceil(aEnd / size) * size;
                if (q + size > p + bsize) continue;
              }
            }
            this.takeFromBlock(zs, i, o, q, order);
            const qi = i + (q - p);
            zs.freePages -= size;
            if (!this.checkNew(qi, order)) {
              this.discardBad(qi, q, order);
              return this.allocPagesIn(gfp, order, constraints);
            }
            return this.prepNew(zs, qi, order, gfp);
          }
        }
      }
    }
    this.countFail(gfp);
    return -1;
  }

  private slowFlags(gfp: number): number {
    let flags = ALLOC_WMARK_MIN;
    if ((gfp & __GFP_HIGH) !== 0) flags |= ALLOC_MIN_RESERVE;
    if ((gfp & __GFP_DIRECT_RECLAIM) === 0) flags |= ALLOC_NON_BLOCK;
    if ((gfp & __GFP_MEMALLOC) !== 0) flags |= ALLOC_NO_WATERMARKS;
    return flags;
  }

  private allocSlow(
    gfp: number,
    order: number,
    mt: number,
    zl: ZoneState[],
    limit: number,
    hi: number,
  ): number {
    const flags = this.slowFlags(gfp);
    for (let k = 0; k < limit; k++) {
      const zs = zl[k]!;
      if (zs.managed === 0) continue;
      if (
        (flags & ALLOC_NO_WATERMARKS) === 0 &&
        !this.watermarkFast(zs, order, zs.wmMin + zs.boost, hi, flags)
      )
        continue;
      const i = this.rmqueue(zs, order, mt);
      if (i >= 0) return this.prepNew(zs, i, order, gfp);
    }
    this.countFail(gfp);
    return -1;
  }

  private countFail(gfp: number): void {
    this.allocFail++;
    if ((gfp & __GFP_NOWARN) === 0) this.allocWarn++;
  }

  private badGfp(gfp: number): never {
    throw new InvalidArgumentError(
      `gfp mask ${describeValue(gfp)} is not a valid GFP mask (contradictory zone or mobility bits)`,
      "EINVAL",
      "gfp",
    );
  }

  /** `zone_watermark_fast()`. */
  private watermarkFast(
    zs: ZoneState,
    order: number,
    mark: number,
    hi: number,
    allocFlags: number,
  ): boolean {
    if (order === 0 && zs.freePages > mark + zs.lowmemReserve[hi]!) return true;
    return this.zoneWatermarkOkState(zs, order, mark, hi, allocFlags, zs.freePages);
  }

  /**
   * `__zone_watermark_ok()`: free pages minus the unusable ones (`2^order - 1`) must exceed the mark
   * (reduced for `ALLOC_MIN_RESERVE`, `ALLOC_NON_BLOCK`, `ALLOC_OOM`) plus
   * `lowmem_reserve[highestZoneIdx]`; for order > 0 a free block of at least that order must exist
   * on an Unmovable, Movable or Reclaimable list.
   *
   * @param zoneId - `machine.zones` index.
   * @param freePages - defaults to the zone's NR_FREE_PAGES.
   */
  zoneWatermarkOk(
    zoneId: number,
    order: number,
    mark: number,
    highestZoneIdx: number,
    allocFlags: number,
    freePages?: number,
  ): boolean {
    const zs = this.zoneStates[zoneId];
    if (zs === undefined) throw new InvalidArgumentError(`no zone ${describeValue(zoneId)}`);
    assertOrder("order", order, this.orders);
    if (this.dirty) this.setupZones();
    return this.zoneWatermarkOkState(
      zs,
      order,
      mark,
      highestZoneIdx,
      allocFlags,
      freePages ?? zs.freePages,
    );
  }

  private zoneWatermarkOkState(
    zs: ZoneState,
    order: number,
    mark: number,
    hi: number,
    allocFlags: number,
    freePagesIn: number,
  ): boolean {
    let min = mark;
    const freePages = freePagesIn - (POW2[order]! - 1);
    if ((allocFlags & ALLOC_RESERVES) !== 0) {
      if ((allocFlags & ALLOC_MIN_RESERVE) !== 0) {
        min -= Math.floor(min / 2);
        if ((allocFlags & ALLOC_NON_BLOCK) !== 0) min -= Math.floor(min / 4);
      }
      if ((allocFlags & ALLOC_OOM) !== 0) min -= Math.floor(min / 2);
    }
    if (freePages <= min + (zs.lowmemReserve[hi] ?? 0)) return false;
    if (order === 0) return true;
    for (let o = order; o < this.orders; o++) {
      if (zs.nrFree[o] === 0) continue;
      for (let mt = 0; mt < MIGRATE_PCPTYPES; mt++) if (!zs.free.isEmpty(o * NMT + mt)) return true;
      if (
        (allocFlags & (ALLOC_HIGHATOMIC | ALLOC_OOM)) !== 0 &&
        !zs.free.isEmpty(o * NMT + MIGRATE_HIGHATOMIC)
      )
        return true;
    }
    return false;
  }

  /** Takes a checked block off the lists; returns its index or -1. */
  private rmqueue(zs: ZoneState, order: number, mt: number): number {
    for (;;) {
      const i =
        order === 0 && this.pcpEnabled ? this.rmqueuePcp(zs, mt) : this.rmqueueBuddy(zs, order, mt);
      if (i < 0) return -1;
      if (this.checkNew(i, order)) return i;
      this.discardBad(i, this.sections.pfnOf(i), order);
    }
  }

  private rmqueuePcp(zs: ZoneState, mt: number): number {
    const cpu = this.cpu;
    const list = cpu * MIGRATE_PCPTYPES + mt;
    const pcp = zs.pcp;
    if (pcp.isEmpty(list)) {
      const got = this.rmqueueBulk(zs, zs.batch, mt, list);
      if (got === 0) return -1;
      zs.pcpCount[cpu] = zs.pcpCount[cpu]! + got;
    }
    const i = pcp.popHead(list);
    zs.pcpCount[cpu] = zs.pcpCount[cpu]! - 1;
    const db = this.db;
    db.flags[i] = db.flags[i]! & ~PG_pcp;
    db.mapping[i] = 0;
    return i;
  }

  /** `rmqueue_bulk()`: moves up to `count` order-0 pages onto per-CPU list `list`. */
  private rmqueueBulk(zs: ZoneState, count: number, mt: number, list: number): number {
    const db = this.db;
    let n = 0;
    for (; n < count; n++) {
      const i = this.rmqueueBuddy(zs, 0, mt);
      if (i < 0) break;
      db.flags[i] = db.flags[i]! | PG_pcp;
      db.mapping[i] = list;
      zs.pcp.addTail(list, i);
    }
    return n;
  }

  /** `__rmqueue()`: smallest block of `mt`, else steal and retry. Index or -1. */
  private rmqueueBuddy(zs: ZoneState, order: number, mt: number): number {
    let i = this.rmqueueSmallest(zs, order, mt);
    while (i < 0 && mt < MIGRATE_PCPTYPES && this.rmqueueFallback(zs, order, mt)) {
      i = this.rmqueueSmallest(zs, order, mt);
    }
    return i;
  }

  /** `__rmqueue_smallest()` with `expand()`. */
  private rmqueueSmallest(zs: ZoneState, order: number, mt: number): number {
    const heads = zs.free.heads;
    for (let o = order; o < this.orders; o++) {
      const list = o * NMT + mt;
      const i = heads[list]! - 1;
      if (i < 0) continue;
      this.delFree(zs, list, i, o);
      this.expand(zs, i, order, o, mt);
      zs.freePages -= POW2[order]!;
      return i;
    }
    return -1;
  }

  /** Removes free block head `i` (order `o`) from list `list`. */
  private delFree(zs: ZoneState, list: number, i: number, o: number): void {
    const db = this.db;
    const next = db.next;
    const prev = db.prev;
    const free = zs.free;
    const heads = free.heads;
    // PageLists.remove(), inline.
    const n = next[i]!;
    if (n === 0) pageListCorrupt(i);
    const me = i + 1;
    if (n === me) heads[list] = 0;
    else {
      const p = prev[i]!;
      next[p - 1] = n;
      prev[n - 1] = p;
      if (heads[list] === me) heads[list] = n;
    }
    next[i] = 0;
    prev[i] = 0;
    free.counts[list] = free.counts[list]! - 1;
    const flags = db.flags;
    flags[i] = flags[i]! & ~PG_buddy;
    db.private[i] = 0;
    db.mapping[i] = 0;
    zs.nrFree[o] = zs.nrFree[o]! - 1;
  }

  /** Puts free block head `i` of order `o` on the list of `mt`. */
  private addFree(zs: ZoneState, i: number, o: number, mt: number, tail: boolean): void {
    const db = this.db;
    const list = o * NMT + mt;
    const flags = db.flags;
    flags[i] = flags[i]! | PG_buddy;
    db.private[i] = o;
    db.mapping[i] = list;
    // PageLists.addHead() / addTail(), inline.
    const next = db.next;
    const prev = db.prev;
    if (next[i] !== 0) pageListDoubleAdd(db, i);
    const free = zs.free;
    const heads = free.heads;
    const me = i + 1;
    const h = heads[list]!;
    if (h === 0) {
      next[i] = me;
      prev[i] = me;
      heads[list] = me;
    } else {
      const t = prev[h - 1]!;
      next[i] = h;
      prev[i] = t;
      next[t - 1] = me;
      prev[h - 1] = me;
      if (!tail) heads[list] = me;
    }
    free.counts[list] = free.counts[list]! + 1;
    zs.nrFree[o] = zs.nrFree[o]! + 1;
  }

  /** `expand()`: gives the upper halves of block `i` (order high) back, down to order low. */
  private expand(zs: ZoneState, i: number, low: number, high: number, mt: number): void {
    let h = high;
    while (h > low) {
      h--;
      this.addFree(zs, i + POW2[h]!, h, mt, false);
    }
  }

  /** `__rmqueue_fallback()`: steals a block from another migratetype. */
  private rmqueueFallback(zs: ZoneState, order: number, startMt: number): boolean {
    let current = this.orders - 1;
    let fb = -1;
    let canSteal = false;
    for (; current >= order; current--) {
      fb = this.findFallback(zs, current, startMt);
      if (fb < 0) continue;
      canSteal = this.canStealFallback(current, startMt);
      if (!canSteal && startMt === MIGRATE_MOVABLE && current > order) {
        for (current = order; current < this.orders; current++) {
          fb = this.findFallback(zs, current, startMt);
          if (fb >= 0) break;
        }
        canSteal = this.canStealFallback(current, startMt);
      }
      break;
    }
    if (fb < 0) return false;
    const i = zs.free.first(current * NMT + fb);
    this.stealFallback(zs, i, current, startMt, canSteal);
    return true;
  }

  private findFallback(zs: ZoneState, order: number, mt: number): number {
    if (zs.nrFree[order] === 0) return -1;
    const fbs = FALLBACKS[mt]!;
    for (let k = 0; k < fbs.length; k++) {
      const f = fbs[k]!;
      if (!zs.free.isEmpty(order * NMT + f)) return f;
    }
    return -1;
  }

  /** `can_steal_fallback()`. */
  private canStealFallback(order: number, startMt: number): boolean {
    if (order >= this.pageblockOrder) return true;
    return (
      order >= this.pageblockOrder / 2 ||
      startMt === MIGRATE_RECLAIMABLE ||
      startMt === MIGRATE_UNMOVABLE
    );
  }

  /** `steal_suitable_fallback()` (5.x form: free pages of the block move, the block may be claimed). */
  private stealFallback(
    zs: ZoneState,
    i: number,
    order: number,
    startMt: number,
    wholeBlock: boolean,
  ): void {
    const pbPages = this.pageblockPages;
    const b = Math.floor(i / pbPages);
    const oldType = this.pbType[b]!;
    if (order >= this.pageblockOrder) {
      const nb = POW2[order - this.pageblockOrder]!;
      this.pbType.fill(startMt, b, b + nb);
      this.moveFree(zs, i, order, startMt);
      return;
    }
    if (!wholeBlock) {
      this.moveFree(zs, i, order, startMt);
      return;
    }
    const db = this.db;
    const start = b * pbPages;
    const zn = db.zoneNode[i]!;
    let freePages = 0;
    let movable = 0;
    for (let k = start; k < start + pbPages; ) {
      const f = db.flags[k]!;
      if (db.zoneNode[k] !== zn) {
        k++;
        continue;
      }
      if ((f & PG_buddy) !== 0) {
        const o = db.private[k]!;
        this.moveFree(zs, k, o, startMt);
        freePages += POW2[o]!;
        k += POW2[o]!;
        continue;
      }
      if ((f & PG_lru) !== 0) movable++;
      k++;
    }
    const alike =
      startMt === MIGRATE_MOVABLE
        ? movable
        : oldType === MIGRATE_MOVABLE
          ? pbPages - (freePages + movable)
          : 0;
    if (freePages + alike >= pbPages / 2) this.pbType[b] = startMt;
  }

  /** `move_to_free_list()`: to the tail of `mt`'s list. */
  private moveFree(zs: ZoneState, i: number, o: number, mt: number): void {
    const db = this.db;
    const list = o * NMT + mt;
    zs.free.remove(db.mapping[i]!, i);
    zs.free.addTail(list, i);
    db.mapping[i] = list;
  }

  /** `check_new_pages()`: every page of the block clean, count and mapcount zero. */
  private checkNew(i: number, order: number): boolean {
    const db = this.db;
    if (db.flags[i] !== 0 || db.refcount[i] !== 0 || db.mapcount[i] !== 0) return false;
    if (order > 0 && this.checkPages) {
      const flags = db.flags;
      const rc = db.refcount;
      const mc = db.mapcount;
      const end = i + POW2[order]!;
      for (let k = i + 1; k < end; k++) {
        if ((flags[k]! | rc[k]! | mc[k]!) !== 0) return false;
      }
    }
    return true;
  }

  /** Leaks a bad block (Linux's bad_page on allocation): it is never handed out. */
  private discardBad(i: number, pfn: number, order: number): void {
    this.badBlocks.push({ pfn, order });
    this.badPages += POW2[order]!;
    this.observer?.pagesTaken(pfn, POW2[order]!);
    void i;
  }

  /** `prep_new_page()`: count 1, compound marks, statistics. Returns the pfn. */
  private prepNew(zs: ZoneState, i: number, order: number, gfp: number): number {
    const db = this.db;
    db.refcount[i] = 1;
    const n = POW2[order]!;
    if (order > 0) {
      db.flags[i] = PG_head;
      db.flags[i + 1] = PG_tail;
      db.private[i + 1] = order;
    }
    zs.pgalloc += n;
    if ((gfp & __GFP_ZERO) !== 0) this.zeroedPages += n;
    const pfn = this.db.pfnOf(i);
    if (this.observer !== null) this.observer.pagesTaken(pfn, n);
    return pfn;
  }

  // ---------------------------------------------------------------------------------------------
  // Free

  /**
   * Drops a reference to the block of 2^order pages at `pfn` (`__free_pages`); the last one frees
   * it: order 0 to the current CPU's per-CPU list (hot), larger blocks to the buddy lists.
   *
   * @throws {@link @mem/machine!index.KernelPanic} for a pfn outside every zone, a double free, a wrong order, a
   * reserved, mapped or otherwise bad page; nothing is changed then.
   * @throws {@link @mem/machine!index.InvalidArgumentError} for a pfn or order that is not a valid integer.
   */
  free(pfn: number, order: number): void {
    if (order === 0 && this.pcpFast) {
      if (this.freePcpFast(pfn)) return;
    } else if (this.buddyFast && this.freeBuddyFast(pfn, order)) return;
    this.freeGeneric(pfn, order);
  }

  /**
   * The buddy-list fast path of {@link free} (orders above 0, or order 0 without per-CPU lists):
   * the last reference to a plain block (a compound head of that order with only `PG_head`, its
   * first tail marked, count 1, unmapped; or a single page with no flags) with no hook installed is
   * merged into the free lists exactly as `freeFinal` and `__free_one_page` would. Returns false,
   * having changed nothing, in every other case, for {@link freeGeneric} to check and handle.
   */
  private freeBuddyFast(pfn: number, order: number): boolean {
    if (typeof pfn !== "number" || !(pfn >= 0 && pfn <= MAX_PFN && Math.floor(pfn) === pfn))
      return false;
    if (order >>> 0 !== order || order >= this.orders) return false;
    const db = this.db;
    const i = db.indexOf(pfn);
    if (i < 0) return false;
    const zn = db.zoneNode[i]!;
    const flags = db.flags;
    const priv = db.private;
    if (order > 0) {
      if (flags[i] !== PG_head || priv[i + 1] !== order || (flags[i + 1]! & PG_tail) === 0)
        return false;
    } else if (flags[i] !== 0) return false;
    if (db.refcount[i] !== 1 || db.mapcount[i] !== 0 || zn % 8 === NO_ZONE) return false;
    // A hook that wants this free (one with no mask, or a mask the flags meet) takes the slow path.
    if (this.hookAll || (flags[i]! & this.hookMask) !== 0) return false;
    const n = POW2[order]!;
    db.refcount[i] = 0;
    this.pgfree += n;
    flags[i] = 0;
    priv[i] = 0;
    db.mapping[i] = 0;
    if (order > 0) {
      flags[i + 1] = 0;
      priv[i + 1] = 0;
    }
    const zs = this.zoneByZn[zn]!;
    this.freeOneBlock(zs, i, pfn, order, this.pbType[Math.floor(i * this.pageblockScale)]!, false);
    zs.freePages += n;
    if (this.observer !== null) this.observer.pagesFreed(pfn, n);
    return true;
  }

  /**
   * The order-0 fast path of {@link free}: the last reference to a plain page (no flags, count 1,
   * unmapped, on no list) goes onto the current CPU's per-CPU list exactly as `freeFinal` and
   * `freePcp` would put it there (with hooks installed, they run and the generic rest follows).
   * Returns false, having changed nothing, in every other case (bad input, other counts or flags,
   * an isolated or highatomic pageblock), for {@link freeGeneric} to check and handle.
   */
  private freePcpFast(pfn: number): boolean {
    // The section cache's hit test inline (a pfn in the cached section, RAM ranges unchanged; see
    // section-cache.ts): an integer (which V8 tests at once for a small integer) in the cached
    // range is a valid pfn. Anything else takes the validating lookup.
    const sc = this.sections;
    const i =
      Number.isInteger(pfn) && pfn >= sc.start && pfn < sc.end && this.machine.ramRanges === sc.ram
        ? sc.base + (pfn - sc.start)
        : this.pcpIndexSlow(pfn);
    if (i < 0) return false;
    if (this.db.flags !== this.pFlags) this.refreshArrays();
    const flags = this.pFlags;
    const next = this.pNext;
    const refcount = this.pRefcount;
    if (flags[i] !== 0 || refcount[i] !== 1 || this.pMapcount[i] !== 0 || next[i] !== 0)
      return false;
    // Undefined exactly for NO_ZONE pages: every zone of the machine has a state.
    const zs = this.zoneByZn[this.pZoneNode[i]!];
    if (zs === undefined) return false;
    // A 32-bit shift only on an index below 2^31 (one integer compare, and the shift is short on
    // the way to the list head); a larger index takes the exact product and floor.
    const mt =
      this.pbType[
        i <= 0x7fffffff ? i >>> this.pageblockShift : Math.floor(i * this.pageblockScale)
      ]!;
    if (mt >= PCP_TYPES) return false;
    // freeFinal(): the count drops to zero; the hooks, if any, see the page first. They may do
    // anything (even free or allocate), so after them the generic rest of the free runs.
    refcount[i] = 0;
    // The page's flags are 0 here, so only hooks without a flag mask want to see it.
    if (this.hookAll === true) return this.freePcpHooked(i, pfn);
    // PGFREE, page state cleared.
    this.pgfree += 1;
    this.pPrivate[i] = 0;
    // free_unref_page(): to the head of this CPU's list of the pageblock's migratetype.
    const cpu = this.cpu;
    this.pcpPushFast(zs, cpu * PCP_TYPES + mt, i);
    const c = zs.pcpCount[cpu]! + 1;
    zs.pcpCount[cpu] = c;
    if (c >= zs.high || this.observer !== null) this.freePcpFastTail(zs, cpu, c, pfn);
    return true;
  }

  // The rare parts of freePcpFast in calls of their own: it stays small enough for V8 to inline
  // it into its callers next to allocPcpFast (their sum is within one caller's inlining budget).

  /** {@link freePcpFast}'s list step: page `i` to the head of per-CPU list `list`. */
  private pcpPushFast(zs: ZoneState, list: number, i: number): void {
    const next = this.pNext;
    const prev = this.pPrev;
    const heads = zs.pcpHeads;
    const me = i + 1;
    const h = heads[list]!;
    if (h === 0) {
      next[i] = me;
      prev[i] = me;
    } else {
      const t = prev[h - 1]!;
      next[i] = h;
      prev[i] = t;
      next[t - 1] = me;
      prev[h - 1] = me;
    }
    heads[list] = me;
    zs.pcpCounts[list] = zs.pcpCounts[list]! + 1;
    this.pFlags[i] = PCP_FLAG;
    this.pMapping[i] = list;
  }

  /** {@link freePcpFast}'s index of `pfn` outside the cached section: -1 for a bad pfn. */
  private pcpIndexSlow(pfn: number): number {
    if (typeof pfn !== "number" || !(pfn >= 0 && pfn <= MAX_PFN && Math.floor(pfn) === pfn))
      return -1;
    return this.sections.indexOf(pfn);
  }

  /** {@link freePcpFast} with hooks that see every free: they run, then the generic rest. */
  private freePcpHooked(i: number, pfn: number): boolean {
    if (!this.runHooks(i, pfn, 0, 0)) this.freeAfterHooks(i, pfn, 0, false, 0);
    return true;
  }

  /** {@link freePcpFast}'s end: the drain above `high` (count `c`), then the observer. */
  private freePcpFastTail(zs: ZoneState, cpu: number, c: number, pfn: number): void {
    if (c >= zs.high) this.freePcpBulk(zs, cpu, zs.batch);
    if (this.observer !== null) this.observer.pagesFreed(pfn, 1);
  }

  /** {@link free} for every case the order-0 fast path leaves. */
  private freeGeneric(pfn: number, order: number): void {
    const i = this.pageIndex(pfn, "__free_pages");
    if (order >>> 0 !== order || order >= this.orders) assertOrder("order", order, this.orders);
    const db = this.db;
    const f = db.flags[i]!;
    if (
      (f & (PG_reserved | PG_buddy | PG_pcp | PG_tail | PG_head | PG_isolated)) !== 0 ||
      order > 0
    )
      this.checkFreeHead(i, pfn, order, f);
    const rc = db.refcount[i]!;
    if (rc <= 0) {
      if (this.headOf(i, pfn) !== i)
        throw new KernelPanic(
          "bad-page",
          `bad page: pfn ${describeValue(pfn)} is a tail page of a compound block`,
        );
      throw new KernelPanic(
        "double-free",
        `__free_pages: pfn ${describeValue(pfn)} has reference count ${rc} (double free)`,
      );
    }
    if (rc > 1) {
      db.refcount[i] = rc - 1;
      return;
    }
    this.freeFinal(i, pfn, order, false);
  }

  /**
   * `free_hot_cold_page()`: drops the reference to the order-0 page at `pfn` (which must hold the
   * last one) and puts it on the head (hot) or the tail (cold) of the current CPU's list.
   */
  freeHotCold(pfn: number, cold: boolean): void {
    const i = this.pageIndex(pfn, "free_hot_cold_page");
    const db = this.db;
    const f = db.flags[i]!;
    this.checkFreeHead(i, pfn, 0, f);
    const rc = db.refcount[i]!;
    if (rc !== 1)
      throw new KernelPanic(
        rc <= 0 ? "double-free" : "bad-page",
        `free_hot_cold_page: pfn ${describeValue(pfn)} has reference count ${rc}, expected 1`,
      );
    this.freeFinal(i, pfn, 0, cold);
  }

  /** Takes a reference on the page (or the compound block holding it) at `pfn` (`get_page`). */
  getPage(pfn: number): void {
    const i = this.pageIndex(pfn, "get_page");
    const h = this.headOf(i, pfn);
    const db = this.db;
    const rc = db.refcount[h]!;
    if (rc <= 0)
      throw new KernelPanic(
        "bad-page",
        `get_page: pfn ${describeValue(pfn)} has reference count ${rc} (${this.describeState(h)})`,
      );
    db.refcount[h] = rc + 1;
  }

  /** Drops a reference (`put_page`); the last one frees the page or the whole compound block. */
  putPage(pfn: number): void {
    const i = this.pageIndex(pfn, "put_page");
    const h = this.headOf(i, pfn);
    const db = this.db;
    const rc = db.refcount[h]!;
    if (rc <= 0)
      throw new KernelPanic(
        "bad-page",
        `put_page: pfn ${describeValue(pfn)} has reference count ${rc} (${this.describeState(h)})`,
      );
    if (rc > 1) {
      db.refcount[h] = rc - 1;
      return;
    }
    const order = (db.flags[h]! & PG_head) !== 0 ? db.private[h + 1]! : 0;
    this.freeFinal(h, pfn - (i - h), order, false);
  }

  /** The reference count of the page or of its compound head (`page_count`). */
  pageCount(pfn: number): number {
    const i = this.pageIndex(pfn, "page_count");
    return this.db.refcount[this.headOf(i, pfn)]!;
  }

  /** The order of the allocated block headed at `pfn` (0 for a single page), or -1 if not allocated. */
  compoundOrder(pfn: number): number {
    const i = this.pageIndex(pfn, "compound_order");
    const db = this.db;
    if (db.refcount[i]! <= 0 || (db.flags[i]! & PG_tail) !== 0) return -1;
    return (db.flags[i]! & PG_head) !== 0 ? db.private[i + 1]! : 0;
  }

  /** Index of the compound head of page `i` (itself when it is no tail). */
  private headOf(i: number, pfn: number): number {
    const db = this.db;
    const f = db.flags[i]!;
    if ((f & PG_tail) === 0) {
      if (db.refcount[i]! !== 0 || (f & (PG_head | PG_buddy | PG_pcp | PG_reserved)) !== 0)
        return i;
    }
    // Only page[1] of a compound block is marked: search the aligned blocks holding pfn.
    for (let k = 1; k < this.orders; k++) {
      const off = pfn % POW2[k]!;
      if (off === 0) continue;
      const h = i - off;
      const fh = db.flags[h]!;
      if ((fh & PG_head) !== 0 && db.refcount[h]! > 0 && off < POW2[db.private[h + 1]!]!) return h;
      if ((fh & PG_buddy) !== 0 && off < POW2[db.private[h]!]!) return i;
    }
    if ((f & PG_tail) !== 0)
      throw new KernelPanic("bad-page", `pfn ${describeValue(pfn)} is a tail page with no head`);
    return i;
  }

  /** Validates a pfn and returns its page index. */
  private pageIndex(pfn: number, what: string): number {
    if (typeof pfn !== "number" || !Number.isSafeInteger(pfn) || pfn < 0)
      throw new InvalidArgumentError(
        `${what}: pfn must be a non-negative integer no larger than 2^53 - 1, got ${describeValue(pfn)}`,
        "EINVAL",
        "pfn",
      );
    const i = this.db.indexOf(pfn);
    if (i < 0 || this.db.zoneNode[i]! % 8 === NO_ZONE)
      throw new KernelPanic("bad-pfn", `${what}: pfn ${describeValue(pfn)} is outside every zone`);
    return i;
  }

  private describeState(i: number): string {
    const f = this.db.flags[i]!;
    if ((f & PG_reserved) !== 0) return "reserved page";
    if ((f & PG_buddy) !== 0) return "free page in the buddy allocator";
    if ((f & PG_pcp) !== 0) return "free page on a per-CPU list";
    if ((f & PG_isolated) !== 0) return "isolated page";
    return "not allocated";
  }

  /** The checks of `__free_pages` on the head page before the count drops; throws. */
  private checkFreeHead(i: number, pfn: number, order: number, f: number): void {
    if ((f & PG_reserved) !== 0)
      throw new KernelPanic(
        "bad-page",
        `bad page: pfn ${describeValue(pfn)} is reserved and was never allocated`,
      );
    if ((f & (PG_buddy | PG_pcp)) !== 0)
      throw new KernelPanic(
        "double-free",
        `double free: pfn ${describeValue(pfn)} is already free`,
      );
    if ((f & PG_isolated) !== 0)
      throw new KernelPanic(
        "bad-page",
        `bad page: pfn ${describeValue(pfn)} is isolated, not allocated`,
      );
    if ((f & PG_tail) !== 0)
      throw new KernelPanic(
        "bad-page",
        `bad page: pfn ${describeValue(pfn)} is a tail page of a compound block`,
      );
    const db = this.db;
    if (order > 0) {
      if ((f & PG_head) === 0)
        throw new KernelPanic(
          "wrong-order",
          `__free_pages: pfn ${describeValue(pfn)} was allocated as a single page, freed with order ${order}`,
        );
      const real = db.private[i + 1]!;
      if (real !== order)
        throw new KernelPanic(
          "wrong-order",
          `__free_pages: pfn ${describeValue(pfn)} heads a block of order ${real}, freed with order ${order}`,
        );
    } else if ((f & PG_head) !== 0) {
      throw new KernelPanic(
        "wrong-order",
        `__free_pages: pfn ${describeValue(pfn)} heads a block of order ${db.private[i + 1]}, freed with order 0`,
      );
    }
  }

  /**
   * The final free of block `i` (`free_the_page`): bad_page checks, the hooks, statistics, then the
   * per-CPU list (order 0) or the buddy lists. The count is 1 on entry.
   */
  private freeFinal(i: number, pfn: number, order: number, cold: boolean): void {
    const db = this.db;
    const f = db.flags[i]!;
    const n = POW2[order]!;
    if (db.mapcount[i] !== 0)
      throw new KernelPanic(
        "bad-page",
        `bad page: pfn ${describeValue(pfn)} is still mapped (mapcount ${db.mapcount[i]})`,
      );
    if ((f & PAGE_FLAGS_CHECK_AT_FREE) !== 0)
      throw new KernelPanic(
        "bad-page",
        `bad page: pfn ${describeValue(pfn)} freed with flags 0x${(f & PAGE_FLAGS_CHECK_AT_FREE).toString(16)} set`,
      );
    if (order > 0 && (db.flags[i + 1]! & PG_tail) === 0)
      throw new KernelPanic(
        "bad-page",
        `bad page: compound block ${describeValue(pfn)} lost its first tail page's PG_tail`,
      );
    if (order > 0 && this.checkPages) {
      const flags = db.flags;
      const rc = db.refcount;
      const mc = db.mapcount;
      for (let k = i + 1; k < i + n; k++) {
        const ft = flags[k]!;
        if ((ft & PAGE_FLAGS_CHECK_AT_FREE) !== 0 || (rc[k]! | mc[k]!) !== 0)
          throw new KernelPanic(
            "bad-page",
            `bad page: tail pfn ${describeValue(pfn + (k - i))} of block ${describeValue(pfn)} has flags 0x${ft.toString(16)}, count ${rc[k]}, mapcount ${mc[k]}`,
          );
      }
    }
    db.refcount[i] = 0;
    if ((this.hookAll || (f & this.hookMask) !== 0) && this.runHooks(i, pfn, order, f)) return;
    this.freeAfterHooks(i, pfn, order, cold, f);
  }

  /**
   * The rest of `free_the_page` once the count is zero and no hook claimed the block: the
   * `PG_foreign` check, statistics, then the per-CPU list (order 0) or the buddy lists. `f` is the
   * head's flags as they were before the hooks ran.
   */
  private freeAfterHooks(i: number, pfn: number, order: number, cold: boolean, f: number): void {
    const db = this.db;
    const n = POW2[order]!;
    if ((f & PG_foreign) !== 0) {
      db.refcount[i] = 1;
      throw new KernelPanic(
        "bad-page",
        `bad page: pfn ${describeValue(pfn)} is foreign (PG_foreign) and no hook took it back to its owner`,
      );
    }
    this.pgfree += n;
    db.flags[i] = 0;
    db.private[i] = 0;
    db.mapping[i] = 0;
    if (order > 0) {
      // Tails carry no marks but page[1]'s (Linux clears every tail; with checkPages so do we).
      if (this.checkPages) db.flags.fill(0, i + 1, i + n);
      else db.flags[i + 1] = 0;
      db.private[i + 1] = 0;
    }
    const zs = this.zoneByZn[db.zoneNode[i]!]!;
    if (order === 0 && this.pcpEnabled) this.freePcp(zs, i, cold);
    else {
      this.freeOneBlock(
        zs,
        i,
        pfn,
        order,
        this.pbType[Math.floor(i / this.pageblockPages)]!,
        false,
      );
      zs.freePages += n;
    }
    if (this.observer !== null) this.observer.pagesFreed(pfn, n);
  }

  /**
   * Runs the hooks that want a block with flags `f` (no mask, or a mask `f` meets); true when one
   * claimed the block. Restores the count if a hook throws.
   */
  private runHooks(i: number, pfn: number, order: number, f: number): boolean {
    const db = this.db;
    const hooks = this.hooks;
    for (let k = 0; k < hooks.length; k++) {
      const hook = hooks[k]!;
      const mask = hook.flagMask ?? 0;
      if (mask !== 0 && (f & mask) === 0) continue;
      let claimed: boolean;
      try {
        claimed = hook.onFree(pfn, order);
      } catch (e) {
        db.refcount[i] = 1;
        throw e;
      }
      if (claimed) {
        this.hookClaims++;
        if (order > 0) {
          db.flags[i] = db.flags[i]! & ~PG_head;
          db.flags[i + 1] = db.flags[i + 1]! & ~PG_tail;
          db.private[i + 1] = 0;
        }
        return true;
      }
    }
    return false;
  }

  /** `free_unref_page()`: onto the current CPU's list; bulk return past `high`. */
  private freePcp(zs: ZoneState, i: number, cold: boolean): void {
    let mt = this.pbType[Math.floor(i / this.pageblockPages)]!;
    if (mt >= MIGRATE_PCPTYPES) {
      if (mt === MIGRATE_ISOLATE) {
        this.freeOneBlock(zs, i, this.sections.pfnOf(i), 0, mt, false);
        zs.freePages += 1;
        return;
      }
      mt = MIGRATE_MOVABLE;
    }
    const cpu = this.cpu;
    const list = cpu * MIGRATE_PCPTYPES + mt;
    const db = this.db;
    db.flags[i] = PG_pcp;
    db.mapping[i] = list;
    if (cold) zs.pcp.addTail(list, i);
    else zs.pcp.addHead(list, i);
    const c = zs.pcpCount[cpu]! + 1;
    zs.pcpCount[cpu] = c;
    if (c >= zs.high) this.freePcpBulk(zs, cpu, zs.batch);
  }

  /** `free_pcppages_bulk()` (4.x round robin over the lists, cold end first). */
  private freePcpBulk(zs: ZoneState, cpu: number, countIn: number): void {
    let count = Math.min(countIn, zs.pcpCount[cpu]!);
    const db = this.db;
    const base = cpu * MIGRATE_PCPTYPES;
    let mt = 0;
    let batchFree = 0;
    const freed = count;
    while (count > 0) {
      let list: number;
      do {
        batchFree++;
        if (++mt === MIGRATE_PCPTYPES) mt = 0;
        list = base + mt;
      } while (zs.pcp.isEmpty(list));
      if (batchFree === MIGRATE_PCPTYPES) batchFree = count;
      do {
        const i = zs.pcp.popTail(list);
        db.flags[i] = db.flags[i]! & ~PG_pcp;
        db.mapping[i] = 0;
        this.freeOneBlock(zs, i, this.sections.pfnOf(i), 0, mt, false);
      } while (--count > 0 && --batchFree > 0 && !zs.pcp.isEmpty(list));
    }
    zs.pcpCount[cpu] = zs.pcpCount[cpu]! - freed;
    zs.freePages += freed;
  }

  /**
   * `__free_one_page()`: merges block `i` (order `order`) with free buddies and puts it on a free
   * list: the tail when `toTail` or when the next merge is likely, else the head. Does not touch
   * NR_FREE_PAGES.
   */
  private freeOneBlock(
    zs: ZoneState,
    iIn: number,
    pfnIn: number,
    orderIn: number,
    mt: number,
    toTail: boolean,
  ): void {
    const db = this.db;
    const flags = db.flags;
    const priv = db.private;
    const zn = db.zoneNode;
    const zone = zn[iIn]!;
    const maxMerge = this.orders - 1;
    const pbOrder = this.pageblockOrder;
    let i = iIn;
    let pfn = pfnIn;
    let order = orderIn;
    while (order < maxMerge) {
      const size = POW2[order]!;
      // The lower half of the order+1 block holding pfn starts at a multiple of 2 * size.
      const upper = pfn - Math.floor(pfn * INV_POW2[order + 1]!) * 2 * size >= size;
      const bi = upper ? i - size : i + size;
      if ((flags[bi]! & PG_buddy) === 0 || priv[bi] !== order || zn[bi] !== zone) break;
      if (order >= pbOrder) {
        const bmt = this.pbType[Math.floor(bi * this.pageblockScale)]!;
        if (bmt !== mt && (mt >= MIGRATE_PCPTYPES || bmt >= MIGRATE_PCPTYPES)) break;
      }
      this.delFree(zs, db.mapping[bi]!, bi, order);
      if (upper) {
        i = bi;
        pfn -= size;
      }
      order++;
    }
    let tail = toTail;
    if (!tail && order < maxMerge - 1) {
      // buddy_merge_likely(): is the buddy of the next-higher block free?
      const size = POW2[order]!;
      const hsize = 2 * size;
      const higher = Math.floor(pfn * INV_POW2[order + 1]!) * hsize;
      const hi = i - (pfn - higher);
      const hb =
        higher - Math.floor(higher * INV_POW2[order + 2]!) * 2 * hsize >= hsize
          ? hi - hsize
          : hi + hsize;
      tail = (flags[hb]! & PG_buddy) !== 0 && priv[hb] === order + 1 && zn[hb] === zone;
    }
    this.addFree(zs, i, order, mt, tail);
  }

  // ---------------------------------------------------------------------------------------------
  // Per-CPU lists

  /** `drain_all_pages()` / `drain_local_pages()`: returns per-CPU pages to the buddy lists. */
  drain(cpu?: number): void {
    if (cpu !== undefined) assertOrder("cpu", cpu, this.cpus);
    for (const zs of this.zoneStates) {
      for (let c = 0; c < this.cpus; c++) {
        if (cpu !== undefined && c !== cpu) continue;
        if (zs.pcpCount[c]! > 0) this.freePcpBulk(zs, c, zs.pcpCount[c]!);
      }
    }
  }

  /** Sets the CPU the following operations run on. */
  setCpu(cpu: number): void {
    assertOrder("cpu", cpu, this.cpus);
    this.cpu = cpu;
  }

  // ---------------------------------------------------------------------------------------------
  // Boot hand-over and zone setup

  /**
   * {@link FreePageSink.freePagesBootmem}: takes the reserved block of 2^order RAM pages at `pfn`
   * (aligned to its size, inside one zone) as free and counts it in the zone's managed pages
   * (`__free_pages_core`, to the tail of the lists). Hooks are not called: nothing was allocated.
   */
  freePagesBootmem(pfn: number, order: number): void {
    assertOrder("order", order, this.orders);
    const i = this.pageIndex(pfn, "__free_pages_core");
    const n = POW2[order]!;
    if (pfn % n !== 0)
      throw new InvalidArgumentError(
        `__free_pages_core: pfn ${describeValue(pfn)} is not aligned to order ${order}`,
        "EINVAL",
        "pfn",
      );
    this.checkBootBlock(i, pfn, n);
    this.bootFree(i, pfn, order);
  }

  /**
   * Hands `[startPfn, endPfn)` over as {@link freePagesBootmem} would in the largest aligned blocks
   * (`__free_pages_memory`). Every page must be reserved RAM inside a zone; checked first.
   */
  freeBootmemRange(startPfn: number, endPfn: number): void {
    assertUint("startPfn", startPfn);
    assertUint("endPfn", endPfn);
    if (endPfn < startPfn)
      throw new InvalidArgumentError(`endPfn ${endPfn} is below startPfn ${startPfn}`);
    const blocks = this.alignedBlocks(startPfn, endPfn);
    const idx: number[] = [];
    for (const [p, o] of blocks) {
      const i = this.pageIndex(p, "__free_pages_memory");
      this.checkBootBlock(i, p, POW2[o]!);
      idx.push(i);
    }
    blocks.forEach(([p, o], k) => {
      this.bootFree(idx[k]!, p, o);
    });
  }

  /** Hands every RAM page of the machine that is still reserved to the allocator. Returns the count. */
  freeAllRam(): number {
    let total = 0;
    const db = this.db;
    for (const r of this.machine.ramRanges) {
      let s = r.start;
      while (s < r.end) {
        while (s < r.end && !this.isBootFreeable(db.indexOf(s))) s++;
        let e = s;
        while (e < r.end && this.isBootFreeable(db.indexOf(e))) e++;
        if (e > s) {
          this.freeBootmemRange(s, e);
          total += e - s;
        }
        s = e;
      }
    }
    return total;
  }

  private isBootFreeable(i: number): boolean {
    const db = this.db;
    return (
      i >= 0 &&
      (db.flags[i]! & (PG_reserved | PG_hole)) === PG_reserved &&
      db.zoneNode[i]! % 8 !== NO_ZONE
    );
  }

  /** Greedy split of `[s, e)` into maximal aligned blocks. */
  private alignedBlocks(s: number, e: number): [number, number][] {
    const out: [number, number][] = [];
    let p = s;
    while (p < e) {
      let o = this.orders - 1;
      while (o > 0 && (p % POW2[o]! !== 0 || p + POW2[o]! > e)) o--;
      out.push([p, o]);
      p += POW2[o]!;
    }
    return out;
  }

  private checkBootBlock(i: number, pfn: number, n: number): void {
    const db = this.db;
    const flags = db.flags;
    const zn = db.zoneNode;
    const z0 = zn[i]!;
    for (let k = i; k < i + n; k++) {
      if ((flags[k]! & (PG_reserved | PG_hole)) !== PG_reserved || zn[k] !== z0) {
        throw new KernelPanic(
          "bad-page",
          `boot hand-over: pfn ${describeValue(pfn + (k - i))} is not a reserved RAM page of the block's zone (flags 0x${flags[k]!.toString(16)})`,
        );
      }
    }
  }

  private bootFree(i: number, pfn: number, order: number): void {
    const db = this.db;
    const n = POW2[order]!;
    db.flags.fill(0, i, i + n);
    db.refcount.fill(0, i, i + n);
    const zs = this.zoneByZn[db.zoneNode[i]!]!;
    zs.managed += n;
    zs.freePages += n;
    this.freeOneBlock(zs, i, pfn, order, this.pbType[Math.floor(i / this.pageblockPages)]!, true);
    this.dirty = true;
    if (this.observer !== null) this.observer.pagesFreed(pfn, n);
  }

  /**
   * Recomputes `min_free_kbytes` (`calculate_min_free_kbytes`), the watermarks, `lowmem_reserve`
   * and the per-CPU batch and high of every zone (`init_per_zone_wmark_min`). Runs by itself before
   * the first allocation after managed pages changed.
   */
  setupZones(): void {
    const zones = this.zoneStates;
    const normalIdx = this.gfpZoneIdx[0]!;
    let nrFreeBuffer = 0;
    for (const zs of zones) {
      if (zs.idx <= normalIdx && zs.managed > zs.wmHigh) nrFreeBuffer += zs.managed - zs.wmHigh;
    }
    this.minFreeKbytes = calculateMinFreeKbytes(
      nrFreeBuffer,
      this.machine.pageSize,
      this.userMinFreeKbytes,
    );
    this.setupWatermarksOnly();
    this.dirty = false;
  }

  private setupWatermarksOnly(): void {
    const zones = this.zoneStates;
    const wm = setupZoneWatermarks(
      zones,
      this.minFreeKbytes,
      this.machine.pageSize,
      this.watermarkScaleFactor,
    );
    zones.forEach((zs, k) => {
      const w = wm[k]!;
      zs.wmMin = w.min;
      zs.wmLow = w.low;
      zs.wmHigh = w.high;
      zs.wmPromo = w.promo;
    });
    for (const node of this.machine.nodes) {
      const nz = node.zones.map((z) => this.zoneStates[z.id]!);
      const table = lowmemReserve(
        nz.map((z) => z.managed),
        nz.map((z) => this.lowmemReserveRatio[z.zone.type] ?? 0),
      );
      nz.forEach((z, k) => {
        z.lowmemReserve = table[k]!;
      });
    }
    const ps = this.machine.pageSize;
    for (const zs of zones) {
      const nodeIdx = this.nodeIdxById.get(zs.zone.nid) ?? 0;
      let cpusOfNode = 0;
      for (let c = 0; c < this.cpus; c++) if (this.cpuNodeIdx[c] === nodeIdx) cpusOfNode++;
      zs.batch = zoneBatchsize(zs.managed, ps);
      const frac = this.percpuPagelistHighFraction;
      if (frac !== 0) {
        zs.highMin = zoneHighsize(zs.managed, zs.wmLow, zs.batch, cpusOfNode, this.cpus, frac);
        zs.highMax = zs.highMin;
      } else {
        zs.highMin = zoneHighsize(zs.managed, zs.wmLow, zs.batch, cpusOfNode, this.cpus, 0);
        zs.highMax = zoneHighsize(zs.managed, zs.wmLow, zs.batch, cpusOfNode, this.cpus, 8);
      }
      zs.high = zs.highMin;
      zs.statThreshold = vmstatThreshold(zs.managed, ps, this.cpus);
    }
    this.rebuildPcpTable();
  }

  /** Copies the page database's per-page arrays into {@link pFlags} and its siblings. */
  private refreshArrays(): void {
    const db = this.db;
    this.pFlags = db.flags;
    this.pRefcount = db.refcount;
    this.pMapcount = db.mapcount;
    this.pPrivate = db.private;
    this.pMapping = db.mapping;
    this.pNext = db.next;
    this.pPrev = db.prev;
    this.pZoneNode = db.zoneNode;
  }

  /**
   * Fills {@link pcpZone} and {@link pcpMark} from the zonelists, managed pages, watermarks and
   * lowmem_reserve as they are now, exactly as `allocGeneric` would walk them for each CPU and
   * mask: every caller that changes one of them comes through {@link setupWatermarksOnly}.
   */
  private rebuildPcpTable(): void {
    const n = this.cpus * PCP_KEYS;
    // Pushed, not `new Array(n)`: an array without holes spares the fast path a hole check.
    const zones: (ZoneState | undefined)[] = [];
    for (let k = 0; k < n; k++) zones.push(undefined);
    const marks = new Float64Array(n);
    for (let cpu = 0; cpu < this.cpus; cpu++) {
      for (let key = 0; key < PCP_KEYS; key++) {
        const hi = this.gfpZoneIdx[key & 15]!;
        if (hi < 0 || (key & GFP_MT_MASK) === GFP_MT_MASK) continue;
        const zl = this.zonelists[this.cpuNodeIdx[cpu]! * this.zonesPerNode + hi]!;
        const limit = (key & 32) !== 0 ? hi + 1 : zl.length;
        let k = 0;
        while (k < limit && zl[k]!.managed === 0) k++;
        if (k >= limit) continue;
        const zs = zl[k]!;
        zones[cpu * PCP_KEYS + key] = zs;
        marks[cpu * PCP_KEYS + key] = zs.wmLow + zs.boost + zs.lowmemReserve[hi]!;
      }
    }
    this.pcpZone = zones;
    this.pcpMark = marks;
  }

  /** Writes `vm.min_free_kbytes` (sets the user value and recomputes the watermarks). */
  setMinFreeKbytes(kbytes: number): void {
    assertUint("minFreeKbytes", kbytes);
    if (this.dirty) this.setupZones();
    this.userMinFreeKbytes = kbytes;
    this.minFreeKbytes = kbytes;
    this.setupWatermarksOnly();
  }

  /** Writes `vm.watermark_scale_factor` (1..3000) and recomputes the watermarks. */
  setWatermarkScaleFactor(factor: number): void {
    assertUint("watermarkScaleFactor", factor);
    if (factor < 1 || factor > 3000)
      throw new InvalidArgumentError(`watermark_scale_factor must be in [1, 3000], got ${factor}`);
    if (this.dirty) this.setupZones();
    this.watermarkScaleFactor = factor;
    this.setupWatermarksOnly();
  }

  // ---------------------------------------------------------------------------------------------
  // Hooks and observer

  /**
   * Adds a free hook (`arch_free_page`), called at every final free on both the buddy and the
   * per-CPU path before any statistics; hooks run in order and the first that returns true claims
   * the block (the later ones do not see it). Returns the function that removes it.
   */
  addFreeHook(hook: FreePageHook): () => void {
    if (typeof hook?.onFree !== "function")
      throw new InvalidArgumentError("a free hook needs an onFree function", "EINVAL", "hook");
    const mask = hook.flagMask ?? 0;
    if (typeof mask !== "number" || !Number.isInteger(mask) || mask < 0 || mask > 0xffffffff)
      throw new InvalidArgumentError(
        `a free hook's flagMask must be a 32-bit flag mask, got ${describeValue(mask)}`,
        "EINVAL",
        "hook.flagMask",
      );
    this.hooks = [...this.hooks, hook];
    this.recomputeHookFilter();
    return () => this.removeFreeHook(hook);
  }

  /** Derives {@link hookAll} and {@link hookMask} from the installed hooks. */
  private recomputeHookFilter(): void {
    let all = false;
    let mask = 0;
    for (const h of this.hooks) {
      const m = h.flagMask ?? 0;
      if (m === 0) all = true;
      else mask = (mask | m) >>> 0;
    }
    this.hookAll = all;
    this.hookMask = mask;
  }

  /** Removes a free hook; true when it was installed. */
  removeFreeHook(hook: FreePageHook): boolean {
    const k = this.hooks.indexOf(hook);
    if (k < 0) return false;
    this.hooks = this.hooks.filter((h) => h !== hook);
    this.recomputeHookFilter();
    return true;
  }

  /** Installs (or with null removes) the free pool observer. */
  setFreePoolObserver(observer: FreePoolObserver | null): void {
    this.observer = observer;
  }

  // ---------------------------------------------------------------------------------------------
  // Ranges (contiguous allocation, hotplug)

  /** Index of the head of the free buddy block holding page `i`, or -1. */
  private freeHeadOf(i: number, pfn: number): number {
    const db = this.db;
    for (let k = 0; k < this.orders; k++) {
      const off = pfn % POW2[k]!;
      const h = i - off;
      if ((db.flags[h]! & PG_buddy) !== 0 && db.private[h]! >= k) return h;
    }
    return -1;
  }

  private assertRange(startPfn: number, endPfn: number): void {
    assertUint("startPfn", startPfn);
    assertUint("endPfn", endPfn);
    if (endPfn <= startPfn)
      throw new InvalidArgumentError(
        `empty or reversed pfn range ${startPfn}-${endPfn}`,
        "EINVAL",
        "endPfn",
      );
  }

  /** True when every page of the range is free (in a buddy block or on a per-CPU list). */
  rangeIsFree(startPfn: number, endPfn: number): boolean {
    this.assertRange(startPfn, endPfn);
    const db = this.db;
    let pfn = startPfn;
    while (pfn < endPfn) {
      const i = db.indexOf(pfn);
      if (i < 0) return false;
      if ((db.flags[i]! & PG_pcp) !== 0) {
        pfn++;
        continue;
      }
      const h = this.freeHeadOf(i, pfn);
      if (h < 0) return false;
      pfn = pfn - (i - h) + POW2[db.private[h]!]!;
    }
    return true;
  }

  /** Splits free block `h` (order `o`) so that the sub-block at `q` of order `order` is taken. */
  private takeFromBlock(zs: ZoneState, h: number, o: number, q: number, order: number): void {
    const db = this.db;
    const p = db.pfnOf(h);
    const mt = db.mapping[h]! % NMT;
    this.delFree(zs, db.mapping[h]!, h, o);
    const qe = q + POW2[order]!;
    for (const [s, so] of this.alignedBlocks(p, q)) this.addFree(zs, h + (s - p), so, mt, false);
    for (const [s, so] of this.alignedBlocks(qe, p + POW2[o]!))
      this.addFree(zs, h + (s - p), so, mt, false);
  }

  /**
   * Takes `[startPfn, endPfn)` out of the free pool when every page in it is free: per-CPU lists
   * are drained, buddy blocks straddling the ends are split. Each page ends `mark`ed.
   */
  private takeRange(startPfn: number, endPfn: number, isolate: boolean): boolean {
    if (!this.rangeIsFree(startPfn, endPfn)) return false;
    this.drain();
    const db = this.db;
    let pfn = startPfn;
    while (pfn < endPfn) {
      const i = db.indexOf(pfn);
      const h = this.freeHeadOf(i, pfn);
      const o = db.private[h]!;
      const hp = pfn - (i - h);
      const he = hp + POW2[o]!;
      const e = Math.min(endPfn, he);
      const zs = this.zoneByZn[db.zoneNode[h]!]!;
      const mt = db.mapping[h]! % NMT;
      this.delFree(zs, db.mapping[h]!, h, o);
      for (const [s, so] of this.alignedBlocks(hp, pfn))
        this.addFree(zs, h + (s - hp), so, mt, false);
      for (const [s, so] of this.alignedBlocks(e, he))
        this.addFree(zs, h + (s - hp), so, mt, false);
      zs.freePages -= e - pfn;
      const a = i;
      const b = i + (e - pfn);
      if (isolate) db.flags.fill(PG_isolated, a, b);
      else db.refcount.fill(1, a, b);
      if (this.observer !== null) this.observer.pagesTaken(pfn, e - pfn);
      pfn = e;
    }
    return true;
  }

  /**
   * `alloc_contig_range()` without migration: when every page of `[startPfn, endPfn)` is free,
   * takes them all as allocated order-0 pages (count 1 each) and returns true; otherwise returns
   * false and changes nothing.
   */
  allocContigRange(startPfn: number, endPfn: number): boolean {
    this.assertRange(startPfn, endPfn);
    return this.takeRange(startPfn, endPfn, false);
  }

  /**
   * `free_contig_range()`: frees every page of the range, each an order-0 page with count 1 (as
   * {@link allocContigRange} left them). All pages are checked before any is freed.
   */
  freeContigRange(startPfn: number, endPfn: number): void {
    this.assertRange(startPfn, endPfn);
    const idx: number[] = [];
    for (let pfn = startPfn; pfn < endPfn; pfn++) {
      const i = this.pageIndex(pfn, "free_contig_range");
      const f = this.db.flags[i]!;
      this.checkFreeHead(i, pfn, 0, f);
      if (this.db.refcount[i] !== 1)
        throw new KernelPanic(
          "bad-page",
          `free_contig_range: pfn ${describeValue(pfn)} has reference count ${this.db.refcount[i]}, expected 1`,
        );
      idx.push(i);
    }
    for (let k = 0; k < idx.length; k++) this.freeFinal(idx[k]!, startPfn + k, 0, false);
  }

  /**
   * Isolates `[startPfn, endPfn)` (`PG_isolated`, off every list) when every page in it is free;
   * returns false and changes nothing otherwise. Undo with {@link unisolateRange}.
   */
  isolateFreeRange(startPfn: number, endPfn: number): boolean {
    this.assertRange(startPfn, endPfn);
    return this.takeRange(startPfn, endPfn, true);
  }

  /** Gives isolated pages back to the free lists (merging). Every page must be isolated. */
  unisolateRange(startPfn: number, endPfn: number): void {
    this.assertRange(startPfn, endPfn);
    const db = this.db;
    for (let pfn = startPfn; pfn < endPfn; pfn++) {
      const i = this.pageIndex(pfn, "unisolate");
      if (db.flags[i] !== PG_isolated)
        throw new KernelPanic("bad-page", `unisolate: pfn ${describeValue(pfn)} is not isolated`);
    }
    for (const [p, o] of this.alignedBlocks(startPfn, endPfn)) {
      // A block may cross a zone boundary: free page by page there.
      const i = db.indexOf(p);
      const n = POW2[o]!;
      const zs = this.zoneByZn[db.zoneNode[i]!]!;
      if (db.zoneNode[i + n - 1] !== db.zoneNode[i]) {
        for (let k = 0; k < n; k++) {
          const z = this.zoneByZn[db.zoneNode[i + k]!]!;
          db.flags[i + k] = 0;
          this.freeOneBlock(
            z,
            i + k,
            p + k,
            0,
            this.pbType[Math.floor((i + k) / this.pageblockPages)]!,
            false,
          );
          z.freePages += 1;
        }
      } else {
        db.flags.fill(0, i, i + n);
        this.freeOneBlock(zs, i, p, o, this.pbType[Math.floor(i / this.pageblockPages)]!, false);
        zs.freePages += n;
      }
      if (this.observer !== null) this.observer.pagesFreed(p, n);
    }
  }

  private readonly onHotplug = (ev: HotplugEvent): boolean | undefined => {
    const { startPfn, endPfn } = ev;
    switch (ev.type) {
      case "online":
        this.onlineRange(startPfn, endPfn);
        return undefined;
      case "going-offline": {
        if (!this.isolateFreeRange(startPfn, endPfn)) return false;
        this.offlinePending.push({ start: startPfn, end: endPfn });
        return true;
      }
      case "cancel-offline": {
        const k = this.offlinePending.findIndex((r) => r.start === startPfn && r.end === endPfn);
        if (k >= 0) {
          this.offlinePending.splice(k, 1);
          this.unisolateRange(startPfn, endPfn);
        }
        return undefined;
      }
      case "offline": {
        const k = this.offlinePending.findIndex((r) => r.start === startPfn && r.end === endPfn);
        if (k >= 0) {
          this.offlinePending.splice(k, 1);
          const db = this.db;
          for (let pfn = startPfn; pfn < endPfn; pfn++) {
            const i = db.indexOf(pfn);
            if (i < 0) continue;
            const zs = this.zoneByZn[db.zoneNode[i]!];
            if (zs !== undefined) zs.managed--;
            db.flags[i] = PG_reserved;
          }
          this.dirty = true;
        }
        return undefined;
      }
    }
  };

  /** `online_pages()`: the new (reserved) pages become free and managed. */
  private onlineRange(startPfn: number, endPfn: number): void {
    const need = Math.ceil(this.db.flags.length / this.pageblockPages);
    if (this.pbType.length < need) {
      const grown = new Uint8Array(need).fill(MIGRATE_MOVABLE);
      grown.set(this.pbType);
      this.pbType = grown;
    }
    const db = this.db;
    const i0 = db.indexOf(startPfn);
    this.pbType.fill(
      MIGRATE_MOVABLE,
      Math.floor(i0 / this.pageblockPages),
      Math.ceil((i0 + (endPfn - startPfn)) / this.pageblockPages),
    );
    let s = startPfn;
    while (s < endPfn) {
      while (s < endPfn && !this.isBootFreeable(db.indexOf(s))) s++;
      let e = s;
      while (e < endPfn && this.isBootFreeable(db.indexOf(e))) e++;
      if (e > s) this.freeBootmemRange(s, e);
      s = e;
    }
    this.dirty = true;
  }

  // ---------------------------------------------------------------------------------------------
  // Inspection

  /** Calls `fn` for every free buddy block of zone `zoneId`, or of every zone. */
  forEachFreeBlock(
    fn: (pfn: number, order: number, zoneId: number, migratetype: number) => void,
    zoneId?: number,
  ): void {
    const db = this.db;
    for (const zs of this.zoneStates) {
      if (zoneId !== undefined && zs.id !== zoneId) continue;
      for (let o = 0; o < this.orders; o++) {
        for (let mt = 0; mt < NMT; mt++) {
          const list = o * NMT + mt;
          for (let i = zs.free.first(list); i >= 0; i = zs.free.nextOf(list, i))
            fn(db.pfnOf(i), o, zs.id, mt);
        }
      }
    }
  }

  /** The free buddy blocks of zone `zoneId` (or of all zones), sorted by pfn. */
  freeBlocks(zoneId?: number): FreeBlock[] {
    const out: FreeBlock[] = [];
    this.forEachFreeBlock((pfn, order, z, migratetype) => {
      out.push({ pfn, order, zoneId: z, migratetype });
    }, zoneId);
    return out.sort((a, b) => a.pfn - b.pfn);
  }

  /** Free pages of all zones, buddy lists plus per-CPU lists. */
  get freePageCount(): number {
    let n = 0;
    for (const zs of this.zoneStates) n += zs.freePages + zs.pcpPages;
    return n;
  }

  /** Managed pages of all zones. */
  get managedPages(): number {
    let n = 0;
    for (const zs of this.zoneStates) n += zs.managed;
    return n;
  }

  /** A snapshot of zone `zoneId`'s figures (watermarks computed first if due). */
  zoneInfo(zoneId: number): ZoneAllocInfo {
    const zs = this.zoneStates[zoneId];
    if (zs === undefined)
      throw new InvalidArgumentError(`no zone ${describeValue(zoneId)}`, "EINVAL", "zoneId");
    if (this.dirty) this.setupZones();
    const byType: number[][] = [];
    for (let mt = 0; mt < NMT; mt++) {
      const row: number[] = [];
      for (let o = 0; o < this.orders; o++) row.push(zs.free.count(o * NMT + mt));
      byType.push(row);
    }
    return {
      zoneId,
      name: zs.zone.name,
      nid: zs.zone.nid,
      managed: zs.managed,
      freePages: zs.freePages,
      pcpPages: zs.pcpPages,
      min: zs.wmMin + zs.boost,
      low: zs.wmLow + zs.boost,
      high: zs.wmHigh + zs.boost,
      promo: zs.wmPromo + zs.boost,
      boost: zs.boost,
      protection: [...zs.lowmemReserve],
      batch: zs.batch,
      pcpHigh: zs.high,
      pcpHighMin: zs.highMin,
      pcpHighMax: zs.highMax,
      pcpCounts: [...zs.pcpCount],
      nrFree: [...zs.nrFree],
      nrFreeByType: byType,
      statThreshold: zs.statThreshold,
    };
  }

  /** The vmstat-like counters. */
  get stats(): BuddyStats {
    return {
      pgalloc: this.zoneStates.map((z) => z.pgalloc),
      pgfree: this.pgfree,
      allocFail: this.allocFail,
      allocWarn: this.allocWarn,
      badPages: this.badPages,
      hookClaims: this.hookClaims,
      zeroedPages: this.zeroedPages,
    };
  }

  /**
   * Checks every invariant: each page of every present section is exactly one of free (in one
   * aligned buddy block inside one zone), on one per-CPU list, allocated, reserved, isolated,
   * claimed by a hook's owner (count zero with `PG_foreign` or an owner tag) or discarded as bad;
   * free counts match the lists; managed pages match.
   *
   * @throws {@link @mem/machine!index.KernelPanic} with code `"invariant"` naming the first violation.
   */
  checkInvariants(): void {
    checkInvariants(this);
  }

  /** A digest of the whole allocator state (page database and counters), for before/after tests. */
  stateDigest(): string {
    return stateDigest(this, [
      this.pgfree,
      this.allocFail,
      this.allocWarn,
      this.badPages,
      this.hookClaims,
      this.zeroedPages,
      this.cpu,
    ]);
  }
}
