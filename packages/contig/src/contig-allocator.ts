/**
 * Physically contiguous allocation over the buddy allocator's free pool, with or without a kernel
 * mapping: FreeBSD's contigmalloc split as Chuck Cranor proposed in PR kern/55081 (2003), NetBSD's
 * constrained page-list allocator over an extent mirror of the free pages (Jason Thorpe, 1997), an
 * indexed O(log n) search, laundering between passes, and reclaim by migration (Linux's
 * `alloc_contig_range`, FreeBSD's `vm_page_reclaim_contig`).
 *
 * Pages are always taken from the buddy allocator with `allocContigRange` (exact ranges), so the
 * buddy invariants hold; allocated pages carry the `"contig"` owner tag and `PG_pinned`, so they
 * are never migrated or laundered. The "page array index" of the FreeBSD API is the pfn.
 *
 * @module
 */
import type { BuddyAllocator, FreePoolObserver } from "@mem/buddy";
import { GFP_HIGHUSER_MOVABLE } from "@mem/buddy";
import { Extent } from "@mem/extent";
import {
  assertUint,
  describeValue,
  InvalidArgumentError,
  isPowerOfTwo,
  KernelPanic,
  type Machine,
  type PageDatabase,
  PG_pcp,
  PG_pinned,
} from "@mem/machine";
import type { CmaRegion } from "./cma.js";
import { checkRequest, fitFrom, type PageRequest } from "./internal/fit.js";
import { RunTree } from "./internal/run-tree.js";
import {
  type PageQueueListener,
  type PageQueues,
  PQ_ACTIVE,
  PQ_CACHE,
  PQ_INACTIVE,
  PQ_NONE,
} from "./page-queues.js";

/** Words (32 pages each) the indexed search scans linearly before it walks its tree. */
const PROBE_WORDS = 64;

/** {@link ContigAllocator}'s probe: this run holds no placement. */
const NO_PLACEMENT = Number.NEGATIVE_INFINITY;

/** The lowest clear bit of `words` in `[from, to)`, by a scan of the words, or -1. */
function firstClear(words: Uint32Array, from: number, to: number): number {
  if (from >= to) return -1;
  const wLast = Math.floor((to - 1) / 32);
  for (let w = Math.floor(from / 32); w <= wLast; w++) {
    let v = ~words[w]!;
    if (w * 32 < from) v &= -1 << (from % 32);
    if (w === wLast && to % 32 !== 0) v &= (1 << (to % 32)) - 1;
    if (v !== 0) return w * 32 + (31 - Math.clz32(v & -v));
  }
  return -1;
}

/** How free ranges are found. */
export type ContigSearch = "linear" | "extent" | "indexed";
/** What is done when no free range fits. */
export type ContigReclaim = "none" | "launder" | "migrate";

/** Options of a {@link ContigAllocator}. */
export interface ContigAllocatorOptions {
  /** The page allocator the pages come from (booted: its RAM already freed to it). */
  readonly buddy: BuddyAllocator;
  /** The page queues to steal cache pages from, launder and migrate. */
  readonly queues?: PageQueues;
  /**
   * Search: `"indexed"` (default; a run tree over the free pages, O(log n)), `"linear"` (FreeBSD
   * 4.7's scan of the page array, the reference) or `"extent"` (first fit on NetBSD's extent mirror
   * of the free pages; free pages only, no cache pages).
   */
  readonly search?: ContigSearch;
  /** Keep NetBSD's extent mirror of the free pool (default: true when `search` is `"extent"`). */
  readonly mirror?: boolean;
  /**
   * Reproduce FreeBSD 4.7's `contigmalloc1` in the compat `contigmalloc`: laundering after every
   * failed pass, `start` kept across passes, whole-queue laundering, and the leak of the wired
   * pages when the kernel map has no room. Default false.
   */
  readonly legacy?: boolean;
  /** The kernel map (bytes). Default: an extent over `machine.kernelVirtual`. */
  readonly kernelMap?: Extent;
  /**
   * Bytes at the bottom of a default kernel map already taken by the kernel itself (image, page
   * array, buffer map). Default: 16 MiB plus the page database's size, rounded to pages.
   */
  readonly kernelReserved?: number;
  /** GFP mask of migration targets (default `GFP_HIGHUSER_MOVABLE`). */
  readonly migrateGfp?: number;
}

/** A contiguous request for {@link ContigAllocator.allocate}; sizes and addresses in bytes. */
export interface ContigRequest {
  /** Bytes wanted (rounded up to pages). */
  readonly size: number;
  /** Lowest physical address of the run (default 0). */
  readonly low?: number;
  /** Exclusive upper bound: the run must end at or below it (default: no limit). */
  readonly high?: number;
  /** Power-of-two alignment of the physical address (default the page size). */
  readonly alignment?: number;
  /** Power-of-two line the run must not cross (default 0: none). */
  readonly boundary?: number;
  /** Map the pages into the kernel map (default false: no kernel address space is used). */
  readonly kernelMapping?: boolean;
  /** What to do when no free range fits (default `"none"`). */
  readonly reclaim?: ContigReclaim;
}

/** A contiguous allocation. */
export interface ContigHandle {
  /** First pfn (FreeBSD's page array index). */
  readonly pfn: number;
  /** Number of pages. */
  readonly pages: number;
  /** Physical address of the first byte. */
  readonly physAddr: number;
  /** Size in bytes (pages times the page size). */
  readonly size: number;
  /** Kernel virtual address, or 0 when the pages are not mapped. */
  readonly kernelAddress: number;
}

/** Counters of a {@link ContigAllocator}. */
export interface ContigStats {
  /** Successful allocations. */
  allocations: number;
  /** Requests that found no range. */
  failures: number;
  /** Requests refused for lack of kernel virtual space. */
  kvaFailures: number;
  /** Search passes run. */
  passes: number;
  /** Laundering runs (one per queue). */
  launders: number;
  /** Dirty pages written through the pager. */
  pageouts: number;
  /** Pages moved to the cache queue by laundering. */
  cached: number;
  /** Cache pages taken from their owners. */
  cacheSteals: number;
  /** Pages migrated. */
  migrated: number;
  /** Migrations that found no target page. */
  migrateFailures: number;
  /** Pages leaked by the legacy `contigmalloc1` (wired, reachable from nothing). */
  leakedPages: number;
  /** Pages currently held by contiguous allocations and page lists (leaks included). */
  pagesHeld: number;
  /** Candidate ranges examined by the searches. */
  candidates: number;
}

interface Allocation {
  pfn: number;
  pages: number;
  kva: number;
  handle: ContigHandle;
}

/**
 * NetBSD's extent mirror of the free pages (Thorpe 1997): an extent over pfns whose free space is
 * exactly the buddy allocator's free pool, updated on every page allocation and free.
 */
class ExtentMirror {
  readonly ext: Extent;

  constructor(lastPfn: number) {
    this.ext = new Extent({ name: "vm_page", start: 0, end: lastPfn, engine: "tree" });
    this.ext.allocRegion(0, lastPfn + 1);
  }

  freed(pfn: number, count: number): void {
    if (!this.ext.free(pfn, count))
      throw new KernelPanic("mirror", `vm_page_ex: cannot free pfns ${pfn}+${count}`);
  }

  taken(pfn: number, count: number): void {
    if (this.ext.allocRegion(pfn, count) !== pfn)
      throw new KernelPanic(
        "mirror",
        `vm_page_ex: pfns ${pfn}+${count} left the free pool but are not free in the mirror`,
      );
  }
}

/**
 * The contiguous allocator. One per buddy allocator: it installs itself as the buddy allocator's
 * free pool observer (and, with queues, as their listener).
 */
export class ContigAllocator {
  /** The machine. */
  readonly machine: Machine;
  /** The page allocator. */
  readonly buddy: BuddyAllocator;
  /** The page queues, if any. */
  readonly queues: PageQueues | null;
  /** The kernel map (bytes). */
  readonly kernelMap: Extent;
  /** The search in use. */
  readonly search: ContigSearch;
  /** Legacy (FreeBSD 4.7) compat behaviour. */
  readonly legacy: boolean;
  /** The owner tag of contiguous pages. */
  readonly ownerTag: number;
  /** Counters. */
  readonly stats: ContigStats = {
    allocations: 0,
    failures: 0,
    kvaFailures: 0,
    passes: 0,
    launders: 0,
    pageouts: 0,
    cached: 0,
    cacheSteals: 0,
    migrated: 0,
    migrateFailures: 0,
    leakedPages: 0,
    pagesHeld: 0,
    candidates: 0,
  };
  /** Free pool pages. */
  readonly freeSet: RunTree;
  /** @internal Free pool plus cache-queue pages (what pass 0 may take). */
  readonly avail: RunTree;
  /** Free pool plus every queued page (what migration may empty). */
  readonly reclaimable: RunTree;
  private readonly mirrorState: ExtentMirror | null;
  private readonly db: PageDatabase;
  private readonly pageSize: number;
  private readonly migrateGfp: number;
  private readonly byPfn = new Map<number, Allocation>();
  private readonly byKva = new Map<number, Allocation>();
  private readonly pglistPages = new Set<number>();
  private readonly regions = new Map<CmaRegion, Allocation>();
  /** Where FreeBSD 4.7's scan variable `start` was left by the last linear scan. */
  private lastScanStart = 0;

  /** @param options - the buddy allocator, queues, search and kernel map. */
  constructor(options: ContigAllocatorOptions) {
    const { buddy } = options;
    this.buddy = buddy;
    this.machine = buddy.machine;
    this.db = this.machine.pages;
    this.pageSize = this.machine.pageSize;
    this.queues = options.queues ?? null;
    this.search = options.search ?? "indexed";
    if (this.search !== "linear" && this.search !== "extent" && this.search !== "indexed")
      throw new InvalidArgumentError(
        `search must be "linear", "extent" or "indexed", got ${describeValue(this.search)}`,
        "EINVAL",
        "search",
      );
    this.legacy = options.legacy ?? false;
    this.migrateGfp = options.migrateGfp ?? GFP_HIGHUSER_MOVABLE;
    this.ownerTag = this.machine.registerOwner("contig");
    // Dense page indexes must follow pfn order for "lowest index" to mean "lowest address".
    let last = -1;
    for (const r of this.machine.presentPfnRanges()) {
      for (let p = r.start; p < r.end; p += this.machine.sectionPages) {
        const i = this.db.indexOf(p);
        if (i <= last)
          throw new InvalidArgumentError(
            "contig: page database sections are not in pfn order",
            "EINVAL",
          );
        last = i;
      }
    }
    if (options.kernelMap !== undefined) this.kernelMap = options.kernelMap;
    else {
      const kv = this.machine.kernelVirtual;
      this.kernelMap = new Extent({
        name: "kernel_map",
        start: kv.start,
        end: kv.start + kv.size - 1,
      });
      const reserved =
        options.kernelReserved ??
        Math.ceil((16 * 2 ** 20 + this.db.bytes) / this.pageSize) * this.pageSize;
      assertUint("kernelReserved", reserved);
      if (reserved > 0) this.kernelMap.allocRegion(kv.start, Math.min(reserved, kv.size));
    }
    const cap = this.db.flags.length;
    this.freeSet = new RunTree(cap);
    this.avail = new RunTree(cap);
    this.reclaimable = new RunTree(cap);
    const wantMirror = options.mirror ?? this.search === "extent";
    if (this.search === "extent" && !wantMirror)
      throw new InvalidArgumentError('search "extent" needs the mirror', "EINVAL", "mirror");
    this.mirrorState = wantMirror ? new ExtentMirror(this.mirrorLastPfn()) : null;
    buddy.drain();
    buddy.forEachFreeBlock((pfn, order) => this.pagesFreed(pfn, 2 ** order));
    if (this.queues !== null) {
      const q = this.queues;
      for (let k = 0; k < 3; k++)
        for (const i of q.lists.indexes(k)) this.queueChanged(i, PQ_NONE, k);
      q.setListener(this.listener);
    }
    buddy.setFreePoolObserver(this.observer);
  }

  /** Stops observing the buddy allocator and the queues. */
  detach(): void {
    this.buddy.setFreePoolObserver(null);
    this.queues?.setListener(null);
  }

  /** The extent mirror of the free pages (null without one). */
  get mirror(): Extent | null {
    return this.mirrorState?.ext ?? null;
  }

  private mirrorLastPfn(): number {
    let last = 0;
    for (const r of this.machine.presentPfnRanges()) last = Math.max(last, r.end);
    return Math.max(last, this.machine.maxPfn) * 2;
  }

  // -------------------------------------------------------------------------------------------
  // Free pool and queue tracking

  private readonly observer: FreePoolObserver = {
    pagesFreed: (pfn: number, count: number): void => this.pagesFreed(pfn, count),
    pagesTaken: (pfn: number, count: number): void => this.pagesTaken(pfn, count),
  };

  private readonly listener: PageQueueListener = {
    queueChanged: (index: number, from: number, to: number): void =>
      this.queueChanged(index, from, to),
  };

  private pagesFreed(pfn: number, count: number): void {
    const i = this.db.indexOf(pfn);
    this.freeSet.setRange(i, count, true);
    this.avail.setRange(i, count, true);
    this.reclaimable.setRange(i, count, true);
    this.mirrorState?.freed(pfn, count);
  }

  private pagesTaken(pfn: number, count: number): void {
    const i = this.db.indexOf(pfn);
    this.freeSet.setRange(i, count, false);
    this.avail.setRange(i, count, false);
    this.reclaimable.setRange(i, count, false);
    this.mirrorState?.taken(pfn, count);
  }

  private queueChanged(index: number, from: number, to: number): void {
    if (to === PQ_CACHE) this.avail.set(index, true);
    else if (from === PQ_CACHE) this.avail.set(index, false);
    if (to !== PQ_NONE) this.reclaimable.set(index, true);
    else if (from !== PQ_NONE) this.reclaimable.set(index, false);
  }

  /** True when the page at `pfn` is in the free pool (as this allocator tracks it). */
  isFree(pfn: number): boolean {
    const i = this.db.indexOf(pfn);
    return i >= 0 && this.freeSet.get(i);
  }

  /** Free pool pages, as tracked. */
  get freePages(): number {
    return this.freeSet.ones;
  }

  // -------------------------------------------------------------------------------------------
  // Searches (all return the first pfn of the lowest qualifying run, or -1)

  /** True when page `i` may be taken in pass 0: free, or a stealable cache page. */
  private takeable(i: number): boolean {
    if (this.freeSet.get(i)) return true;
    return this.queues?.isStealableAt(i) === true;
  }

  private reclaimableAt(i: number): boolean {
    if (this.takeable(i)) return true;
    return this.queues?.isMovableAt(i) === true;
  }

  /** The first dense index whose pfn is >= `pfn`, or -1. */
  private indexAtOrAbove(pfn: number): number {
    const i = this.db.indexOf(pfn);
    if (i >= 0) return i;
    for (const r of this.machine.presentPfnRanges())
      if (r.start > pfn) return this.db.indexOf(r.start);
    return -1;
  }

  /**
   * FreeBSD 4.7's linear scan of the page array: the first page that is takeable, at or above
   * `low`, aligned and within the boundary, then its followers must be takeable and physically
   * adjacent. (4.7 restarts one page after a failed start, O(n * npages); we resume after the page
   * that broke the run, which finds the same range in O(n).)
   */
  linearFind(r: PageRequest, startIndex = 0): number {
    const db = this.db;
    const n = r.npages;
    const a = r.alignPages;
    const b = r.boundaryPages;
    const total = db.flags.length;
    for (let i = startIndex; i < total; i++) {
      if (!this.takeable(i)) continue;
      const pfn = db.pfnOf(i);
      if (pfn < r.lowPfn || pfn % a !== 0) continue;
      if (b > 0 && Math.floor(pfn / b) !== Math.floor((pfn + n - 1) / b)) continue;
      this.stats.candidates++;
      if (pfn + n > r.endPfn) {
        this.lastScanStart = i;
        return -1;
      }
      let k = 1;
      while (k < n && i + k < total && this.takeable(i + k) && db.pfnOf(i + k) === pfn + k) k++;
      if (k === n) return pfn;
      this.lastScanStart = i + 1;
      i = i + k - 1;
    }
    this.lastScanStart = total;
    return -1;
  }

  /**
   * The indexed search: the run tree gives the first run of `npages` takeable pages (O(log n)),
   * the placement arithmetic the first aligned start inside it; a page that is not really takeable
   * (a busy cache page) or a gap between sections moves the search past it.
   */
  indexedFind(r: PageRequest, tree: RunTree = this.avail, migrate = false): number {
    const db = this.db;
    const n = r.npages;
    let from = this.indexAtOrAbove(r.lowPfn);
    if (from < 0) return -1;
    // A bounded scan of the bitmap's words first: small requests usually fit near `from`, where
    // the scan answers in a few word operations and the tree walk would cost more.
    if (n <= PROBE_WORDS * 32) {
      const probed = this.probeRuns(r, tree, migrate, from);
      if (probed >= -1) return probed;
      from = -probed - 2;
    }
    const sp = this.machine.sectionPages;
    while (from >= 0) {
      const p = tree.findFirstRun(from, n);
      if (p < 0) return -1;
      this.stats.candidates++;
      const q = fitFrom(Math.max(db.pfnOf(p), r.lowPfn), n, r.alignPages, r.boundaryPages);
      if (q + n > r.endPfn) return -1;
      const qi = db.indexOf(q);
      if (qi < 0) {
        from = this.indexAtOrAbove(q);
        continue;
      }
      const z = tree.findFirstZero(qi, qi + n);
      if (z >= 0) {
        from = z + 1;
        continue;
      }
      // Physical adjacency across section boundaries.
      let gap = -1;
      for (let k = sp - (q % sp); k < n; k += sp) {
        if (db.pfnOf(qi + k) !== q + k) {
          gap = qi + k;
          break;
        }
      }
      if (gap >= 0) {
        from = gap;
        continue;
      }
      // Pages in the tree that are not free must really be takeable (or movable).
      let bad = -1;
      let j = this.freeSet.findFirstZero(qi, qi + n);
      while (j >= 0) {
        if (!(migrate ? this.reclaimableAt(j) : this.takeable(j))) {
          bad = j;
          break;
        }
        j = this.freeSet.findFirstZero(j + 1, qi + n);
      }
      if (bad >= 0) {
        from = bad + 1;
        continue;
      }
      return q;
    }
    return -1;
  }

  /**
   * The indexed search's cheap first step: walks the words of `tree`'s bitmap from index `from`
   * for at most {@link PROBE_WORDS} words, run by run (runs shorter than the request cost one
   * comparison). The first run long enough is placed and verified exactly as the tree loop of
   * {@link indexedFind} would: returns the pfn found, -1 when no placement can exist (the lowest
   * one ends above `endPfn`), or `-2 - i` to hand over to the tree loop at index `i` (the probe's
   * end, or a run it does not settle: a section gap, a page that is not really takeable). Every run
   * skipped holds no placement, so the tree loop started at `i` finds the same range.
   */
  private probeRuns(r: PageRequest, tree: RunTree, migrate: boolean, from: number): number {
    const words = tree.words;
    const n = r.npages;
    let w = Math.floor(from / 32);
    const wEnd = Math.min(words.length, w + PROBE_WORDS);
    let rs = -1; // start index of the run still open at the end of the previous word
    // The first word, without the bits below `from`.
    let val = w < wEnd ? (words[w]! & (-1 << (from % 32))) >>> 0 : 0;
    while (w < wEnd) {
      const base = w * 32;
      if (val === 0xffffffff) {
        if (rs < 0) rs = base;
      } else if (val === 0) {
        if (rs >= 0) {
          if (base - rs >= n) {
            const res = this.probePlace(r, migrate, rs, base);
            if (res !== NO_PLACEMENT) return res;
          }
          rs = -1;
        }
      } else {
        let pos = 0;
        if (rs >= 0) {
          // The open run ends at the word's first clear bit.
          const inv = ~val;
          pos = 31 - Math.clz32(inv & -inv);
          if (base + pos - rs >= n) {
            const res = this.probePlace(r, migrate, rs, base + pos);
            if (res !== NO_PLACEMENT) return res;
          }
          rs = -1;
        }
        for (;;) {
          const m = pos >= 32 ? 0 : val & (-1 << pos);
          if (m === 0) break;
          const s0 = 31 - Math.clz32(m & -m);
          const inv = ~val & (-1 << s0);
          if (inv === 0) {
            rs = base + s0;
            break;
          }
          const e0 = 31 - Math.clz32(inv & -inv);
          if (e0 - s0 >= n) {
            const res = this.probePlace(r, migrate, base + s0, base + e0);
            if (res !== NO_PLACEMENT) return res;
          }
          pos = e0;
        }
      }
      w++;
      if (w < wEnd) val = words[w]!;
    }
    if (rs < 0) return -2 - wEnd * 32;
    // A run still open at the probe's end: its known part may already hold the placement.
    if (wEnd * 32 - rs >= n) {
      const res = this.probePlace(r, migrate, rs, wEnd * 32);
      if (res !== NO_PLACEMENT) return res;
    }
    return -2 - rs;
  }

  /**
   * Places a request in the run `[s, e)` of `tree` (dense indexes, at least `npages` long) for
   * {@link probeRuns}: the pfn, -1 for none at all, `-2 - s` to let the tree loop settle the run,
   * or `NO_PLACEMENT` when the run holds none (the scan goes on).
   */
  private probePlace(r: PageRequest, migrate: boolean, s: number, e: number): number {
    const db = this.db;
    const n = r.npages;
    const q = fitFrom(Math.max(db.pfnOf(s), r.lowPfn), n, r.alignPages, r.boundaryPages);
    if (q + n > r.endPfn) return -1;
    const qi = db.indexOf(q);
    // A placement outside the pfns of the run's first section, or across a section gap: the tree
    // loop's general code handles it.
    if (qi < 0 || qi < s || db.pfnOf(qi + n - 1) !== q + n - 1) return -2 - s;
    // No placement in this run (q is the lowest start at or above its first pfn).
    if (qi + n > e) return NO_PLACEMENT;
    // Pages in the run that are not free must really be takeable (or movable); the run is short
    // (inside the probe), so the free bitmap's words are read directly.
    const free = this.freeSet.words;
    for (let j = firstClear(free, qi, qi + n); j >= 0; j = firstClear(free, j + 1, qi + n))
      if (!(migrate ? this.reclaimableAt(j) : this.takeable(j))) return -2 - s;
    return q;
  }

  /** First fit on the extent mirror; the run is left allocated in the mirror. */
  private extentFind(r: PageRequest): number {
    const m = this.mirrorState!;
    const last = Math.min(r.endPfn - 1, m.ext.end);
    if (last - r.lowPfn + 1 < r.npages || r.lowPfn > m.ext.end) return -1;
    this.stats.candidates++;
    const req: {
      size: number;
      alignment: number;
      boundary: number;
      start: number;
      end: number;
      fit: "first";
    } = {
      size: r.npages,
      alignment: r.alignPages,
      boundary: r.boundaryPages,
      start: r.lowPfn,
      end: last,
      fit: "first",
    };
    const pfn = m.ext.alloc(req);
    if (pfn < 0) return -1;
    return pfn;
  }

  /** Finds (without taking) a free run by the configured search. */
  private find(r: PageRequest): number {
    if (!r.feasible || r.npages > this.db.flags.length) return -1;
    this.stats.passes++;
    switch (this.search) {
      case "linear": {
        const start = this.indexAtOrAbove(r.lowPfn);
        return start < 0 ? -1 : this.linearFind(r, start);
      }
      case "indexed":
        return this.indexedFind(r);
      case "extent": {
        const pfn = this.extentFind(r);
        if (pfn >= 0) {
          // The mirror already holds the run; hand it back until the claim takes it for real.
          this.mirrorState!.ext.free(pfn, r.npages);
        }
        return pfn;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Taking and giving back pages

  /**
   * Takes `[pfn, pfn + n)` (every page free or a stealable cache page): cache pages are taken from
   * their owners and freed, then the whole range comes out of the buddy allocator, each page
   * pinned and tagged. Returns false (nothing changed) if a page turns out not to be takeable.
   */
  private claim(pfn: number, n: number): boolean {
    const db = this.db;
    const i0 = db.indexOf(pfn);
    let j = this.freeSet.findFirstZero(i0, i0 + n);
    while (j >= 0) {
      if (!this.takeable(j)) return false;
      j = this.freeSet.findFirstZero(j + 1, i0 + n);
    }
    j = this.freeSet.findFirstZero(i0, i0 + n);
    while (j >= 0) {
      this.queues!.stealCachePageAt(j);
      this.stats.cacheSteals++;
      this.buddy.free(db.pfnOf(j), 0);
      j = this.freeSet.findFirstZero(j + 1, i0 + n);
    }
    if (!this.buddy.allocContigRange(pfn, pfn + n))
      throw new KernelPanic("contig", `contig: pfns ${pfn}+${n} were free but could not be taken`);
    this.markRange(i0, n);
    this.stats.pagesHeld += n;
    return true;
  }

  private markRange(i0: number, n: number): void {
    const db = this.db;
    const tag = this.ownerTag;
    for (let i = i0; i < i0 + n; i++) {
      db.flags[i] = db.flags[i]! | PG_pinned;
      db.owner[i] = tag;
    }
  }

  /** Unpins and gives `[pfn, pfn + n)` back to the buddy allocator. */
  private release(pfn: number, n: number): void {
    const db = this.db;
    const i0 = db.indexOf(pfn);
    for (let i = i0; i < i0 + n; i++) {
      db.flags[i] = db.flags[i]! & ~PG_pinned;
      db.owner[i] = 0;
    }
    this.buddy.freeContigRange(pfn, pfn + n);
    this.stats.pagesHeld -= n;
  }

  /** Launders the inactive then the active queue; returns the pages it made takeable. */
  private launderQueues(lowPfn: number, endPfn: number): number {
    const q = this.queues;
    if (q === null) return 0;
    let made = 0;
    for (const queue of [PQ_INACTIVE, PQ_ACTIVE]) {
      const res = q.launder(queue, lowPfn, endPfn);
      this.stats.launders++;
      this.stats.pageouts += res.pagedOut;
      this.stats.cached += res.cached;
      made += res.cached;
    }
    return made;
  }

  /**
   * Reclaim by migration (Linux's `alloc_contig_range`): finds the lowest window whose pages are
   * all free, stealable or movable, takes the window's free pages out of the free pool first (as
   * Linux isolates the range, so that no migration target comes from the window), migrates each
   * movable page to a page outside the window (allocated with the migration GFP mask, movable by
   * default) and holds the emptied pages, then gives everything it holds back and returns the
   * window's first pfn for the claim, or -1. A window whose movable pages find no targets is given
   * back unchanged except for the pages already moved; at most `tries` windows are attempted.
   */
  private migrateFind(r: PageRequest, tries = 16): number {
    const q = this.queues;
    if (q === null) return -1;
    const db = this.db;
    const n = r.npages;
    let low = r.lowPfn;
    const held: number[] = []; // [start, end) pfn pairs taken from the free pool
    for (let t = 0; t < tries; t++) {
      const sub: PageRequest = { ...r, lowPfn: low };
      const pfn = this.indexedFind(sub, this.reclaimable, true);
      if (pfn < 0) return -1;
      const i0 = db.indexOf(pfn);
      const i1 = i0 + n;
      held.length = 0;
      // Isolate: the free runs of the window leave the free pool.
      for (let i = this.freeSet.findFirstRun(i0, 1); i >= 0 && i < i1; ) {
        let e = this.freeSet.findFirstZero(i, i1);
        if (e < 0) e = i1;
        const p = db.pfnOf(i);
        if (!this.buddy.allocContigRange(p, p + (e - i)))
          throw new KernelPanic("contig", `contig: free pfns ${p}+${e - i} could not be isolated`);
        held.push(p, p + (e - i));
        i = e < i1 ? this.freeSet.findFirstRun(e, 1) : -1;
      }
      // Migrate the movable pages; cache pages stay for the claim to steal. Every page of the
      // window is now isolated (on no queue), a cache page or movable.
      let ok = true;
      for (let j = i0; j < i1; j++) {
        if (q.queueAt(j) === PQ_NONE || this.takeable(j)) continue;
        const target = this.buddy.allocPagesIn(this.migrateGfp, 0, {
          avoid: { start: pfn, end: pfn + n },
        });
        if (target < 0) {
          this.stats.migrateFailures++;
          ok = false;
          break;
        }
        const old = pfn + (j - i0);
        q.migratePage(old, target);
        if (held.length > 0 && held[held.length - 1] === old) held[held.length - 1] = old + 1;
        else held.push(old, old + 1);
        this.stats.migrated++;
      }
      for (let k = 0; k < held.length; k += 2) this.buddy.freeContigRange(held[k]!, held[k + 1]!);
      held.length = 0;
      if (ok) return pfn;
      low = pfn + 1;
    }
    return -1;
  }

  // -------------------------------------------------------------------------------------------
  // The idiomatic API

  /**
   * Allocates a physically contiguous run. With `kernelMapping`, kernel virtual space is reserved
   * first (modern FreeBSD's order), so a full kernel map costs no page operation. Returns null when
   * no range fits (after the requested reclaim).
   *
   * @throws {@link @mem/machine!index.InvalidArgumentError} for a bad size, bound, alignment or boundary (size 0, not
   * a power of two, NaN, negative, above 2^53 - 1); nothing changes then.
   */
  allocate(req: ContigRequest): ContigHandle | null {
    if (req === null || typeof req !== "object")
      throw new InvalidArgumentError("allocate: request object required", "EINVAL");
    const reclaim = req.reclaim ?? "none";
    if (reclaim !== "none" && reclaim !== "launder" && reclaim !== "migrate")
      throw new InvalidArgumentError(
        `reclaim must be "none", "launder" or "migrate", got ${describeValue(reclaim)}`,
        "EINVAL",
        "reclaim",
      );
    const r = checkRequest(
      "allocate",
      this.pageSize,
      req.size,
      req.low === undefined ? 0 : req.low,
      req.high === undefined ? Number.MAX_SAFE_INTEGER : req.high,
      req.alignment === undefined ? this.pageSize : req.alignment,
      req.boundary === undefined ? 0 : req.boundary,
      false,
    );
    let kva = 0;
    if (req.kernelMapping === true) {
      kva = this.reserveKva(r.npages);
      if (kva === 0) {
        this.stats.kvaFailures++;
        this.stats.failures++;
        return null;
      }
    }
    const pfn = this.allocPages(r, reclaim);
    if (pfn < 0) {
      if (kva !== 0) this.kernelMap.free(kva, r.npages * this.pageSize);
      return null;
    }
    return this.record(pfn, r.npages, kva);
  }

  /** Finds and takes a run for a validated request; -1 when none.
   * @internal
   */
  allocPages(r: PageRequest, reclaim: ContigReclaim): number {
    let pfn = this.findAndClaim(r);
    if (pfn < 0 && reclaim === "launder") {
      this.launderQueues(r.lowPfn, r.endPfn);
      pfn = this.findAndClaim(r);
    }
    if (pfn < 0 && reclaim === "migrate" && r.feasible) {
      this.stats.passes++;
      const w = this.migrateFind(r);
      if (w >= 0 && this.claim(w, r.npages)) pfn = w;
    }
    if (pfn < 0) this.stats.failures++;
    else this.stats.allocations++;
    return pfn;
  }

  private findAndClaim(r: PageRequest): number {
    for (let tries = 0; tries < 4; tries++) {
      const pfn = this.find(r);
      if (pfn < 0) return -1;
      if (this.claim(pfn, r.npages)) return pfn;
    }
    return -1;
  }

  private reserveKva(npages: number): number {
    const size = npages * this.pageSize;
    const km = this.kernelMap;
    if (size > km.end - km.start + 1) return 0;
    const va = km.alloc({ size, alignment: this.pageSize, fit: "first" });
    return Math.max(va, 0);
  }

  private record(pfn: number, pages: number, kva: number): ContigHandle {
    const handle: ContigHandle = Object.freeze({
      pfn,
      pages,
      physAddr: pfn * this.pageSize,
      size: pages * this.pageSize,
      kernelAddress: kva,
    });
    const a: Allocation = { pfn, pages, kva, handle };
    this.byPfn.set(pfn, a);
    if (kva !== 0) this.byKva.set(kva, a);
    return handle;
  }

  /**
   * Frees an allocation (and its kernel mapping).
   *
   * @throws {@link @mem/machine!index.KernelPanic} for a handle that is not a live allocation (double free, forged);
   * nothing changes then.
   */
  free(handle: ContigHandle): void {
    if (handle === null || typeof handle !== "object")
      throw new InvalidArgumentError("free: handle object required", "EINVAL", "handle");
    const a = this.byPfn.get(handle.pfn);
    if (a === undefined || a.pages !== handle.pages)
      throw new KernelPanic(
        "not-allocated",
        `contig free: no allocation of ${describeValue(handle.pages)} pages at pfn ${describeValue(handle.pfn)} (double free or never allocated)`,
      );
    this.dropAllocation(a);
  }

  private dropAllocation(a: Allocation): void {
    if (a.kva !== 0) {
      this.kernelMap.free(a.kva, a.pages * this.pageSize);
      this.byKva.delete(a.kva);
    }
    this.byPfn.delete(a.pfn);
    this.release(a.pfn, a.pages);
  }

  /**
   * Maps an unmapped allocation into the kernel map (`vm_contig_pg_kmapin`). Returns the kernel
   * address, or 0 when the map has no room (the pages stay allocated).
   */
  mapKernel(handle: ContigHandle): number {
    const a = this.liveAllocation(handle.pfn, handle.pages, "mapKernel");
    if (a.kva !== 0)
      throw new KernelPanic(
        "already-mapped",
        `mapKernel: pfn ${a.pfn} is already mapped at ${a.kva}`,
      );
    const kva = this.reserveKva(a.pages);
    if (kva === 0) {
      this.stats.kvaFailures++;
      return 0;
    }
    a.kva = kva;
    a.handle = Object.freeze({ ...a.handle, kernelAddress: kva });
    this.byKva.set(kva, a);
    return kva;
  }

  /**
   * The physical address behind kernel virtual address `va` of a contiguous allocation's mapping
   * (`vtophys`), or -1 when no contiguous allocation maps it.
   */
  vtophys(va: number): number {
    assertUint("va", va);
    for (const a of this.byKva.values()) {
      const size = a.pages * this.pageSize;
      if (va >= a.kva && va < a.kva + size) {
        const off = va - a.kva;
        const page = Math.floor(off / this.pageSize);
        return this.db.pfnOf(this.db.indexOf(a.pfn + page)) * this.pageSize + (off % this.pageSize);
      }
    }
    return -1;
  }

  /** The live allocation at `pfn` of `pages` pages, its current handle. */
  handleAt(pfn: number): ContigHandle | null {
    return this.byPfn.get(pfn)?.handle ?? null;
  }

  /** Live allocations. */
  get allocationCount(): number {
    return this.byPfn.size;
  }

  private liveAllocation(pfn: number, pages: number, what: string): Allocation {
    const a = this.byPfn.get(pfn);
    if (a === undefined || a.pages !== pages)
      throw new KernelPanic(
        "not-allocated",
        `${what}: no allocation of ${describeValue(pages)} pages at pfn ${describeValue(pfn)}`,
      );
    return a;
  }

  /**
   * Turns a live allocation into a CMA region's reserve. @internal used by {@link CmaRegion}.
   */
  adoptRegion(handle: ContigHandle, region: CmaRegion): void {
    const a = this.liveAllocation(handle.pfn, handle.pages, "adoptRegion");
    this.byPfn.delete(a.pfn);
    this.regions.set(region, a);
  }

  /** Gives a CMA region's pages back. @internal used by {@link CmaRegion.destroy}. */
  releaseRegion(region: CmaRegion): void {
    const a = this.regions.get(region);
    if (a === undefined) throw new KernelPanic("not-allocated", "releaseRegion: unknown region");
    this.regions.delete(region);
    this.release(a.pfn, a.pages);
  }

  // -------------------------------------------------------------------------------------------
  // FreeBSD's split API (byte sizes; the compat entry wraps these)

  /** `vm_contig_pg_alloc`: the first pfn, or -1. Panics (throws) on bad arguments. */
  vmContigPgAlloc(
    size: number,
    low: number,
    high: number,
    alignment: number,
    boundary: number,
  ): number {
    const r = checkRequest(
      "vm_contig_pg_alloc",
      this.pageSize,
      size,
      low,
      high,
      alignment,
      boundary,
      true,
    );
    const pfn = this.allocPages(r, this.queues === null ? "none" : "launder");
    if (pfn < 0) return -1;
    this.record(pfn, r.npages, 0);
    return pfn;
  }

  /** `vm_contig_pg_kmapin`: maps `index`'s pages; the address or 0 (pages stay allocated). */
  vmContigPgKmapin(index: number, size: number): number {
    assertUint("index", index);
    assertUint("size", size);
    const npages = Math.ceil(size / this.pageSize);
    if (npages === 0) throw new KernelPanic("size-zero", "vm_contig_pg_kmapin: size must not be 0");
    const a = this.liveAllocation(index, npages, "vm_contig_pg_kmapin");
    return this.mapKernel(a.handle);
  }

  /** `vm_contig_pg_free`: frees the pages of `vm_contig_pg_alloc` (and any mapping). */
  vmContigPgFree(index: number, size: number): void {
    assertUint("index", index);
    assertUint("size", size);
    const npages = Math.ceil(size / this.pageSize);
    if (npages === 0) throw new KernelPanic("size-zero", "vm_contig_pg_free: size must not be 0");
    this.dropAllocation(this.liveAllocation(index, npages, "vm_contig_pg_free"));
  }

  /**
   * `contigmalloc`: alloc then kmapin; when the map has no room the pages are freed and 0 is
   * returned (the PR's fix). In legacy mode, FreeBSD 4.7's `contigmalloc1` instead.
   */
  contigmalloc(
    size: number,
    low: number,
    high: number,
    alignment: number,
    boundary: number,
  ): number {
    if (this.legacy) return this.contigmalloc1(size, low, high, alignment, boundary);
    const idx = this.vmContigPgAlloc(size, low, high, alignment, boundary);
    if (idx < 0) return 0;
    const va = this.vmContigPgKmapin(idx, size);
    if (va === 0) this.vmContigPgFree(idx, size);
    return va;
  }

  /** `contigfree(addr, size)`. */
  contigfree(addr: number, size: number): void {
    assertUint("addr", addr);
    assertUint("size", size);
    const a = this.byKva.get(addr);
    const npages = Math.ceil(size / this.pageSize);
    if (a === undefined || a.pages !== npages)
      throw new KernelPanic(
        "not-allocated",
        `contigfree: no contigmalloc of ${describeValue(size)} bytes at ${describeValue(addr)}`,
      );
    this.dropAllocation(a);
  }

  /**
   * FreeBSD 4.7's `contigmalloc1`, bugs included: two passes over the page array with laundering
   * of the whole inactive and active queues after each failed pass (the last one too), `start` not
   * reset between passes, and when the kernel map has no room the claimed pages are neither freed
   * nor recorded: they stay wired, reachable from nothing (the leak of PR kern/55081).
   */
  contigmalloc1(
    size: number,
    low: number,
    high: number,
    alignment: number,
    boundary: number,
  ): number {
    const r = checkRequest(
      "contigmalloc1",
      this.pageSize,
      size,
      low,
      high,
      alignment,
      boundary,
      true,
    );
    let start = 0;
    for (let pass = 0; pass <= 1; pass++) {
      this.stats.passes++;
      const pfn = r.feasible ? this.linearFind(r, start) : -1;
      if (pfn < 0) {
        start = this.lastScanStart;
        this.launderQueues(0, Number.POSITIVE_INFINITY);
        continue;
      }
      if (!this.claim(pfn, r.npages)) continue;
      const kva = this.reserveKva(r.npages);
      if (kva === 0) {
        // "We almost never run out of kernel virtual space, so we don't make the allocated
        // memory above available."
        this.stats.leakedPages += r.npages;
        this.stats.kvaFailures++;
        return 0;
      }
      this.stats.allocations++;
      this.record(pfn, r.npages, kva);
      return kva;
    }
    this.stats.failures++;
    return 0;
  }

  // -------------------------------------------------------------------------------------------
  // NetBSD's uvm_pglistalloc

  /**
   * `uvm_pglistalloc` with NetBSD's semantics: alignment below a page is raised to a page; a
   * boundary smaller than the size returns EINVAL; `high` is exclusive; the contiguous path (one
   * segment) is used when `nsegs` is below the page count or alignment or boundary constrain,
   * otherwise any free pages in `[low, high)`. Pages (pfns) are appended to `rlist` in address
   * order. Returns 0, ENOMEM (12) or EINVAL (22). Searches the extent mirror when there is one.
   *
   * @throws {@link @mem/machine!index.KernelPanic} when alignment or boundary is not a power of two (the KASSERTs).
   */
  pglistAlloc(
    size: number,
    low: number,
    high: number,
    alignment: number,
    boundary: number,
    rlist: number[],
    nsegs: number,
  ): number {
    assertUint("nsegs", nsegs);
    if (!Array.isArray(rlist))
      throw new InvalidArgumentError("uvm_pglistalloc: rlist must be an array", "EINVAL", "rlist");
    for (const [name, v] of [
      ["alignment", alignment],
      ["boundary", boundary],
    ] as const) {
      assertUint(name, v);
      if ((name === "alignment" || v !== 0) && !isPowerOfTwo(v))
        throw new KernelPanic(
          `bad-${name}`,
          `uvm_pglistalloc: ${name} must be a power of 2, got ${describeValue(v)}`,
        );
    }
    const ps = this.pageSize;
    const align = Math.max(alignment, ps);
    assertUint("size", size);
    assertUint("low", low);
    assertUint("high", high);
    if (boundary !== 0 && boundary < size) return 22;
    const num = Math.ceil(size / ps);
    if (num === 0) return 22;
    const lowA = Math.ceil(low / align) * align;
    const r = checkRequest("uvm_pglistalloc", ps, num * ps, lowA, high, align, boundary, true);
    if (nsegs < num || align !== ps || boundary !== 0) {
      let pfn = -1;
      for (let tries = 0; tries < 4 && pfn < 0; tries++) {
        const f =
          this.mirrorState !== null ? this.extentFind(r) : this.indexedFind(r, this.freeSet);
        if (f < 0) break;
        if (this.mirrorState !== null) this.mirrorState.ext.free(f, num);
        if (this.buddy.allocContigRange(f, f + num)) pfn = f;
      }
      if (pfn < 0) return 12;
      this.markRange(this.db.indexOf(pfn), num);
      this.stats.pagesHeld += num;
      for (let k = 0; k < num; k++) {
        rlist.push(pfn + k);
        this.pglistPages.add(pfn + k);
      }
      return 0;
    }
    // Simple path: any free pages in [low, high), lowest first.
    const taken: number[] = [];
    let from = this.indexAtOrAbove(r.lowPfn);
    while (taken.length < num && from >= 0) {
      const i = this.freeSet.findFirstRun(from, 1);
      if (i < 0) break;
      const pfn = this.db.pfnOf(i);
      if (pfn >= r.endPfn) break;
      let e = this.freeSet.findFirstZero(i, i + (num - taken.length));
      if (e < 0) e = i + (num - taken.length);
      let cnt = e - i;
      cnt = Math.min(cnt, r.endPfn - pfn);
      // Stay inside one section (pfn adjacency).
      const sp = this.machine.sectionPages;
      cnt = Math.min(cnt, sp - (pfn % sp));
      if (!this.buddy.allocContigRange(pfn, pfn + cnt)) break;
      this.markRange(i, cnt);
      for (let k = 0; k < cnt; k++) taken.push(pfn + k);
      from = i + cnt;
    }
    if (taken.length < num) {
      for (const p of taken) {
        const i = this.db.indexOf(p);
        this.db.flags[i] = this.db.flags[i]! & ~PG_pinned;
        this.db.owner[i] = 0;
        this.buddy.freeContigRange(p, p + 1);
      }
      return 12;
    }
    this.stats.pagesHeld += num;
    for (const p of taken) {
      rlist.push(p);
      this.pglistPages.add(p);
    }
    return 0;
  }

  /**
   * `uvm_pglistfree`: frees every page of `rlist` (pfns from {@link pglistAlloc}) and empties it.
   *
   * @throws {@link @mem/machine!index.KernelPanic} if a pfn is not a page-list page or appears twice; nothing changes.
   */
  pglistFree(rlist: number[]): void {
    if (!Array.isArray(rlist))
      throw new InvalidArgumentError("uvm_pglistfree: rlist must be an array", "EINVAL", "rlist");
    const seen = new Set<number>();
    for (const p of rlist) {
      if (!this.pglistPages.has(p) || seen.has(p))
        throw new KernelPanic(
          "not-allocated",
          `uvm_pglistfree: pfn ${describeValue(p)} is not an allocated page-list page`,
        );
      seen.add(p);
    }
    for (const p of rlist) {
      this.pglistPages.delete(p);
      this.release(p, 1);
    }
    rlist.length = 0;
  }

  // -------------------------------------------------------------------------------------------
  // Checking

  /**
   * Checks the invariants: the tracked free set equals the buddy allocator's free pool; the extent
   * mirror's free space equals it too; no page is both held by a contiguous allocation and free;
   * every held page is pinned and tagged.
   *
   * @throws {@link @mem/machine!index.KernelPanic} with code `"invariant"` naming the first violation.
   */
  checkInvariants(): void {
    const db = this.db;
    const bad = (msg: string): never => {
      throw new KernelPanic("invariant", `contig: ${msg}`);
    };
    // Expected free set from the buddy allocator (buddy blocks plus per-CPU lists via rangeIsFree).
    const expect = new Uint8Array(db.flags.length);
    this.buddy.forEachFreeBlock((pfn, order) => {
      const i = db.indexOf(pfn);
      expect.fill(1, i, i + 2 ** order);
    });
    for (let i = 0; i < db.flags.length; i++) {
      if ((db.flags[i]! & PG_pcp) !== 0) expect[i] = 1; // PG_pcp
    }
    let nfree = 0;
    for (let i = 0; i < db.flags.length; i++) {
      const e = expect[i] === 1;
      if (e) nfree++;
      if (this.freeSet.get(i) !== e)
        bad(
          `pfn ${db.pfnOf(i)} is ${e ? "" : "not "}free in the buddy pool but the index says otherwise`,
        );
      const cache = this.queues !== null && this.queues.queueAt(i) === PQ_CACHE;
      if (this.avail.get(i) !== (e || cache)) bad(`avail index wrong at pfn ${db.pfnOf(i)}`);
      const queued = this.queues !== null && this.queues.queueAt(i) !== PQ_NONE;
      if (this.reclaimable.get(i) !== (e || queued))
        bad(`reclaimable index wrong at pfn ${db.pfnOf(i)}`);
    }
    if (nfree !== this.buddy.freePageCount)
      bad(`free count ${nfree} != buddy ${this.buddy.freePageCount}`);
    if (this.freeSet.ones !== nfree) bad(`index count ${this.freeSet.ones} != ${nfree}`);
    const held = (pfn: number, what: string): void => {
      const i = db.indexOf(pfn);
      if (expect[i] === 1) bad(`pfn ${pfn} is both in ${what} and free`);
      if ((db.flags[i]! & PG_pinned) === 0 || db.owner[i] !== this.ownerTag)
        bad(`pfn ${pfn} of ${what} is not pinned and tagged`);
    };
    let count = 0;
    for (const a of this.byPfn.values()) {
      for (let k = 0; k < a.pages; k++) held(a.pfn + k, "a contiguous allocation");
      count += a.pages;
    }
    for (const p of this.pglistPages) held(p, "a page list");
    for (const [region, a] of this.regions) {
      for (let k = 0; k < a.pages; k++) {
        const p = a.pfn + k;
        if (region.isLent(p)) {
          if (expect[db.indexOf(p)] === 1) bad(`lent CMA pfn ${p} is free`);
        } else held(p, "a CMA region");
      }
      count += a.pages;
    }
    count += this.pglistPages.size + this.stats.leakedPages;
    if (count !== this.stats.pagesHeld) bad(`pagesHeld ${this.stats.pagesHeld} != ${count}`);
    const m = this.mirrorState;
    if (m !== null) {
      // Mirror free gaps must be exactly the free runs.
      let k = 0;
      const gaps = [...m.ext.gaps()];
      let i = this.freeSet.findFirstRun(0, 1);
      while (i >= 0) {
        let e = this.freeSet.findFirstZero(i, this.freeSet.capacity);
        if (e < 0) e = this.freeSet.capacity;
        // split at pfn discontinuities
        let s = i;
        for (let j = i + 1; j <= e; j++) {
          if (j === e || db.pfnOf(j) !== db.pfnOf(j - 1) + 1) {
            const g = gaps[k++];
            const ps = db.pfnOf(s);
            const pe = db.pfnOf(j - 1);
            if (g === undefined || g.start !== ps || g.end !== pe)
              bad(`mirror gap ${g ? `${g.start}-${g.end}` : "none"} != free run ${ps}-${pe}`);
            s = j;
          }
        }
        i = this.freeSet.findFirstRun(e, 1);
      }
      if (k !== gaps.length) bad(`mirror has ${gaps.length} free gaps, pool has ${k} runs`);
    }
  }
}
