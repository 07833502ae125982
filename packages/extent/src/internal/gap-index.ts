let seed = 0x9e3779b9;
function prio(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}

/**
 * Free gaps ordered by (length, rank), where rank is the start of the run that follows the gap
 * (so rank order is address order). A treap in typed arrays; O(log n) expected per operation.
 */
export class GapIndex {
  private K1 = new Float64Array(16);
  private K2 = new Float64Array(16);
  private L = new Int32Array(16);
  private R = new Int32Array(16);
  private P = new Uint32Array(16);
  private cap = 16;
  private next = 1;
  private readonly freeNodes: number[] = [];
  private root = 0;

  private grow(): void {
    const cap = this.cap * 2;
    const k1 = new Float64Array(cap);
    k1.set(this.K1);
    this.K1 = k1;
    const k2 = new Float64Array(cap);
    k2.set(this.K2);
    this.K2 = k2;
    const l = new Int32Array(cap);
    l.set(this.L);
    this.L = l;
    const r = new Int32Array(cap);
    r.set(this.R);
    this.R = r;
    const p = new Uint32Array(cap);
    p.set(this.P);
    this.P = p;
    this.cap = cap;
  }

  private less(a1: number, a2: number, t: number): boolean {
    const b1 = this.K1[t]!;
    return a1 < b1 || (a1 === b1 && a2 < this.K2[t]!);
  }

  private ins(t: number, x: number): number {
    if (t === 0) return x;
    if (this.less(this.K1[x]!, this.K2[x]!, t)) {
      const c = this.ins(this.L[t]!, x);
      this.L[t] = c;
      if (this.P[c]! > this.P[t]!) {
        this.L[t] = this.R[c]!;
        this.R[c] = t;
        return c;
      }
    } else {
      const c = this.ins(this.R[t]!, x);
      this.R[t] = c;
      if (this.P[c]! > this.P[t]!) {
        this.R[t] = this.L[c]!;
        this.L[c] = t;
        return c;
      }
    }
    return t;
  }

  private merge(a: number, b: number): number {
    if (a === 0) return b;
    if (b === 0) return a;
    if (this.P[a]! > this.P[b]!) {
      this.R[a] = this.merge(this.R[a]!, b);
      return a;
    }
    this.L[b] = this.merge(a, this.L[b]!);
    return b;
  }

  /** Add the gap (len, rank). */
  add(len: number, rank: number): void {
    let x: number;
    if (this.freeNodes.length > 0) x = this.freeNodes.pop()!;
    else {
      if (this.next >= this.cap) this.grow();
      x = this.next++;
    }
    this.K1[x] = len;
    this.K2[x] = rank;
    this.L[x] = 0;
    this.R[x] = 0;
    this.P[x] = prio();
    this.root = this.ins(this.root, x);
  }

  /** Remove the gap (len, rank), which must be present. */
  remove(len: number, rank: number): void {
    let parent = 0;
    let left = false;
    let t = this.root;
    while (t !== 0) {
      const k1 = this.K1[t]!;
      const k2 = this.K2[t]!;
      if (k1 === len && k2 === rank) break;
      parent = t;
      left = len < k1 || (len === k1 && rank < k2);
      t = left ? this.L[t]! : this.R[t]!;
    }
    if (t === 0) throw new Error(`GapIndex: missing gap (${len}, ${rank})`);
    const m = this.merge(this.L[t]!, this.R[t]!);
    if (parent === 0) this.root = m;
    else if (left) this.L[parent] = m;
    else this.R[parent] = m;
    this.freeNodes.push(t);
  }

  /** First gap >= (len, rank) in (length, rank) order, or 0. */
  lowerBound(len: number, rank: number): number {
    let t = this.root;
    let r = 0;
    while (t !== 0) {
      const k1 = this.K1[t]!;
      if (k1 > len || (k1 === len && this.K2[t]! >= rank)) {
        r = t;
        t = this.L[t]!;
      } else t = this.R[t]!;
    }
    return r;
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

  /** Forget every gap. */
  clear(): void {
    this.root = 0;
    this.next = 1;
    this.freeNodes.length = 0;
  }
}
