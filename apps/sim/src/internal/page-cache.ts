/**
 * A disk and its page cache: file pages on `@mem/contig`'s page queues (inactive, active, cache),
 * clean and dirty, written back to the disk, reclaimed from the inactive head. The queues are the
 * ones the contiguous allocator launders (dirty pages are written through this cache's pager, the
 * disk) and migrates (this cache is the pages' `PageOwner`: told when a page moves to another frame
 * or is taken from the cache queue).
 *
 * A page-cache page keeps its file in `mapping` (file + 1) and its offset in `private`, as Linux
 * keeps `page->mapping` and `page->index`. Queue heads are the oldest pages.
 *
 * @module
 */
import { GFP_HIGHUSER_MOVABLE } from "@mem/buddy";
import {
  type PageOwner,
  type PageQueues,
  type Pager,
  PQ_ACTIVE,
  PQ_CACHE,
  PQ_INACTIVE,
  PQ_NONE,
} from "@mem/contig";
import { KernelPanic, PG_active, PG_dirty, PG_lru, PG_referenced, PG_uptodate } from "@mem/machine";
import type { Kernel } from "./kernel.js";

/** Inactive queue. */
export const INACTIVE: number = PQ_INACTIVE;
/** Active queue. */
export const ACTIVE: number = PQ_ACTIVE;
/** Cache queue (clean pages laundered by the contiguous allocator, reclaimable at once). */
export const CACHE: number = PQ_CACHE;

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
  /** Pages moved to another frame (contig migration, hotplug). */
  migrated: number;
  /** Dirty pages the contiguous allocator's laundering wrote through the pager. */
  laundered: number;
  /** Clean cache-queue pages the contiguous allocator took (`evictPage`). */
  evicted: number;
  allocFailures: number;
}

/** The page cache of one disk. */
export class PageCache {
  private readonly k: Kernel;
  /** The page queues (shared with anonymous memory and the contiguous allocator). */
  readonly queues: PageQueues;
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
    evicted: 0,
    allocFailures: 0,
  };
  private dirtyCount = 0;

  /** The pager laundering writes dirty page-cache pages through: the disk. */
  readonly pager: Pager = {
    writePage: (pfn: number): boolean => {
      const db = this.k.machine.pages;
      const i = db.indexOf(pfn);
      if (this.k.kindAt(pfn) !== "pagecache" || (db.flags[i]! & PG_dirty) === 0) return false;
      this.dirtyCount--;
      this.disk.writes++;
      this.stats.laundered++;
      return true;
    },
  };

  /** The owner of page-cache pages on the queues. */
  readonly owner: PageOwner = {
    migratePage: (oldPfn: number, newPfn: number): void => {
      const k = this.k;
      const db = k.machine.pages;
      const j = db.indexOf(newPfn);
      this.index.set((db.mapping[j]! - 1) * OFFSET_SPACE + db.private[j]!, newPfn);
      k.movePageAccounting(oldPfn, newPfn);
      this.stats.migrated++;
    },
    evictPage: (pfn: number): void => {
      const k = this.k;
      const db = k.machine.pages;
      const i = db.indexOf(pfn);
      this.index.delete((db.mapping[i]! - 1) * OFFSET_SPACE + db.private[i]!);
      // The allocator frees the page after this returns: only the sim's count changes here.
      k.release(pfn, 0);
      this.stats.evicted++;
    },
  };

  constructor(kernel: Kernel, queues: PageQueues) {
    this.k = kernel;
    this.queues = queues;
    queues.setPager(this.pager);
    queues.setOwner(kernel.ownerTag.pagecache, this.owner);
  }

  /** Pages in the cache. */
  get size(): number {
    return this.index.size;
  }

  /** Dirty pages. */
  get dirty(): number {
    return this.dirtyCount;
  }

  /** Page-cache pages on `queue` (anonymous pages share the queues and are not counted). */
  count(queue: number): number {
    const db = this.k.machine.pages;
    const tag = this.k.ownerTag.pagecache;
    const lists = this.queues.lists;
    let n = 0;
    for (let i = lists.first(queue); i >= 0; i = lists.nextOf(queue, i))
      if (db.owner[i] === tag) n++;
    return n;
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
    const q = this.queues;
    let pfn = this.index.get(key) ?? -1;
    let cost = 1;
    if (pfn >= 0) {
      this.stats.hits++;
      const i = db.indexOf(pfn);
      const where = q.queueAt(i);
      const f = db.flags[i]!;
      if (where === PQ_CACHE) {
        // A cached page found again: back on the inactive queue.
        q.move(pfn, PQ_INACTIVE);
        db.flags[i] = db.flags[i]! | PG_referenced;
      } else if (where === PQ_INACTIVE && (f & PG_referenced) !== 0) {
        // mark_page_accessed: the second touch activates.
        q.move(pfn, PQ_ACTIVE);
        db.flags[i] = db.flags[i]! & ~PG_referenced;
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
      db.flags[i] = db.flags[i]! | PG_uptodate;
      q.add(pfn, PQ_INACTIVE);
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
    const lists = this.queues.lists;
    const tag = this.k.ownerTag.pagecache;
    let done = 0;
    for (const q of [PQ_INACTIVE, PQ_ACTIVE]) {
      for (let i = lists.first(q); i >= 0 && done < n; i = lists.nextOf(q, i)) {
        const f = db.flags[i]!;
        if ((f & PG_dirty) !== 0 && db.owner[i] === tag) {
          db.flags[i] = f & ~PG_dirty;
          this.dirtyCount--;
          this.disk.writes++;
          this.stats.writebacks++;
          done++;
        }
      }
    }
    return done;
  }

  /**
   * Reclaims up to `n` pages (`shrink_inactive_list` in miniature): the cache queue first, then
   * from the inactive head referenced pages rotate, dirty pages are written back first, clean pages
   * are freed; the active head refills the inactive queue. Anonymous pages on the queues are skipped
   * (there is no swap-out here). Returns the pages freed.
   */
  reclaim(n: number): number {
    const freed = this.reclaimInternal(n);
    this.k.step({ op: "pc.reclaim", n }, 5 * freed + 1);
    return freed;
  }

  private reclaimInternal(n: number): number {
    const db = this.k.machine.pages;
    const q = this.queues;
    const lists = q.lists;
    const tag = this.k.ownerTag.pagecache;
    let freed = 0;
    // Clean cache-queue pages go first.
    for (let i = lists.first(PQ_CACHE); i >= 0 && freed < n; ) {
      const next = lists.nextOf(PQ_CACHE, i);
      if (db.owner[i] === tag) {
        this.dropIndex(i);
        freed++;
      }
      i = next;
    }
    let budget = 4 * n + 64;
    let i = lists.first(PQ_INACTIVE);
    let refilled = false;
    while (freed < n && budget-- > 0) {
      if (i < 0) {
        if (refilled || lists.count(PQ_ACTIVE) === 0) break;
        this.deactivate(Math.max(32, n));
        refilled = true;
        i = lists.first(PQ_INACTIVE);
        continue;
      }
      const next = lists.nextOf(PQ_INACTIVE, i);
      const f = db.flags[i]!;
      if (db.owner[i] !== tag) {
        i = next;
        continue;
      }
      if ((f & PG_referenced) !== 0) {
        q.move(db.pfnOf(i), PQ_INACTIVE);
        db.flags[i] = db.flags[i]! & ~PG_referenced;
        i = next;
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
      i = next;
    }
    this.stats.reclaimed += freed;
    return freed;
  }

  /** Moves up to `n` page-cache pages from the active head to the inactive tail. */
  private deactivate(n: number): void {
    const db = this.k.machine.pages;
    const lists = this.queues.lists;
    const tag = this.k.ownerTag.pagecache;
    let c = 0;
    for (let i = lists.first(PQ_ACTIVE); i >= 0 && c < n; ) {
      const next = lists.nextOf(PQ_ACTIVE, i);
      if (db.owner[i] === tag) {
        this.queues.move(db.pfnOf(i), PQ_INACTIVE);
        db.flags[i] = db.flags[i]! & ~PG_referenced;
        this.stats.deactivations++;
        c++;
      }
      i = next;
    }
  }

  /** Takes page `i` out of the cache and frees it. */
  private dropIndex(i: number): void {
    const k = this.k;
    const db = k.machine.pages;
    const pfn = db.pfnOf(i);
    this.queues.remove(pfn);
    const f = db.flags[i]!;
    if ((f & PG_dirty) !== 0) {
      this.dirtyCount--;
      this.disk.writes++;
    }
    const file = db.mapping[i]! - 1;
    const offset = db.private[i]!;
    this.index.delete(file * OFFSET_SPACE + offset);
    db.flags[i] = 0;
    db.private[i] = 0;
    k.release(pfn, 0);
    k.buddy.free(pfn, 0);
  }

  /** Whether `pfn` is a page-cache page. */
  owns(pfn: number): boolean {
    const db = this.k.machine.pages;
    const i = db.indexOf(pfn);
    return i >= 0 && this.queues.queueAt(i) !== PQ_NONE && this.k.kindAt(pfn) === "pagecache";
  }

  /** Drops every page of the cache (clean ones freed, dirty ones written first). */
  dropAll(): number {
    const db = this.k.machine.pages;
    let n = 0;
    for (const pfn of [...this.index.values()]) {
      this.dropIndex(db.indexOf(pfn));
      n++;
    }
    this.k.step({ op: "pc.dropall" }, n);
    return n;
  }

  /** Calls `fn` with the pfn of every cached page. */
  forEachPage(fn: (pfn: number) => void): void {
    for (const pfn of this.index.values()) fn(pfn);
  }

  /** The figures that go into the final digest. */
  digestParts(): number[] {
    return [
      this.index.size,
      this.dirtyCount,
      this.disk.reads,
      this.disk.writes,
      this.queues.count(PQ_INACTIVE),
      this.queues.count(PQ_CACHE),
    ];
  }

  /** Queue counts equal the index; every queued page-cache page has consistent flags. */
  checkInvariants(): void {
    const db = this.k.machine.pages;
    const lists = this.queues.lists;
    const tag = this.k.ownerTag.pagecache;
    let n = 0;
    let dirty = 0;
    for (const q of [PQ_INACTIVE, PQ_ACTIVE, PQ_CACHE]) {
      for (let i = lists.first(q); i >= 0; i = lists.nextOf(q, i)) {
        if (db.owner[i] !== tag) continue;
        n++;
        const f = db.flags[i]!;
        if ((f & PG_lru) === 0 || ((f & PG_active) !== 0) !== (q === PQ_ACTIVE))
          throw new KernelPanic(
            "invariant",
            `invariant: page cache: pfn ${db.pfnOf(i)} on queue ${q} has flags 0x${f.toString(16)}`,
          );
        if (db.refcount[i] !== 1)
          throw new KernelPanic(
            "invariant",
            `invariant: page cache: pfn ${db.pfnOf(i)} has reference count ${db.refcount[i]}`,
          );
        if ((f & PG_dirty) !== 0) {
          dirty++;
          if (q === PQ_CACHE)
            throw new KernelPanic(
              "invariant",
              `invariant: page cache: dirty pfn ${db.pfnOf(i)} on the cache queue`,
            );
        }
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
