/**
 * A memblock-style boot allocator (Linux 2.6.35+, generic since 2010; bootmem's successor):
 * sorted arrays of memory and reserved regions in bytes, top-down allocation by default,
 * bottom-up on request, node fallback, and release of free memory in the largest naturally
 * aligned blocks.
 *
 * @module
 */
import type { PfnRange, PhysRange } from "@mem/machine";
import { InvalidArgumentError, isPowerOfTwo } from "@mem/machine";
import type {
  BootAllocator,
  BootAllocOptions,
  FreePageFn,
  ReleaseTarget,
} from "./boot-allocator.js";
import { toSinkFn } from "./boot-allocator.js";
import { alignDown, alignUp, bug, nodeId, safeEnd, uint } from "./internal/args.js";

/** "Any node" (`NUMA_NO_NODE`). */
export const NUMA_NO_NODE = -1;
/** `end` value meaning "up to `currentLimit`" (`MEMBLOCK_ALLOC_ACCESSIBLE`). */
export const MEMBLOCK_ALLOC_ACCESSIBLE = 0;
/** `end` value meaning "no limit" (`MEMBLOCK_ALLOC_ANYWHERE`). */
export const MEMBLOCK_ALLOC_ANYWHERE: number = Number.MAX_SAFE_INTEGER;
/** Initial capacity of each region array (`INIT_MEMBLOCK_REGIONS`); it doubles when full. */
export const INIT_MEMBLOCK_REGIONS = 128;
/** Default largest order released at once (`MAX_PAGE_ORDER` on x86_64). */
export const DEFAULT_MAX_PAGE_ORDER = 10;

/** A memblock region: `[base, base + size)` on node `nid` (-1 for reservations). */
export interface MemblockRegion {
  /** First byte. */
  readonly base: number;
  /** Length in bytes. */
  readonly size: number;
  /** The node; reservations carry -1. */
  readonly nid: number;
}

/** Options of {@link Memblock}. */
export interface MemblockOptions {
  /** Page size in bytes, a power of two. */
  readonly pageSize: number;
  /** `SMP_CACHE_BYTES`: the alignment used for `align` 0 and {@link Memblock.alloc}'s default. @defaultValue 64 */
  readonly smpCacheBytes?: number | undefined;
  /** Largest block order released to the page allocator. @defaultValue 10 */
  readonly maxOrder?: number | undefined;
  /** Allocate bottom-up (`memblock_set_bottom_up(true)`). @defaultValue false */
  readonly bottomUp?: boolean | undefined;
  /** Default target of {@link Memblock.releaseNode}. */
  readonly sink?: ReleaseTarget | undefined;
  /** Receives each log line as it is printed. */
  readonly printk?: ((line: string) => void) | undefined;
}

interface Region {
  base: number;
  end: number;
  nid: number;
}

/** One region array (`struct memblock_type`). */
class RegionArray {
  regions: Region[] = [];
  max = INIT_MEMBLOCK_REGIONS;

  add(base: number, end: number, nid: number): void {
    const pieces: Region[] = [];
    let cur = base;
    for (const r of this.regions) {
      if (r.end <= cur) continue;
      if (r.base >= end) break;
      if (r.base > cur) pieces.push({ base: cur, end: r.base, nid });
      cur = Math.max(cur, r.end);
      if (cur >= end) break;
    }
    if (cur < end) pieces.push({ base: cur, end, nid });
    if (pieces.length === 0) return;
    const all = [...this.regions, ...pieces].sort((a, b) => a.base - b.base);
    // Before merging the array holds every piece: double it as memblock_double_array would.
    while (all.length > this.max) this.max *= 2;
    const merged: Region[] = [];
    for (const r of all) {
      const last = merged[merged.length - 1];
      if (last !== undefined && last.end === r.base && last.nid === r.nid) last.end = r.end;
      else merged.push({ ...r });
    }
    this.regions = merged;
  }

  remove(base: number, end: number): void {
    const out: Region[] = [];
    for (const r of this.regions) {
      if (r.end <= base || r.base >= end) {
        out.push(r);
        continue;
      }
      if (r.base < base) out.push({ base: r.base, end: base, nid: r.nid });
      if (r.end > end) out.push({ base: end, end: r.end, nid: r.nid });
    }
    while (out.length > this.max) this.max *= 2;
    this.regions = out;
  }

  total(): number {
    let n = 0;
    for (const r of this.regions) n += r.end - r.base;
    return n;
  }

  list(): MemblockRegion[] {
    return this.regions.map((r) => ({ base: r.base, size: r.end - r.base, nid: r.nid }));
  }
}

function hex16(n: number): string {
  return `0x${n.toString(16).padStart(16, "0")}`;
}

/**
 * The memblock allocator. Byte granular: reservations are not rounded to pages, freeing an
 * absent range is a no-op, and allocation failure returns `null` (Linux returns 0: physical page
 * 0 is never handed out).
 */
export class Memblock implements BootAllocator {
  /** Always `"memblock"`. */
  readonly kind: "memblock" = "memblock";
  /** Page size in bytes. */
  readonly pageSize: number;
  /** `SMP_CACHE_BYTES`. */
  readonly smpCacheBytes: number;
  /** Largest order released at once. */
  readonly maxOrder: number;
  /** Allocation direction: false = top-down (the default), true = bottom-up. */
  bottomUp: boolean;
  private limit: number = MEMBLOCK_ALLOC_ANYWHERE;
  private readonly memory = new RegionArray();
  private readonly reservedArr = new RegionArray();
  private readonly lines: string[] = [];
  private readonly printk: ((line: string) => void) | undefined;
  private readonly defaultSink: ReleaseTarget | undefined;
  private readonly releasedNids = new Set<number>();
  private phase: "up" | "down" | "gone" = "up";

  /** Creates an empty memblock (no memory, no reservations). */
  constructor(options: MemblockOptions) {
    if (typeof options !== "object" || options === null) {
      throw new InvalidArgumentError("options must be an object", "EINVAL", "options");
    }
    const { pageSize, smpCacheBytes = 64, maxOrder = DEFAULT_MAX_PAGE_ORDER } = options;
    if (!isPowerOfTwo(pageSize) || pageSize < 512) {
      throw new InvalidArgumentError(
        `pageSize must be a power of two >= 512, got ${String(pageSize)}`,
        "not-power-of-two",
        "pageSize",
      );
    }
    if (!isPowerOfTwo(smpCacheBytes)) {
      throw new InvalidArgumentError(
        `smpCacheBytes must be a power of two, got ${String(smpCacheBytes)}`,
        "not-power-of-two",
        "smpCacheBytes",
      );
    }
    if (!Number.isInteger(maxOrder) || maxOrder < 0 || maxOrder > 30) {
      throw new InvalidArgumentError(
        `maxOrder must be an integer in [0, 30], got ${String(maxOrder)}`,
        "EINVAL",
        "maxOrder",
      );
    }
    if (options.sink !== undefined) toSinkFn(options.sink);
    this.pageSize = pageSize;
    this.smpCacheBytes = smpCacheBytes;
    this.maxOrder = maxOrder;
    this.bottomUp = options.bottomUp ?? false;
    this.defaultSink = options.sink;
    this.printk = options.printk;
  }

  /** Log lines printed so far. */
  get log(): readonly string[] {
    return this.lines;
  }

  /** Whether every node with memory has been released. */
  get released(): boolean {
    return this.phase === "gone";
  }

  /** `memblock.current_limit`: the default upper bound of allocations. */
  get currentLimit(): number {
    return this.limit;
  }

  /** `memblock_set_current_limit`. */
  setCurrentLimit(limit: number): void {
    uint("limit", limit);
    this.limit = limit;
  }

  /** `memblock.memory.regions`, sorted. */
  memoryRegions(): MemblockRegion[] {
    return this.memory.list();
  }

  /** `memblock.reserved.regions`, sorted. */
  reservedRegions(): MemblockRegion[] {
    return this.reservedArr.list();
  }

  /** `memblock.memory.cnt`. */
  get memoryCount(): number {
    return this.memory.regions.length;
  }

  /** `memblock.reserved.cnt`. */
  get reservedCount(): number {
    return this.reservedArr.regions.length;
  }

  /** `memblock.reserved.max`: capacity of the reserved array (128, doubled on demand). */
  get reservedMax(): number {
    return this.reservedArr.max;
  }

  /** `memblock.memory.max`. */
  get memoryMax(): number {
    return this.memory.max;
  }

  /** `memblock_phys_mem_size()`: bytes of memory. */
  get memorySize(): number {
    return this.memory.total();
  }

  /** `memblock_reserved_size()`: bytes reserved. */
  get reservedSize(): number {
    return this.reservedArr.total();
  }

  /** `memblock_start_of_DRAM()` (0 with no memory). */
  get startOfDram(): number {
    return this.memory.regions[0]?.base ?? 0;
  }

  /** `memblock_end_of_DRAM()` (0 with no memory). */
  get endOfDram(): number {
    return this.memory.regions[this.memory.regions.length - 1]?.end ?? 0;
  }

  /** `memblock_add_node(base, size, nid)`: adds memory, merging with neighbours of the same node. */
  add(base: number, size: number, nid = 0): void {
    const end = this.range(base, size);
    nodeId("nid", nid, false);
    this.assertUp("memblock_add");
    if (size === 0) return;
    this.memory.add(base, end, nid);
  }

  /** `memblock_remove`: cuts the range out of memory (absent parts are ignored). */
  remove(base: number, size: number): void {
    const end = this.range(base, size);
    this.assertUp("memblock_remove");
    if (size === 0) return;
    this.memory.remove(base, end);
  }

  /** `memblock_reserve`: byte granular, overlapping and adjacent reservations merge. */
  reserve(base: number, size: number): void {
    const end = this.range(base, size);
    this.assertUp("memblock_reserve");
    if (size === 0) return;
    this.reservedArr.add(base, end, -1);
  }

  /** `memblock_phys_free`: drops the range from the reservations (absent parts are ignored). */
  free(base: number, size: number): void {
    const end = this.range(base, size);
    this.assertUp("memblock_phys_free");
    if (size === 0) return;
    this.reservedArr.remove(base, end);
  }

  /**
   * `memblock_find_in_range_node`: a free block of `size` bytes aligned to `align` inside
   * `[start, end)` on node `nid` (-1: any), without reserving it. `end` 0 means the current
   * limit; `start` is raised to one page (page 0 is never allocated).
   */
  findInRange(size: number, align: number, start: number, end: number, nid: number): number | null {
    const a = this.checkAlloc(size, align, start, end, nid);
    return this.find(size, a, start, end, nid);
  }

  /**
   * `memblock_alloc_range_nid`: find on `nid`, then (unless `exactNid`) on any node, and reserve.
   *
   * @throws KernelPanic for size 0, an alignment that is not a power of two, or after release.
   */
  allocRange(
    size: number,
    align: number,
    start: number,
    end: number,
    nid: number = NUMA_NO_NODE,
    exactNid = false,
  ): number | null {
    const a = this.checkAlloc(size, align, start, end, nid);
    return this.allocChecked(size, a, start, end, nid, exactNid);
  }

  /**
   * `memblock_alloc_try_nid` (`memblock_alloc_internal`): `maxAddr` is clamped to the current
   * limit (0 = the limit); when nothing fits above `minAddr`, retries from 0.
   */
  allocTryNid(
    size: number,
    align: number,
    minAddr: number,
    maxAddr: number,
    nid: number = NUMA_NO_NODE,
    exactNid = false,
  ): number | null {
    const a = this.checkAlloc(size, align, minAddr, maxAddr, nid);
    const max = Math.min(maxAddr, this.limit);
    const r = this.allocChecked(size, a, minAddr, max, nid, exactNid);
    if (r !== null || minAddr === 0) return r;
    return this.allocChecked(size, a, 0, max, nid, exactNid);
  }

  /** `memblock_alloc_from(size, align, minAddr)`. */
  allocFrom(size: number, align: number, minAddr: number): number | null {
    return this.allocTryNid(size, align, minAddr, MEMBLOCK_ALLOC_ACCESSIBLE, NUMA_NO_NODE);
  }

  /**
   * {@link BootAllocator.alloc}: `memblock_alloc_try_nid(size, align, goal, limit, nid)`, align
   * defaulting to `SMP_CACHE_BYTES`.
   */
  alloc(size: number, options: BootAllocOptions = {}): number | null {
    const { align = this.smpCacheBytes, goal = 0, limit = 0, nid = NUMA_NO_NODE } = options;
    return this.allocTryNid(size, align, goal, limit, nid);
  }

  /** Whether the page is not wholly free memory (outside memory, or touching a reservation). */
  isReserved(pfn: number): boolean {
    uint("pfn", pfn);
    const s = pfn * this.pageSize;
    const e = s + this.pageSize;
    const inMemory = this.memory.regions.some((r) => r.base <= s && r.end >= e);
    if (!inMemory) return true;
    return this.reservedArr.regions.some((r) => r.base < e && r.end > s);
  }

  /** The reserved regions as byte ranges. */
  reservedRanges(): PhysRange[] {
    return this.reservedArr.regions.map((r) => ({ start: r.base, end: r.end }));
  }

  /** Memory regions as pfn ranges (whole pages only), merged across nodes. */
  spans(): PfnRange[] {
    const out: { start: number; end: number }[] = [];
    for (const r of this.memory.regions) {
      const s = Math.ceil(r.base / this.pageSize);
      const e = Math.floor(r.end / this.pageSize);
      if (s >= e) continue;
      const last = out[out.length - 1];
      if (last !== undefined && last.end === s) last.end = e;
      else out.push({ start: s, end: e });
    }
    return out;
  }

  /** Free byte ranges (memory minus reservations) of node `nid` (-1: all), ascending. */
  freeRanges(nid: number = NUMA_NO_NODE): { start: number; end: number; nid: number }[] {
    const out: { start: number; end: number; nid: number }[] = [];
    const res = this.reservedArr.regions;
    let j = 0;
    for (const m of this.memory.regions) {
      if (nid !== NUMA_NO_NODE && m.nid !== nid) continue;
      let cur = m.base;
      while (j < res.length && res[j]!.end <= cur) j++;
      let k = j;
      while (cur < m.end) {
        const r = res[k];
        if (r === undefined || r.base >= m.end) {
          out.push({ start: cur, end: m.end, nid: m.nid });
          break;
        }
        if (r.base > cur) out.push({ start: cur, end: r.base, nid: m.nid });
        cur = Math.max(cur, r.end);
        k++;
      }
    }
    return out;
  }

  /**
   * Releases node `nid`'s free pages (`memblock_free_all` for one node): each free range's whole
   * pages go to the sink in the largest naturally aligned blocks up to `maxOrder`. Tears the
   * allocator down for reserve/free/alloc.
   *
   * @throws KernelPanic for a node released twice or after everything was released.
   */
  releaseNode(nid: number, sink?: ReleaseTarget): number {
    nodeId("nid", nid, false);
    const fn = toSinkFn(sink ?? this.defaultSink);
    if (this.phase === "gone") bug("released", "memblock: every node is already released");
    if (this.releasedNids.has(nid)) bug("double-release", `memblock: node ${nid} released twice`);
    this.phase = "down";
    this.releasedNids.add(nid);
    let count = 0;
    for (const r of this.freeRanges(nid)) {
      count += this.freePagesMemory(
        Math.ceil(r.start / this.pageSize),
        Math.floor(r.end / this.pageSize),
        fn,
      );
    }
    if (this.memory.regions.every((r) => this.releasedNids.has(r.nid))) this.phase = "gone";
    this.print(`memblock: ${count} pages released on node ${nid}`);
    return count;
  }

  /** Releases every node with memory not yet released, in node id order; returns the total. */
  releaseAll(sink?: ReleaseTarget): number {
    const fn = toSinkFn(sink ?? this.defaultSink);
    if (this.phase === "gone") bug("released", "memblock: every node is already released");
    const nids = [...new Set(this.memory.regions.map((r) => r.nid))].sort((a, b) => a - b);
    let total = 0;
    for (const nid of nids) if (!this.releasedNids.has(nid)) total += this.releaseNode(nid, fn);
    this.phase = "gone";
    return total;
  }

  /** `__memblock_dump_all()`: the region arrays in Linux's `memblock=debug` format. */
  dump(): string[] {
    const lines = [
      "MEMBLOCK configuration:",
      ` memory size = ${hex16(this.memorySize)} reserved size = ${hex16(this.reservedSize)}`,
    ];
    for (const [name, arr] of [
      ["memory", this.memory],
      ["reserved", this.reservedArr],
    ] as const) {
      lines.push(` ${name}.cnt  = 0x${arr.regions.length.toString(16)}`);
      arr.regions.forEach((r, i) => {
        const node = r.nid >= 0 ? ` on node ${r.nid}` : "";
        lines.push(
          ` ${name}[0x${i.toString(16)}]\t[${hex16(r.base)}-${hex16(r.end - 1)}], ${hex16(r.end - r.base)} bytes${node} flags: 0x0`,
        );
      });
    }
    return lines;
  }

  /** A digest of the state (regions, direction, limit, phase); equal digests, equal state. */
  digest(): string {
    return JSON.stringify([
      this.memory.regions,
      this.reservedArr.regions,
      this.memory.max,
      this.reservedArr.max,
      this.bottomUp,
      this.limit,
      this.phase,
      [...this.releasedNids],
      this.lines.length,
    ]);
  }

  /**
   * Checks the region arrays are sorted, disjoint, non-empty and merged (for tests).
   *
   * @throws KernelPanic("invariant").
   */
  checkInvariants(): void {
    for (const arr of [this.memory, this.reservedArr]) {
      let prev: Region | undefined;
      for (const r of arr.regions) {
        if (!(r.end > r.base)) bug("invariant", "memblock: empty region");
        if (prev !== undefined) {
          if (prev.end > r.base) bug("invariant", "memblock: regions overlap or are unsorted");
          if (prev.end === r.base && prev.nid === r.nid) bug("invariant", "memblock: unmerged");
        }
        prev = r;
      }
      if (arr.regions.length > arr.max) bug("invariant", "memblock: count above capacity");
    }
  }

  // Internals ---------------------------------------------------------------------------------

  private freePagesMemory(start: number, end: number, fn: FreePageFn): number {
    let pfn = start;
    let count = 0;
    while (pfn < end) {
      let order = 0;
      let size = 1;
      // Largest naturally aligned block: grow while pfn stays aligned and the block fits.
      while (order < this.maxOrder && pfn % (size * 2) === 0 && pfn + size * 2 <= end) {
        order++;
        size *= 2;
      }
      fn(pfn, order);
      count += size;
      pfn += size;
    }
    return count;
  }

  private range(base: number, size: number): number {
    uint("base", base);
    uint("size", size);
    return safeEnd("base", base, size);
  }

  private checkAlloc(size: number, align: number, start: number, end: number, nid: number): number {
    uint("size", size);
    uint("align", align);
    uint("start", start);
    uint("end", end);
    nodeId("nid", nid, true);
    this.assertUp("memblock_alloc");
    if (size === 0) bug("zero-size", "memblock: allocation of size 0");
    // Linux warns about align 0 and uses SMP_CACHE_BYTES.
    const a = align === 0 ? this.smpCacheBytes : align;
    if (!isPowerOfTwo(a)) bug("bad-align", `memblock: alignment ${align} is not a power of two`);
    return a;
  }

  private allocChecked(
    size: number,
    align: number,
    start: number,
    end: number,
    nid: number,
    exactNid: boolean,
  ): number | null {
    let found = this.find(size, align, start, end, nid);
    if (found === null && nid !== NUMA_NO_NODE && !exactNid) {
      found = this.find(size, align, start, end, NUMA_NO_NODE);
    }
    if (found === null) return null;
    this.reservedArr.add(found, found + size, -1);
    return found;
  }

  private find(
    size: number,
    align: number,
    start: number,
    end: number,
    nid: number,
  ): number | null {
    const hi = end === MEMBLOCK_ALLOC_ACCESSIBLE ? this.limit : end;
    const lo = Math.max(start, this.pageSize);
    if (hi <= lo) return null;
    const ranges = this.freeRanges(nid);
    if (this.bottomUp) {
      for (const r of ranges) {
        const s = Math.max(r.start, lo);
        const e = Math.min(r.end, hi);
        if (s >= e) continue;
        const cand = alignUp(s, align);
        if (cand + size <= e) return cand;
      }
    } else {
      for (let i = ranges.length - 1; i >= 0; i--) {
        const r = ranges[i]!;
        const s = Math.max(r.start, lo);
        const e = Math.min(r.end, hi);
        if (s >= e || e < size) continue;
        const cand = alignDown(e - size, align);
        if (cand >= s) return cand;
      }
    }
    return null;
  }

  private assertUp(what: string): void {
    if (this.phase !== "up") bug("torn-down", `memblock: ${what} after release`);
  }

  private print(line: string): void {
    this.lines.push(line);
    this.printk?.(line);
  }
}
