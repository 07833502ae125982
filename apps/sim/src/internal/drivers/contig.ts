/**
 * Physically contiguous allocation for the sim's devices, on the public APIs of `@mem/buddy`
 * (`allocContigRange`, `allocPagesIn`, free blocks) and `@mem/extent`.
 *
 * This is the sim's stand-in for `@mem/contig`, written while that package was being written: the
 * same strategies (free pages only; FreeBSD's laundering of the page queues; reclaim by migration
 * of movable pages, as Linux's `alloc_contig_range`), a constrained search (low, high, alignment,
 * boundary as FreeBSD's `vm_contig_pg_alloc` reads them), and the kernel map as an extent over the
 * machine's kernel virtual space for the legacy `contigmalloc` path.
 *
 * @module
 */
import { GFP_HIGHUSER_MOVABLE } from "@mem/buddy";
import { Extent } from "@mem/extent";
import { KernelPanic, PG_buddy, PG_head, PG_pcp } from "@mem/machine";
import type { Kernel } from "../kernel.js";
import type { Kind } from "../state.js";
import {
  STATE_FREE,
  STATE_PAGECACHE,
  STATE_PAGECACHE_DIRTY,
  STATE_PCP,
  STATE_USER,
} from "../state.js";

/** How hard to try. */
export type ContigStrategy = "free" | "launder" | "migrate";

/** Every strategy, weakest first. */
export const CONTIG_STRATEGIES: readonly ContigStrategy[] = ["free", "launder", "migrate"];

/** A contiguous request, in pages. */
export interface ContigRequest {
  readonly pages: number;
  /** Lowest pfn. */
  readonly lowPfn: number;
  /** One past the highest pfn. */
  readonly highPfn: number;
  /** Alignment in pages (a power of two). */
  readonly alignPages: number;
  /** Boundary in pages not to cross (a power of two), 0 for none. */
  readonly boundaryPages: number;
  readonly strategy: ContigStrategy;
  readonly kind: Kind;
  readonly label: string;
}

/** An allocated buffer. */
export interface ContigBuffer {
  readonly id: number;
  readonly pfn: number;
  readonly pages: number;
  readonly kind: Kind;
  readonly label: string;
  /** Kernel virtual address in pages, or -1 (no kernel mapping). */
  kvaPage: number;
  /** User mapping (pid), or -1. */
  userPid: number;
}

/** One rung of the success ladder. */
export interface LadderRung {
  readonly strategy: ContigStrategy;
  readonly bytes: number;
  readonly attempts: number;
  readonly successes: number;
  /** Mean simulated time per attempt, microseconds. */
  readonly meanUs: number;
  /** Pages moved (laundered or migrated) over all attempts. */
  readonly moved: number;
}

/** Counters. */
export interface ContigStats {
  allocations: number;
  failures: number;
  frees: number;
  laundered: number;
  migrated: number;
  kvaFailures: number;
}

function isFreeState(s: number): boolean {
  return s >= STATE_FREE || s === STATE_PCP;
}

/** The contiguous allocator driver. */
export class ContigDriver {
  private readonly k: Kernel;
  private readonly buffers = new Map<number, ContigBuffer>();
  private nextId = 1;
  /** Counters. */
  readonly stats: ContigStats = {
    allocations: 0,
    failures: 0,
    frees: 0,
    laundered: 0,
    migrated: 0,
    kvaFailures: 0,
  };
  /** The success ladder, when one was run. */
  readonly ladder: LadderRung[] = [];

  constructor(kernel: Kernel) {
    this.k = kernel;
  }

  /** Live buffers. */
  get live(): readonly ContigBuffer[] {
    return [...this.buffers.values()];
  }

  /** The buffer with `id`. */
  buffer(id: number): ContigBuffer | undefined {
    return this.buffers.get(id);
  }

  /**
   * Finds the lowest window satisfying the request whose pages are free, or free or movable under
   * the strategy; returns its first pfn or -1.
   */
  private findWindow(req: ContigRequest, states: Uint8Array): number {
    const m = this.k.machine;
    const { pages, alignPages, boundaryPages, strategy } = req;
    let off = 0;
    for (const r of m.presentPfnRanges()) {
      const lo = Math.max(r.start, req.lowPfn);
      const hi = Math.min(r.end, req.highPfn);
      const base = off - r.start;
      off += r.end - r.start;
      if (hi - lo < pages) continue;
      // Sliding count of blocking pages.
      const ok = (s: number): boolean => {
        const st = states[base + s]!;
        if (isFreeState(st)) return true;
        if (strategy === "free") return false;
        if (st === STATE_PAGECACHE || st === STATE_PAGECACHE_DIRTY) return true;
        return strategy === "migrate" && st === STATE_USER;
      };
      let s = Math.ceil(lo / alignPages) * alignPages;
      let p = s;
      while (s + pages <= hi) {
        if (
          boundaryPages > 0 &&
          Math.floor(s / boundaryPages) !== Math.floor((s + pages - 1) / boundaryPages)
        ) {
          s =
            Math.ceil((Math.ceil((s + 1) / boundaryPages) * boundaryPages) / alignPages) *
            alignPages;
          p = s;
          continue;
        }
        const e = s + pages;
        while (p < e && ok(p)) p++;
        if (p === e) return s;
        s = Math.ceil((p + 1) / alignPages) * alignPages;
        p = s;
      }
    }
    return -1;
  }

  /** The lowest fitting window made only of free buddy blocks (per-CPU lists drained), or -1. */
  private findFreeRun(req: ContigRequest): number {
    const { pages, alignPages, boundaryPages } = req;
    let runStart = -1;
    let runEnd = -1;
    const blocks = this.k.buddy.freeBlocks();
    const tryRun = (a: number, b: number): number => {
      const lo = Math.max(a, req.lowPfn);
      const hi = Math.min(b, req.highPfn);
      let s = Math.ceil(lo / alignPages) * alignPages;
      while (s + pages <= hi) {
        if (
          boundaryPages > 0 &&
          Math.floor(s / boundaryPages) !== Math.floor((s + pages - 1) / boundaryPages)
        ) {
          s =
            Math.ceil((Math.ceil((s + 1) / boundaryPages) * boundaryPages) / alignPages) *
            alignPages;
          continue;
        }
        return s;
      }
      return -1;
    };
    for (const b of blocks) {
      if (b.pfn >= req.highPfn) break;
      const e = b.pfn + 2 ** b.order;
      if (b.pfn === runEnd) runEnd = e;
      else {
        if (runStart >= 0 && runEnd - runStart >= pages) {
          const s = tryRun(runStart, runEnd);
          if (s >= 0) return s;
        }
        runStart = b.pfn;
        runEnd = e;
      }
    }
    if (runStart >= 0 && runEnd - runStart >= pages) return tryRun(runStart, runEnd);
    return -1;
  }

  /** The head pfn of the allocated compound block covering `p`, or `p`. */
  private headOf(p: number): number {
    const db = this.k.machine.pages;
    for (let o = 1; o < this.k.buddy.orders; o++) {
      const q = Math.floor(p / 2 ** o) * 2 ** o;
      const i = db.indexOf(q);
      if (i < 0) break;
      if ((db.flags[i]! & PG_head) !== 0 && q + 2 ** db.private[i + 1]! > p) return q;
    }
    return p;
  }

  /** Makes every page of `[s, s + n)` free by laundering or migrating what is in the way. */
  private clearWindow(
    s: number,
    n: number,
    strategy: ContigStrategy,
  ): { moved: number; ok: boolean } {
    const k = this.k;
    const db = k.machine.pages;
    let moved = 0;
    for (let p = s; p < s + n; p++) {
      const i = db.indexOf(p);
      const f = db.flags[i]!;
      if ((f & PG_buddy) !== 0) {
        p += 2 ** db.private[i]! - 1;
        continue;
      }
      if ((f & PG_pcp) !== 0) continue;
      let head = p;
      let kind = k.kindAt(p);
      if (kind === undefined && db.refcount[i] === 0) {
        head = this.headOf(p);
        if (head === p) continue;
        kind = k.kindAt(head);
      }
      if (kind === "pagecache" && k.pageCache.owns(head)) {
        if (strategy === "launder") {
          k.pageCache.launder(head);
          this.stats.laundered++;
        } else {
          if (k.pageCache.migrate(head, s, s + n) < 0) return { moved, ok: false };
          this.stats.migrated++;
        }
        moved++;
      } else if (kind === "anon" && strategy === "migrate") {
        const h = db.mapping[db.indexOf(head)]! - 1;
        if (k.handlePfn(h) !== head) continue;
        const order = k.handleOrder(h);
        if (!this.migrateHandle(h, s, s + n)) return { moved, ok: false };
        moved += 2 ** order;
        this.stats.migrated++;
      }
    }
    return { moved, ok: true };
  }

  /** Migrates the anonymous block behind handle `h` out of `[avoidStart, avoidEnd)`. */
  migrateHandle(h: number, avoidStart: number, avoidEnd: number): boolean {
    const k = this.k;
    const pfn = k.handlePfn(h);
    const order = k.handleOrder(h);
    const target = k.buddy.allocPagesIn(GFP_HIGHUSER_MOVABLE, order, {
      avoid: { start: avoidStart, end: avoidEnd },
    });
    if (target < 0) return false;
    k.take(target, order, "anon", h + 1);
    k.release(pfn, order);
    k.buddy.free(pfn, order);
    k.moveHandle(h, target);
    k.migratedPages += 2 ** order;
    k.step({ op: "migrate", h, avoidStart, avoidEnd }, 5 * 2 ** order);
    return true;
  }

  /**
   * Allocates a contiguous buffer: the lowest window that fits, cleared under the strategy, taken
   * with `allocContigRange`. Returns the buffer or null.
   */
  allocate(req: ContigRequest): ContigBuffer | null {
    const k = this.k;
    k.depth++;
    let out: ContigBuffer | null;
    try {
      out = this.allocateInner(req);
    } finally {
      k.depth--;
    }
    k.step({ op: "contig.alloc", ...req }, 50);
    return out;
  }

  private allocateInner(req: ContigRequest): ContigBuffer | null {
    const k = this.k;
    if (!Number.isSafeInteger(req.pages) || req.pages <= 0)
      throw new KernelPanic("contig", `contig: size ${req.pages} pages`);
    k.buddy.drain();
    let pfn = -1;
    const quick = this.findFreeRun(req);
    if (quick >= 0 && k.buddy.allocContigRange(quick, quick + req.pages)) pfn = quick;
    for (let attempt = 0; attempt < 3 && pfn < 0 && req.strategy !== "free"; attempt++) {
      const states = k.pageStates();
      const s = this.findWindow(req, states);
      if (s < 0) break;
      const r = this.clearWindow(s, req.pages, req.strategy);
      if (!r.ok) continue;
      k.buddy.drain();
      if (k.buddy.allocContigRange(s, s + req.pages)) pfn = s;
    }
    if (pfn < 0) {
      this.stats.failures++;
      k.log.advance(20);
      return null;
    }
    const id = this.nextId++;
    k.takeRange(pfn, req.pages, req.kind, id);
    const buf: ContigBuffer = {
      id,
      pfn,
      pages: req.pages,
      kind: req.kind,
      label: req.label,
      kvaPage: -1,
      userPid: -1,
    };
    this.buffers.set(id, buf);
    this.stats.allocations++;
    k.log.advance(req.pages / 64);
    return buf;
  }

  /** Registers `[pfn, pfn + pages)`, already taken from the allocator, as a buffer. */
  adopt(pfn: number, pages: number, kind: Kind, label: string): ContigBuffer {
    const id = this.nextId++;
    this.k.takeRange(pfn, pages, kind, id);
    const buf: ContigBuffer = { id, pfn, pages, kind, label, kvaPage: -1, userPid: -1 };
    this.buffers.set(id, buf);
    this.stats.allocations++;
    return buf;
  }

  /** Maps the buffer into the kernel map; false when the kernel map has no room. */
  kmapin(buf: ContigBuffer): boolean {
    const kva = this.k.extent.kernelVa;
    const at = kva.alloc({ size: buf.pages, alignment: 1 });
    const ok = at >= 0;
    if (ok) buf.kvaPage = at;
    else this.stats.kvaFailures++;
    this.k.step({ op: "contig.kmapin", id: buf.id }, 5);
    return ok;
  }

  /** Maps the buffer into user process `pid` (mapcount on every page). */
  mapUser(buf: ContigBuffer, pid: number): void {
    const db = this.k.machine.pages;
    const i0 = db.indexOf(buf.pfn);
    for (let k = 0; k < buf.pages; k++) db.mapcount[i0 + k] = db.mapcount[i0 + k]! + 1;
    buf.userPid = pid;
    this.k.step({ op: "contig.mapuser", id: buf.id, pid }, buf.pages / 512);
  }

  /** Unmaps and frees the buffer. */
  free(buf: ContigBuffer): void {
    const k = this.k;
    if (!this.buffers.has(buf.id))
      throw new KernelPanic("double-free", `contig: buffer ${buf.id} is not allocated`);
    const db = k.machine.pages;
    const i0 = db.indexOf(buf.pfn);
    if (buf.userPid >= 0) {
      for (let j = 0; j < buf.pages; j++) db.mapcount[i0 + j] = db.mapcount[i0 + j]! - 1;
      buf.userPid = -1;
    }
    if (buf.kvaPage >= 0) {
      k.extent.kernelVa.free(buf.kvaPage, buf.pages);
      buf.kvaPage = -1;
    }
    for (let j = 0; j < buf.pages; j++) {
      db.owner[i0 + j] = 0;
      db.mapping[i0 + j] = 0;
    }
    const zoneCounts = new Map<number, number>();
    for (let j = 0; j < buf.pages; j++) {
      const z = k.zoneOfIndex(i0 + j);
      zoneCounts.set(z, (zoneCounts.get(z) ?? 0) + 1);
    }
    for (const [z, c] of zoneCounts) k.allocatedByZone[z]! -= c;
    k.buddy.freeContigRange(buf.pfn, buf.pfn + buf.pages);
    this.buffers.delete(buf.id);
    this.stats.frees++;
    k.step({ op: "contig.free", id: buf.id }, 10 + buf.pages / 256);
  }

  /**
   * The success ladder: for each strategy and size, `attempts` allocations (each freed at once) of
   * `bytes` below `highPfn`, aligned to the page size.
   */
  runLadder(
    sizes: readonly number[],
    strategies: readonly ContigStrategy[],
    attempts: number,
    highPfn: number,
  ): LadderRung[] {
    const ps = this.k.machine.pageSize;
    const out: LadderRung[] = [];
    this.k.depth++;
    try {
      for (const strategy of strategies) {
        for (const bytes of sizes) {
          const pages = Math.ceil(bytes / ps);
          let successes = 0;
          let moved = 0;
          const t0 = this.k.now;
          for (let a = 0; a < attempts; a++) {
            const before = this.stats.laundered + this.stats.migrated;
            const b = this.allocate({
              pages,
              lowPfn: 0,
              highPfn,
              alignPages: 1,
              boundaryPages: 0,
              strategy,
              kind: "contig",
              label: `ladder-${bytes}`,
            });
            moved += this.stats.laundered + this.stats.migrated - before;
            if (b !== null) {
              successes++;
              this.free(b);
            }
          }
          const rung: LadderRung = {
            strategy,
            bytes,
            attempts,
            successes,
            meanUs: (this.k.now - t0) / attempts,
            moved,
          };
          out.push(rung);
          this.ladder.push(rung);
        }
      }
    } finally {
      this.k.depth--;
    }
    this.k.step(
      { op: "contig.ladder", sizes: [...sizes], strategies: [...strategies], attempts, highPfn },
      10,
    );
    return out;
  }

  /** Figures for the digest. */
  digestParts(): number[] {
    return [this.buffers.size, this.stats.allocations, this.stats.frees, this.stats.failures];
  }

  /** Every page of every buffer is allocated (count 1) and owned by the buffer's kind. */
  checkInvariants(): void {
    const k = this.k;
    const db = k.machine.pages;
    for (const b of this.buffers.values()) {
      const i0 = db.indexOf(b.pfn);
      const tag = k.ownerTag[b.kind];
      for (let j = 0; j < b.pages; j++) {
        if (db.refcount[i0 + j] !== 1 || db.owner[i0 + j] !== tag)
          throw new KernelPanic(
            "invariant",
            `invariant: contig buffer ${b.label} pfn ${b.pfn + j} is not held (count ${db.refcount[i0 + j]})`,
          );
      }
    }
  }

  /** A fresh kernel-VA extent for `machine` (in pages). */
  static kernelVaExtent(pages: number): Extent {
    return new Extent({ name: "kernel_map", start: 0, end: pages - 1 });
  }
}
