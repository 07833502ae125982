/**
 * A reserved region for large device buffers, in the manner of Linux's CMA (and DragonFly's
 * boot-time DMA reserve): a physically contiguous range taken from the page allocator once, early,
 * from which contiguous requests are served. Its idle pages can be lent to movable users
 * ({@link CmaRegion.lendPage}); a device request that needs a lent page migrates it out first
 * (`cma_alloc`), so lending never costs the device its guarantee, only migration time. Pinned
 * pages never enter the region, so the only way a request fails is a region that is too small.
 *
 * @module
 */
import { GFP_HIGHUSER_MOVABLE } from "@mem/buddy";
import {
  assertUint,
  describeValue,
  InvalidArgumentError,
  isPowerOfTwo,
  KernelPanic,
  PG_pinned,
} from "@mem/machine";
import type { ContigAllocator, ContigHandle } from "./contig-allocator.js";
import { fitFrom } from "./internal/fit.js";
import { RunTree } from "./internal/run-tree.js";

/** Options of {@link CmaRegion.create}. */
export interface CmaOptions {
  /** Bytes to reserve (rounded up to pages). */
  readonly size: number;
  /** Lowest physical address of the region (default 0). */
  readonly low?: number;
  /** Exclusive upper bound of the region (default none). */
  readonly high?: number;
  /** Alignment of the region (default the page size). */
  readonly alignment?: number;
}

/** A CMA-like reserved region. */
export class CmaRegion {
  /** The allocator the region came from. */
  readonly contig: ContigAllocator;
  /** First pfn. */
  readonly basePfn: number;
  /** Pages in the region. */
  readonly pages: number;
  /** Pages migrated out of the region to serve requests. */
  migrated = 0;
  /** Region-relative: pages that are idle (not allocated, not lent). */
  private readonly idle: RunTree;
  /** Region-relative: pages idle or lent (what a request may take after migration). */
  private readonly usable: RunTree;
  private readonly lent = new Set<number>();
  private readonly allocations = new Map<number, number>();
  private destroyed = false;

  private constructor(contig: ContigAllocator, basePfn: number, pages: number) {
    this.contig = contig;
    this.basePfn = basePfn;
    this.pages = pages;
    this.idle = new RunTree(pages);
    this.usable = new RunTree(pages);
    this.idle.setRange(0, pages, true);
    this.usable.setRange(0, pages, true);
  }

  /**
   * Reserves the region (with migration if needed). Returns null when no such range can be had.
   *
   * @throws {@link @mem/machine!index.InvalidArgumentError} for bad sizes or bounds.
   */
  static create(contig: ContigAllocator, options: CmaOptions): CmaRegion | null {
    const h = contig.allocate({ ...options, reclaim: "migrate" });
    if (h === null) return null;
    const region = new CmaRegion(contig, h.pfn, h.pages);
    contig.adoptRegion(h, region);
    return region;
  }

  /** Idle pages. */
  get idlePages(): number {
    return this.idle.ones;
  }

  /** Pages lent to movable users. */
  get lentPages(): number {
    return this.lent.size;
  }

  /** True when the region page at `pfn` is lent out. */
  isLent(pfn: number): boolean {
    return this.lent.has(pfn);
  }

  /**
   * Allocates `size` bytes from the region (alignment and boundary as in contigmalloc), migrating
   * lent pages out of the way. Returns a handle (never kernel-mapped) or null.
   */
  allocate(req: { size: number; alignment?: number; boundary?: number }): ContigHandle | null {
    this.live();
    const ps = this.contig.machine.pageSize;
    assertUint("size", req.size);
    const alignment = req.alignment ?? ps;
    const boundary = req.boundary ?? 0;
    if (req.size === 0)
      throw new InvalidArgumentError("cma allocate: size must not be 0", "size-zero", "size");
    if (!isPowerOfTwo(alignment))
      throw new InvalidArgumentError(
        `cma allocate: alignment must be a power of 2, got ${describeValue(alignment)}`,
        "bad-alignment",
        "alignment",
      );
    if (boundary !== 0 && !isPowerOfTwo(boundary))
      throw new InvalidArgumentError(
        `cma allocate: boundary must be a power of 2, got ${describeValue(boundary)}`,
        "bad-boundary",
        "boundary",
      );
    const n = Math.ceil(req.size / ps);
    if (boundary !== 0 && boundary < n * ps) return null;
    const a = alignment <= ps ? 1 : alignment / ps;
    const b = boundary === 0 ? 0 : boundary / ps;
    let off = this.findIn(this.idle, n, a, b);
    if (off < 0) {
      off = this.findIn(this.usable, n, a, b);
      if (off < 0 || !this.migrateOut(off, n)) return null;
    }
    this.idle.setRange(off, n, false);
    this.usable.setRange(off, n, false);
    const pfn = this.basePfn + off;
    this.allocations.set(pfn, n);
    return Object.freeze({ pfn, pages: n, physAddr: pfn * ps, size: n * ps, kernelAddress: 0 });
  }

  private findIn(tree: RunTree, n: number, a: number, b: number): number {
    let from = 0;
    while (from < this.pages) {
      const p = tree.findFirstRun(from, n);
      if (p < 0) return -1;
      const q = fitFrom(this.basePfn + p, n, a, b) - this.basePfn;
      if (q + n > this.pages) return -1;
      const z = tree.findFirstZero(q, q + n);
      if (z < 0) return q;
      from = z + 1;
    }
    return -1;
  }

  /** Migrates every lent page of `[off, off + n)` out of the region. */
  private migrateOut(off: number, n: number): boolean {
    const c = this.contig;
    const q = c.queues;
    const pfns: number[] = [];
    for (let k = off; k < off + n; k++) if (!this.idle.get(k)) pfns.push(this.basePfn + k);
    if (q === null) return false;
    for (const p of pfns) if (!q.isMovable(p)) return false;
    for (const p of pfns) {
      const target = c.buddy.allocPagesIn(GFP_HIGHUSER_MOVABLE, 0, {
        avoid: { start: this.basePfn, end: this.basePfn + this.pages },
      });
      if (target < 0) return false;
      q.migratePage(p, target);
      this.takeBack(p);
      this.migrated++;
    }
    return true;
  }

  /** A lent page came back to the region (fresh: count 1, no flags). */
  private takeBack(pfn: number): void {
    const db = this.contig.machine.pages;
    const i = db.indexOf(pfn);
    db.flags[i] = db.flags[i]! | PG_pinned;
    db.owner[i] = this.contig.ownerTag;
    this.lent.delete(pfn);
    this.idle.set(pfn - this.basePfn, true);
  }

  /**
   * Frees a region allocation.
   *
   * @throws {@link @mem/machine!index.KernelPanic} when `handle` is not a live allocation of this region.
   */
  free(handle: ContigHandle): void {
    this.live();
    const n = this.allocations.get(handle.pfn);
    if (n === undefined || n !== handle.pages)
      throw new KernelPanic(
        "not-allocated",
        `cma free: no allocation of ${describeValue(handle.pages)} pages at pfn ${describeValue(handle.pfn)}`,
      );
    this.allocations.delete(handle.pfn);
    const off = handle.pfn - this.basePfn;
    this.idle.setRange(off, n, true);
    this.usable.setRange(off, n, true);
  }

  /**
   * Lends an idle region page to a movable user: returns its pfn (an allocated page, count 1, no
   * flags, no owner) or -1. The user tags it, puts it on the page queues with a migrating owner,
   * and gives it back with {@link returnPage}.
   */
  lendPage(): number {
    this.live();
    const off = this.idle.findFirstRun(0, 1);
    if (off < 0 || off >= this.pages) return -1;
    const pfn = this.basePfn + off;
    const db = this.contig.machine.pages;
    const i = db.indexOf(pfn);
    db.flags[i] = db.flags[i]! & ~PG_pinned;
    db.owner[i] = 0;
    this.idle.set(off, false);
    this.lent.add(pfn);
    return pfn;
  }

  /**
   * Gives back a page from {@link lendPage}: a region page returns to the region, a page the
   * region migrated elsewhere is freed to the page allocator. The page must be off every queue,
   * with count 1, no flags, no owner.
   *
   * @throws {@link @mem/machine!index.KernelPanic} for a page that is not lent or not bare.
   */
  returnPage(pfn: number): void {
    this.live();
    assertUint("pfn", pfn);
    const db = this.contig.machine.pages;
    const i = db.indexOrPanic(pfn);
    if (db.flags[i] !== 0 || db.refcount[i] !== 1 || db.owner[i] !== 0 || db.mapcount[i] !== 0)
      throw new KernelPanic(
        "bad-page",
        `cma returnPage: pfn ${describeValue(pfn)} is not a bare page (flags 0x${db.flags[i]!.toString(16)}, count ${db.refcount[i]}, owner ${db.owner[i]})`,
      );
    if (this.lent.has(pfn)) this.takeBack(pfn);
    else if (pfn >= this.basePfn && pfn < this.basePfn + this.pages)
      throw new KernelPanic(
        "not-lent",
        `cma returnPage: region pfn ${describeValue(pfn)} is not lent`,
      );
    else this.contig.buddy.free(pfn, 0);
  }

  /**
   * Gives the whole region back to the page allocator. Every allocation must be freed and every
   * lent page returned.
   */
  destroy(): void {
    this.live();
    if (this.allocations.size > 0 || this.lent.size > 0)
      throw new KernelPanic(
        "busy",
        `cma destroy: ${this.allocations.size} allocations and ${this.lent.size} lent pages remain`,
      );
    this.destroyed = true;
    this.contig.releaseRegion(this);
  }

  private live(): void {
    if (this.destroyed) throw new KernelPanic("destroyed", "cma: region was destroyed");
  }
}
