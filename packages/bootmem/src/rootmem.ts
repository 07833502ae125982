/**
 * rootmem: one bitmap over every page of every node (Johannes Weiner's 2008 RFC), with the RFC's
 * eight bugs fixed, plus the legacy bootmem names on top.
 *
 * @module
 */
import type { PhysRange } from "@mem/machine";
import { InvalidArgumentError, isPowerOfTwo } from "@mem/machine";
import type {
  BootAllocator,
  BootAllocOptions,
  FreePageFn,
  ReleaseTarget,
} from "./boot-allocator.js";
import { toSinkFn } from "./boot-allocator.js";
import { alignUp, bug, hex, nodeId, safeEnd, uint } from "./internal/args.js";
import { fillRange, findNextSet, findNextZero, lowestBit, testBit } from "./internal/bitmap.js";

/** The errno an exclusive reservation returns when a page is already reserved. */
export const EBUSY = 16;
/** `reserve_bootmem` flag: reserve even when pages are already reserved. */
export const BOOTMEM_DEFAULT = 0;
/** `reserve_bootmem` flag: fail with `-EBUSY` when any page is already reserved. */
export const BOOTMEM_EXCLUSIVE = 1;

/** Default `SMP_CACHE_BYTES` (x86, alpha: 64-byte cache lines). */
export const DEFAULT_SMP_CACHE_BYTES = 64;
/** Default `__pa(MAX_DMA_ADDRESS)`: the end of ISA DMA memory, 16 MiB. */
export const DEFAULT_MAX_DMA_ADDRESS: number = 16 * 1024 * 1024;

/** Largest bitmap span in pages (2^31 bits = 256 MiB of bitmap: 8 TiB of 4 KiB pages). */
const MAX_SPAN_PAGES = 2 ** 31;

/** Options of {@link Rootmem}. */
export interface RootmemOptions {
  /** Page size in bytes, a power of two. */
  readonly pageSize: number;
  /** `BITS_PER_LONG`: release granularity (a word of 32 or 64 pages). @defaultValue 64 */
  readonly bitsPerLong?: 32 | 64 | undefined;
  /** Default target of {@link Rootmem.releaseNode}. */
  readonly sink?: ReleaseTarget | undefined;
  /** `SMP_CACHE_BYTES`, the legacy API's default alignment. @defaultValue 64 */
  readonly smpCacheBytes?: number | undefined;
  /** `__pa(MAX_DMA_ADDRESS)`, the legacy API's default goal. @defaultValue 16 MiB */
  readonly maxDmaAddress?: number | undefined;
  /** Receives each log line as it is printed (they are also kept in {@link Rootmem.log}). */
  readonly printk?: ((line: string) => void) | undefined;
}

/** A registered node's pfn span. */
export interface RootmemNode {
  /** Node id. */
  readonly nid: number;
  /** First pfn. */
  readonly start: number;
  /** One past the last pfn. */
  readonly end: number;
  /** Whether it has been released. */
  readonly released: boolean;
}

interface NodeState {
  nid: number;
  start: number;
  end: number;
  released: boolean;
}

type Phase = "registering" | "up" | "down" | "gone";

/**
 * The rootmem boot-time allocator: register nodes, {@link Rootmem.setup} (every page starts
 * reserved), free usable RAM, reserve and allocate, then {@link Rootmem.releaseNode} each node
 * into the page allocator.
 */
export class Rootmem implements BootAllocator {
  /** Always `"rootmem"`. */
  readonly kind: "rootmem" = "rootmem";
  /** Page size in bytes. */
  readonly pageSize: number;
  /** `BITS_PER_LONG`. */
  readonly bitsPerLong: 32 | 64;
  /** `SMP_CACHE_BYTES`. */
  readonly smpCacheBytes: number;
  /** `__pa(MAX_DMA_ADDRESS)`. */
  readonly maxDmaAddress: number;
  private readonly lines: string[] = [];
  private readonly printk: ((line: string) => void) | undefined;
  private readonly defaultSink: ReleaseTarget | undefined;
  private readonly byNid = new Map<number, NodeState>();
  /** Non-empty nodes sorted by start. */
  private sorted: NodeState[] = [];
  private phase: Phase = "registering";
  private min = Number.POSITIVE_INFINITY;
  private max = 0;
  /** Pfn of bit 0: the lowest pfn rounded down to 64, so bit positions match pfn alignment. */
  private base = 0;
  private map: Uint32Array = new Uint32Array(0);
  private mapStart = -1;
  private mapCount = 0;
  /** End (bytes) of the last allocation: the partial-page merge cursor; 0 = none. */
  private lastEnd = 0;
  /** Every bit below this index is set (a search cache). */
  private hint = 0;
  private live = 0;

  /** Creates an allocator with no nodes. */
  constructor(options: RootmemOptions) {
    if (typeof options !== "object" || options === null) {
      throw new InvalidArgumentError("options must be an object", "EINVAL", "options");
    }
    const { pageSize, bitsPerLong = 64, smpCacheBytes = DEFAULT_SMP_CACHE_BYTES } = options;
    const { maxDmaAddress = DEFAULT_MAX_DMA_ADDRESS } = options;
    if (!isPowerOfTwo(pageSize) || pageSize < 512) {
      throw new InvalidArgumentError(
        `pageSize must be a power of two >= 512, got ${String(pageSize)}`,
        "not-power-of-two",
        "pageSize",
      );
    }
    if (bitsPerLong !== 32 && bitsPerLong !== 64) {
      throw new InvalidArgumentError(
        `bitsPerLong must be 32 or 64, got ${String(bitsPerLong)}`,
        "EINVAL",
        "bitsPerLong",
      );
    }
    if (!isPowerOfTwo(smpCacheBytes)) {
      throw new InvalidArgumentError(
        `smpCacheBytes must be a power of two, got ${String(smpCacheBytes)}`,
        "not-power-of-two",
        "smpCacheBytes",
      );
    }
    uint("maxDmaAddress", maxDmaAddress);
    if (options.sink !== undefined) toSinkFn(options.sink);
    this.pageSize = pageSize;
    this.bitsPerLong = bitsPerLong;
    this.smpCacheBytes = smpCacheBytes;
    this.maxDmaAddress = maxDmaAddress;
    this.defaultSink = options.sink;
    this.printk = options.printk;
  }

  /** Log lines printed so far. */
  get log(): readonly string[] {
    return this.lines;
  }

  /** Lowest registered pfn (`rootmem_min_pfn`); `Infinity` before any non-empty node. */
  get minPfn(): number {
    return this.min;
  }

  /** One past the highest registered pfn (`rootmem_max_pfn`). */
  get maxPfn(): number {
    return this.max;
  }

  /** Pfn of the bitmap's first page, or -1 before {@link Rootmem.setup}. */
  get mapPfn(): number {
    return this.mapStart;
  }

  /** Whether the allocator accepts reserve/free/alloc (after setup, before the first release). */
  get functional(): boolean {
    return this.phase === "up";
  }

  /** Whether every node has been released. */
  get released(): boolean {
    return this.phase === "gone";
  }

  /** The registered nodes, by node id. */
  nodes(): RootmemNode[] {
    return [...this.byNid.values()]
      .sort((a, b) => a.nid - b.nid)
      .map((n) => ({ nid: n.nid, start: n.start, end: n.end, released: n.released }));
  }

  /**
   * Registers node `nid` spanning pfns `[startPfn, endPfn)` (holes included). Must precede
   * {@link Rootmem.setup}. An empty span is allowed (a node without memory).
   *
   * @throws KernelPanic after setup or for a node registered twice.
   * @throws InvalidArgumentError for bad numbers, `start > end`, overlapping nodes, a span over 2^31 pages.
   */
  registerNode(nid: number, startPfn: number, endPfn: number): void {
    nodeId("nid", nid, false);
    uint("startPfn", startPfn);
    uint("endPfn", endPfn);
    if (startPfn > endPfn) {
      throw new InvalidArgumentError(
        `startPfn ${startPfn} is above endPfn ${endPfn}`,
        "EINVAL",
        "startPfn",
      );
    }
    if (this.phase !== "registering") {
      bug("register-after-setup", `rootmem: node ${nid} registered after rootmem_setup()`);
    }
    if (this.byNid.has(nid)) bug("node-registered", `rootmem: node ${nid} registered twice`);
    if (startPfn < endPfn) {
      for (const n of this.sorted) {
        if (startPfn < n.end && n.start < endPfn) {
          throw new InvalidArgumentError(
            `node ${nid} [${hex(startPfn)}-${hex(endPfn)}) overlaps node ${n.nid} [${hex(n.start)}-${hex(n.end)})`,
            "EINVAL",
            "startPfn",
          );
        }
      }
      const min = Math.min(this.min, startPfn);
      const max = Math.max(this.max, endPfn);
      if (max - Math.floor(min / 64) * 64 > MAX_SPAN_PAGES) {
        throw new InvalidArgumentError(
          `rootmem: span ${hex(min)}-${hex(max)} exceeds 2^31 pages`,
          "ERANGE",
          "endPfn",
        );
      }
      this.min = min;
      this.max = max;
    }
    const node: NodeState = { nid, start: startPfn, end: endPfn, released: false };
    this.byNid.set(nid, node);
    if (startPfn < endPfn) {
      this.sorted = [...this.sorted, node].sort((a, b) => a.start - b.start);
    }
    this.live++;
  }

  /** Bytes of bitmap: one bit per page of the span, rounded up to a whole `long`. */
  mapBytes(): number {
    this.assertRegistered();
    const base = Math.floor(this.min / 64) * 64;
    const bytes = Math.ceil((this.max - base) / 8);
    const long = this.bitsPerLong / 8;
    return Math.ceil(bytes / long) * long;
  }

  /** Pages the bitmap needs (`rootmem_map_pages`). */
  mapPages(): number {
    return Math.ceil(this.mapBytes() / this.pageSize);
  }

  /**
   * Activates the allocator with its bitmap at pfn `mapPfn`: every page starts reserved. The
   * caller frees usable RAM and reserves the bitmap's own pages.
   *
   * @throws KernelPanic when called twice or with no memory registered.
   */
  setup(mapPfn: number): void {
    uint("mapPfn", mapPfn);
    if (this.phase !== "registering") bug("setup-twice", "rootmem: rootmem_setup() called twice");
    const pages = this.mapPages();
    safeEnd("mapPfn", mapPfn, pages);
    this.base = Math.floor(this.min / 64) * 64;
    const words = Math.ceil((this.max - this.base) / 64) * 2;
    this.map = new Uint32Array(words).fill(0xffffffff);
    this.mapStart = mapPfn;
    this.mapCount = pages;
    this.hint = 0;
    this.lastEnd = 0;
    this.phase = "up";
    this.print(
      `rootmem: ${this.max - this.min} pages on ${this.byNid.size} node(s) - map @ pfn ${hex(mapPfn)}`,
    );
  }

  /**
   * Frees the pages wholly inside `[addr, addr + size)`.
   *
   * @throws KernelPanic on a double free, a range outside the registered nodes, or when not functional.
   */
  free(addr: number, size: number): void {
    uint("addr", addr);
    uint("size", size);
    const endAddr = safeEnd("addr", addr, size);
    this.assertUp("rootmem_free");
    const s = Math.ceil(addr / this.pageSize);
    const e = Math.floor(endAddr / this.pageSize);
    if (s >= e) return;
    this.checkRange(s, e);
    const z = findNextZero(this.map, s - this.base, e - this.base);
    if (z < e - this.base) {
      bug("double-free", `rootmem: double free of pfn ${hex(z + this.base)}`);
    }
    fillRange(this.map, s - this.base, e - this.base, false);
    if (s - this.base < this.hint) this.hint = s - this.base;
    // The merge cursor's partial page is no longer ours: never merge into it again.
    if (this.lastEnd % this.pageSize !== 0) {
      const p = Math.floor(this.lastEnd / this.pageSize);
      if (p >= s && p < e) this.lastEnd = 0;
    }
  }

  /**
   * Reserves every page `[addr, addr + size)` touches. Exclusive: returns `-EBUSY` (and changes
   * nothing) when any of them is already reserved. Returns 0 on success.
   *
   * @throws KernelPanic for a range outside the registered nodes, or when not functional.
   */
  reserve(addr: number, size: number, exclusive = false): number {
    uint("addr", addr);
    uint("size", size);
    const endAddr = safeEnd("addr", addr, size);
    if (typeof exclusive !== "boolean") {
      throw new InvalidArgumentError(
        `exclusive must be a boolean, got ${String(exclusive)}`,
        "EINVAL",
        "exclusive",
      );
    }
    this.assertUp("rootmem_reserve");
    if (size === 0) return 0;
    const s = Math.floor(addr / this.pageSize);
    const e = Math.ceil(endAddr / this.pageSize);
    this.checkRange(s, e);
    if (exclusive && findNextSet(this.map, s - this.base, e - this.base) < e - this.base) {
      return -EBUSY;
    }
    fillRange(this.map, s - this.base, e - this.base, true);
    return 0;
  }

  /**
   * Allocates `size` bytes (`__rootmem_alloc_node`): first fit, bottom up, from the goal's page
   * when it lies in the searched range, else from its start. `align` (bytes, a power of two)
   * applies to the absolute address; `limit` (bytes, exclusive, 0 = none); `nid` -1 = any node,
   * otherwise the search stays in that node. Returns the physical address, or `null`.
   *
   * @throws KernelPanic for size 0, a bad alignment, `goal + size > limit`, an unknown node, or when not functional.
   */
  allocNode(nid: number, size: number, align: number, goal: number, limit: number): number | null {
    nodeId("nid", nid, true);
    uint("size", size);
    uint("align", align);
    uint("goal", goal);
    uint("limit", limit);
    this.assertUp("__rootmem_alloc_node");
    if (size === 0) bug("zero-size", "rootmem: allocation of size 0");
    if (!isPowerOfTwo(align)) bug("bad-align", `rootmem: alignment ${align} is not a power of two`);
    if (limit !== 0 && goal + size > limit) {
      bug("goal-beyond-limit", `rootmem: goal ${hex(goal)} + size ${size} > limit ${hex(limit)}`);
    }
    let min = this.min;
    let max = this.max;
    if (nid !== -1) {
      const node = this.byNid.get(nid);
      if (node === undefined) bug("bad-nid", `rootmem: node ${nid} is not registered`);
      min = node.start;
      max = node.end;
    }
    const ps = this.pageSize;
    if (limit !== 0) max = Math.min(max, Math.floor(limit / ps));
    const step = Math.max(Math.floor(align / ps), 1);
    const pages = Math.ceil(size / ps);
    const goalPfn = Math.floor(goal / ps);
    let sidx = -1;
    if (goal !== 0 && goalPfn >= min && goalPfn < max) {
      sidx = this.search(alignUp(goalPfn, step), max, pages, step);
    }
    if (sidx < 0) sidx = this.search(alignUp(min, step), max, pages, step);
    if (sidx < 0) return null;

    let start = sidx * ps;
    const last = this.lastEnd;
    if (last % ps !== 0) {
      const lastPfn = Math.floor(last / ps);
      if (lastPfn + 1 === sidx && lastPfn >= min) {
        const merged = alignUp(last, align);
        if (merged < start) start = merged;
      }
    }
    const end = start + size;
    fillRange(this.map, sidx - this.base, Math.ceil(end / ps) - this.base, true);
    this.lastEnd = end;
    return start;
  }

  /**
   * {@link BootAllocator.alloc}: `allocNode(nid, size, align, goal, limit)` with defaults
   * align = `SMP_CACHE_BYTES`, goal 0, limit 0, nid -1.
   */
  alloc(size: number, options: BootAllocOptions = {}): number | null {
    const { align = this.smpCacheBytes, goal = 0, limit = 0, nid = -1 } = options;
    return this.allocNode(nid, size, align, goal, limit);
  }

  /**
   * Hands every free page of node `nid` to `sink` (default: the constructor's): a whole aligned
   * `BITS_PER_LONG` block at once when it is free and inside the node, else page by page. The
   * last node released also releases the bitmap's pages. Tears the allocator down.
   *
   * @returns the number of pages released.
   * @throws KernelPanic before setup, for an unknown node, or a node released twice.
   */
  releaseNode(nid: number, sink?: ReleaseTarget): number {
    nodeId("nid", nid, false);
    const fn = toSinkFn(sink ?? this.defaultSink);
    if (this.phase === "registering") bug("not-set-up", "rootmem: release before rootmem_setup()");
    if (this.phase === "gone") bug("released", "rootmem: every node is already released");
    const node = this.byNid.get(nid);
    if (node === undefined) bug("bad-nid", `rootmem: node ${nid} is not registered`);
    if (node.released) bug("double-release", `rootmem: node ${nid} released twice`);
    this.phase = "down";
    node.released = true;
    this.live--;
    let count = this.releaseSpan(node.start, node.end, fn);
    if (this.live === 0) {
      for (let p = this.mapStart; p < this.mapStart + this.mapCount; p++) {
        // A map page that was free in the bitmap has just been released with its node.
        if (this.inNodes(p) && !testBit(this.map, p - this.base)) continue;
        fn(p, 0);
        count++;
      }
      this.phase = "gone";
    }
    this.print(`rootmem: ${count} pages released on node ${nid}`);
    return count;
  }

  /** Releases every node not yet released, in node id order; returns the total. */
  releaseAll(sink?: ReleaseTarget): number {
    const fn = toSinkFn(sink ?? this.defaultSink);
    if (this.phase === "registering") bug("not-set-up", "rootmem: release before rootmem_setup()");
    if (this.phase === "gone") bug("released", "rootmem: every node is already released");
    let total = 0;
    for (const n of this.nodes()) if (!n.released) total += this.releaseNode(n.nid, fn);
    return total;
  }

  /** Whether `pfn` is reserved; pages outside every node, and all pages before setup, are. */
  isReserved(pfn: number): boolean {
    uint("pfn", pfn);
    if (this.phase === "registering" || !this.inNodes(pfn)) return true;
    return testBit(this.map, pfn - this.base);
  }

  /** Reserved pfn ranges inside the registered nodes, sorted and merged. */
  reservedPfnRanges(): { start: number; end: number }[] {
    const out: { start: number; end: number }[] = [];
    const push = (s: number, e: number): void => {
      const last = out[out.length - 1];
      if (last !== undefined && last.end === s) last.end = e;
      else out.push({ start: s, end: e });
    };
    for (const n of this.sorted) {
      if (this.phase === "registering") {
        push(n.start, n.end);
        continue;
      }
      const to = n.end - this.base;
      let i = findNextSet(this.map, n.start - this.base, to);
      while (i < to) {
        const z = findNextZero(this.map, i, to);
        push(i + this.base, z + this.base);
        i = findNextSet(this.map, z, to);
      }
    }
    return out;
  }

  /** {@link BootAllocator.reservedRanges}: the reserved pfn ranges in bytes. */
  reservedRanges(): PhysRange[] {
    return this.reservedPfnRanges().map((r) => ({
      start: r.start * this.pageSize,
      end: r.end * this.pageSize,
    }));
  }

  /** The registered nodes' non-empty pfn spans, sorted (ranges rootmem accepts). */
  spans(): { start: number; end: number }[] {
    return this.sorted.map((n) => ({ start: n.start, end: n.end }));
  }

  /** Free pages inside the registered nodes. */
  freePages(): number {
    let n = 0;
    for (const node of this.sorted) {
      let free = node.end - node.start;
      for (const r of this.reservedPfnRangesIn(node.start, node.end)) free -= r.end - r.start;
      n += free;
    }
    return n;
  }

  /** A digest of the whole state (bitmap, cursor, phase, nodes, log); equal digests, equal state. */
  digest(): string {
    let h = 0x811c9dc5;
    const mix = (v: number): void => {
      h = Math.imul(h ^ (v >>> 0), 0x01000193);
      h = Math.imul(h ^ Math.floor(v / 2 ** 32), 0x01000193);
    };
    for (let i = 0; i < this.map.length; i++) mix(this.map[i]!);
    mix(this.lastEnd);
    mix(this.map.length);
    mix(["registering", "up", "down", "gone"].indexOf(this.phase));
    for (const n of this.nodes()) {
      mix(n.nid);
      mix(n.start);
      mix(n.end);
      mix(n.released ? 1 : 0);
    }
    mix(this.lines.length);
    return `${(h >>> 0).toString(16)}:${this.map.length}:${this.lastEnd}:${this.phase}`;
  }

  /**
   * Checks the internal invariants (for tests and debugging): padding and holes stay reserved,
   * the search hint is sound, the merge cursor's partial page is reserved.
   *
   * @throws KernelPanic("invariant") naming the broken one.
   */
  checkInvariants(): void {
    if (this.phase === "registering") return;
    const bits = this.map.length * 32;
    let prev = 0;
    for (const n of this.sorted) {
      const z = findNextZero(this.map, prev, n.start - this.base);
      if (z < n.start - this.base)
        bug("invariant", `pfn ${hex(z + this.base)} outside nodes is free`);
      prev = n.end - this.base;
    }
    if (findNextZero(this.map, prev, bits) < bits) bug("invariant", "padding bit is free");
    if (findNextZero(this.map, 0, this.hint) < this.hint) bug("invariant", "hint is unsound");
    if (this.lastEnd % this.pageSize !== 0 && this.phase === "up") {
      const p = Math.floor(this.lastEnd / this.pageSize);
      if (!this.isReserved(p)) bug("invariant", `merge page ${hex(p)} is free`);
    }
  }

  // Legacy bootmem API -----------------------------------------------------------------------

  /** `alloc_bootmem`: cache-line aligned, above `MAX_DMA_ADDRESS` when possible. */
  allocBootmem(size: number): number | null {
    return this.allocNode(-1, size, this.smpCacheBytes, this.maxDmaAddress, 0);
  }

  /** `alloc_bootmem_low`: cache-line aligned, from the bottom of memory. */
  allocBootmemLow(size: number): number | null {
    return this.allocNode(-1, size, this.smpCacheBytes, 0, 0);
  }

  /** `alloc_bootmem_pages`: page aligned, above `MAX_DMA_ADDRESS` when possible. */
  allocBootmemPages(size: number): number | null {
    return this.allocNode(-1, size, this.pageSize, this.maxDmaAddress, 0);
  }

  /** `alloc_bootmem_low_pages`: page aligned, from the bottom of memory. */
  allocBootmemLowPages(size: number): number | null {
    return this.allocNode(-1, size, this.pageSize, 0, 0);
  }

  /** `alloc_bootmem_node`: as {@link Rootmem.allocBootmem} on node `nid`, then on any node. */
  allocBootmemNode(nid: number, size: number): number | null {
    return this.legacyNode(nid, size, this.smpCacheBytes, this.maxDmaAddress);
  }

  /** `alloc_bootmem_pages_node`: page aligned on node `nid`, then on any node. */
  allocBootmemPagesNode(nid: number, size: number): number | null {
    return this.legacyNode(nid, size, this.pageSize, this.maxDmaAddress);
  }

  /** `alloc_bootmem_low_pages_node`: page aligned from the bottom of node `nid`, then any node. */
  allocBootmemLowPagesNode(nid: number, size: number): number | null {
    return this.legacyNode(nid, size, this.pageSize, 0);
  }

  /** `reserve_bootmem(addr, size, flags)`: flags {@link BOOTMEM_DEFAULT} or {@link BOOTMEM_EXCLUSIVE}. */
  reserveBootmem(addr: number, size: number, flags: number): number {
    return this.reserve(addr, size, this.exclusiveFlag(flags));
  }

  /** `reserve_bootmem_node`: as {@link Rootmem.reserveBootmem}; the range must lie in node `nid`. */
  reserveBootmemNode(nid: number, addr: number, size: number, flags: number): number {
    const exclusive = this.exclusiveFlag(flags);
    this.checkInNode(nid, addr, size, false);
    return this.reserve(addr, size, exclusive);
  }

  /** `free_bootmem`. */
  freeBootmem(addr: number, size: number): void {
    this.free(addr, size);
  }

  /** `free_bootmem_node`: as {@link Rootmem.freeBootmem}; the range must lie in node `nid`. */
  freeBootmemNode(nid: number, addr: number, size: number): void {
    this.checkInNode(nid, addr, size, true);
    this.free(addr, size);
  }

  // Internals ---------------------------------------------------------------------------------

  private legacyNode(nid: number, size: number, align: number, goal: number): number | null {
    nodeId("nid", nid, false);
    const node = this.byNid.get(nid);
    // bootmem's __alloc_bootmem_node: the node first, then anywhere. The goal only counts where
    // it lies in the searched range.
    if (node !== undefined && this.phase === "up") {
      const r = this.allocNode(nid, size, align, goal, 0);
      if (r !== null) return r;
    }
    return this.allocNode(-1, size, align, goal, 0);
  }

  private exclusiveFlag(flags: number): boolean {
    uint("flags", flags);
    if (flags > 1) {
      throw new InvalidArgumentError(
        `flags must be BOOTMEM_DEFAULT (0) or BOOTMEM_EXCLUSIVE (1), got ${flags}`,
        "EINVAL",
        "flags",
      );
    }
    return flags === BOOTMEM_EXCLUSIVE;
  }

  private checkInNode(nid: number, addr: number, size: number, inner: boolean): void {
    nodeId("nid", nid, false);
    uint("addr", addr);
    uint("size", size);
    const endAddr = safeEnd("addr", addr, size);
    this.assertUp(inner ? "free_bootmem_node" : "reserve_bootmem_node");
    const node = this.byNid.get(nid);
    if (node === undefined) bug("bad-nid", `rootmem: node ${nid} is not registered`);
    const ps = this.pageSize;
    const s = inner ? Math.ceil(addr / ps) : Math.floor(addr / ps);
    const e = inner ? Math.floor(endAddr / ps) : Math.ceil(endAddr / ps);
    if (s < e && (s < node.start || e > node.end)) {
      bug(
        "out-of-range",
        `rootmem request out of node ${nid}: ${hex(s)}-${hex(e)}, node: ${hex(node.start)}-${hex(node.end)}`,
      );
    }
  }

  private releaseSpan(start: number, end: number, fn: FreePageFn): number {
    const L = this.bitsPerLong;
    const order = L === 64 ? 6 : 5;
    const map = this.map;
    const base = this.base;
    let count = 0;
    let pfn = start;
    while (pfn < end) {
      const chunk = Math.floor(pfn / L) * L;
      const chunkEnd = chunk + L;
      const w = (chunk - base) / 32;
      if (pfn === chunk && chunkEnd <= end && map[w] === 0 && (L === 32 || map[w + 1] === 0)) {
        fn(chunk, order);
        count += L;
      } else {
        const hi = Math.min(chunkEnd, end);
        for (let ws = chunk; ws < hi; ws += 32) {
          const lo = Math.max(pfn, ws);
          const top = Math.min(hi, ws + 32);
          if (lo >= top) continue;
          const word = map[(ws - base) / 32]!;
          const m = ((0xffffffff >>> (32 - (top - lo))) << (lo - ws)) >>> 0;
          let inv = ~word & m;
          while (inv !== 0) {
            fn(ws + lowestBit(inv), 0);
            count++;
            inv &= inv - 1;
          }
        }
      }
      pfn = chunkEnd;
    }
    return count;
  }

  private reservedPfnRangesIn(start: number, end: number): { start: number; end: number }[] {
    if (this.phase === "registering") return [{ start, end }];
    const out: { start: number; end: number }[] = [];
    const to = end - this.base;
    let i = findNextSet(this.map, start - this.base, to);
    while (i < to) {
      const z = findNextZero(this.map, i, to);
      out.push({ start: i + this.base, end: z + this.base });
      i = findNextSet(this.map, z, to);
    }
    return out;
  }

  /** First-fit search of `pages` free pages at a multiple of `step`, from `from` below `max`. */
  private search(from: number, max: number, pages: number, step: number): number {
    const map = this.map;
    const base = this.base;
    const maxRel = max - base;
    let s = from;
    for (;;) {
      if (s >= max) return -1;
      let rel = s - base;
      const useHint = rel <= this.hint;
      if (useHint) rel = this.hint;
      rel = findNextZero(map, rel, maxRel);
      if (useHint) this.hint = rel;
      if (rel >= maxRel) return -1;
      s = alignUp(rel + base, step);
      const e = s + pages;
      if (e > max) return -1;
      const used = findNextSet(map, s - base, e - base);
      if (used >= e - base) return s;
      s = alignUp(used + base + 1, step);
    }
  }

  private inNodes(pfn: number): boolean {
    for (const n of this.sorted) if (pfn >= n.start && pfn < n.end) return true;
    return false;
  }

  private checkRange(s: number, e: number): void {
    let cur = s;
    for (const n of this.sorted) {
      if (n.end <= cur) continue;
      if (n.start > cur) break;
      cur = n.end;
      if (cur >= e) return;
    }
    bug(
      "out-of-range",
      `rootmem request out of range: ${hex(s)}-${hex(e)}, usable: ${hex(this.min)}-${hex(this.max)}`,
    );
  }

  private assertRegistered(): void {
    if (this.sorted.length === 0) bug("no-memory", "rootmem: no node with memory registered");
  }

  private assertUp(what: string): void {
    if (this.phase === "registering") bug("not-set-up", `rootmem: ${what} before rootmem_setup()`);
    if (this.phase !== "up") bug("torn-down", `rootmem: ${what} after release`);
  }

  private print(line: string): void {
    this.lines.push(line);
    this.printk?.(line);
  }
}
