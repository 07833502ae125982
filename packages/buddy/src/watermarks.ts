/**
 * The sizing formulas of mm/page_alloc.c and mm/vmstat.c as pure functions: the default
 * `min_free_kbytes`, zone watermarks (`__setup_per_zone_wmarks`), `lowmem_reserve`, per-CPU list
 * batch and high (`zone_batchsize`, `zone_highsize`) and the vmstat threshold. All arithmetic is
 * integer arithmetic on JavaScript numbers (no 32-bit operators).
 *
 * @module
 */

/** `int_sqrt(x)`: the floor of the square root of a non-negative integer. */
export function intSqrt(x: number): number {
  let r = Math.floor(Math.sqrt(x));
  while (r * r > x) r--;
  while ((r + 1) * (r + 1) <= x) r++;
  return r;
}

/** `mult_frac(x, n, d)`: x * n / d without overflow, as the kernel macro computes it. */
export function multFrac(x: number, n: number, d: number): number {
  const q = Math.floor(x / d);
  const r = x % d;
  return q * n + Math.floor((r * n) / d);
}

/** `fls(x)`: 1-based position of the highest set bit, 0 for 0. */
export function fls(x: number): number {
  let n = 0;
  let v = Math.floor(x);
  while (v > 0) {
    v = Math.floor(v / 2);
    n++;
  }
  return n;
}

/** `rounddown_pow_of_two(x)` for x >= 1. */
export function rounddownPowOfTwo(x: number): number {
  let p = 1;
  while (p * 2 <= x) p *= 2;
  return p;
}

/**
 * Linux's default `min_free_kbytes` (`calculate_min_free_kbytes`): `int_sqrt(lowmem_kbytes * 16)`
 * clamped to [128, 262144], where `lowmem_kbytes = nr_free_buffer_pages() * PAGE_SIZE / 1024`.
 * A user-set value wins when it is at least as large.
 *
 * @param nrFreeBufferPages - sum over zones up to ZONE_NORMAL of `managed - high watermark`.
 * @param pageSize - bytes per page.
 * @param userMinFreeKbytes - the value set through the sysctl, 0 if none.
 */
export function calculateMinFreeKbytes(
  nrFreeBufferPages: number,
  pageSize: number,
  userMinFreeKbytes = 0,
): number {
  const lowmemKbytes = nrFreeBufferPages * Math.floor(pageSize / 1024);
  const computed = intSqrt(lowmemKbytes * 16);
  if (computed > userMinFreeKbytes) return Math.min(Math.max(computed, 128), 262144);
  return userMinFreeKbytes;
}

/** The watermarks of one zone, in pages. */
export interface ZoneWatermarks {
  /** WMARK_MIN. */
  readonly min: number;
  /** WMARK_LOW. */
  readonly low: number;
  /** WMARK_HIGH. */
  readonly high: number;
  /** WMARK_PROMO. */
  readonly promo: number;
}

/** What {@link setupZoneWatermarks} needs to know of a zone. */
export interface WatermarkZone {
  /** Managed pages. */
  readonly managed: number;
  /** True for HighMem and Movable zones (`is_highmem(zone) || zone_idx(zone) == ZONE_MOVABLE`). */
  readonly highOrMovable: boolean;
}

/**
 * `__setup_per_zone_wmarks()`: `pages_min = min_free_kbytes / (PAGE_SIZE / 1024)` shared out over
 * the lowmem zones in proportion to their managed pages; HighMem/Movable zones get
 * `clamp(managed / 1024, 32, 128)` as min; the gap `d = max(tmp / 4, managed * scale / 10000)`
 * gives `low = min + d`, `high = min + 2d`, `promo = min + 3d`.
 */
export function setupZoneWatermarks(
  zones: readonly WatermarkZone[],
  minFreeKbytes: number,
  pageSize: number,
  watermarkScaleFactor = 10,
): ZoneWatermarks[] {
  const pagesMin = Math.floor(minFreeKbytes / Math.floor(pageSize / 1024));
  let lowmemPages = 0;
  for (const z of zones) if (!z.highOrMovable) lowmemPages += z.managed;
  return zones.map((z) => {
    const tmp = lowmemPages === 0 ? 0 : Math.floor((pagesMin * z.managed) / lowmemPages);
    const min = z.highOrMovable ? Math.min(Math.max(Math.floor(z.managed / 1024), 32), 128) : tmp;
    const d = Math.max(Math.floor(tmp / 4), multFrac(z.managed, watermarkScaleFactor, 10000));
    return { min, low: min + d, high: min + 2 * d, promo: min + 3 * d };
  });
}

/** Linux's default `sysctl_lowmem_reserve_ratio` by zone type (DMA, DMA32, Normal, HighMem, Movable). */
export const DEFAULT_LOWMEM_RESERVE_RATIO: readonly number[] = [256, 256, 32, 0, 0];

/**
 * `setup_per_zone_lowmem_reserve()` for one node: entry `[i][j]` (j > i) is the sum of the managed
 * pages of zones i+1..j divided by zone i's ratio; 0 when the ratio is 0, zone i has no managed
 * pages, or j <= i.
 *
 * @param managed - managed pages of the node's zones, in zone order.
 * @param ratios - the ratio of each of those zones.
 */
export function lowmemReserve(managed: readonly number[], ratios: readonly number[]): number[][] {
  const n = managed.length;
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row = new Array<number>(n).fill(0);
    const ratio = ratios[i] ?? 0;
    const clear = ratio === 0 || managed[i] === 0;
    let sum = 0;
    for (let j = i + 1; j < n; j++) {
      sum += managed[j]!;
      row[j] = clear ? 0 : Math.floor(sum / ratio);
    }
    out.push(row);
  }
  return out;
}

/**
 * `zone_batchsize()` (with the caller's `max(1, ...)`): a quarter of the zone's managed pages per
 * 1024, at most 1 MiB worth, rounded to `2^n - 1`: 63 for zones of 1 GiB and more (4 KiB pages).
 */
export function zoneBatchsize(managed: number, pageSize: number): number {
  let batch = Math.min(Math.floor(managed / 1024), Math.floor((1024 * 1024) / pageSize));
  batch = Math.floor(batch / 4);
  if (batch < 1) batch = 1;
  batch = rounddownPowOfTwo(batch + Math.floor(batch / 2)) - 1;
  return Math.max(1, batch);
}

/**
 * `zone_highsize()`: `total / nr_split_cpus`, at least `batch * 4`, where total is the low
 * watermark (fraction 0) or `managed / fraction`, and `nr_split_cpus` the CPUs of the zone's node
 * (all online CPUs when the node has none).
 */
export function zoneHighsize(
  managed: number,
  lowWmark: number,
  batch: number,
  cpusOfNode: number,
  onlineCpus: number,
  fraction: number,
): number {
  const total = fraction === 0 ? lowWmark : Math.floor(managed / fraction);
  const split = cpusOfNode === 0 ? onlineCpus : cpusOfNode;
  return Math.max(Math.floor(total / split), batch * 4);
}

/**
 * `calculate_normal_threshold()`: the per-CPU vmstat drift threshold,
 * `min(125, 2 * fls(cpus) * (1 + fls(managed / 128 MiB)))`.
 */
export function vmstatThreshold(managed: number, pageSize: number, onlineCpus: number): number {
  const mem = Math.floor((managed * pageSize) / (128 * 1024 * 1024));
  return Math.min(125, 2 * fls(onlineCpus) * (1 + fls(mem)));
}
