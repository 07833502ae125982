/**
 * The /proc and debugfs views of mm/vmstat.c, byte-compatible with Linux's formats:
 * `/proc/buddyinfo`, `/proc/pagetypeinfo`, `/proc/zoneinfo`, a `/proc/vmstat` subset, and
 * `extfrag/unusable_index` and `extfrag/extfrag_index`, with Linux's fragmentation formulas.
 *
 * @module
 */
import type { BuddyAllocator } from "./buddy-allocator.js";
import { MIGRATE_TYPES, MIGRATETYPE_NAMES } from "./gfp.js";
import type { ZoneState } from "./internal/zone-state.js";

/** Result of `fill_contig_page_info()`. */
export interface ContigPageInfo {
  /** Free blocks of every order. */
  readonly freeBlocksTotal: number;
  /** Free pages. */
  readonly freePages: number;
  /** Free blocks usable for the order, counted in blocks of that order. */
  readonly freeBlocksSuitable: number;
}

/** `fill_contig_page_info()` over free block counts per order. */
export function fillContigPageInfo(
  nrFree: ArrayLike<number>,
  suitableOrder: number,
): ContigPageInfo {
  let freeBlocksTotal = 0;
  let freePages = 0;
  let freeBlocksSuitable = 0;
  for (let o = 0; o < nrFree.length; o++) {
    const blocks = nrFree[o]!;
    freeBlocksTotal += blocks;
    freePages += blocks * 2 ** o;
    if (o >= suitableOrder) freeBlocksSuitable += blocks * 2 ** (o - suitableOrder);
  }
  return { freeBlocksTotal, freePages, freeBlocksSuitable };
}

/** `unusable_free_index()`: thousandths of free memory unusable for an allocation of `order`. */
export function unusableFreeIndex(order: number, info: ContigPageInfo): number {
  if (info.freePages === 0) return 1000;
  return Math.trunc(
    ((info.freePages - info.freeBlocksSuitable * 2 ** order) * 1000) / info.freePages,
  );
}

/**
 * `__fragmentation_index()`: 0 when a failure would be for lack of memory, towards 1000 when for
 * fragmentation, -1000 when the allocation would succeed.
 */
export function fragmentationIndex(order: number, info: ContigPageInfo): number {
  if (info.freeBlocksTotal === 0) return 0;
  if (info.freeBlocksSuitable > 0) return -1000;
  return (
    1000 -
    Math.trunc((1000 + Math.trunc((info.freePages * 1000) / 2 ** order)) / info.freeBlocksTotal)
  );
}

function pad(s: string | number, width: number): string {
  return String(s).padStart(width, " ");
}

function populated(a: BuddyAllocator): ZoneState[] {
  return a.zoneStates.filter((z) => z.zone.populated);
}

/** `/proc/buddyinfo`: free blocks per order of every populated zone. */
export function buddyinfo(a: BuddyAllocator): string {
  let out = "";
  for (const zs of populated(a)) {
    out += `Node ${zs.zone.nid}, zone ${pad(zs.zone.name, 8)} `;
    for (let o = 0; o < a.orders; o++) out += `${pad(zs.nrFree[o]!, 6)} `;
    out += "\n";
  }
  return out;
}

/** `/proc/pagetypeinfo` (mode 0400 in Linux): free blocks per migratetype and pageblock counts. */
export function pagetypeinfo(a: BuddyAllocator): string {
  let out = "";
  const db = a.db;
  for (const node of a.machine.nodes) {
    const zones = node.zones.map((z) => a.zoneStates[z.id]!).filter((z) => z.zone.populated);
    if (zones.length === 0) continue;
    out += `Page block order: ${a.pageblockOrder}\n`;
    out += `Pages per block:  ${a.pageblockPages}\n\n`;
    out += `${"Free pages count per migrate type at order".padEnd(43, " ")} `;
    for (let o = 0; o < a.orders; o++) out += `${pad(o, 6)} `;
    out += "\n";
    for (const zs of zones) {
      for (let mt = 0; mt < MIGRATE_TYPES; mt++) {
        out += `Node ${pad(node.id, 4)}, zone ${pad(zs.zone.name, 8)}, type ${pad(MIGRATETYPE_NAMES[mt]!, 12)} `;
        for (let o = 0; o < a.orders; o++) {
          const c = zs.free.count(o * MIGRATE_TYPES + mt);
          out += c >= 100000 ? `>${pad(100000, 6)} ` : `${pad(c, 6)} `;
        }
        out += "\n";
      }
    }
    out += `\n${"Number of blocks type ".padEnd(23, " ")}`;
    for (let mt = 0; mt < MIGRATE_TYPES; mt++) out += `${pad(MIGRATETYPE_NAMES[mt]!, 12)} `;
    out += "\n";
    for (const zs of zones) {
      const count = new Array<number>(MIGRATE_TYPES).fill(0);
      const zn = zs.zone.nid * 8 + zs.zone.type;
      for (let pfn = zs.zone.startPfn; pfn < zs.zone.endPfn; pfn += a.pageblockPages) {
        const i = db.indexOf(pfn);
        if (i < 0 || db.zoneNode[i] !== zn) continue;
        const mt = a.pbType[Math.floor(i / a.pageblockPages)]!;
        count[mt] = count[mt]! + 1;
      }
      out += `Node ${node.id}, zone ${pad(zs.zone.name, 8)} `;
      for (let mt = 0; mt < MIGRATE_TYPES; mt++) out += `${pad(count[mt]!, 12)} `;
      out += "\n";
    }
  }
  return out;
}

/** Per-node stats printed by {@link zoneinfo} (no LRU is modelled: all zero). */
const NODE_STATS = [
  "nr_inactive_anon",
  "nr_active_anon",
  "nr_inactive_file",
  "nr_active_file",
  "nr_unevictable",
];
/** Per-zone stats printed after the first (`nr_free_pages`); zero in this model. */
const ZONE_STATS = [
  "nr_zone_inactive_anon",
  "nr_zone_active_anon",
  "nr_zone_inactive_file",
  "nr_zone_active_file",
  "nr_zone_unevictable",
  "nr_zone_write_pending",
  "nr_mlock",
  "nr_bounce",
  "nr_zspages",
  "nr_free_cma",
];

const stat = (name: string, v: number): string => `\n      ${name.padEnd(12, " ")} ${v}`;

/** `/proc/zoneinfo` (6.7+ layout, node stats and zone stats reduced to the modelled ones). */
export function zoneinfo(a: BuddyAllocator): string {
  if (a.zoneStates.some((z) => z.zone.populated)) a.zoneInfo(0); // runs the zone setup if due
  let out = "";
  for (const node of a.machine.nodes) {
    let first = true;
    for (const z of node.zones) {
      const zs = a.zoneStates[z.id]!;
      out += `Node ${node.id}, zone ${pad(z.name, 8)}`;
      if (z.populated && first) {
        first = false;
        out += "\n  per-node stats";
        for (const s of NODE_STATS) out += stat(s, 0);
      }
      out += `\n  pages free     ${zs.freePages}`;
      out += `\n        boost    ${zs.boost}`;
      out += `\n        min      ${zs.wmMin + zs.boost}`;
      out += `\n        low      ${zs.wmLow + zs.boost}`;
      out += `\n        high     ${zs.wmHigh + zs.boost}`;
      out += `\n        promo    ${zs.wmPromo + zs.boost}`;
      out += `\n        spanned  ${z.spannedPages}`;
      out += `\n        present  ${z.presentPages}`;
      out += `\n        managed  ${zs.managed}`;
      out += `\n        cma      0`;
      out += `\n        protection: (${zs.lowmemReserve.join(", ")})`;
      if (!z.populated) {
        out += "\n";
        continue;
      }
      out += stat("nr_free_pages", zs.freePages);
      for (const s of ZONE_STATS) out += stat(s, 0);
      out += "\n  pagesets";
      for (let cpu = 0; cpu < a.cpus; cpu++) {
        out += `\n    cpu: ${cpu}`;
        out += `\n              count:    ${zs.pcpCount[cpu]}`;
        out += `\n              high:     ${zs.high}`;
        out += `\n              batch:    ${zs.batch}`;
        out += `\n              high_min: ${zs.highMin}`;
        out += `\n              high_max: ${zs.highMax}`;
        out += `\n  vm stats threshold: ${zs.statThreshold}`;
      }
      out += `\n  node_unreclaimable:  0`;
      out += `\n  start_pfn:           ${z.startPfn}`;
      out += "\n";
    }
  }
  return out;
}

/** A `/proc/vmstat` subset: `nr_free_pages`, `pgalloc_<zone>` for each zone type, `pgfree`. */
export function vmstat(a: BuddyAllocator): string {
  let free = 0;
  for (const zs of a.zoneStates) free += zs.freePages;
  let out = `nr_free_pages ${free}\n`;
  const types: number[] = [];
  for (const zs of a.zoneStates) if (!types.includes(zs.zone.type)) types.push(zs.zone.type);
  const stats = a.stats;
  for (const t of types) {
    let n = 0;
    a.zoneStates.forEach((zs, k) => {
      if (zs.zone.type === t) n += stats.pgalloc[k]!;
    });
    const name = a.zoneStates.find((z) => z.zone.type === t)!.zone.name.toLowerCase();
    out += `pgalloc_${name} ${n}\n`;
  }
  out += `pgfree ${stats.pgfree}\n`;
  return out;
}

function indexLine(v: number): string {
  const q = Math.trunc(v / 1000);
  const r = Math.abs(v % 1000);
  return `${q}.${String(r).padStart(3, "0")} `;
}

function extfragFile(
  a: BuddyAllocator,
  fn: (order: number, info: ContigPageInfo) => number,
): string {
  let out = "";
  for (const zs of populated(a)) {
    out += `Node ${zs.zone.nid}, zone ${pad(zs.zone.name, 8)} `;
    for (let o = 0; o < a.orders; o++) out += indexLine(fn(o, fillContigPageInfo(zs.nrFree, o)));
    out += "\n";
  }
  return out;
}

/** debugfs `extfrag/unusable_index`. */
export function unusableIndex(a: BuddyAllocator): string {
  return extfragFile(a, unusableFreeIndex);
}

/** debugfs `extfrag/extfrag_index`. */
export function extfragIndex(a: BuddyAllocator): string {
  return extfragFile(a, fragmentationIndex);
}
