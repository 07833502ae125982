/**
 * The allocator's own set of intrusive page lists: the same circular lists over the page
 * database's `next`/`prev` links as `@mem/machine`'s `PageListSet` (links hold `index + 1`, 0 means
 * "on no list", a page on a list is on exactly one), with the list heads and counts exposed as
 * typed arrays so that the allocator's hot paths can pop and push pages inline. The links written
 * are exactly the ones `PageListSet` would write, so other packages' lists over the same database
 * see the same state (a page on one of these lists is "on a list" for them too).
 *
 * @module
 */
import { KernelPanic, type PageDatabase } from "@mem/machine";

/** A numbered set of intrusive page lists with public heads and counts. */
export class PageLists {
  /** Index + 1 of each list's first page, 0 when empty. Hot paths update it inline. */
  readonly heads: Uint32Array;
  /** Pages on each list. Hot paths update it inline. */
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
    if (n === 0) listCorrupt(index);
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

  /** Links `index` before the head of `list` (the tail, in a circular list). */
  private link(list: number, index: number): void {
    const db = this.db;
    const next = db.next;
    const prev = db.prev;
    if (next[index] !== 0) doubleAdd(db, index);
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

/** The error `PageListSet` throws for taking a page off a list it is not on. */
export function listCorrupt(index: number): never {
  throw new KernelPanic("list-corrupt", `page index ${index} is on no list`);
}

/** The error `PageListSet` throws for adding a page that is already on a list. */
export function doubleAdd(db: PageDatabase, index: number): never {
  throw new KernelPanic("list-double-add", `page pfn ${db.pfnOf(index)} is already on a list`);
}
