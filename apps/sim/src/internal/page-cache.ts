/**
 * A disk and its page cache: file pages on the inactive and active queues (intrusive lists through
 * the page database), clean and dirty, written back to the disk, reclaimed from the inactive tail,
 * laundered and migrated for the contiguous allocator and hotplug.
 *
 * A page-cache page keeps its file in `mapping` (file + 1) and its offset in `private`, as Linux
 * keeps `page->mapping` and `page->index`.
 *
 * @module
 */
import { GFP_HIGHUSER_MOVABLE } from "@mem/buddy";
import {
  KernelPanic,
  PageListSet,
  PG_active,
  PG_dirty,
  PG_lru,
  PG_referenced,
  PG_uptodate,
} from "@mem/machine";
import type { Kernel } from "./kernel.js";

/** Inactive queue. */
export const INACTIVE = 0;
/** Active queue. */
export const ACTIVE = 1;

const OFFSET_SPACE = 2 ** 24;

/** Counters of the disk behind the page cache. */
export interface DiskStats {
  /** Pages read from the disk. */
  reads: number;
  /** Pages written to the disk (writeback, laundering, hibernation). */
  writes: number;
  /** Pages written by hibernation. */
  imageWrites: number;
}

/** Counters of the page cache. */
export interface PageCacheStats {
  hits: number;
  misses: number;
  writebacks: number;
  reclaimed: number;
  activations: number;
  deactivations: number;
  migrated: number;
  laundered: number;
  allocFailures: number;
}

/** The page cache of one disk. */
export class PageCache {
  private readonly k: Kernel;
  /** The queues: inactive (0), active (1). */
  readonly queues: PageListSet;
  private readonly index = new Map<number, number>();
  /** The disk. */
  readonly disk: DiskStats = { reads: 0, writes: 0, imageWrites: 0 };
  /** Counters. */
  readonly stats: PageCacheStats = {
    hits: 0,
    misses: 0,
    writebacks: 0,
    reclaimed: 0,
    activations: 0,
    deactivations: 0,
    migrated: 0,
    laundered: 0,
    allocFailures: 0,
  };
  private dirtyCount = 0;

  constructor(kernel: Kernel) {
    this.k = kernel;
    this.queues = new PageListSet(kernel.machine.pages, 2);
  }

  /** Pages in the cache. */
  get size(): number {
    return this.index.size;
  }

  /** Dirty pages. */
  get dirty(): number {
    return this.dirtyCount;
  }

  /** Pages on the queue. */
  count(queue: number): number {
    return this.queues.count(queue);
  }

  /** The pfn caching (file, offset), or -1. */
  lookup(file: number, offset: number): number {
    return this.index.get(file * OFFSET_SPACE + offset) ?? -1;
  }

  /** Reads (file, offset) through the cache; returns the pfn or -1 when no page could be had. */
  read(file: number, offset: number, write = false): number {
    const key = file * OFFSET_SPACE + offset;
    const k = this.k;
    const db = k.machine.pages;
    let pfn = this.index.get(key) ?? -1;
    let cost = 1;
    if (pfn >= 0) {
      this.stats.hits++;
      const i = db.indexOf(pfn);
      const f = db.flags[i]!;
      if ((f & PG_active) === 0 && (f & PG_referenced) !== 0) {
        // mark_page_accessed: the second touch activates.
        this.queues.remove(INACTIVE, i);
        this.queues.addHead(ACTIVE, i);
        db.flags[i] = (f | PG_active) & ~PG_referenced;
        this.stats.activations++;
      } else db.flags[i] = f | PG_referenced;
    } else {
      pfn = k.buddy.alloc(GFP_HIGHUSER_MOVABLE, 0);
      if (pfn < 0) {
        // Direct reclaim: free the coldest clean pages and try once more.
        this.reclaimInternal(32);
        pfn = k.buddy.alloc(GFP_HIGHUSER_MOVABLE, 0);
      }
      if (pfn < 0) {
        this.stats.allocFailures++;
        k.step({ op: "pc.read", file, offset, write }, 1);
        return -1;
      }
      this.stats.misses++;
      this.disk.reads++;
      cost = 100;
      k.take(pfn, 0, "pagecache", file + 1);
      const i = db.indexOf(pfn);
      db.private[i] = offset;
      db.flags[i] = db.flags[i]! | PG_lru | PG_uptodate;
      this.queues.addHead(INACTIVE, i);
      this.index.set(key, pfn);
    }
    if (write) {
      const i = db.indexOf(pfn);
      const f = db.flags[i]!;
      if ((f & PG_dirty) === 0) {
        db.flags[i] = f | PG_dirty;
        this.dirtyCount++;
      }
    }
    k.step({ op: "pc.read", file, offset, write }, cost);
    return pfn;
  }

  /** Writes back up to `n` dirty pages, oldest inactive first; returns the count. */
  writeback(n: number): number {
    const done = this.writebackInternal(n);
    this.k.step({ op: "pc.writeback", n }, 10 * done + 1);
    return done;
  }

  private writebackInternal(n: number): number {
    const db = this.k.machine.pages;
    let done = 0;
    for (const q of [INACTIVE, ACTIVE]) {
      for (let i = this.queues.last(q); i >= 0 && done < n; ) {
        const prev = i === this.queues.first(q) ? -1 : db.prev[i]! - 1;
        const f = db.flags[i]!;
        if ((f & PG_dirty) !== 0) {
          db.flags[i] = f & ~PG_dirty;
          this.dirtyCount--;
          this.disk.writes++;
          this.stats.writebacks++;
          done++;
        }
        i = prev;
      }
    }
    return done;
  }

  /**
   * Reclaims up to `n` pages (`shrink_inactive_list` in miniature): from the inactive tail, referenced
   * pages rotate, dirty pages are written back first, clean pages are freed; the active tail refills
   * the inactive queue. Returns the pages freed.
   */
  reclaim(n: number): number {
    const freed = this.reclaimInternal(n);
    this.k.step({ op: "pc.reclaim", n }, 5 * freed + 1);
    return freed;
  }

  private reclaimInternal(n: number): number {
    const db = this.k.machine.pages;
    let freed = 0;
    let budget = 4 * n + 64;
    while (freed < n && budget-- > 0) {
      if (this.queues.isEmpty(INACTIVE)) {
        if (this.queues.isEmpty(ACTIVE)) break;
        this.deactivate(Math.max(32, n));
        continue;
      }
      const i = this.queues.last(INACTIVE);
      const f = db.flags[i]!;
      if ((f & PG_referenced) !== 0) {
        this.queues.remove(INACTIVE, i);
        this.queues.addHead(INACTIVE, i);
        db.flags[i] = f & ~PG_referenced;
        continue;
      }
      if ((f & PG_dirty) !== 0) {
        db.flags[i] = f & ~PG_dirty;
        this.dirtyCount--;
        this.disk.writes++;
        this.stats.writebacks++;
      }
      this.dropIndex(i);
      freed++;
    }
    this.stats.reclaimed += freed;
    return freed;
  }

  /** Moves up to `n` pages from the active tail to the inactive head. */
  private deactivate(n: number): void {
    const db = this.k.machine.pages;
    for (let c = 0; c < n && !this.queues.isEmpty(ACTIVE); c++) {
      const i = this.queues.popTail(ACTIVE);
      db.flags[i] = db.flags[i]! & ~(PG_active | PG_referenced);
      this.queues.addHead(INACTIVE, i);
      this.stats.deactivations++;
    }
  }

  /** Takes page `i` out of the cache and frees it. */
  private dropIndex(i: number): void {
    const k = this.k;
    const db = k.machine.pages;
    const f = db.flags[i]!;
    this.queues.remove((f & PG_active) !== 0 ? ACTIVE : INACTIVE, i);
    if ((f & PG_dirty) !== 0) {
      this.dirtyCount--;
      this.disk.writes++;
    }
    const file = db.mapping[i]! - 1;
    const offset = db.private[i]!;
    this.index.delete(file * OFFSET_SPACE + offset);
    const pfn = db.pfnOf(i);
    db.flags[i] = 0;
    db.private[i] = 0;
    k.release(pfn, 0);
    k.buddy.free(pfn, 0);
  }

  /** Whether `pfn` is a page-cache page. */
  owns(pfn: number): boolean {
    const db = this.k.machine.pages;
    const i = db.indexOf(pfn);
    return i >= 0 && (db.flags[i]! & PG_lru) !== 0 && this.k.kindAt(pfn) === "pagecache";
  }

  /**
   * Launders the page at `pfn` (FreeBSD's `vm_contig_launder`): writes it back if dirty, then drops
   * it; the range it was in becomes free. Returns false when it is not a page-cache page.
   */
  launder(pfn: number): boolean {
    if (!this.owns(pfn)) return false;
    const db = this.k.machine.pages;
    const i = db.indexOf(pfn);
    if ((db.flags[i]! & PG_dirty) !== 0) {
      db.flags[i] = db.flags[i]! & ~PG_dirty;
      this.dirtyCount--;
      this.disk.writes++;
    }
    this.dropIndex(i);
    this.stats.laundered++;
    this.k.step({ op: "pc.launder", pfn }, 10);
    return true;
  }

  /**
   * Migrates the page at `pfn` to a new page outside `[avoidStart, avoidEnd)`; the queue position,
   * flags and index follow. Returns the new pfn, or -1 when no target page could be had.
   */
  migrate(pfn: number, avoidStart: number, avoidEnd: number): number {
    const k = this.k;
    const db = k.machine.pages;
    const i = db.indexOf(pfn);
    if (!this.owns(pfn))
      throw new KernelPanic("bad-page", `migrate: pfn ${pfn} is not a page-cache page`);
    const target = k.buddy.allocPagesIn(GFP_HIGHUSER_MOVABLE, 0, {
      avoid: { start: avoidStart, end: avoidEnd },
    });
    if (target < 0) return -1;
    const j = db.indexOf(target);
    const f = db.flags[i]!;
    const q = (f & PG_active) !== 0 ? ACTIVE : INACTIVE;
    const file = db.mapping[i]! - 1;
    const offset = db.private[i]!;
    // Insert the new page where the old one was, then unlink the old.
    const next = this.queues.nextOf(q, i);
    this.queues.remove(q, i);
    if (next < 0) this.queues.addTail(q, j);
    else this.insertBefore(q, next, j);
    k.take(target, 0, "pagecache", file + 1);
    db.private[j] = offset;
    db.flags[j] =
      db.flags[j]! | (f & (PG_lru | PG_active | PG_dirty | PG_uptodate | PG_referenced));
    this.index.set(file * OFFSET_SPACE + offset, target);
    db.flags[i] = 0;
    db.private[i] = 0;
    k.release(pfn, 0);
    k.buddy.free(pfn, 0);
    this.stats.migrated++;
    k.migratedPages++;
    k.step({ op: "pc.migrate", pfn, avoidStart, avoidEnd }, 5);
    return target;
  }

  /** Inserts `j` before `at` on queue `q` (rebuilding by rotating: the list API has head/tail only). */
  private insertBefore(q: number, at: number, j: number): void {
    // Rotate: move every page from the head up to `at` (exclusive) to... keep it simple and exact:
    // collect the pages after `at`, unlink them, append j, then re-append them.
    const rest: number[] = [];
    for (let x = at; x >= 0 && rest.length <= 64; x = this.queues.nextOf(q, x)) rest.push(x);
    if (rest.length > 64) {
      // Long tails: position is only approximate LRU order; put the page at the tail's place.
      this.queues.addTail(q, j);
      return;
    }
    for (const x of rest) this.queues.remove(q, x);
    this.queues.addTail(q, j);
    for (const x of rest) this.queues.addTail(q, x);
  }

  /** Drops every page of the cache (clean ones freed, dirty ones written first). */
  dropAll(): number {
    let n = 0;
    for (const q of [INACTIVE, ACTIVE]) {
      while (!this.queues.isEmpty(q)) {
        this.dropIndex(this.queues.last(q));
        n++;
      }
    }
    this.k.step({ op: "pc.dropall" }, n);
    return n;
  }

  /** Calls `fn` with the pfn of every cached page. */
  forEachPage(fn: (pfn: number) => void): void {
    const db = this.k.machine.pages;
    for (const q of [INACTIVE, ACTIVE])
      for (let i = this.queues.first(q); i >= 0; i = this.queues.nextOf(q, i)) fn(db.pfnOf(i));
  }

  /** The figures that go into the final digest. */
  digestParts(): number[] {
    return [this.index.size, this.dirtyCount, this.disk.reads, this.disk.writes, this.count(0)];
  }

  /** Queue counts equal the index; every queued page is a page-cache page with consistent flags. */
  checkInvariants(): void {
    const db = this.k.machine.pages;
    let n = 0;
    let dirty = 0;
    for (const q of [INACTIVE, ACTIVE]) {
      for (let i = this.queues.first(q); i >= 0; i = this.queues.nextOf(q, i)) {
        n++;
        const f = db.flags[i]!;
        if ((f & PG_lru) === 0 || ((f & PG_active) !== 0) !== (q === ACTIVE))
          throw new KernelPanic(
            "invariant",
            `invariant: page cache: pfn ${db.pfnOf(i)} on the ${q === ACTIVE ? "active" : "inactive"} queue has flags 0x${f.toString(16)}`,
          );
        if (db.refcount[i] !== 1)
          throw new KernelPanic(
            "invariant",
            `invariant: page cache: pfn ${db.pfnOf(i)} has reference count ${db.refcount[i]}`,
          );
        if ((f & PG_dirty) !== 0) dirty++;
        const key = (db.mapping[i]! - 1) * OFFSET_SPACE + db.private[i]!;
        if (this.index.get(key) !== db.pfnOf(i))
          throw new KernelPanic(
            "invariant",
            `invariant: page cache: pfn ${db.pfnOf(i)} is not where the index says`,
          );
      }
    }
    if (n !== this.index.size)
      throw new KernelPanic(
        "invariant",
        `invariant: page cache: ${n} queued pages, ${this.index.size} indexed`,
      );
    if (dirty !== this.dirtyCount)
      throw new KernelPanic(
        "invariant",
        `invariant: page cache: ${dirty} dirty pages, counted ${this.dirtyCount}`,
      );
  }
}
