/**
 * A bitmap over dense page indexes with a segment tree of run summaries on top: for every node,
 * the longest run of set bits starting at its left edge (`pre`), ending at its right edge (`suf`)
 * and anywhere inside (`mx`). Leaves are 32-bit words of the bitmap (bitwise operators are used
 * only inside those words and on word-local bit numbers, never on page indexes).
 *
 * `findFirstRun(from, n)` returns the lowest index `p >= from` such that bits `[p, p + n)` are all
 * set, in O(log N) node visits; `findFirstZero(from, to)` the lowest clear bit in a range.
 *
 * Updates are lazy: `setRange` changes the bitmap and the count of set bits at once and only marks
 * the touched leaves; the summaries above them are brought up to date by the next search (leaf by
 * leaf, each walk stopping where a node's summary is unchanged, or a full rebuild when many leaves
 * changed). Allocators update the sets on every page operation and search rarely.
 *
 * @module
 */

/** Longest run of ones in a 32-bit word. */
function maxRunOfWord(w: number): number {
  let x = w | 0;
  if (x === -1) return 32;
  let k = 0;
  while (x !== 0) {
    x &= x >>> 1;
    k++;
  }
  return k;
}

/** Trailing ones (from bit 0 upwards). */
function preOfWord(w: number): number {
  const inv = ~w;
  if (inv === 0) return 32;
  return 31 - Math.clz32(inv & -inv);
}

/** Leading ones (from bit 31 downwards). */
function sufOfWord(w: number): number {
  return Math.clz32(~w);
}

/** Bitmap plus run summary tree. */
export class RunTree {
  /** Bit `i % 32` of word `floor(i / 32)` is set when index `i` is in the set. */
  words: Uint32Array;
  private pre: Int32Array;
  private suf: Int32Array;
  private mx: Int32Array;
  /** Leaf count (a power of two). */
  private leaves: number;
  /** Set bits. */
  ones = 0;
  private carry = 0;
  /** Per leaf: 1 when its word changed since its summary was computed. */
  private dirty: Uint8Array;
  /** The dirty leaves, in the order they were marked (`dirtyCount` of them). */
  private dirtyList: Int32Array;
  private dirtyCount = 0;
  /** Every summary is stale (too many dirty leaves to list): the next search rebuilds all. */
  private allDirty = false;

  /** @param capacity - indexes the set can hold (grown later with {@link ensure}). */
  constructor(capacity: number) {
    this.leaves = 1;
    this.words = new Uint32Array(0);
    this.pre = new Int32Array(0);
    this.suf = new Int32Array(0);
    this.mx = new Int32Array(0);
    this.dirty = new Uint8Array(0);
    this.dirtyList = new Int32Array(0);
    this.alloc(capacity);
  }

  /** Indexes the tree can hold. */
  get capacity(): number {
    return this.leaves * 32;
  }

  private alloc(capacity: number): void {
    let leaves = 1;
    while (leaves * 32 < capacity) leaves *= 2;
    const old = this.words;
    this.leaves = leaves;
    this.words = new Uint32Array(leaves);
    this.words.set(old.subarray(0, Math.min(old.length, leaves)));
    this.pre = new Int32Array(2 * leaves);
    this.suf = new Int32Array(2 * leaves);
    this.mx = new Int32Array(2 * leaves);
    this.dirty = new Uint8Array(leaves);
    this.dirtyList = new Int32Array(Math.max(1, leaves >>> 3));
    this.dirtyCount = 0;
    this.allDirty = false;
    this.rebuild();
  }

  /** Recomputes every summary. */
  private rebuild(): void {
    const leaves = this.leaves;
    for (let w = 0; w < leaves; w++) this.leafSummary(w);
    let half = 32;
    for (let first = leaves / 2; first >= 1; first /= 2) {
      for (let n = first; n < 2 * first; n++) this.pull(n, half);
      half *= 2;
    }
  }

  /** Grows the tree so that it holds `capacity` indexes. */
  ensure(capacity: number): void {
    if (capacity > this.capacity) this.alloc(capacity);
  }

  /** True when index `i` is set. */
  get(i: number): boolean {
    const w = this.words[Math.floor(i / 32)];
    return w !== undefined && (w & (1 << (i % 32))) !== 0;
  }

  private leafSummary(w: number): void {
    const v = this.words[w]!;
    const n = this.leaves + w;
    this.pre[n] = preOfWord(v);
    this.suf[n] = sufOfWord(v);
    this.mx[n] = maxRunOfWord(v);
  }

  /** Recomputes node `n` from its children, each covering `half` indexes. */
  private pull(n: number, half: number): void {
    const l = 2 * n;
    const r = l + 1;
    const pl = this.pre[l]!;
    const sr = this.suf[r]!;
    this.pre[n] = pl === half ? half + this.pre[r]! : pl;
    this.suf[n] = sr === half ? half + this.suf[l]! : sr;
    this.mx[n] = Math.max(this.mx[l]!, this.mx[r]!, this.suf[l]! + this.pre[r]!);
  }

  /** Sets (`value` true) or clears indexes `[i, i + count)`. */
  setRange(i: number, count: number, value: boolean): void {
    if (count <= 0) return;
    this.ensure(i + count);
    const words = this.words;
    const w0 = Math.floor(i / 32);
    const w1 = Math.floor((i + count - 1) / 32);
    let delta = 0;
    for (let w = w0; w <= w1; w++) {
      const lo = w === w0 ? i % 32 : 0;
      const hi = w === w1 ? ((i + count - 1) % 32) + 1 : 32;
      const mask = hi - lo === 32 ? -1 : ((1 << (hi - lo)) - 1) << lo;
      const old = words[w]!;
      const nv = value ? (old | mask) >>> 0 : (old & ~mask) >>> 0;
      if (nv === old) continue;
      delta += popcount(nv) - popcount(old);
      words[w] = nv;
      this.markDirty(w);
    }
    this.ones += delta;
  }

  private markDirty(w: number): void {
    if (this.allDirty || this.dirty[w] === 1) return;
    if (this.dirtyCount === this.dirtyList.length) {
      this.allDirty = true;
      return;
    }
    this.dirty[w] = 1;
    this.dirtyList[this.dirtyCount++] = w;
  }

  /** Brings the summaries up to date with the bitmap. */
  private flush(): void {
    if (this.allDirty) {
      this.dirty.fill(0);
      this.dirtyCount = 0;
      this.allDirty = false;
      this.rebuild();
      return;
    }
    const n = this.dirtyCount;
    if (n === 0) return;
    const list = this.dirtyList;
    const dirty = this.dirty;
    const pre = this.pre;
    const suf = this.suf;
    const mx = this.mx;
    for (let k = 0; k < n; k++) {
      const w = list[k]!;
      dirty[w] = 0;
      this.leafSummary(w);
      // Walk up, stopping as soon as a node's summary is unchanged.
      let node = this.leaves + w;
      let half = 32;
      while (node > 1) {
        node >>>= 1;
        const p0 = pre[node];
        const s0 = suf[node];
        const m0 = mx[node];
        this.pull(node, half);
        if (pre[node] === p0 && suf[node] === s0 && mx[node] === m0) break;
        half *= 2;
      }
    }
    this.dirtyCount = 0;
  }

  /** Sets or clears one index. */
  set(i: number, value: boolean): void {
    this.setRange(i, 1, value);
  }

  /** Lowest `p >= from` with `[p, p + n)` all set, or -1. */
  findFirstRun(from: number, n: number): number {
    if (n <= 0) return -1;
    this.flush();
    if (this.mx[1]! < n) return -1;
    this.carry = 0;
    return this.searchRun(1, 0, this.leaves * 32, Math.max(0, from), n);
  }

  private searchRun(node: number, lo: number, hi: number, from: number, n: number): number {
    if (hi <= from) return -1;
    const len = hi - lo;
    if (lo >= from) {
      if (this.carry + this.pre[node]! >= n) return lo - this.carry;
      if (this.mx[node]! < n) {
        this.carry = this.pre[node] === len ? this.carry + len : this.suf[node]!;
        return -1;
      }
    }
    if (node >= this.leaves) {
      const w = this.words[node - this.leaves]!;
      for (let b = 0; b < 32; b++) {
        const pos = lo + b;
        if (pos < from) continue;
        if ((w & (1 << b)) !== 0) {
          this.carry++;
          if (this.carry >= n) return pos - n + 1;
        } else this.carry = 0;
      }
      return -1;
    }
    const mid = lo + len / 2;
    const r = this.searchRun(2 * node, lo, mid, from, n);
    if (r >= 0) return r;
    return this.searchRun(2 * node + 1, mid, hi, from, n);
  }

  /** Lowest clear index in `[from, to)`, or -1 when all are set. */
  findFirstZero(from: number, to: number): number {
    if (to <= from) return -1;
    if (from >= this.capacity) return from;
    this.flush();
    const r = this.searchZero(1, 0, this.leaves * 32, from, to);
    if (r < 0 && to > this.capacity) return this.capacity;
    return r;
  }

  private searchZero(node: number, lo: number, hi: number, from: number, to: number): number {
    if (hi <= from || lo >= to) return -1;
    if (lo >= from && this.pre[node] === hi - lo) return -1;
    if (node >= this.leaves) {
      const w = this.words[node - this.leaves]!;
      const b0 = Math.max(0, from - lo);
      const b1 = Math.min(32, to - lo);
      for (let b = b0; b < b1; b++) if ((w & (1 << b)) === 0) return lo + b;
      return -1;
    }
    const mid = lo + (hi - lo) / 2;
    const r = this.searchZero(2 * node, lo, mid, from, to);
    if (r >= 0) return r;
    return this.searchZero(2 * node + 1, mid, hi, from, to);
  }
}

function popcount(v: number): number {
  let x = v - ((v >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}
