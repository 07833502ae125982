/**
 * Fast pfn <-> page index conversion for the allocator's order-0 fast paths, giving exactly the
 * answers of `PageDatabase.indexOf` and `PageDatabase.pfnOf`: a one-entry cache of the section last
 * converted (either way), so that a page freed and allocated again in the same section costs a
 * range test and an addition instead of the database's divisions and two-level table walk. A miss
 * asks the database and refills the entry.
 *
 * The entry is dropped when the machine's RAM ranges change: `Machine` replaces its `ramRanges`
 * array on every hot-add and hot-remove, before any section is dropped, so a section that went away
 * (and a slot reused by another section) is never converted through a stale entry.
 * `test/fast-paths.test.ts` checks this across a remove and an add that reuses the slot.
 *
 * @module
 */
import type { Machine, PageDatabase, PfnRange } from "@mem/machine";

/** Exact pfn <-> index conversion with a one-section cache; see the module comment. */
export class SectionCache {
  // Declared (not defined as undefined first), so that V8 tracks the fields' types and the hot
  // paths skip checking them.
  declare private readonly machine: Machine;
  declare private readonly db: PageDatabase;
  /** Pages per section. */
  declare private readonly sp: number;
  /**
   * The `ramRanges` array the entry was made for. The entry fields are public, read-only outside
   * this class, so that the allocator's free fast path can make the hit test inline.
   */
  ram: readonly PfnRange[] | null = null;
  /** First pfn of the cached section, one past its last pfn (-1 and -1 when empty). */
  start = -1;
  /** See {@link start}. */
  end = -1;
  /** Index of the cached section's first page, one past its last page's (0 and 0 when empty). */
  base = 0;
  /** See {@link base}. */
  private baseEnd = 0;

  constructor(machine: Machine) {
    this.machine = machine;
    this.db = machine.pages;
    this.sp = this.db.sectionPages;
  }

  /**
   * `db.indexOf(pfn)`: the index of `pfn`'s page, or -1 when its section is not present. `pfn`
   * must be a non-negative safe integer.
   */
  indexOf(pfn: number): number {
    if (pfn >= this.start && pfn < this.end && this.machine.ramRanges === this.ram)
      return this.base + (pfn - this.start);
    const i = this.db.indexOf(pfn);
    if (i >= 0) this.fill(pfn, i);
    return i;
  }

  /** `db.pfnOf(i)`: the pfn of the page at index `i`, which must belong to a present section. */
  pfnOf(i: number): number {
    const base = this.base;
    if (i >= base && i < this.baseEnd && this.machine.ramRanges === this.ram)
      return this.start + (i - base);
    const pfn = this.db.pfnOf(i);
    this.fill(pfn, i);
    return pfn;
  }

  /** Caches the section holding `pfn`, whose page index is `i`. */
  private fill(pfn: number, i: number): void {
    const sp = this.sp;
    const base = Math.floor(i / sp) * sp;
    // Math.floor of an integer is the integer itself, but returns a small integer (not a boxed
    // double) when the value fits one: the fields then stay small-integer fields, and the fast
    // paths do integer arithmetic on pfns and indexes below 2^31 (larger values turn them into
    // double fields, still exact).
    const start = Math.floor(pfn - (i - base));
    this.start = start;
    this.end = Math.floor(start + sp);
    this.base = Math.floor(base);
    this.baseEnd = Math.floor(base + sp);
    this.ram = this.machine.ramRanges;
  }
}
