/**
 * Per-zone allocator state: free lists (order x migratetype) over the page database links, free
 * block counts, watermarks, lowmem_reserve, and the per-CPU lists.
 *
 * @module
 */
import {
  type PageDatabase,
  PageListSet,
  ZONE_HIGHMEM,
  ZONE_MOVABLE,
  type Zone,
} from "@mem/machine";
import { MIGRATE_PCPTYPES, MIGRATE_TYPES } from "../gfp.js";

/** Allocator state of one zone. Fields are public for the package's own modules. */
export class ZoneState {
  /** The machine's zone. */
  readonly zone: Zone;
  /** `zone.id`. */
  readonly id: number;
  /** Position in the node (`zone_idx`). */
  readonly idx: number;
  /** HighMem or Movable (excluded from lowmem). */
  readonly highOrMovable: boolean;
  /** Free lists: list `order * MIGRATE_TYPES + mt`. */
  readonly free: PageListSet;
  /** Free blocks per order (`free_area[order].nr_free`). */
  readonly nrFree: Float64Array;
  /** NR_FREE_PAGES: pages in buddy blocks (not on per-CPU lists). */
  freePages = 0;
  /** Pages handed to the allocator. */
  managed = 0;
  /** Watermarks. */
  wmMin = 0;
  /** See {@link wmMin}. */
  wmLow = 0;
  /** See {@link wmMin}. */
  wmHigh = 0;
  /** See {@link wmMin}. */
  wmPromo = 0;
  /** `watermark_boost` (always 0: no boosting modelled). */
  boost = 0;
  /** `lowmem_reserve[j]` for each zone idx j of the node. */
  lowmemReserve: number[];
  /** Per-CPU lists: list `cpu * MIGRATE_PCPTYPES + mt`. */
  declare readonly pcp: PageListSet;
  /**
   * `pcp.heads` and `pcp.counts` (never replaced), held here for the order-0 fast paths: V8 tracks
   * the type of these fields, so reading through them skips the array type checks that reading
   * `pcp`'s own fields costs.
   */
  declare readonly pcpHeads: Uint32Array;
  /** See {@link pcpHeads}. */
  declare readonly pcpCounts: Float64Array;
  /** Pages on each CPU's lists. */
  declare readonly pcpCount: Int32Array;
  /** `pcp->batch`. */
  batch = 1;
  /** `pcp->high` (held at high_min). */
  high = 0;
  /** `pcp->high_min`. */
  highMin = 0;
  /** `pcp->high_max`. */
  highMax = 0;
  /** vmstat threshold. */
  statThreshold = 0;
  /** PGALLOC for this zone, in pages. */
  pgalloc = 0;

  constructor(db: PageDatabase, zone: Zone, nOrders: number, cpus: number, zonesInNode: number) {
    this.zone = zone;
    this.id = zone.id;
    this.idx = zone.idx;
    this.highOrMovable = zone.type === ZONE_HIGHMEM || zone.type === ZONE_MOVABLE;
    this.free = new PageListSet(db, nOrders * MIGRATE_TYPES);
    this.nrFree = new Float64Array(nOrders);
    this.lowmemReserve = new Array<number>(zonesInNode).fill(0);
    this.pcp = new PageListSet(db, cpus * MIGRATE_PCPTYPES);
    this.pcpHeads = this.pcp.heads;
    this.pcpCounts = this.pcp.counts;
    this.pcpCount = new Int32Array(cpus);
  }

  /** Pages on all per-CPU lists of the zone. */
  get pcpPages(): number {
    let n = 0;
    for (let c = 0; c < this.pcpCount.length; c++) n += this.pcpCount[c]!;
    return n;
  }
}
