import { ENOMEM, InvalidArgumentError, KernelPanic } from "./errors.js";
import { clearLeafRange, leafIsZero, popcount32, scanLeaf } from "./internal/bits.js";
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

/** Default page budget: 2^18 pages (1 GiB of bitmap with 4 KiB pages, a 32 TiB span). */
export const DEFAULT_PAGE_BUDGET: number = 2 ** 18;

type Leaf = Int32Array;
type TreeNode = (TreeNode | Leaf | undefined)[];

interface PageRecord {
  readonly pfn: number;
  readonly allocator: PageAllocator;
}

interface LeafRecord extends PageRecord {
  readonly leaf: Leaf;
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
  /** pfnLimit while usable, 0 once freed (so every pfn check fails into `badPfn`). */
  private limit: number;
  private freed = false;
  private root: TreeNode | undefined = undefined;
  private levels = 0;
  /** (levels - 1) * levelBits: shift of the root index. */
  private topShift = 0;
  /** Leaf slots the table reaches: fanout^levels (0 without a root). */
  private cap = 0;
  private readonly levelMask: number;
  private readonly levelBits: number;
  private readonly bits: number;
  private readonly invBits: number;
  private cacheNo = -1;
  private cacheLeaf: Leaf | undefined = undefined;
  private readonly leafRecs = new Map<number, LeafRecord>();
  private readonly nodeRecs = new Map<TreeNode, PageRecord>();
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
    const budget = options.pageBudget ?? DEFAULT_PAGE_BUDGET;
    if (!(Number.isInteger(budget) && budget >= 0)) {
      throw new InvalidArgumentError(
        "EINVAL",
        `pageBudget ${String(budget)} is not a non-negative integer`,
      );
    }
    this.g = geometryOf(space);
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
    return this.insertLeaves(this.leavesOver(this.space.presentPfnRanges(), 0, this.pfnLimit))
      ? 0
      : -ENOMEM;
  }

  // ---------------------------------------------------------------- single bits

  /** Sets the bit of `pfn`. Sparse maps take a bitmap page if needed (KernelPanic if none). */
  set(pfn: number): void {
    if (!(pfn >= 0 && pfn < this.limit && Math.floor(pfn) === pfn)) throw this.badPfn(pfn);
    const leafNo = Math.floor(pfn * this.invBits);
    let leaf = this.cacheLeaf;
    if (leafNo !== this.cacheNo) {
      leaf = this.lookup(leafNo);
      this.cacheNo = leafNo;
      this.cacheLeaf = leaf;
    }
    if (leaf === undefined) leaf = this.leafForSet(pfn, leafNo);
    const bit = pfn - leafNo * this.bits;
    leaf[bit >>> 5] = leaf[bit >>> 5]! | (1 << (bit & 31));
  }

  /** Clears the bit of `pfn`; a missing bitmap page is left missing. */
  clear(pfn: number): void {
    if (!(pfn >= 0 && pfn < this.limit && Math.floor(pfn) === pfn)) throw this.badPfn(pfn);
    const leafNo = Math.floor(pfn * this.invBits);
    let leaf = this.cacheLeaf;
    if (leafNo !== this.cacheNo) {
      leaf = this.lookup(leafNo);
      this.cacheNo = leafNo;
      this.cacheLeaf = leaf;
    }
    if (leaf === undefined) return;
    const bit = pfn - leafNo * this.bits;
    leaf[bit >>> 5] = leaf[bit >>> 5]! & ~(1 << (bit & 31));
  }

  /** True when the bit of `pfn` is set; a missing bitmap page reads as zeros. */
  test(pfn: number): boolean {
    if (!(pfn >= 0 && pfn < this.limit && Math.floor(pfn) === pfn)) throw this.badPfn(pfn);
    const leafNo = Math.floor(pfn * this.invBits);
    let leaf = this.cacheLeaf;
    if (leafNo !== this.cacheNo) {
      leaf = this.lookup(leafNo);
      this.cacheNo = leafNo;
      this.cacheLeaf = leaf;
    }
    if (leaf === undefined) return false;
    const bit = pfn - leafNo * this.bits;
    return (leaf[bit >>> 5]! & (1 << (bit & 31))) !== 0;
  }

  /** True when `pfn` has a bitmap page (so `set` works on it without allocating). */
  covers(pfn: number): boolean {
    if (!(pfn >= 0 && pfn < this.limit && Math.floor(pfn) === pfn)) throw this.badPfn(pfn);
    return this.lookup(Math.floor(pfn * this.invBits)) !== undefined;
  }

  /**
   * The bitmap page holding the bit of `pfn`, as a Uint32Array view aliasing it (bit `pfn % 32`
   * of word `(pfn % bitsPerPage) / 32`), or null when that page is missing (PAGE_UL_PTR).
   */
  bitmapPage(pfn: number): Uint32Array | null {
    if (!(pfn >= 0 && pfn < this.limit && Math.floor(pfn) === pfn)) throw this.badPfn(pfn);
    const leaf = this.lookup(Math.floor(pfn * this.invBits));
    return leaf === undefined ? null : new Uint32Array(leaf.buffer, leaf.byteOffset, leaf.length);
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
      let leaf: Leaf | undefined;
      if (leafNo === this.cacheNo && this.cacheLeaf !== undefined) {
        leaf = this.cacheLeaf;
      } else {
        const next = this.nextLeafNo(leafNo);
        if (next < 0) return -1;
        if (next !== leafNo) {
          leafNo = next;
          bit = 0;
        }
        leaf = this.lookup(leafNo);
        this.cacheNo = leafNo;
        this.cacheLeaf = leaf;
      }
      const found = scanLeaf(leaf!, bit);
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
    return new SetBitIterator(this);
  }

  /** Calls `fn` with every set pfn in ascending order. */
  forEachSet(fn: (pfn: number) => void): void {
    this.checkUsable();
    for (let leafNo = this.nextLeafNo(0); leafNo >= 0; leafNo = this.nextLeafNo(leafNo + 1)) {
      const leaf = this.lookup(leafNo)!;
      const base = leafNo * this.bits;
      for (let w = 0; w < leaf.length; w++) {
        let word = leaf[w]!;
        while (word !== 0) {
          const low = word & -word;
          fn(base + w * 32 + 31 - Math.clz32(low));
          word ^= low;
        }
      }
    }
  }

  /** Number of set bits (population count). */
  count(): number {
    this.checkUsable();
    let n = 0;
    for (const rec of this.leafRecs.values()) {
      const leaf = rec.leaf;
      for (let w = 0; w < leaf.length; w++) {
        const word = leaf[w]!;
        if (word !== 0) n += popcount32(word);
      }
    }
    return n;
  }

  // ---------------------------------------------------------------- whole-map operations

  /** this &= other. Never allocates. */
  and(other: PageFlagMap): void {
    this.checkPeer(other);
    for (const [leafNo, rec] of this.leafRecs) {
      const mine = rec.leaf;
      const theirs = other.lookup(leafNo);
      if (theirs === undefined) mine.fill(0);
      else for (let w = 0; w < mine.length; w++) mine[w] = mine[w]! & theirs[w]!;
    }
  }

  /** this &= ~other. Never allocates. */
  andNot(other: PageFlagMap): void {
    this.checkPeer(other);
    for (const [leafNo, rec] of this.leafRecs) {
      const mine = rec.leaf;
      const theirs = other.lookup(leafNo);
      if (theirs !== undefined)
        for (let w = 0; w < mine.length; w++) mine[w] = mine[w]! & ~theirs[w]!;
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
      if (this.leafRecs.has(leafNo) || leafIsZero(rec.leaf)) continue;
      const first = scanLeaf(rec.leaf, 0);
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
    for (const [leafNo, rec] of other.leafRecs) {
      const mine = this.lookup(leafNo);
      if (mine === undefined) continue;
      const theirs = rec.leaf;
      for (let w = 0; w < mine.length; w++) mine[w] = mine[w]! | theirs[w]!;
    }
  }

  /** Clears every bit; keeps the bitmap pages (clear_dyn_pageflags). */
  clearAll(): void {
    this.checkUsable();
    for (const rec of this.leafRecs.values()) rec.leaf.fill(0);
  }

  /**
   * Gives every page back to the allocator it came from and unsubscribes from hotplug sources.
   * The map is unusable afterwards; freeing twice throws.
   */
  free(): void {
    this.checkUsable();
    for (const off of this.unsubscribers.splice(0)) off();
    this.releaseAll();
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
    const seenNodes = new Set<TreeNode>();
    const walk = (node: TreeNode, height: number, base: number): void => {
      if (!this.nodeRecs.has(node)) throw new KernelPanic("EFAULT", "table page without record");
      seenNodes.add(node);
      let used = 0;
      const span = this.g.fanout ** (height - 1);
      for (let i = 0; i < node.length; i++) {
        const child = node[i];
        if (child === undefined) continue;
        used++;
        const childBase = base + i * span;
        if (height === 1) {
          const rec = this.leafRecs.get(childBase);
          if (rec === undefined || rec.leaf !== child) {
            throw new KernelPanic("EFAULT", `leaf ${childBase} in table but not recorded`);
          }
          seenLeaves.add(childBase);
        } else {
          walk(child as TreeNode, height - 1, childBase);
        }
      }
      if (used === 0) throw new KernelPanic("EFAULT", `empty table page at height ${height}`);
    };
    if (this.root !== undefined) walk(this.root, this.levels, 0);
    if (seenLeaves.size !== this.leafRecs.size || seenNodes.size !== this.nodeRecs.size) {
      throw new KernelPanic(
        "EFAULT",
        `records (${this.leafRecs.size} leaves, ${this.nodeRecs.size} table pages) disagree with table (${seenLeaves.size}, ${seenNodes.size})`,
      );
    }
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

  private leafForSet(pfn: number, leafNo: number): Leaf {
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
    const leaf = this.lookup(leafNo)!;
    this.cacheNo = leafNo;
    this.cacheLeaf = leaf;
    return leaf;
  }

  /** The leaf for `leafNo`, or undefined. */
  private lookup(leafNo: number): Leaf | undefined {
    let node = this.root;
    if (node === undefined || leafNo >= this.cap) return undefined;
    for (let s = this.topShift; s > 0; s -= this.levelBits) {
      node = node[(leafNo >>> s) & this.levelMask] as TreeNode | undefined;
      if (node === undefined) return undefined;
    }
    return node[leafNo & this.levelMask] as Leaf | undefined;
  }

  private setLevels(levels: number): void {
    this.levels = levels;
    this.topShift = levels > 0 ? (levels - 1) * this.levelBits : 0;
    this.cap = levels > 0 ? this.g.fanout ** levels : 0;
  }

  /** First leaf number >= `from` that has a leaf, or -1. */
  private nextLeafNo(from: number): number {
    if (this.root === undefined || from >= this.cap) return -1;
    return this.descend(this.root, this.levels, from, 0);
  }

  private descend(node: TreeNode, height: number, from: number, base: number): number {
    const span = this.g.fanout ** (height - 1);
    let i = from > base ? Math.floor((from - base) / span) : 0;
    for (; i < node.length; i++) {
      const child = node[i];
      if (child === undefined) continue;
      const childBase = base + i * span;
      if (height === 1) return childBase;
      const r = this.descend(child as TreeNode, height - 1, from, childBase);
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
    // Count table pages: new roots on top, plus absent interior nodes along each path.
    let need = leafNos.length;
    if (this.root !== undefined) need += height - this.levels;
    const lastPrefix: number[] = new Array(height + 1).fill(-1);
    for (const no of leafNos) {
      for (let h = 1; h <= height; h++) {
        if (this.root !== undefined && h >= this.levels) break; // the (possibly grown) root path exists
        const prefix = Math.floor(no / g.fanout ** h);
        if (prefix === lastPrefix[h]) continue;
        lastPrefix[h] = prefix;
        if (this.root === undefined || !this.nodeExists(h, prefix)) need++;
      }
    }
    // The top of a tree that grows: heights >= this.levels on prefix-0 are the new roots (counted
    // above); other prefixes at those heights are new interior nodes.
    if (this.root !== undefined && height > this.levels) {
      for (let h = this.levels; h < height; h++) {
        const seen = new Set<number>();
        for (const no of leafNos) {
          const prefix = Math.floor(no / g.fanout ** h);
          if (prefix !== 0) seen.add(prefix);
        }
        need += seen.size;
      }
    }
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
    const take = (): number => pool.pop()!;
    const newNode = (): TreeNode => {
      const node: TreeNode = new Array(g.fanout).fill(undefined);
      this.nodeRecs.set(node, { pfn: take(), allocator: alloc });
      return node;
    };
    if (this.root === undefined) {
      this.root = newNode();
      this.setLevels(height);
    }
    while (this.levels < height) {
      const top = newNode();
      top[0] = this.root;
      this.root = top;
      this.setLevels(this.levels + 1);
    }
    for (const no of leafNos) {
      let node = this.root;
      for (let h = this.levels; h > 1; h--) {
        const i = Math.floor(no / g.fanout ** (h - 1)) % g.fanout;
        let child = node[i] as TreeNode | undefined;
        if (child === undefined) {
          child = newNode();
          node[i] = child;
        }
        node = child;
      }
      const leaf = new Int32Array(g.wordsPerLeaf);
      node[no % g.fanout] = leaf;
      this.leafRecs.set(no, { leaf, pfn: take(), allocator: alloc });
    }
    if (pool.length !== 0) throw new KernelPanic("EFAULT", "page plan miscounted");
    this.cacheNo = -1;
    this.cacheLeaf = undefined;
    return true;
  }

  private nodeExists(height: number, prefix: number): boolean {
    // Node at `height` covering leaves [prefix * fanout^height, ...).
    const g = this.g;
    let node = this.root;
    const no = prefix * g.fanout ** height;
    for (let h = this.levels; h > height && node !== undefined; h--) {
      node = node[Math.floor(no / g.fanout ** (h - 1)) % g.fanout] as TreeNode | undefined;
    }
    return node !== undefined;
  }

  /** Removes leaf `no`, giving back its page and any table page left empty. */
  private removeLeaf(no: number): void {
    const rec = this.leafRecs.get(no);
    if (rec === undefined) return;
    const g = this.g;
    const path: TreeNode[] = [];
    let node = this.root!;
    for (let h = this.levels; h > 1; h--) {
      path.push(node);
      node = node[Math.floor(no / g.fanout ** (h - 1)) % g.fanout] as TreeNode;
    }
    path.push(node);
    node[no % g.fanout] = undefined;
    this.leafRecs.delete(no);
    rec.allocator.freePages(rec.pfn, 0);
    for (let d = path.length - 1; d >= 0; d--) {
      const n = path[d]!;
      if (n.some((c) => c !== undefined)) break;
      const nrec = this.nodeRecs.get(n)!;
      this.nodeRecs.delete(n);
      nrec.allocator.freePages(nrec.pfn, 0);
      if (d === 0) {
        this.root = undefined;
        this.setLevels(0);
      } else {
        const h = this.levels - d; // height of n
        path[d - 1]![Math.floor(no / g.fanout ** h) % g.fanout] = undefined;
      }
    }
    this.cacheNo = -1;
    this.cacheLeaf = undefined;
  }

  private releaseAll(): void {
    for (const rec of this.leafRecs.values()) rec.allocator.freePages(rec.pfn, 0);
    for (const rec of this.nodeRecs.values()) rec.allocator.freePages(rec.pfn, 0);
    this.leafRecs.clear();
    this.nodeRecs.clear();
    this.root = undefined;
    this.setLevels(0);
    this.cacheNo = -1;
    this.cacheLeaf = undefined;
  }

  private dropRange(startPfn: number, endPfn: number): void {
    const present = this.space.presentPfnRanges();
    for (const no of this.leavesOver([{ start: startPfn, end: endPfn }], 0, this.limit)) {
      const rec = this.leafRecs.get(no);
      if (rec === undefined) continue;
      const leafStart = no * this.bits;
      const leafEnd = leafStart + this.bits;
      clearLeafRange(
        rec.leaf,
        Math.max(startPfn, leafStart) - leafStart,
        Math.min(endPfn, leafEnd) - leafStart,
      );
      let drop = false;
      if (this.mode === "sparse") drop = leafIsZero(rec.leaf);
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
  }

  /** @internal Leaf access for the iterator. */
  leafAfter(leafNo: number): number {
    return this.nextLeafNo(leafNo);
  }

  /** @internal Leaf access for the iterator. */
  leafAt(leafNo: number): Int32Array | undefined {
    return this.lookup(leafNo);
  }
}

class SetBitIterator implements IterableIterator<number> {
  private leafNo: number;
  private leaf: Int32Array | undefined;
  private w = 0;
  private word = 0;
  private readonly bits: number;
  private readonly limit: number;

  constructor(private readonly map: PageFlagMap) {
    if (map.isFreed()) throw new InvalidArgumentError("EINVAL", "the page flag map was freed");
    this.bits = map.bitsPerPage;
    this.limit = map.pfnLimit;
    this.leafNo = map.leafAfter(0);
    this.leaf = this.leafNo >= 0 ? map.leafAt(this.leafNo) : undefined;
    this.word = this.leaf !== undefined ? this.leaf[0]! : 0;
  }

  next(): IteratorResult<number> {
    for (;;) {
      const leaf = this.leaf;
      if (leaf === undefined) return { value: undefined, done: true };
      if (this.word !== 0) {
        const low = this.word & -this.word;
        this.word ^= low;
        const pfn = this.leafNo * this.bits + this.w * 32 + 31 - Math.clz32(low);
        if (pfn < this.limit) return { value: pfn, done: false };
        continue;
      }
      this.w++;
      if (this.w < leaf.length) {
        this.word = leaf[this.w]!;
        continue;
      }
      this.leafNo = this.map.leafAfter(this.leafNo + 1);
      this.leaf = this.leafNo >= 0 ? this.map.leafAt(this.leafNo) : undefined;
      this.w = 0;
      this.word = this.leaf !== undefined ? this.leaf[0]! : 0;
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
