/**
 * Intrusive doubly-linked page lists over the page frame database's `next`/`prev` links, like
 * Linux's `struct list_head` in `struct page`: free lists, per-CPU lists and page queues all use
 * them, and a page is on at most one list at a time (adding a page that is already on a list is a
 * {@link KernelPanic}). Lists are circular; a set of lists keeps only a head per list, in a typed
 * array, so a zone's 11 orders times 3 migratetypes cost 33 words.
 *
 * Links hold `index + 1` so that 0 means "on no list" and fresh arrays need no initialisation.
 *
 * @module
 */
import { KernelPanic } from "./errors.js";
import type { PageDatabase } from "./page-database.js";

/** The panic for taking a page off a list it is not on. */
export function pageListCorrupt(index: number): never {
  throw new KernelPanic("list-corrupt", `page index ${index} is on no list`);
}

/** The panic for adding a page that is already on a list. */
export function pageListDoubleAdd(db: PageDatabase, index: number): never {
  throw new KernelPanic("list-double-add", `page pfn ${db.pfnOf(index)} is already on a list`);
}

/**
 * A numbered set of page lists sharing one page database.
 *
 * `heads` and `counts` are public so that an allocator's hot path can pop and push pages inline
 * (as `@mem/buddy` does); code that does so must keep exactly the invariants these methods keep.
 */
export class PageListSet {
  /** Index + 1 of each list's first page, 0 when empty. */
  readonly heads: Uint32Array;
  /** Pages on each list. */
  readonly counts: Float64Array;
  /** The page database whose links the lists use. */
  readonly db: PageDatabase;

  /**
   * @param db - the page database whose links the lists use.
   * @param lists - how many lists.
   */
  constructor(db: PageDatabase, lists: number) {
    this.db = db;
    this.heads = new Uint32Array(lists);
    this.counts = new Float64Array(lists);
  }

  /** Number of lists in the set. */
  get size(): number {
    return this.heads.length;
  }

  /** Pages on list `list`. */
  count(list: number): number {
    return this.counts[list]!;
  }

  /** True when list `list` is empty. */
  isEmpty(list: number): boolean {
    return this.heads[list] === 0;
  }

  /** Index of the first page of `list`, or -1 when empty. */
  first(list: number): number {
    return this.heads[list]! - 1;
  }

  /** Index of the last page of `list`, or -1 when empty. */
  last(list: number): number {
    const h = this.heads[list]!;
    return h === 0 ? -1 : this.db.prev[h - 1]! - 1;
  }

  /** Index of the page after `index` on its list, or -1 at the end of `list`. */
  nextOf(list: number, index: number): number {
    const n = this.db.next[index]!;
    return n === this.heads[list] ? -1 : n - 1;
  }

  /** True when the page at `index` is on some list. */
  isLinked(index: number): boolean {
    return this.db.next[index] !== 0;
  }

  /** Puts the page at `index` first on `list` (Linux's `list_add`). */
  addHead(list: number, index: number): void {
    this.link(list, index);
    this.heads[list] = index + 1;
  }

  /** Puts the page at `index` last on `list` (Linux's `list_add_tail`). */
  addTail(list: number, index: number): void {
    this.link(list, index);
  }

  /** Takes the page at `index` off `list`. It must be on that list. */
  remove(list: number, index: number): void {
    const db = this.db;
    const next = db.next;
    const prev = db.prev;
    const n = next[index]!;
    if (n === 0) pageListCorrupt(index);
    const me = index + 1;
    if (n === me) {
      this.heads[list] = 0;
    } else {
      const p = prev[index]!;
      next[p - 1] = n;
      prev[n - 1] = p;
      if (this.heads[list] === me) this.heads[list] = n;
    }
    next[index] = 0;
    prev[index] = 0;
    this.counts[list] = this.counts[list]! - 1;
  }

  /** Takes the first page off `list` and returns its index, or -1 when the list is empty. */
  popHead(list: number): number {
    const h = this.heads[list]!;
    if (h === 0) return -1;
    this.remove(list, h - 1);
    return h - 1;
  }

  /** Takes the last page off `list` and returns its index, or -1 when the list is empty. */
  popTail(list: number): number {
    const t = this.last(list);
    if (t < 0) return -1;
    this.remove(list, t);
    return t;
  }

  /** Indexes of the pages on `list`, first to last. Not for hot paths. */
  *indexes(list: number): IterableIterator<number> {
    let i = this.first(list);
    while (i >= 0) {
      const after = this.nextOf(list, i);
      yield i;
      i = after;
    }
  }

  /** Links `index` before the head of `list` (the tail, in a circular list). */
  private link(list: number, index: number): void {
    const db = this.db;
    const next = db.next;
    const prev = db.prev;
    if (next[index] !== 0) pageListDoubleAdd(db, index);
    const me = index + 1;
    const h = this.heads[list]!;
    if (h === 0) {
      next[index] = me;
      prev[index] = me;
      this.heads[list] = me;
    } else {
      const t = prev[h - 1]!;
      next[index] = h;
      prev[index] = t;
      next[t - 1] = me;
      prev[h - 1] = me;
    }
    this.counts[list] = this.counts[list]! + 1;
  }
}
