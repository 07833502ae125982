/**
 * The page frame database: one entry per page frame of every present sparsemem section, like
 * Linux's `struct page` array (`mem_map`) or FreeBSD's `vm_page_array`, laid out struct-of-arrays.
 *
 * Entries are addressed by a dense *index*, not by pfn: each present section owns a slot of
 * `sectionPages` consecutive indexes, so memory follows present RAM rather than the span of the
 * physical address space (a 1 TiB span with 64 GiB present costs 64 GiB worth of entries).
 * `indexOf(pfn)` and `pfnOf(index)` convert in O(1). Because sections are at least as large as the
 * largest buddy block and aligned, pfn arithmetic inside a section is index arithmetic too:
 * `indexOf(pfn + k) === indexOf(pfn) + k` while `pfn + k` stays in the same section.
 *
 * Bytes per page: flags 4 + refcount 4 + mapcount 4 + private 4 + mapping 4 + next 4 + prev 4 +
 * zoneNode 2 + owner 2 = 32.
 *
 * **Gotcha**: hot-adding memory may replace the typed arrays with larger ones. Read them through
 * the database (`db.flags[i]`) in each call; never keep an array across calls.
 *
 * @module
 */
import { type InvalidArgumentError, KernelPanic } from "./errors.js";
import { NO_ZONE } from "./internal/arch.js";
import { PG_reserved } from "./page-flags.js";
import { assertPowerOfTwo } from "./validate.js";

/** Sections per chunk of the two-level section-to-slot table. */
const CHUNK = 4096;
/** 1 / CHUNK, exact: a power of two. */
const INV_CHUNK = 1 / CHUNK;

/** Bytes each page costs in the database (sum of the per-page typed arrays). */
export const PAGE_DATABASE_BYTES_PER_PAGE = 32;

/**
 * Struct-of-arrays page frame database. All arrays are indexed by dense page index.
 */
export class PageDatabase {
  /** Page flags word (`PG_*` bits). */
  flags: Uint32Array;
  /** Reference count (`_refcount`); 0 when free. */
  refcount: Int32Array;
  /** Number of user mappings (`_mapcount + 1` in Linux terms): 0 when unmapped. */
  mapcount: Int32Array;
  /** Owner-private word: the order while the page heads a free buddy block. */
  private: Uint32Array;
  /** Owner's handle for the page (a file offset, a grant, an object id): `page->mapping/index`. */
  mapping: Uint32Array;
  /** Intrusive list link: index + 1 of the next page, 0 when on no list. */
  next: Uint32Array;
  /** Intrusive list link: index + 1 of the previous page, 0 when on no list. */
  prev: Uint32Array;
  /** `node * 8 + zoneType` ({@link NO_ZONE} for a page in no zone). */
  zoneNode: Uint16Array;
  /** Owner tag: who holds the page (0 = nobody). See {@link Machine.registerOwner}. */
  owner: Uint16Array;

  /** Pages per sparsemem section. */
  readonly sectionPages: number;
  /**
   * 1 / sectionPages, exact because sectionPages is a power of two: the conversions multiply
   * instead of dividing (a division costs several multiplications, and they run on every free).
   */
  private readonly invSectionPages: number;
  /** Section-to-slot table: `root[floor(sec / CHUNK)][sec % CHUNK]` is slot + 1, or 0. */
  private readonly root: (Int32Array | undefined)[] = [];
  /** First pfn of the section in each slot, or -1 for a free slot. */
  private slotPfn: Float64Array;
  /** Free slots, reused before the arrays grow. */
  private readonly freeSlots: number[] = [];
  private usedSlots = 0;

  /**
   * @param sectionPages - pages per section.
   * @param initialSlots - sections to make room for.
   * @throws {@link InvalidArgumentError} when `sectionPages` is not a power of two.
   */
  constructor(sectionPages: number, initialSlots: number) {
    assertPowerOfTwo("sectionPages", sectionPages);
    this.sectionPages = sectionPages;
    this.invSectionPages = 1 / sectionPages;
    const slots = Math.max(1, initialSlots);
    const n = slots * sectionPages;
    this.flags = new Uint32Array(n);
    this.refcount = new Int32Array(n);
    this.mapcount = new Int32Array(n);
    this.private = new Uint32Array(n);
    this.mapping = new Uint32Array(n);
    this.next = new Uint32Array(n);
    this.prev = new Uint32Array(n);
    this.zoneNode = new Uint16Array(n);
    this.owner = new Uint16Array(n);
    this.slotPfn = new Float64Array(slots).fill(-1);
    for (let s = slots - 1; s >= 0; s--) this.freeSlots.push(s);
  }

  /** Number of page entries that exist (present sections times pages per section). */
  get pageCount(): number {
    return this.usedSlots * this.sectionPages;
  }

  /** Bytes held by the per-page arrays, including room kept for hot-add. */
  get bytes(): number {
    return this.flags.length * PAGE_DATABASE_BYTES_PER_PAGE;
  }

  /** The dense index of `pfn`'s entry, or -1 when its section is not present. O(1). */
  indexOf(pfn: number): number {
    const sp = this.sectionPages;
    const sec = Math.floor(pfn * this.invSectionPages);
    // Chunk and offset in it without `/` and `%` (a float `%` is a call to fmod).
    const c = Math.floor(sec * INV_CHUNK);
    const chunk = this.root[c];
    if (chunk === undefined) return -1;
    const slot = chunk[sec - c * CHUNK]!;
    if (slot === 0) return -1;
    return (slot - 1) * sp + (pfn - sec * sp);
  }

  /** The pfn of the entry at `index`. The index must belong to a present section. O(1). */
  pfnOf(index: number): number {
    const sp = this.sectionPages;
    const slot = Math.floor(index * this.invSectionPages);
    return this.slotPfn[slot]! + (index - slot * sp);
  }

  /** True when the section with number `sec` has entries. */
  hasSection(sec: number): boolean {
    const chunk = this.root[Math.floor(sec / CHUNK)];
    return chunk !== undefined && chunk[sec % CHUNK]! !== 0;
  }

  /** The index of `pfn`, or a {@link KernelPanic} when the pfn has no page. */
  indexOrPanic(pfn: number): number {
    const i = Number.isSafeInteger(pfn) && pfn >= 0 ? this.indexOf(pfn) : -1;
    if (i < 0)
      throw new KernelPanic("bad-pfn", `pfn ${pfn} has no page frame (no present section)`);
    return i;
  }

  /**
   * Gives section `sec` entries, every page reserved, in no zone and on no list. Returns the slot.
   * @internal used by the machine at boot and on hot-add.
   */
  addSection(sec: number): number {
    if (this.hasSection(sec))
      throw new KernelPanic("section-present", `section ${sec} is already present`);
    if (this.freeSlots.length === 0) this.grow();
    const slot = this.freeSlots.pop()!;
    const c = Math.floor(sec / CHUNK);
    let chunk = this.root[c];
    if (chunk === undefined) {
      chunk = new Int32Array(CHUNK);
      this.root[c] = chunk;
    }
    chunk[sec % CHUNK] = slot + 1;
    this.slotPfn[slot] = sec * this.sectionPages;
    this.usedSlots++;
    const from = slot * this.sectionPages;
    const to = from + this.sectionPages;
    this.flags.fill(PG_reserved, from, to);
    this.zoneNode.fill(NO_ZONE, from, to);
    return slot;
  }

  /**
   * Drops section `sec`'s entries; its slot is reused by the next add.
   * @internal used by the machine on hot-remove.
   */
  removeSection(sec: number): void {
    const c = Math.floor(sec / CHUNK);
    const chunk = this.root[c];
    const slot1 = chunk === undefined ? 0 : chunk[sec % CHUNK]!;
    if (slot1 === 0) throw new KernelPanic("section-absent", `section ${sec} is not present`);
    const slot = slot1 - 1;
    chunk![sec % CHUNK] = 0;
    this.slotPfn[slot] = -1;
    const from = slot * this.sectionPages;
    const to = from + this.sectionPages;
    for (const a of [
      this.flags,
      this.refcount,
      this.mapcount,
      this.private,
      this.mapping,
      this.next,
      this.prev,
      this.zoneNode,
      this.owner,
    ]) {
      a.fill(0, from, to);
    }
    this.freeSlots.push(slot);
    this.usedSlots--;
  }

  /** The zone type id stored for the page at `index` ({@link NO_ZONE} if none). */
  zoneTypeAt(index: number): number {
    return this.zoneNode[index]! % 8;
  }

  /** The node id stored for the page at `index`. */
  nodeAt(index: number): number {
    return Math.floor(this.zoneNode[index]! / 8);
  }

  /** Doubles the slot capacity, copying every array. */
  private grow(): void {
    const oldSlots = this.slotPfn.length;
    const slots = oldSlots * 2;
    const n = slots * this.sectionPages;
    const copy = <T extends Uint32Array | Int32Array | Uint16Array>(
      a: T,
      make: (n: number) => T,
    ): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.flags = copy(this.flags, (k) => new Uint32Array(k));
    this.refcount = copy(this.refcount, (k) => new Int32Array(k));
    this.mapcount = copy(this.mapcount, (k) => new Int32Array(k));
    this.private = copy(this.private, (k) => new Uint32Array(k));
    this.mapping = copy(this.mapping, (k) => new Uint32Array(k));
    this.next = copy(this.next, (k) => new Uint32Array(k));
    this.prev = copy(this.prev, (k) => new Uint32Array(k));
    this.zoneNode = copy(this.zoneNode, (k) => new Uint16Array(k));
    this.owner = copy(this.owner, (k) => new Uint16Array(k));
    const slotPfn = new Float64Array(slots).fill(-1);
    slotPfn.set(this.slotPfn);
    this.slotPfn = slotPfn;
    for (let s = slots - 1; s >= oldSlots; s--) this.freeSlots.push(s);
  }
}
