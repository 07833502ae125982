import { ENOMEM, InvalidArgumentError, KernelPanic } from "./errors.js";
import { BlockArena } from "./internal/arena.js";
import { clearLeafRange, leafIsZero, popcount32, scanLeaf } from "./internal/bits.js";
import { directLength, directMaxLength } from "./internal/direct.js";
import { type Geometry, geometryOf, levelsFor, tablePagesForAll } from "./internal/geometry.js";
import type { HotplugEvent, HotplugSource, PageAllocator, PfnRange, PfnSpace } from "./types.js";

/**
 * Which pfns get bitmap pages: "present" only where valid pfns exist (PRESENT_PAGES_ONLY),
 * "all" for every pfn the address width allows (ALL_PAGES), "sparse" only when a bit is set
 * (TuxOnIce's sparse maps).
 */
export type PageFlagMode = "present" | "all" | "sparse";

/** Options for {@link createPageFlags}. */
export interface PageFlagOptions {
  /** The machine: page size, address width, present pfn ranges. */
  readonly space: PfnSpace;
  /** Where bitmap and table pages come from (order-0 pages). */
  readonly allocator: PageAllocator;
  /** Which pfns get bitmap pages; see {@link PageFlagMode}. */
  readonly mode: PageFlagMode;
  /**
   * Most pages (bitmap plus table) the map may hold; default {@link DEFAULT_PAGE_BUDGET}.
   * An allocation that would go beyond it fails as if the allocator were empty, before any page
   * is taken (an ALL_PAGES map of a 52-bit machine would need 2^25 pages).
   */
  readonly pageBudget?: number;
}

/**
 * Default page budget: 2^18 pages (1 GiB of bitmap with 4 KiB pages, a 32 TiB span); with larger
 * pages, as many pages as make 1 GiB.
 */
export const DEFAULT_PAGE_BUDGET: number = 2 ** 18;

/** Budget ceiling: the bitmap arena stays below 2^31 words (8 GiB). */
const MAX_ARENA_WORDS = 2 ** 31 - 1;

/** An empty word array: the direct leaf table of a map without leaves (or that walks its table). */
const NO_DIRECT: Int32Array = new Int32Array(0);

interface PageRecord {
  readonly pfn: number;
  readonly allocator: PageAllocator;
}

interface LeafRecord extends PageRecord {
  /** First word of the leaf in the bitmap arena. */
  readonly base: number;
}

/**
 * A dynamically allocated page bitmap: one bit per pfn, held in order-0 bitmap pages hanging off
 * a multi-level table of pointer pages (like the kernel's memory bitmap radix tree). A missing
 * bitmap page reads as all zeros.
 */
export class PageFlagMap {
  /** Which pfns get bitmap pages. */
  readonly mode: PageFlagMode;
  /** Bytes per page of the machine (and per bitmap page). */
  readonly pageSize: number;
  /** Physical address width of the machine. */
  readonly physAddrBits: number;
  /** Pfns one bitmap page covers: pageSize * 8. */
  readonly bitsPerPage: number;
  /** One past the highest pfn the map can hold: 2^(physAddrBits - log2(pageSize)). */
  readonly pfnLimit: number;

  private readonly g: Geometry;
  private readonly space: PfnSpace;
  private readonly budget: number;
  private allocator: PageAllocator;
  // Fields read on the hot path are initialised here with a value of their final kind (a double,
  // a typed array), not left undefined until the constructor runs: V8 then keeps them as raw
  // doubles / typed-array fields and the optimised `test`/`set` need no type checks on them.
  /** pfnLimit while usable, 0 once freed (so every pfn check fails into `badPfn`). */
  private limit = Number.NaN;
  /** Pfns per bitmap page (as a double). */
  private readonly bits: number = Number.NaN;
  /** 1 / bits. */
  private readonly invBits: number = Number.NaN;
  /** Bitmap words of every leaf, `wordsPerLeaf` per leaf (the leaf arena's array). */
  private words: Int32Array = NO_DIRECT;
  /**
   * Direct leaf table (see internal/direct.ts): `direct[n]` is the word offset of leaf n in
   * `words`, or -1 when it is missing. When `directCovers`, it covers every leaf (leaf numbers
   * at or past its length are missing); otherwise it is empty and lookups walk the table.
   */
  private direct: Int32Array = NO_DIRECT;
  private directCovers = true;
  /** Table entries, `fanout` per table page: child offset + 1, or 0 for none. */
  private table: Int32Array = NO_DIRECT;
  private freed = false;
  private readonly leafArena: BlockArena;
  private readonly nodeArena: BlockArena;
  /** Offset of the root table page in `table`, or -1. */
  private rootBase = -1;
  private levels = 0;
  /** Leaf slots the table reaches: fanout^levels (0 without a root). */
  private cap = 0;
  private readonly levelMask: number = 0;
  private readonly levelBits: number = 0;
  private readonly wpl: number = 0;
  private cacheNo = -1;
  private cacheBase = -1;
  /** Highest leaf number held, or -1. */
  private maxLeafNo = -1;
  private readonly leafRecs = new Map<number, LeafRecord>();
  private readonly nodeRecs = new Map<number, PageRecord>();
  private readonly unsubscribers: (() => void)[] = [];

  /** Use {@link createPageFlags}; the constructor takes no pages. */
  constructor(options: PageFlagOptions) {
    const { space, allocator, mode } = options;
    if (mode !== "present" && mode !== "all" && mode !== "sparse") {
      throw new InvalidArgumentError(
        "EINVAL",
        `mode ${String(mode)} is not "present", "all" or "sparse"`,
      );
    }
    if (allocator === null || typeof allocator !== "object") {
      throw new InvalidArgumentError("EINVAL", "allocator is not a PageAllocator");
    }
    this.g = geometryOf(space);
    const maxPages = Math.floor(MAX_ARENA_WORDS / this.g.wordsPerLeaf);
    const budget =
      options.pageBudget ?? Math.min(DEFAULT_PAGE_BUDGET, Math.floor(2 ** 30 / this.g.pageSize));
    if (!(Number.isInteger(budget) && budget >= 0 && budget <= maxPages)) {
      throw new InvalidArgumentError(
        "EINVAL",
        `pageBudget ${String(budget)} is not an integer in [0, ${maxPages}]`,
      );
    }
    this.space = space;
    this.allocator = allocator;
    this.budget = budget;
    this.mode = mode;
    this.pageSize = this.g.pageSize;
    this.physAddrBits = this.g.physAddrBits;
    this.bitsPerPage = this.g.bitsPerLeaf;
    this.pfnLimit = this.g.pfnLimit;
    this.limit = this.g.pfnLimit;
    this.levelBits = this.g.levelBits;
    this.levelMask = this.g.fanout - 1;
    this.bits = this.g.bitsPerLeaf;
    this.invBits = this.g.invBitsPerLeaf;
    this.wpl = this.g.wordsPerLeaf;
    this.leafArena = new BlockArena(this.g.wordsPerLeaf);
    this.nodeArena = new BlockArena(this.g.fanout);
    this.words = this.leafArena.words;
    this.table = this.nodeArena.words;
  }

  /**
   * Takes the bitmap pages the mode needs up front: none for "sparse", those over present pfns
   * for "present", all of them for "all". Returns 0, or -ENOMEM with every page given back.
   */
  populate(): number {
    this.checkUsable();
    if (this.mode === "sparse") return 0;
    if (this.mode === "all") {
      const need = this.g.leafSlots + tablePagesForAll(this.g);
      if (this.pagesUsed() + need > this.budget) return -ENOMEM;
      const all: number[] = [];
      for (let i = 0; i < this.g.leafSlots; i++) if (!this.leafRecs.has(i)) all.push(i);
      return this.insertLeaves(all) ? 0 : -ENOMEM;
    }
    const want = this.leavesOver(this.space.presentPfnRanges(), 0, this.pfnLimit).filter(
      (no) => !this.leafRecs.has(no),
    );
    return this.insertLeaves(want) ? 0 : -ENOMEM;
  }

  // ---------------------------------------------------------------- single bits

  // `set`, `clear` and `test` try the direct leaf table first (see internal/direct.ts), with no
  // 32-bit operation on the pfn itself. For a number `pfn`, `q = floor(pfn / bitsPerLeaf)` is
  // exact (a power of two), and `0 <= q < direct.length` means 0 <= pfn < pfnLimit (the table
  // only covers leaves wholly below the limit) and q < 2^31, so `q | 0` is exact. `exact` is the
  // bit index inside the leaf, below bitsPerLeaf <= 2^31 while the table is in use, and
  // `exact | 0` equals it only when pfn is an integer. Anything else (no table, a missing leaf,
  // a bad pfn, a freed map) takes the `...Checked` path, which validates and walks as before.

  /** Sets the bit of `pfn`. Sparse maps take a bitmap page if needed (KernelPanic if none). */
  set(pfn: number): void {
    if (typeof pfn === "number") {
      const q = Math.floor(pfn * this.invBits);
      const direct = this.direct;
      if (q >= 0 && q < direct.length) {
        const exact = pfn - q * this.bits;
        const bit = exact | 0;
        const base = direct[q | 0]!;
        if (bit === exact && base >= 0) {
          const words = this.words;
          const i = base + (bit >>> 5);
          words[i] = words[i]! | (1 << (bit & 31));
          return;
        }
      }
    }
    this.setChecked(pfn);
  }

  /** Clears the bit of `pfn`; a missing bitmap page is left missing. */
  clear(pfn: number): void {
    if (typeof pfn === "number") {
      const q = Math.floor(pfn * this.invBits);
      const direct = this.direct;
      if (q >= 0 && q < direct.length) {
        const exact = pfn - q * this.bits;
        const bit = exact | 0;
        const base = direct[q | 0]!;
        if (bit === exact && base >= 0) {
          const words = this.words;
          const i = base + (bit >>> 5);
          words[i] = words[i]! & ~(1 << (bit & 31));
          return;
        }
      }
    }
    this.clearChecked(pfn);
  }

  /** True when the bit of `pfn` is set; a missing bitmap page reads as zeros. */
  test(pfn: number): boolean {
    if (typeof pfn === "number") {
      const q = Math.floor(pfn * this.invBits);
      const direct = this.direct;
      if (q >= 0 && q < direct.length) {
        const exact = pfn - q * this.bits;
        const bit = exact | 0;
        if (bit === exact) {
          const base = direct[q | 0]!;
          return base >= 0 && (this.words[base + (bit >>> 5)]! & (1 << (bit & 31))) !== 0;
        }
      }
    }
    return this.testChecked(pfn);
  }

  /** True when `pfn` has a bitmap page (so `set` works on it without allocating). */
  covers(pfn: number): boolean {
    if (!(pfn >= 0 && pfn < this.limit && Math.floor(pfn) === pfn)) throw this.badPfn(pfn);
    return this.offsetOf(Math.floor(pfn * this.invBits)) >= 0;
  }

  /**
   * The bitmap page holding the bit of `pfn`, as a Uint32Array view aliasing it (bit `pfn % 32`
   * of word `(pfn % bitsPerPage) / 32`), or null when that page is missing (PAGE_UL_PTR). The
   * view stays valid until the map next takes a page (the arena behind it may then move).
   */
  bitmapPage(pfn: number): Uint32Array | null {
    if (!(pfn >= 0 && pfn < this.limit && Math.floor(pfn) === pfn)) throw this.badPfn(pfn);
    const base = this.offsetOf(Math.floor(pfn * this.invBits));
    if (base < 0) return null;
    return new Uint32Array(this.words.buffer, this.words.byteOffset + base * 4, this.wpl);
  }

  // ---------------------------------------------------------------- scans

  /**
   * The first set pfn at or after `from`, or -1. Missing bitmap pages and zero words are skipped
   * one step each. `from` may equal pfnLimit (then -1).
   */
  nextSet(from: number): number {
    if (!(from >= 0 && from <= this.limit && Math.floor(from) === from)) throw this.badPfn(from);
    if (from === this.limit) return -1;
    let leafNo = Math.floor(from * this.invBits);
    let bit = from - leafNo * this.bits;
    for (;;) {
      let base: number;
      if (leafNo === this.cacheNo) {
        base = this.cacheBase;
      } else {
        const next = this.nextLeafNo(leafNo);
        if (next < 0) return -1;
        if (next !== leafNo) {
          leafNo = next;
          bit = 0;
        }
        base = this.offsetOf(leafNo);
        this.cacheNo = leafNo;
        this.cacheBase = base;
      }
      const found = scanLeaf(this.words, base, this.wpl, bit);
      if (found >= 0) {
        const pfn = leafNo * this.bits + found;
        return pfn < this.limit ? pfn : -1;
      }
      leafNo++;
      bit = 0;
    }
  }

  /** Iterates over the set pfns in ascending order. */
  [Symbol.iterator](): IterableIterator<number> {
    this.checkUsable();
    const bases: number[] = [];
    const firsts: number[] = [];
    for (let no = this.nextLeafNo(0); no >= 0; no = this.nextLeafNo(no + 1)) {
      bases.push(this.offsetOf(no));
      firsts.push(no * this.bits);
    }
    return new SetBitIterator(this.words, this.wpl, bases, firsts, this.limit);
  }

  /** Calls `fn` with every set pfn in ascending order. */
  forEachSet(fn: (pfn: number) => void): void {
    for (const pfn of this) fn(pfn);
  }

  /** Number of set bits (population count). */
  count(): number {
    this.checkUsable();
    const words = this.words;
    let n = 0;
    for (const rec of this.leafRecs.values()) {
      for (let w = rec.base, end = rec.base + this.wpl; w < end; w++) {
        const word = words[w]!;
        if (word !== 0) n += popcount32(word);
      }
    }
    return n;
  }

  // ---------------------------------------------------------------- whole-map operations

  /** this &= other. Never allocates. */
  and(other: PageFlagMap): void {
    this.checkPeer(other);
    const mine = this.words;
    const theirs = other.words;
    for (const [leafNo, rec] of this.leafRecs) {
      const o = other.offsetOf(leafNo);
      if (o < 0) mine.fill(0, rec.base, rec.base + this.wpl);
      else
        for (let w = 0; w < this.wpl; w++)
          mine[rec.base + w] = mine[rec.base + w]! & theirs[o + w]!;
    }
  }

  /** this &= ~other. Never allocates. */
  andNot(other: PageFlagMap): void {
    this.checkPeer(other);
    const mine = this.words;
    const theirs = other.words;
    for (const [leafNo, rec] of this.leafRecs) {
      const o = other.offsetOf(leafNo);
      if (o >= 0) {
        for (let w = 0; w < this.wpl; w++)
          mine[rec.base + w] = mine[rec.base + w]! & ~theirs[o + w]!;
      }
    }
  }

  /**
   * this |= other. A sparse map takes the bitmap pages it lacks (all or none: KernelPanic
   * "ENOMEM" if it cannot); a non-sparse map throws KernelPanic "EFAULT" when `other` has bits
   * where it has no bitmap page. Either way nothing changes before the check passes.
   */
  or(other: PageFlagMap): void {
    this.checkPeer(other);
    const missing: number[] = [];
    for (const [leafNo, rec] of other.leafRecs) {
      if (this.leafRecs.has(leafNo)) continue;
      const first = scanLeaf(other.words, rec.base, this.wpl, 0);
      if (first < 0) continue;
      const pfn = leafNo * this.bits + first;
      if (pfn >= this.limit) {
        throw new InvalidArgumentError(
          "ERANGE",
          `or: pfn ${pfn} of the other map is beyond this map's limit ${this.limit}`,
        );
      }
      if (this.mode !== "sparse") {
        throw new KernelPanic(
          "EFAULT",
          `or: pfn ${pfn} is set in the other map but has no bitmap page in this ${this.mode} map`,
        );
      }
      missing.push(leafNo);
    }
    if (missing.length > 0) {
      missing.sort((a, b) => a - b);
      if (!this.insertLeaves(missing)) {
        throw new KernelPanic(
          "ENOMEM",
          `or: no page for ${missing.length} bitmap page(s) of a sparse map`,
        );
      }
    }
    const mine = this.words;
    const theirs = other.words;
    for (const [leafNo, rec] of other.leafRecs) {
      const m = this.offsetOf(leafNo);
      if (m < 0) continue;
      for (let w = 0; w < this.wpl; w++) mine[m + w] = mine[m + w]! | theirs[rec.base + w]!;
    }
  }

  /** Clears every bit; keeps the bitmap pages (clear_dyn_pageflags). */
  clearAll(): void {
    this.checkUsable();
    for (const rec of this.leafRecs.values()) this.words.fill(0, rec.base, rec.base + this.wpl);
  }

  /**
   * Gives every page back to the allocator it came from and unsubscribes from hotplug sources.
   * The map is unusable afterwards; freeing twice throws.
   */
  free(): void {
    this.checkUsable();
    for (const off of this.unsubscribers.splice(0)) off();
    for (const rec of this.leafRecs.values()) rec.allocator.freePages(rec.pfn, 0);
    for (const rec of this.nodeRecs.values()) rec.allocator.freePages(rec.pfn, 0);
    this.leafRecs.clear();
    this.nodeRecs.clear();
    this.leafArena.reset();
    this.nodeArena.reset();
    this.words = this.leafArena.words;
    this.table = this.nodeArena.words;
    this.rootBase = -1;
    this.setLevels(0);
    this.direct = NO_DIRECT;
    this.directCovers = true;
    this.maxLeafNo = -1;
    this.freed = true;
    this.limit = 0;
  }

  /** Switches the allocator later pages come from (bootmem at boot, buddy later); pages go back where they came from. */
  useAllocator(allocator: PageAllocator): void {
    this.checkUsable();
    if (allocator === null || typeof allocator !== "object") {
      throw new InvalidArgumentError("EINVAL", "allocator is not a PageAllocator");
    }
    this.allocator = allocator;
  }

  /** Pages the map holds: bitmap pages plus table pages. */
  pagesUsed(): number {
    return this.leafRecs.size + this.nodeRecs.size;
  }

  /**
   * Bytes of the direct leaf table, the lookup cache `test`/`set`/`clear` go through: 4 per leaf
   * slot up to a little past the highest bitmap page, at most 1/16 of the bitmap's bytes, 0 when
   * the span is too sparse for it (the map then walks its table). JS heap memory, not pages of
   * the machine, so not part of `bytesUsed`.
   */
  directTableBytes(): number {
    return this.direct.byteLength;
  }

  /** Bitmap pages (leaves) the map holds. */
  bitmapPages(): number {
    return this.leafRecs.size;
  }

  /** Bytes the map holds: pagesUsed() * pageSize. */
  bytesUsed(): number {
    return this.pagesUsed() * this.pageSize;
  }

  /** True once `free` ran. */
  isFreed(): boolean {
    return this.freed;
  }

  /** Sorted, merged pfn ranges that have bitmap pages (clipped to pfnLimit). */
  coveredRanges(): PfnRange[] {
    const nos = [...this.leafRecs.keys()].sort((a, b) => a - b);
    const out: { start: number; end: number }[] = [];
    for (const no of nos) {
      const start = no * this.bits;
      const end = Math.min(start + this.bits, this.pfnLimit);
      const last = out[out.length - 1];
      if (last !== undefined && last.end === start) last.end = end;
      else out.push({ start, end });
    }
    return out;
  }

  // ---------------------------------------------------------------- hotplug

  /**
   * Follows memory hotplug: a present-mode map takes bitmap pages for a range coming online; on
   * offline every map clears the range's bits and drops bitmap pages left with no present pfn
   * (present mode) or no set bit (sparse mode). Returns the unsubscribe function.
   */
  subscribe(source: HotplugSource): () => void {
    this.checkUsable();
    const off = source.subscribe((event) => this.onHotplug(event));
    let done = false;
    const unsubscribe = (): void => {
      if (done) return;
      done = true;
      const i = this.unsubscribers.indexOf(unsubscribe);
      if (i >= 0) this.unsubscribers.splice(i, 1);
      off();
    };
    this.unsubscribers.push(unsubscribe);
    return unsubscribe;
  }

  /**
   * Handles one hotplug event (what `subscribe` wires up). "online" in present mode returns false
   * when no pages could be had (the range then stays uncovered); nothing is ever vetoed.
   */
  onHotplug(event: HotplugEvent): boolean | undefined {
    this.checkUsable();
    const { startPfn, endPfn } = event;
    if (
      !(Number.isInteger(startPfn) && Number.isInteger(endPfn)) ||
      startPfn < 0 ||
      endPfn < startPfn ||
      endPfn > this.limit
    ) {
      throw new InvalidArgumentError(
        "EINVAL",
        `hotplug range [${String(startPfn)}, ${String(endPfn)}) is not inside [0, ${this.limit})`,
      );
    }
    if (startPfn === endPfn) return undefined;
    if (event.type === "online") {
      if (this.mode !== "present") return undefined;
      const want = this.leavesOver([{ start: startPfn, end: endPfn }], 0, this.limit).filter(
        (no) => !this.leafRecs.has(no),
      );
      return this.insertLeaves(want) ? undefined : false;
    }
    if (event.type === "offline") this.dropRange(startPfn, endPfn);
    return undefined;
  }

  // ---------------------------------------------------------------- checking

  /**
   * Debug aid, O(pages): checks that the table and the page records agree, that no table page is
   * empty, and (present mode) that every bitmap page covers a present pfn. Throws KernelPanic.
   */
  selfCheck(): void {
    const seenLeaves = new Set<number>();
    const seenNodes = new Set<number>();
    const fanout = this.g.fanout;
    const walk = (node: number, height: number, first: number): void => {
      if (!this.nodeRecs.has(node)) throw new KernelPanic("EFAULT", "table page without record");
      seenNodes.add(node);
      let used = 0;
      const span = fanout ** (height - 1);
      for (let i = 0; i < fanout; i++) {
        const entry = this.table[node + i]!;
        if (entry === 0) continue;
        used++;
        const childFirst = first + i * span;
        if (height === 1) {
          const rec = this.leafRecs.get(childFirst);
          if (rec === undefined || rec.base !== entry - 1) {
            throw new KernelPanic("EFAULT", `leaf ${childFirst} in table but not recorded`);
          }
          seenLeaves.add(childFirst);
        } else {
          walk(entry - 1, height - 1, childFirst);
        }
      }
      if (used === 0) throw new KernelPanic("EFAULT", `empty table page at height ${height}`);
    };
    if (this.rootBase >= 0) walk(this.rootBase, this.levels, 0);
    if (seenLeaves.size !== this.leafRecs.size || seenNodes.size !== this.nodeRecs.size) {
      throw new KernelPanic(
        "EFAULT",
        `records (${this.leafRecs.size} leaves, ${this.nodeRecs.size} table pages) disagree with table (${seenLeaves.size}, ${seenNodes.size})`,
      );
    }
    if (this.leafArena.used !== this.leafRecs.size || this.nodeArena.used !== this.nodeRecs.size) {
      throw new KernelPanic("EFAULT", "arena block counts disagree with the page records");
    }
    this.checkDirect();
    if (this.mode === "present") {
      for (const no of this.leafRecs.keys()) {
        const start = no * this.bits;
        if (!this.space.pfnValidRange(start, Math.min(start + this.bits, this.pfnLimit))) {
          throw new KernelPanic(
            "EFAULT",
            `bitmap page for pfns from ${start} covers no present pfn`,
          );
        }
      }
    }
  }

  // ---------------------------------------------------------------- internals

  /** selfCheck's part for the direct leaf table: it agrees with the records and its budget. */
  private checkDirect(): void {
    const direct = this.direct;
    let max = -1;
    for (const no of this.leafRecs.keys()) if (no > max) max = no;
    if (max !== this.maxLeafNo) {
      throw new KernelPanic("EFAULT", `highest leaf ${this.maxLeafNo} recorded, ${max} held`);
    }
    if (!this.directCovers) {
      if (direct.length !== 0) throw new KernelPanic("EFAULT", "direct table kept while walking");
      return;
    }
    if (max >= direct.length) {
      throw new KernelPanic("EFAULT", `leaf ${max} beyond the direct table (${direct.length})`);
    }
    if (
      direct.length > directMaxLength(this.leafRecs.size, this.wpl) ||
      direct.length * this.bits > this.pfnLimit
    ) {
      throw new KernelPanic("EFAULT", `direct table of ${direct.length} slots is over its budget`);
    }
    for (let no = 0; no < direct.length; no++) {
      const want = this.leafRecs.get(no)?.base ?? -1;
      if (direct[no] !== want) {
        throw new KernelPanic("EFAULT", `direct table slot ${no} holds ${direct[no]}, not ${want}`);
      }
    }
  }

  private checkUsable(): void {
    if (this.freed) throw new InvalidArgumentError("EINVAL", "the page flag map was freed");
  }

  private checkPeer(other: PageFlagMap): void {
    this.checkUsable();
    if (!(other instanceof PageFlagMap)) {
      throw new InvalidArgumentError("EINVAL", "the other operand is not a PageFlagMap");
    }
    other.checkUsable();
    if (other.pageSize !== this.pageSize) {
      throw new InvalidArgumentError(
        "EINVAL",
        `page sizes differ: ${this.pageSize} and ${other.pageSize}`,
      );
    }
  }

  private badPfn(pfn: number): Error {
    if (this.freed) return new InvalidArgumentError("EINVAL", "the page flag map was freed");
    if (typeof pfn !== "number" || !Number.isInteger(pfn) || pfn < 0) {
      return new InvalidArgumentError("EINVAL", `pfn ${String(pfn)} is not a non-negative integer`);
    }
    return new InvalidArgumentError(
      "ERANGE",
      `pfn ${pfn} is beyond the ${this.physAddrBits}-bit address width (limit ${this.limit})`,
    );
  }

  /** `set` with every check, through the direct table or the multi-level walk. */
  private setChecked(pfn: number): void {
    if (!(pfn >= 0 && pfn < this.limit && Math.floor(pfn) === pfn)) throw this.badPfn(pfn);
    const leafNo = Math.floor(pfn * this.invBits);
    let base = this.offsetOf(leafNo);
    if (base < 0) base = this.leafForSet(pfn, leafNo);
    const bit = pfn - leafNo * this.bits;
    const i = base + (bit >>> 5);
    this.words[i] = this.words[i]! | (1 << (bit & 31));
  }

  /** `clear` with every check. */
  private clearChecked(pfn: number): void {
    if (!(pfn >= 0 && pfn < this.limit && Math.floor(pfn) === pfn)) throw this.badPfn(pfn);
    const leafNo = Math.floor(pfn * this.invBits);
    const base = this.offsetOf(leafNo);
    if (base < 0) return;
    const bit = pfn - leafNo * this.bits;
    const i = base + (bit >>> 5);
    this.words[i] = this.words[i]! & ~(1 << (bit & 31));
  }

  /** `test` with every check. */
  private testChecked(pfn: number): boolean {
    if (!(pfn >= 0 && pfn < this.limit && Math.floor(pfn) === pfn)) throw this.badPfn(pfn);
    const leafNo = Math.floor(pfn * this.invBits);
    const base = this.offsetOf(leafNo);
    if (base < 0) return false;
    const bit = pfn - leafNo * this.bits;
    return (this.words[base + (bit >>> 5)]! & (1 << (bit & 31))) !== 0;
  }

  private leafForSet(pfn: number, leafNo: number): number {
    if (this.mode !== "sparse") {
      throw new KernelPanic(
        "EFAULT",
        `set: pfn ${pfn} has no bitmap page in this ${this.mode} map (not present when allocated)`,
      );
    }
    if (!this.insertLeaves([leafNo])) {
      throw new KernelPanic(
        "ENOMEM",
        `set: no page for the bitmap page of pfn ${pfn} in a sparse map (BUG)`,
      );
    }
    return this.offsetOf(leafNo);
  }

  /** Word offset of leaf `leafNo` in `words`, or -1 when it is missing. */
  private offsetOf(leafNo: number): number {
    const direct = this.direct;
    return leafNo < direct.length ? direct[leafNo]! : this.farOffset(leafNo);
  }

  /** Offset of a leaf past the direct table's end: missing if the table covers every leaf. */
  private farOffset(leafNo: number): number {
    return this.directCovers ? -1 : this.walkOffset(leafNo);
  }

  /** Word offset of leaf `leafNo` by the multi-level walk, or -1. Unrolled: <= 4 levels. */
  private walkOffset(leafNo: number): number {
    if (leafNo >= this.cap) return -1;
    const table = this.table;
    const mask = this.levelMask;
    const levels = this.levels;
    let node = this.rootBase;
    if (levels > 1) {
      const lb = this.levelBits;
      if (levels > 3) {
        node = table[node + ((leafNo >>> (3 * lb)) & mask)]! - 1;
        if (node < 0) return -1;
      }
      if (levels > 2) {
        node = table[node + ((leafNo >>> (2 * lb)) & mask)]! - 1;
        if (node < 0) return -1;
      }
      node = table[node + ((leafNo >>> lb) & mask)]! - 1;
      if (node < 0) return -1;
    }
    return table[node + (leafNo & mask)]! - 1;
  }

  private setLevels(levels: number): void {
    this.levels = levels;
    this.cap = levels > 0 ? this.g.fanout ** levels : 0;
  }

  /** First leaf number >= `from` that has a leaf, or -1. */
  private nextLeafNo(from: number): number {
    if (this.rootBase < 0 || from >= this.cap) return -1;
    return this.descend(this.rootBase, this.levels, from, 0);
  }

  private descend(node: number, height: number, from: number, first: number): number {
    const fanout = this.g.fanout;
    const span = fanout ** (height - 1);
    for (let i = from > first ? Math.floor((from - first) / span) : 0; i < fanout; i++) {
      const entry = this.table[node + i]!;
      if (entry === 0) continue;
      const childFirst = first + i * span;
      if (height === 1) return childFirst;
      const r = this.descend(entry - 1, height - 1, from, childFirst);
      if (r >= 0) return r;
    }
    return -1;
  }

  /** Sorted leaf numbers whose pfns intersect `ranges` (clipped to [lo, hi)). */
  private leavesOver(ranges: readonly PfnRange[], lo: number, hi: number): number[] {
    const out: number[] = [];
    let last = -1;
    for (const r of ranges) {
      const start = Math.max(r.start, lo);
      const end = Math.min(r.end, hi);
      if (!(end > start)) continue;
      const first = Math.max(Math.floor(start / this.bits), last + 1);
      const stop = Math.floor((end - 1) / this.bits);
      for (let no = first; no <= stop; no++) out.push(no);
      if (stop > last) last = stop;
    }
    return out;
  }

  /**
   * Adds leaves for the sorted, absent leaf numbers, with any table pages they need, all or
   * nothing: counts the pages first, takes them, and gives them all back if one is missing.
   */
  private insertLeaves(leafNos: readonly number[]): boolean {
    if (leafNos.length === 0) return true;
    const g = this.g;
    const maxNo = leafNos[leafNos.length - 1]!;
    const height = Math.max(this.levels, levelsFor(g, maxNo));
    const hasRoot = this.rootBase >= 0;
    // Count table pages: new roots on top, plus absent interior nodes along each path.
    let nodesNeeded = hasRoot ? height - this.levels : 0;
    const lastPrefix: number[] = new Array(height + 1).fill(-1);
    for (const no of leafNos) {
      for (let h = 1; h <= height; h++) {
        if (hasRoot && h >= this.levels) break;
        const prefix = Math.floor(no / g.fanout ** h);
        if (prefix === lastPrefix[h]) continue;
        lastPrefix[h] = prefix;
        if (!hasRoot || !this.nodeExists(h, prefix)) nodesNeeded++;
      }
    }
    // A growing tree: at heights from the old root up, prefixes other than 0 are new nodes.
    if (hasRoot && height > this.levels) {
      for (let h = this.levels; h < height; h++) {
        const seen = new Set<number>();
        for (const no of leafNos) {
          const prefix = Math.floor(no / g.fanout ** h);
          if (prefix !== 0) seen.add(prefix);
        }
        nodesNeeded += seen.size;
      }
    }
    const need = leafNos.length + nodesNeeded;
    if (this.pagesUsed() + need > this.budget) return false;
    const pool: number[] = [];
    const alloc = this.allocator;
    for (let i = 0; i < need; i++) {
      const pfn = alloc.allocPages(0);
      if (pfn < 0) {
        for (const p of pool) alloc.freePages(p, 0);
        return false;
      }
      pool.push(pfn);
    }
    // Build.
    this.leafArena.reserve(leafNos.length);
    this.nodeArena.reserve(nodesNeeded);
    this.words = this.leafArena.words;
    this.table = this.nodeArena.words;
    const newNode = (): number => {
      const base = this.nodeArena.take();
      this.nodeRecs.set(base, { pfn: pool.pop()!, allocator: alloc });
      return base;
    };
    if (!hasRoot) {
      this.rootBase = newNode();
      this.setLevels(height);
    }
    while (this.levels < height) {
      const top = newNode();
      this.table[top] = this.rootBase + 1;
      this.rootBase = top;
      this.setLevels(this.levels + 1);
    }
    for (const no of leafNos) {
      let node = this.rootBase;
      for (let h = this.levels; h > 1; h--) {
        const i = node + (Math.floor(no / g.fanout ** (h - 1)) % g.fanout);
        if (this.table[i] === 0) this.table[i] = newNode() + 1;
        node = this.table[i]! - 1;
      }
      const base = this.leafArena.take();
      this.table[node + (no % g.fanout)] = base + 1;
      this.leafRecs.set(no, { base, pfn: pool.pop()!, allocator: alloc });
    }
    if (pool.length !== 0) throw new KernelPanic("EFAULT", "page plan miscounted");
    this.cacheNo = -1;
    if (maxNo > this.maxLeafNo) this.maxLeafNo = maxNo;
    if (this.directCovers && this.maxLeafNo < this.direct.length) {
      for (const no of leafNos) this.direct[no] = this.leafRecs.get(no)!.base;
    } else {
      this.rebuildDirect();
    }
    return true;
  }

  /** True when the table page at `height` covering leaves from prefix * fanout^height exists. */
  private nodeExists(height: number, prefix: number): boolean {
    const g = this.g;
    let node = this.rootBase;
    const no = prefix * g.fanout ** height;
    for (let h = this.levels; h > height && node >= 0; h--) {
      node = this.table[node + (Math.floor(no / g.fanout ** (h - 1)) % g.fanout)]! - 1;
    }
    return node >= 0;
  }

  /** Removes leaf `no`, giving back its page and any table page left empty. */
  private removeLeaf(no: number): void {
    const rec = this.leafRecs.get(no);
    if (rec === undefined) return;
    const g = this.g;
    const path: number[] = [];
    let node = this.rootBase;
    for (let h = this.levels; h > 1; h--) {
      path.push(node);
      node = this.table[node + (Math.floor(no / g.fanout ** (h - 1)) % g.fanout)]! - 1;
    }
    path.push(node);
    this.table[node + (no % g.fanout)] = 0;
    this.leafRecs.delete(no);
    if (no < this.direct.length) this.direct[no] = -1;
    this.leafArena.give(rec.base);
    rec.allocator.freePages(rec.pfn, 0);
    for (let d = path.length - 1; d >= 0; d--) {
      const n = path[d]!;
      if (!leafIsZero(this.table, n, g.fanout)) break;
      const nrec = this.nodeRecs.get(n)!;
      this.nodeRecs.delete(n);
      this.nodeArena.give(n);
      nrec.allocator.freePages(nrec.pfn, 0);
      if (d === 0) {
        this.rootBase = -1;
        this.setLevels(0);
      } else {
        const h = this.levels - d; // height of n
        this.table[path[d - 1]! + (Math.floor(no / g.fanout ** h) % g.fanout)] = 0;
      }
    }
    this.cacheNo = -1;
  }

  private dropRange(startPfn: number, endPfn: number): void {
    const present = this.space.presentPfnRanges();
    for (const no of this.leavesOver([{ start: startPfn, end: endPfn }], 0, this.limit)) {
      const rec = this.leafRecs.get(no);
      if (rec === undefined) continue;
      const leafStart = no * this.bits;
      const leafEnd = leafStart + this.bits;
      clearLeafRange(
        this.words,
        rec.base,
        Math.max(startPfn, leafStart) - leafStart,
        Math.min(endPfn, leafEnd) - leafStart,
      );
      let drop = false;
      if (this.mode === "sparse") drop = leafIsZero(this.words, rec.base, this.wpl);
      else if (this.mode === "present") {
        // Keep the leaf while a present pfn outside [startPfn, endPfn) remains in it.
        drop = !present.some((r) => {
          const a = Math.max(r.start, leafStart);
          const b = Math.min(r.end, leafEnd);
          return a < Math.min(b, startPfn) || Math.max(a, endPfn) < b;
        });
      }
      if (drop) this.removeLeaf(no);
    }
    this.fitDirect();
  }

  /**
   * After leaves went away: finds the highest leaf again and rebuilds the direct table if it is
   * now longer than the remaining bitmap pages allow, or if it may fit again.
   */
  private fitDirect(): void {
    let max = -1;
    for (const no of this.leafRecs.keys()) if (no > max) max = no;
    this.maxLeafNo = max;
    if (!this.directCovers || this.direct.length > directMaxLength(this.leafRecs.size, this.wpl)) {
      this.rebuildDirect();
    }
  }

  /** Builds the direct table for the leaves held, or empties it (walk) when too costly. */
  private rebuildDirect(): void {
    const full = Math.floor(this.pfnLimit / this.bits);
    const len = directLength(this.maxLeafNo + 1, this.leafRecs.size, this.wpl, full);
    if (len < 0) {
      this.direct = NO_DIRECT;
      this.directCovers = false;
      return;
    }
    const direct = len === 0 ? NO_DIRECT : new Int32Array(len).fill(-1);
    for (const [no, rec] of this.leafRecs) direct[no] = rec.base;
    this.direct = direct;
    this.directCovers = true;
  }
}

/** Walks a snapshot of the leaves taken when iteration began. */
class SetBitIterator implements IterableIterator<number> {
  private i = 0;
  private w = 0;
  private word = 0;

  constructor(
    private readonly words: Int32Array,
    private readonly wpl: number,
    private readonly bases: readonly number[],
    private readonly firsts: readonly number[],
    private readonly limit: number,
  ) {
    this.word = bases.length > 0 ? words[bases[0]!]! : 0;
  }

  next(): IteratorResult<number> {
    for (;;) {
      if (this.i >= this.bases.length) return { value: undefined, done: true };
      if (this.word !== 0) {
        const low = this.word & -this.word;
        this.word ^= low;
        const pfn = this.firsts[this.i]! + this.w * 32 + 31 - Math.clz32(low);
        if (pfn < this.limit) return { value: pfn, done: false };
        continue;
      }
      this.w++;
      if (this.w === this.wpl) {
        this.w = 0;
        this.i++;
        if (this.i >= this.bases.length) continue;
      }
      this.word = this.words[this.bases[this.i]! + this.w]!;
    }
  }

  [Symbol.iterator](): IterableIterator<number> {
    return this;
  }
}

/**
 * Creates a page flag map and takes the bitmap pages its mode needs up front. Returns null when
 * the allocator (or the page budget) runs out midway; every page taken is given back then.
 */
export function createPageFlags(options: PageFlagOptions): PageFlagMap | null {
  const map = new PageFlagMap(options);
  return map.populate() === 0 ? map : null;
}
