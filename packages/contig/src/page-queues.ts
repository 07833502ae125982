/**
 * FreeBSD's paging queues over the shared page database: the inactive, active and cache queues
 * that contigmalloc launders, plus the two interfaces a memory user plugs in: a {@link Pager}
 * (writes a dirty page to its backing store) and a {@link PageOwner} (told when one of its pages is
 * migrated to another frame, or taken away from the cache).
 *
 * Pages on a queue are allocated pages (reference count >= 1) owned by someone: the page cache,
 * anonymous memory. The queue links are the page database's intrusive `next`/`prev` words
 * ({@link PageListSet}), so a page on a queue is on no other list. Flags: every queued page has
 * `PG_lru`; active pages also `PG_active`. `PG_dirty` and `PG_referenced` are the owner's to set.
 * The page's owner tag (`machine.pages.owner`) names the {@link PageOwner} registered with
 * {@link PageQueues.setOwner}.
 *
 * @module
 */
import {
  describeValue,
  InvalidArgumentError,
  KernelPanic,
  type Machine,
  PageListSet,
  PG_active,
  PG_buddy,
  PG_dirty,
  PG_foreign,
  PG_head,
  PG_isolated,
  PG_locked,
  PG_lru,
  PG_pcp,
  PG_pinned,
  PG_reserved,
  PG_slab,
  PG_tail,
  PG_writeback,
} from "@mem/machine";

/** Not on any queue. */
export const PQ_NONE = -1;
/** The inactive queue: laundered first. */
export const PQ_INACTIVE = 0;
/** The active queue: laundered second. */
export const PQ_ACTIVE = 1;
/** The cache queue: clean, unmapped pages still owned by their object, reclaimable at once. */
export const PQ_CACHE = 2;
/** Number of queues. */
export const PQ_COUNT = 3;

/** Queue names by number, for messages. */
export const PQ_NAMES: readonly string[] = ["inactive", "active", "cache"];

/**
 * Writes dirty pages to their backing store (FreeBSD's pager `putpages`: swap for anonymous
 * memory, the file for vnode pages).
 */
export interface Pager {
  /**
   * Writes the page at `pfn` (owner tag and mapping word in `machine.pages`) to its backing store.
   * @returns true when the data reached the store (the queues then clear `PG_dirty`).
   */
  writePage(pfn: number): boolean;
}

/**
 * The owner of queued pages, found by the page's owner tag. Both callbacks are optional: an owner
 * without `migratePage` has unmovable pages; one without `evictPage` never loses cache pages.
 */
export interface PageOwner {
  /**
   * The page that was at `oldPfn` now lives at `newPfn`: contents, flags, reference count, map
   * count, mapping word and owner tag were copied, and the queue entry moved. Update your own
   * references (object page tables, user mappings).
   */
  migratePage?(oldPfn: number, newPfn: number): void;
  /**
   * The clean cache page at `pfn` is being taken (FreeBSD's `vm_page_free` of a `PQ_CACHE` page):
   * drop it from your object. The allocator frees the page after this returns.
   */
  evictPage?(pfn: number): void;
}

/** Told when a page enters or leaves a queue (`from`/`to` are queue numbers or {@link PQ_NONE}). */
export interface PageQueueListener {
  /** The page at dense index `index` moved from queue `from` to queue `to`. */
  queueChanged(index: number, from: number, to: number): void;
}

/** What one laundering run did. */
export interface LaunderResult {
  /** Pages looked at. */
  scanned: number;
  /** Clean pages moved to the cache queue. */
  cached: number;
  /** Dirty pages written through the pager (then cached). */
  pagedOut: number;
  /** Busy pages skipped (`PG_locked` or `PG_writeback`). */
  busy: number;
  /** Held pages skipped (extra references, or still mapped). */
  held: number;
  /** Dirty pages the pager could not write (or no pager). */
  failed: number;
}

/** Options of {@link PageQueues}. */
export interface PageQueuesOptions {
  /** The pager laundering writes dirty pages through. */
  readonly pager?: Pager;
}

/** Flags that make a page immovable whatever its owner says. */
const UNMOVABLE: number =
  PG_pinned |
  PG_reserved |
  PG_foreign |
  PG_slab |
  PG_locked |
  PG_writeback |
  PG_head |
  PG_tail |
  PG_isolated |
  PG_buddy |
  PG_pcp;

/**
 * The inactive, active and cache page queues of one machine.
 */
export class PageQueues {
  /** The machine whose page database the queues link through. */
  readonly machine: Machine;
  /** The intrusive lists, one per queue. */
  readonly lists: PageListSet;
  private queueOfIndex: Int8Array;
  private pager: Pager | null;
  private readonly owners = new Map<number, PageOwner>();
  private listener: PageQueueListener | null = null;

  /**
   * @param machine - the machine whose pages are queued.
   * @param options - the pager.
   */
  constructor(machine: Machine, options: PageQueuesOptions = {}) {
    this.machine = machine;
    this.lists = new PageListSet(machine.pages, PQ_COUNT);
    this.queueOfIndex = new Int8Array(machine.pages.flags.length).fill(PQ_NONE);
    this.pager = options.pager ?? null;
  }

  /** Sets (or with null removes) the pager laundering writes through. */
  setPager(pager: Pager | null): void {
    this.pager = pager;
  }

  /** Registers the owner of pages tagged `tag` (from `machine.registerOwner`); null removes it. */
  setOwner(tag: number, owner: PageOwner | null): void {
    if (!Number.isInteger(tag) || tag < 1 || tag > 0xffff)
      throw new InvalidArgumentError(
        `owner tag must be an integer in [1, 65535], got ${describeValue(tag)}`,
        "EINVAL",
        "tag",
      );
    if (owner === null) this.owners.delete(tag);
    else this.owners.set(tag, owner);
  }

  /** The owner registered for `tag`, if any. */
  ownerOf(tag: number): PageOwner | undefined {
    return this.owners.get(tag);
  }

  /** Installs the listener told about queue changes (one at a time; the contig allocator's). */
  setListener(listener: PageQueueListener | null): void {
    this.listener = listener;
  }

  /** Pages on `queue`. */
  count(queue: number): number {
    this.checkQueue(queue);
    return this.lists.count(queue);
  }

  /** The queue the page at `pfn` is on, or {@link PQ_NONE}. */
  queueOf(pfn: number): number {
    const i = this.indexOf(pfn);
    return this.queueAt(i);
  }

  /** The queue of the page at dense index `index` ({@link PQ_NONE} when none). */
  queueAt(index: number): number {
    const q = this.queueOfIndex[index];
    return q === undefined ? PQ_NONE : q;
  }

  /** Pfns on `queue`, head (oldest) first. Not for hot paths. */
  *pfns(queue: number): IterableIterator<number> {
    this.checkQueue(queue);
    const db = this.machine.pages;
    for (const i of this.lists.indexes(queue)) yield db.pfnOf(i);
  }

  /**
   * Puts the allocated page at `pfn` at the tail of `queue` and sets `PG_lru` (and `PG_active` for
   * the active queue).
   *
   * @throws {@link @mem/machine!index.KernelPanic} when the page is free, reserved, a compound tail, or already on a
   * list; {@link @mem/machine!index.InvalidArgumentError} for a bad pfn or queue. Nothing changes then.
   */
  add(pfn: number, queue: number): void {
    const i = this.indexOf(pfn);
    this.checkQueue(queue);
    const db = this.machine.pages;
    const f = db.flags[i]!;
    if (
      (f & (PG_buddy | PG_pcp | PG_reserved | PG_isolated | PG_tail)) !== 0 ||
      db.refcount[i]! <= 0
    )
      throw new KernelPanic(
        "bad-page",
        `page queues: pfn ${describeValue(pfn)} is not an allocated page (flags 0x${f.toString(16)}, count ${db.refcount[i]})`,
      );
    if (this.queueAt(i) !== PQ_NONE || this.lists.isLinked(i))
      throw new KernelPanic(
        "list-double-add",
        `page queues: pfn ${describeValue(pfn)} is already on a list`,
      );
    this.link(i, queue);
  }

  /**
   * Takes the page at `pfn` off its queue, clearing `PG_lru` and `PG_active`. Returns the queue it
   * was on.
   *
   * @throws {@link @mem/machine!index.KernelPanic} when the page is on no queue.
   */
  remove(pfn: number): number {
    const i = this.indexOf(pfn);
    const q = this.queueAt(i);
    if (q === PQ_NONE)
      throw new KernelPanic("not-queued", `page queues: pfn ${describeValue(pfn)} is on no queue`);
    this.unlink(i, q);
    return q;
  }

  /** Moves the page at `pfn` to the tail of `queue` (from whichever queue it is on). */
  move(pfn: number, queue: number): void {
    const i = this.indexOf(pfn);
    this.checkQueue(queue);
    const q = this.queueAt(i);
    if (q === PQ_NONE)
      throw new KernelPanic("not-queued", `page queues: pfn ${describeValue(pfn)} is on no queue`);
    this.unlink(i, q);
    this.link(i, queue);
  }

  /** True when the page at `index` is busy: locked or under writeback. */
  isBusyAt(index: number): boolean {
    return (this.machine.pages.flags[index]! & (PG_locked | PG_writeback)) !== 0;
  }

  /**
   * True when the page at `index` can be taken from the cache queue at once: on `PQ_CACHE`, not
   * busy, reference count exactly 1, unmapped, not pinned.
   */
  isStealableAt(index: number): boolean {
    if (this.queueAt(index) !== PQ_CACHE) return false;
    const db = this.machine.pages;
    return (
      (db.flags[index]! & UNMOVABLE) === 0 && db.refcount[index] === 1 && db.mapcount[index] === 0
    );
  }

  /**
   * True when the page at `index` may be migrated: on a queue, owned by an owner with
   * `migratePage`, not pinned, reserved, foreign, slab, busy, compound or isolated, and holding no
   * reference beyond its owner's and one per mapping (`refcount === mapcount + 1`).
   */
  isMovableAt(index: number): boolean {
    if (this.queueAt(index) === PQ_NONE) return false;
    const db = this.machine.pages;
    if ((db.flags[index]! & UNMOVABLE) !== 0) return false;
    if (db.refcount[index] !== db.mapcount[index]! + 1) return false;
    const owner = this.owners.get(db.owner[index]!);
    return owner?.migratePage !== undefined;
  }

  /** {@link isMovableAt} by pfn (false for a pfn with no page). */
  isMovable(pfn: number): boolean {
    const i = Number.isSafeInteger(pfn) && pfn >= 0 ? this.machine.pages.indexOf(pfn) : -1;
    return i >= 0 && this.isMovableAt(i);
  }

  /**
   * Moves the movable page at `oldPfn` to the freshly allocated order-0 page at `newPfn` (count 1,
   * no flags, on no list): copies flags, reference count, map count, private and mapping words and
   * the owner tag, puts the new page at the tail of the old one's queue, leaves the old page as a
   * freshly allocated page (count 1, nothing else) for the caller to free, and tells the owner.
   *
   * @throws {@link @mem/machine!index.KernelPanic} when `oldPfn` is not movable or `newPfn` is not a fresh page.
   */
  migratePage(oldPfn: number, newPfn: number): void {
    const i = this.indexOf(oldPfn);
    const j = this.indexOf(newPfn);
    if (!this.isMovableAt(i))
      throw new KernelPanic("not-movable", `migrate: pfn ${describeValue(oldPfn)} is not movable`);
    const db = this.machine.pages;
    if (
      db.flags[j] !== 0 ||
      db.refcount[j] !== 1 ||
      db.mapcount[j] !== 0 ||
      this.lists.isLinked(j) ||
      this.queueAt(j) !== PQ_NONE
    )
      throw new KernelPanic(
        "bad-page",
        `migrate: target pfn ${describeValue(newPfn)} is not a freshly allocated page`,
      );
    const q = this.queueAt(i);
    this.unlink(i, q);
    db.flags[j] = db.flags[i]!;
    db.refcount[j] = db.refcount[i]!;
    db.mapcount[j] = db.mapcount[i]!;
    db.private[j] = db.private[i]!;
    db.mapping[j] = db.mapping[i]!;
    db.owner[j] = db.owner[i]!;
    db.flags[i] = 0;
    db.refcount[i] = 1;
    db.mapcount[i] = 0;
    db.private[i] = 0;
    db.mapping[i] = 0;
    const tag = db.owner[i]!;
    db.owner[i] = 0;
    this.link(j, q);
    this.owners.get(tag)?.migratePage?.(oldPfn, newPfn);
  }

  /**
   * Takes the stealable cache page at `index` from its owner (`evictPage`) and leaves it a bare
   * allocated page (count 1, no flags, no owner) for the caller to free.
   */
  stealCachePageAt(index: number): void {
    const db = this.machine.pages;
    const pfn = db.pfnOf(index);
    if (!this.isStealableAt(index))
      throw new KernelPanic(
        "bad-page",
        `cache steal: pfn ${describeValue(pfn)} is not a stealable cache page`,
      );
    this.unlink(index, PQ_CACHE);
    const tag = db.owner[index]!;
    this.owners.get(tag)?.evictPage?.(pfn);
    db.flags[index] = 0;
    db.private[index] = 0;
    db.mapping[index] = 0;
    db.owner[index] = 0;
  }

  /**
   * Launders `queue` (inactive or active), head first, as contigmalloc does between its passes:
   * a clean, unheld page goes to the cache queue; a dirty one is written through the pager, then
   * cached; busy and held pages are skipped. Only pages with pfns in `[lowPfn, highPfn)` are
   * touched (FreeBSD 8's targeted laundering); pass 0 and Infinity for the whole queue.
   */
  launder(queue: number, lowPfn = 0, highPfn: number = Number.POSITIVE_INFINITY): LaunderResult {
    if (queue !== PQ_INACTIVE && queue !== PQ_ACTIVE)
      throw new InvalidArgumentError(
        `launder: queue must be PQ_INACTIVE or PQ_ACTIVE, got ${describeValue(queue)}`,
        "EINVAL",
        "queue",
      );
    const res: LaunderResult = { scanned: 0, cached: 0, pagedOut: 0, busy: 0, held: 0, failed: 0 };
    const db = this.machine.pages;
    const lists = this.lists;
    let i = lists.first(queue);
    const n = lists.count(queue);
    for (let k = 0; k < n && i >= 0; k++) {
      const next = lists.nextOf(queue, i);
      const pfn = db.pfnOf(i);
      if (pfn >= lowPfn && pfn < highPfn) {
        res.scanned++;
        const f = db.flags[i]!;
        if ((f & (PG_locked | PG_writeback)) !== 0) res.busy++;
        else if (
          (f & (PG_pinned | PG_foreign)) !== 0 ||
          db.refcount[i] !== 1 ||
          db.mapcount[i] !== 0
        )
          res.held++;
        else if ((f & PG_dirty) !== 0) {
          if (this.pager?.writePage(pfn)) {
            db.flags[i] = db.flags[i]! & ~PG_dirty;
            res.pagedOut++;
            this.unlink(i, queue);
            this.link(i, PQ_CACHE);
            res.cached++;
          } else res.failed++;
        } else {
          this.unlink(i, queue);
          this.link(i, PQ_CACHE);
          res.cached++;
        }
      }
      i = next;
    }
    return res;
  }

  private link(i: number, q: number): void {
    if (i >= this.queueOfIndex.length) {
      const grown = new Int8Array(this.machine.pages.flags.length).fill(PQ_NONE);
      grown.set(this.queueOfIndex);
      this.queueOfIndex = grown;
    }
    this.lists.addTail(q, i);
    this.queueOfIndex[i] = q;
    const db = this.machine.pages;
    const f = (db.flags[i]! | PG_lru) & ~PG_active;
    db.flags[i] = q === PQ_ACTIVE ? f | PG_active : f;
    this.listener?.queueChanged(i, PQ_NONE, q);
  }

  private unlink(i: number, q: number): void {
    this.lists.remove(q, i);
    this.queueOfIndex[i] = PQ_NONE;
    const db = this.machine.pages;
    db.flags[i] = db.flags[i]! & ~(PG_lru | PG_active);
    this.listener?.queueChanged(i, q, PQ_NONE);
  }

  private indexOf(pfn: number): number {
    if (typeof pfn !== "number" || !Number.isSafeInteger(pfn) || pfn < 0)
      throw new InvalidArgumentError(
        `pfn must be a non-negative integer no larger than 2^53 - 1, got ${describeValue(pfn)}`,
        "EINVAL",
        "pfn",
      );
    return this.machine.pages.indexOrPanic(pfn);
  }

  private checkQueue(queue: number): void {
    if (queue !== PQ_INACTIVE && queue !== PQ_ACTIVE && queue !== PQ_CACHE)
      throw new InvalidArgumentError(
        `queue must be PQ_INACTIVE, PQ_ACTIVE or PQ_CACHE, got ${describeValue(queue)}`,
        "EINVAL",
        "queue",
      );
  }
}
