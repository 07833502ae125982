import { grown, xorshift32 } from "./treap.js";

/**
 * Generator state in a typed array: a module-level `let` holding a number above 2^30 would be
 * boxed (a heap number allocated per insert).
 */
const seed = new Uint32Array([0x9e3779b9]);
function prio(): number {
  const s = xorshift32(seed[0]!);
  seed[0] = s;
  return s;
}

/** Gap starts are classed modulo this power of two (residue masks: two 32-bit flag words). */
export const RESIDUES = 64;

/** Number of length tiers: tier k holds lengths in [2^k, 2^(k+1)), lengths are below 2^53. */
export const TIERS = 54;

const TWO32 = 4294967296;

/**
 * Length tier of `len` (1 <= len < 2^53): floor(log2(len)), exact. `Math.clz32` only ever sees
 * a value below 2^32 (the low or the high word), as the conventions require.
 */
export function tierOf(len: number): number {
  if (len < TWO32) return 31 - Math.clz32(len);
  return 63 - Math.clz32(Math.floor(len / TWO32));
}

/**
 * Free gaps ordered by (length, rank), where rank is the start of the run that follows the gap
 * (so rank order is address order). A treap in typed arrays; O(log n) expected per operation.
 * Each node is augmented with the set of classes (gap start mod 64) present in its subtree, as
 * two 32-bit flag words, so that a constrained best fit can skip gaps whose alignment class
 * cannot beat the best overhead found so far.
 */
export class GapIndex {
  private K1 = new Float64Array(16);
  private K2 = new Float64Array(16);
  private L = new Int32Array(16);
  private R = new Int32Array(16);
  /** Parent (0 for the root). */
  private U = new Int32Array(16);
  private P = new Uint32Array(16);
  /** Class of the gap start (0..63). */
  private C = new Uint8Array(16);
  /** Classes present in the subtree: bits 0-31 and 32-63 (flag words). */
  private A1 = new Int32Array(16);
  private A2 = new Int32Array(16);
  private cap = 16;
  private next = 1;
  private readonly freeNodes: number[] = [];
  private root = 0;

  private grow(): void {
    const cap = this.cap * 2;
    this.K1 = grown(this.K1, cap);
    this.K2 = grown(this.K2, cap);
    this.L = grown(this.L, cap);
    this.R = grown(this.R, cap);
    this.U = grown(this.U, cap);
    this.A1 = grown(this.A1, cap);
    this.A2 = grown(this.A2, cap);
    this.P = grown(this.P, cap);
    this.C = grown(this.C, cap);
    this.cap = cap;
  }

  private pull(t: number): void {
    const l = this.L[t]!;
    const r = this.R[t]!;
    const c = this.C[t]!;
    const A1 = this.A1;
    const A2 = this.A2;
    A1[t] = (c < 32 ? 1 << c : 0) | A1[l]! | A1[r]!;
    A2[t] = (c >= 32 ? 1 << (c - 32) : 0) | A2[l]! | A2[r]!;
  }

  private merge(a: number, b: number): number {
    if (a === 0) return b;
    if (b === 0) return a;
    if (this.P[a]! > this.P[b]!) {
      const c = this.merge(this.R[a]!, b);
      this.R[a] = c;
      this.U[c] = a;
      this.pull(a);
      return a;
    }
    const c = this.merge(a, this.L[b]!);
    this.L[b] = c;
    this.U[c] = b;
    this.pull(b);
    return b;
  }

  /** Add the gap (len, rank); returns its node (a handle for `removeNode`). */
  add(len: number, rank: number): number {
    let x: number;
    if (this.freeNodes.length > 0) x = this.freeNodes.pop()!;
    else {
      if (this.next >= this.cap) this.grow();
      x = this.next++;
    }
    const K1 = this.K1;
    const K2 = this.K2;
    const L = this.L;
    const R = this.R;
    const U = this.U;
    const P = this.P;
    // Gap start mod 64, without `%` (fmod): the start is an integer below 2^53.
    const gs = rank - len;
    const c = gs - Math.floor(gs / RESIDUES) * RESIDUES;
    K1[x] = len;
    K2[x] = rank;
    L[x] = 0;
    R[x] = 0;
    const px = prio();
    P[x] = px;
    this.C[x] = c;
    const b1 = c < 32 ? 1 << c : 0;
    const b2 = c >= 32 ? 1 << (c - 32) : 0;
    this.A1[x] = b1;
    this.A2[x] = b2;
    let t = this.root;
    if (t === 0) {
      this.root = x;
      U[x] = 0;
      return x;
    }
    let p = 0;
    let left = false;
    while (t !== 0) {
      p = t;
      const k1 = K1[t]!;
      left = len < k1 || (len === k1 && rank < K2[t]!);
      t = left ? L[t]! : R[t]!;
    }
    if (left) L[p] = x;
    else R[p] = x;
    U[x] = p;
    // Rotate x up while its priority beats its parent's.
    while (p !== 0 && px > P[p]!) {
      const g = U[p]!;
      if (L[p] === x) {
        const m = R[x]!;
        L[p] = m;
        if (m !== 0) U[m] = p;
        R[x] = p;
      } else {
        const m = L[x]!;
        R[p] = m;
        if (m !== 0) U[m] = p;
        L[x] = p;
      }
      U[p] = x;
      U[x] = g;
      this.pull(p);
      this.pull(x);
      if (g === 0) this.root = x;
      else if (L[g] === p) L[g] = x;
      else R[g] = x;
      p = g;
    }
    // The rest: x's ancestors, whose class masks gain x's class.
    const A1 = this.A1;
    const A2 = this.A2;
    while (p !== 0) {
      if ((A1[p]! & b1) === b1 && (A2[p]! & b2) === b2) break;
      A1[p] = A1[p]! | b1;
      A2[p] = A2[p]! | b2;
      p = U[p]!;
    }
    return x;
  }

  /** Remove the gap held in node `t` (a handle returned by `add`). */
  removeNode(t: number): void {
    const L = this.L;
    const R = this.R;
    const U = this.U;
    const parent = U[t]!;
    const m = this.merge(L[t]!, R[t]!);
    if (m !== 0) U[m] = parent;
    if (parent === 0) this.root = m;
    else if (L[parent] === t) L[parent] = m;
    else R[parent] = m;
    this.freeNodes.push(t);
    const A1 = this.A1;
    const A2 = this.A2;
    let a = parent;
    while (a !== 0) {
      const o1 = A1[a]!;
      const o2 = A2[a]!;
      this.pull(a);
      if (A1[a] === o1 && A2[a] === o2) break;
      a = U[a]!;
    }
  }

  /** Remove the gap (len, rank), which must be present. */
  remove(len: number, rank: number): void {
    const K1 = this.K1;
    const K2 = this.K2;
    let t = this.root;
    while (t !== 0) {
      const k1 = K1[t]!;
      const k2 = K2[t]!;
      if (k1 === len && k2 === rank) break;
      t = len < k1 || (len === k1 && rank < k2) ? this.L[t]! : this.R[t]!;
    }
    if (t === 0) throw new Error(`GapIndex: missing gap (${len}, ${rank})`);
    this.removeNode(t);
  }

  /** First gap >= (len, rank) in (length, rank) order, or 0. */
  lowerBound(len: number, rank: number): number {
    let t = this.root;
    let r = 0;
    const K1 = this.K1;
    const K2 = this.K2;
    const L = this.L;
    const R = this.R;
    while (t !== 0) {
      const k1 = K1[t]!;
      if (k1 > len || (k1 === len && K2[t]! >= rank)) {
        r = t;
        t = L[t]!;
      } else t = R[t]!;
    }
    return r;
  }

  /**
   * First gap >= (len, rank) whose class is in the mask (m1: classes 0-31, m2: 32-63), or 0.
   * Subtrees without such a class are skipped.
   */
  lowerBoundIn(len: number, rank: number, m1: number, m2: number): number {
    return this.fm(this.root, len, rank, m1, m2, true);
  }

  /**
   * `lowerBoundIn` by finger search from `x`, whose key is below (len, rank): climb to the
   * lowest ancestor p that has x in its left subtree and a key >= (len, rank); the answer is in
   * p's left subtree, or p, or after p (where every key qualifies). Masks -1, -1 accept every
   * class. Costs O(log distance) instead of a descent from the root.
   */
  lowerBoundFrom(x: number, len: number, rank: number, m1: number, m2: number): number {
    const L = this.L;
    const U = this.U;
    const K1 = this.K1;
    const K2 = this.K2;
    let c = x;
    let p = U[c]!;
    for (;;) {
      if (p === 0) return this.fm(this.root, len, rank, m1, m2, true);
      if (L[p] === c) {
        const k1 = K1[p]!;
        if (k1 > len || (k1 === len && K2[p]! >= rank)) break;
      }
      c = p;
      p = U[c]!;
    }
    const r = this.fm(L[p]!, len, rank, m1, m2, true);
    if (r !== 0) return r;
    const cl = this.C[p]!;
    if (cl < 32 ? (m1 & (1 << cl)) !== 0 : (m2 & (1 << (cl - 32))) !== 0) return p;
    return this.nextIn(p, m1, m2);
  }

  private fm(t0: number, len: number, rank: number, m1: number, m2: number, b0: boolean): number {
    let t = t0;
    let bounded = b0;
    const A1 = this.A1;
    const A2 = this.A2;
    const K1 = this.K1;
    const K2 = this.K2;
    const L = this.L;
    const R = this.R;
    const C = this.C;
    while (t !== 0) {
      if (((A1[t]! & m1) | (A2[t]! & m2)) === 0) return 0;
      let ge = true;
      if (bounded) {
        const k1 = K1[t]!;
        ge = k1 > len || (k1 === len && K2[t]! >= rank);
      }
      if (ge) {
        const l = L[t]!;
        if (l !== 0 && ((A1[l]! & m1) | (A2[l]! & m2)) !== 0) {
          const r = this.fm(l, len, rank, m1, m2, bounded);
          if (r !== 0) return r;
        }
        const c = C[t]!;
        if (c < 32 ? (m1 & (1 << c)) !== 0 : (m2 & (1 << (c - 32))) !== 0) return t;
        bounded = false;
      }
      t = R[t]!;
    }
    return 0;
  }

  /**
   * The first gap after `x` in (length, rank) order whose class is in the mask, or 0. Climbs
   * from `x` through the parent links instead of searching from the root.
   */
  nextIn(x0: number, m1: number, m2: number): number {
    const L = this.L;
    const R = this.R;
    const U = this.U;
    const A1 = this.A1;
    const A2 = this.A2;
    const C = this.C;
    let x = x0;
    let t = R[x]!;
    if (t !== 0 && ((A1[t]! & m1) | (A2[t]! & m2)) !== 0) return this.firstIn(t, m1, m2);
    for (;;) {
      const p = U[x]!;
      if (p === 0) return 0;
      if (L[p] === x) {
        const c = C[p]!;
        if (c < 32 ? (m1 & (1 << c)) !== 0 : (m2 & (1 << (c - 32))) !== 0) return p;
        t = R[p]!;
        if (t !== 0 && ((A1[t]! & m1) | (A2[t]! & m2)) !== 0) return this.firstIn(t, m1, m2);
      }
      x = p;
    }
  }

  /** First gap in order in the subtree `t` (which holds a class of the mask) with such a class. */
  private firstIn(t0: number, m1: number, m2: number): number {
    const L = this.L;
    const R = this.R;
    const C = this.C;
    const A1 = this.A1;
    const A2 = this.A2;
    let t = t0;
    for (;;) {
      const l = L[t]!;
      if (l !== 0 && ((A1[l]! & m1) | (A2[l]! & m2)) !== 0) {
        t = l;
        continue;
      }
      const c = C[t]!;
      if (c < 32 ? (m1 & (1 << c)) !== 0 : (m2 & (1 << (c - 32))) !== 0) return t;
      t = R[t]!;
    }
  }

  /** The gap after `x` in (length, rank) order, or 0. */
  successor(x: number): number {
    return this.lowerBound(this.K1[x]!, this.K2[x]! + 1);
  }

  /** Length of gap `x`. */
  lenOf(x: number): number {
    return this.K1[x]!;
  }

  /** Rank (start of the following run) of gap `x`. */
  rankOf(x: number): number {
    return this.K2[x]!;
  }

  /** Class (gap start mod 64) of gap `x`. */
  classOf(x: number): number {
    return this.C[x]!;
  }

  /** Forget every gap. */
  clear(): void {
    this.root = 0;
    this.next = 1;
    this.freeNodes.length = 0;
  }
}
