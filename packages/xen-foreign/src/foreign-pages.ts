/**
 * Foreign pages: pages owned by a custom allocator that generic code reference-counts as usual,
 * whose final free goes back to the owner instead of the buddy free lists (Ian Pratt's 2004
 * `arch_free_page` return value, XenLinux's `PG_foreign` in `PG_arch_1` with a per-page
 * destructor).
 *
 * A page is marked with {@link PG_foreign} and its page database `mapping` word holds a small
 * destructor id from a table ({@link ForeignPages.registerDestructor}): no per-page closure. The
 * claiming free hook ({@link ForeignPages.hook}) is installed on a `BuddyAllocator`; at the final
 * free of a foreign page (count already 0) it calls the destructor exactly once and stops the
 * generic free. A normal page costs one index lookup and one flag test.
 *
 * @module
 */
import type { BuddyAllocator } from "@mem/buddy";
import {
  describeValue,
  type FreePageHook,
  InvalidArgumentError,
  KernelPanic,
  type Machine,
  type PageDatabase,
  PG_buddy,
  PG_foreign,
  PG_hole,
  PG_pcp,
  PG_reserved,
} from "@mem/machine";

/**
 * A per-page destructor: called at the final free of a foreign page, with the page's count at 0.
 * It owns the page from then on (XenLinux's `void (*)(struct page *, unsigned int order)`).
 */
export type ForeignDestructor = (pfn: number, order: number) => void;

/** Most destructors a {@link ForeignPages} table holds (ids 1..MAX; 0 means none). */
export const MAX_FOREIGN_DESTRUCTORS = 4096;

/** Flags a free or absent page carries: such a page cannot be made foreign. */
const NOT_OWNABLE = PG_buddy | PG_pcp | PG_reserved | PG_hole;

/**
 * The claiming free hook: a class, so the hot path is one monomorphic method call. It remembers the
 * last section it looked up (frees cluster), so most normal pages cost two compares, an add and a
 * flag test; any hotplug event forgets the section.
 */
class ForeignFreeHook implements FreePageHook {
  readonly name = "xen-foreign";
  /** Only foreign pages are ours: the allocator skips this hook for every other page. */
  readonly flagMask: number = PG_foreign;
  // The database object is stable (hot-add replaces its arrays, which are read afresh below).
  private readonly db: PageDatabase;
  private cStart = 0;
  private cEnd = 0;
  private cBase = 0;
  constructor(private readonly fp: ForeignPages) {
    this.db = fp.machine.pages;
  }
  /** Forgets the cached section (its slot may change on hotplug). */
  forget(): void {
    this.cStart = 0;
    this.cEnd = 0;
  }
  onFree(pfn: number, order: number): boolean {
    const db = this.db;
    let i: number;
    if (pfn >= this.cStart && pfn < this.cEnd) i = this.cBase + (pfn - this.cStart);
    else {
      i = db.indexOf(pfn);
      if (i < 0) return false;
      const off = pfn % db.sectionPages;
      this.cStart = pfn - off;
      this.cEnd = this.cStart + db.sectionPages;
      this.cBase = i - off;
    }
    if ((db.flags[i]! & PG_foreign) === 0) return false;
    this.fp.claim(i, pfn, order);
    return true;
  }
}

/**
 * The foreign-page mechanism over one machine's page database: the destructor table, the page
 * marks and the claiming free hook.
 */
export class ForeignPages {
  /** The machine whose pages are marked. */
  readonly machine: Machine;
  /** The claiming hook; install it with {@link ForeignPages.attach} (or `addFreeHook`). */
  readonly hook: FreePageHook;
  private readonly dtors: (ForeignDestructor | undefined)[] = [undefined];
  private readonly dtorNames: string[] = [""];
  private readonly dtorOwners: number[] = [0];
  private readonly ids = new Map<ForeignDestructor, number>();
  /** Destructor runs completed, by destructor id. */
  private readonly calls: number[] = [0];
  private claims = 0;

  /** @param machine - the machine whose page database holds the marks. */
  constructor(machine: Machine) {
    this.machine = machine;
    const hook = new ForeignFreeHook(this);
    this.hook = hook;
    machine.subscribe(() => {
      hook.forget();
      return true;
    });
  }

  /**
   * Registers a destructor under `name` (also registered as the machine's owner tag of pages that
   * use it) and returns its id. Registering the same function again returns the same id.
   *
   * @throws {@link @mem/machine!index.InvalidArgumentError} when `fn` is not a function or the table is full.
   */
  registerDestructor(name: string, fn: ForeignDestructor): number {
    if (typeof fn !== "function")
      throw new InvalidArgumentError(
        `a foreign destructor must be a function, got ${describeValue(fn)}`,
        "EINVAL",
        "dtor",
      );
    const known = this.ids.get(fn);
    if (known !== undefined) return known;
    if (this.dtors.length > MAX_FOREIGN_DESTRUCTORS)
      throw new InvalidArgumentError(
        `the foreign destructor table is full (${MAX_FOREIGN_DESTRUCTORS} entries)`,
        "ENOSPC",
        "dtor",
      );
    const owner = this.machine.registerOwner(String(name));
    const id = this.dtors.length;
    this.dtors.push(fn);
    this.dtorNames.push(String(name));
    this.dtorOwners.push(owner);
    this.calls.push(0);
    this.ids.set(fn, id);
    return id;
  }

  /** The id `fn` was registered under, or 0. */
  destructorId(fn: ForeignDestructor): number {
    return this.ids.get(fn) ?? 0;
  }

  /** The name destructor `id` was registered with ("" for an unknown id). */
  destructorName(id: number): string {
    return this.dtorNames[id] ?? "";
  }

  /** Installs the claiming hook on `buddy`; returns the function that removes it. */
  attach(buddy: BuddyAllocator): () => void {
    return buddy.addFreeHook(this.hook);
  }

  /**
   * `SetPageForeign(page, dtor)`: marks the allocated page at `pfn` foreign with destructor `dtor`
   * (an id or a registered function). Marking an already foreign page replaces its destructor.
   *
   * @throws {@link @mem/machine!index.InvalidArgumentError} for a bad pfn or an unknown destructor (Xen's
   * `BUG_ON(dtor == NULL)`); {@link @mem/machine!index.KernelPanic} for a page that is free, reserved or absent.
   */
  setForeign(pfn: number, dtor: number | ForeignDestructor): void {
    const i = this.index(pfn, "SetPageForeign");
    const id = typeof dtor === "function" ? this.destructorId(dtor) : dtor;
    if (typeof id !== "number" || !Number.isInteger(id) || id < 1 || id >= this.dtors.length)
      throw new InvalidArgumentError(
        `SetPageForeign: pfn ${describeValue(pfn)}: destructor ${describeValue(typeof dtor === "function" ? "(unregistered function)" : dtor)} is not registered`,
        "EINVAL",
        "dtor",
      );
    const db = this.machine.pages;
    const f = db.flags[i]!;
    if ((f & NOT_OWNABLE) !== 0)
      throw new KernelPanic(
        "bad-page",
        `SetPageForeign: pfn ${describeValue(pfn)} is ${(f & (PG_buddy | PG_pcp)) !== 0 ? "free in the page allocator" : "reserved"}, not an allocated page`,
      );
    db.flags[i] = f | PG_foreign;
    db.mapping[i] = id;
    db.owner[i] = this.dtorOwners[id]!;
  }

  /**
   * `ClearPageForeign(page)`: removes the mark and the destructor; the page becomes an ordinary
   * page whose last free goes to the buddy allocator.
   *
   * @throws {@link @mem/machine!index.KernelPanic} when the page is not foreign.
   */
  clearForeign(pfn: number): void {
    const i = this.index(pfn, "ClearPageForeign");
    const db = this.machine.pages;
    if ((db.flags[i]! & PG_foreign) === 0)
      throw new KernelPanic(
        "not-foreign",
        `ClearPageForeign: pfn ${describeValue(pfn)} is not a foreign page`,
      );
    db.flags[i] = db.flags[i]! & ~PG_foreign;
    db.mapping[i] = 0;
    db.owner[i] = 0;
  }

  /** `PageForeign(page)`: true when the page at `pfn` is foreign. */
  isForeign(pfn: number): boolean {
    const i = this.index(pfn, "PageForeign");
    return (this.machine.pages.flags[i]! & PG_foreign) !== 0;
  }

  /** The destructor id of the page at `pfn`, or 0 when it is not foreign. */
  destructorOf(pfn: number): number {
    const i = this.index(pfn, "PageForeignDestructor");
    const db = this.machine.pages;
    return (db.flags[i]! & PG_foreign) === 0 ? 0 : db.mapping[i]!;
  }

  /** The destructor function of the page at `pfn`, or null when it is not foreign. */
  destructorFunction(pfn: number): ForeignDestructor | null {
    return this.dtors[this.destructorOf(pfn)] ?? null;
  }

  /** Completed destructor runs: of destructor `id`, or of all when omitted. */
  destructorCalls(id?: number): number {
    if (id === undefined) return this.claims;
    return this.calls[id] ?? 0;
  }

  /**
   * Runs the destructor of the foreign page at index `i` (count 0): the claim. Called by the hook
   * and by the compat `arch_free_page`. If the destructor throws, nothing is counted and the error
   * propagates (the buddy allocator then restores the count: nothing lost).
   *
   * @internal
   */
  claim(i: number, pfn: number, order: number): void {
    const db = this.machine.pages;
    const rc = db.refcount[i]!;
    if (rc !== 0)
      throw new KernelPanic(
        "foreign-referenced",
        `foreign pfn ${describeValue(pfn)} reached its destructor with reference count ${rc}`,
      );
    const id = db.mapping[i]!;
    const fn = this.dtors[id];
    if (fn === undefined)
      throw new KernelPanic(
        "foreign-no-destructor",
        `foreign pfn ${describeValue(pfn)} carries destructor id ${id}, which is not registered`,
      );
    fn(pfn, order);
    if (order > 0) {
      // The owner now holds the whole block: tag its tail pages too.
      const n = 2 ** order;
      const tag = this.dtorOwners[id]!;
      for (let k = 1; k < n; k++) if (db.owner[i + k] === 0) db.owner[i + k] = tag;
    }
    this.calls[id] = this.calls[id]! + 1;
    this.claims++;
  }

  private index(pfn: number, what: string): number {
    if (typeof pfn !== "number" || !Number.isSafeInteger(pfn) || pfn < 0)
      throw new InvalidArgumentError(
        `${what}: pfn must be a non-negative integer no larger than 2^53 - 1, got ${describeValue(pfn)}`,
        "EINVAL",
        "pfn",
      );
    const i = this.machine.pages.indexOf(pfn);
    if (i < 0) throw new KernelPanic("bad-pfn", `${what}: pfn ${describeValue(pfn)} has no page`);
    return i;
  }
}
