/**
 * Zones: per node, the ranges of memory with different addressing abilities (DMA for ISA devices,
 * DMA32 for 32-bit PCI devices, Normal, HighMem on 32-bit kernels, Movable). Computed as Linux's
 * `free_area_init()` does: a zone's span is the node's RAM span clamped to the zone's limits, holes
 * included; its present pages are the RAM pages inside the span.
 *
 * @module
 */
import {
  ZONE_DMA,
  ZONE_DMA32,
  ZONE_HIGHMEM,
  ZONE_MOVABLE,
  ZONE_NAMES,
  ZONE_NORMAL,
} from "./internal/arch.js";

export {
  NO_ZONE,
  ZONE_DMA,
  ZONE_DMA32,
  ZONE_HIGHMEM,
  ZONE_MOVABLE,
  ZONE_NAMES,
  ZONE_NORMAL,
} from "./internal/arch.js";

/** A zone's type name as Linux prints it. */
export type ZoneName = "DMA" | "DMA32" | "Normal" | "HighMem" | "Movable";

/** Zone type id by name. */
export const ZONE_TYPE: Readonly<Record<ZoneName, number>> = {
  DMA: ZONE_DMA,
  DMA32: ZONE_DMA32,
  Normal: ZONE_NORMAL,
  HighMem: ZONE_HIGHMEM,
  Movable: ZONE_MOVABLE,
};

/** One zone of one node. Spans change on memory hotplug. */
export class Zone {
  /** Position in {@link Machine.zones}. */
  readonly id: number;
  /** The node. */
  readonly nid: number;
  /** The zone type id ({@link ZONE_DMA} ...). */
  readonly type: number;
  /** Position of the zone in its node's zone list (Linux's `zone_idx`). */
  readonly idx: number;
  /** One past the highest pfn this zone type may hold on this architecture. */
  readonly limitPfn: number;
  /** Lowest pfn this zone type may hold (the previous type's limit). */
  readonly lowPfn: number;
  /** First pfn of the span (0 when the zone is empty). */
  startPfn = 0;
  /** Pages in the span, holes included. */
  spannedPages = 0;
  /** RAM pages in the span. */
  presentPages = 0;

  /** @internal */
  constructor(
    id: number,
    nid: number,
    type: number,
    idx: number,
    lowPfn: number,
    limitPfn: number,
  ) {
    this.id = id;
    this.nid = nid;
    this.type = type;
    this.idx = idx;
    this.lowPfn = lowPfn;
    this.limitPfn = limitPfn;
  }

  /** Linux's name for the zone type. */
  get name(): ZoneName {
    return ZONE_NAMES[this.type] as ZoneName;
  }

  /** One past the last pfn of the span. */
  get endPfn(): number {
    return this.startPfn + this.spannedPages;
  }

  /** A zone is populated when it has present pages. */
  get populated(): boolean {
    return this.presentPages > 0;
  }

  /** True when `pfn` lies inside the span. */
  spans(pfn: number): boolean {
    return pfn >= this.startPfn && pfn < this.startPfn + this.spannedPages;
  }
}
