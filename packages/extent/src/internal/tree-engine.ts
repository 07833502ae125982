import {
  type Engine,
  FREE_NOT_FOUND,
  FREE_RUN_RELEASED,
  FREE_SPARE_USED,
  INS_NEW_RELEASED,
  INS_NEXT_RELEASED,
  REL_KIND_ALLOC,
} from "./engine.js";
import {
  evalMid,
  evalTail,
  FAIL,
  FIND_FOUND,
  FIND_NONE,
  FIND_OVERFLOW,
  FIT,
  firstCandidate,
  NOFIT,
  nextCandidate,
  type Query,
} from "./fit.js";
import { GapIndex } from "./gap-index.js";
import { scanLargestGap } from "./linear-engine.js";

let seed = 0x2545f491;
function prio(): number {
  // xorshift32: deterministic treap priorities (flag-word arithmetic, fits in 32 bits)
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}

/**
 * The indexed run store: a treap of runs keyed by start address, struct-of-arrays in typed
 * arrays, each node augmented with the free gap before its run and the largest such gap in its
 * subtree; plus a second treap of gaps ordered by (length, address) for best fit. Every lookup,
 * insert and removal is O(log n) expected.
 */
export class TreeEngine implements Engine {
  private S = new Float64Array(16);
  private E = new Float64Array(16);
  /** Free space before the run: S - (previous run's end + 1), or S - ex_start for the first. */
  private G = new Float64Array(16);
  /** Largest G in the subtree (-1 for the nil node 0). */
  private MG = new Float64Array(16);
  private L = new Int32Array(16);
  private R = new Int32Array(16);
  private P = new Uint32Array(16);
  private K = new Uint8Array(16);
  private cap = 16;
  private next = 1;
  private readonly freeNodes: number[] = [];
  private root = 0;
  private n = 0;
  private readonly exStart: number;
  private readonly gaps: GapIndex = new GapIndex();
  private readonly stack = new Int32Array(256);
  private ffCode = NOFIT;

  /** Create an empty store for the extent [exStart, exEnd]. */
  constructor(exStart: number, _exEnd: number) {
    this.exStart = exStart;
    this.MG[0] = -1;
  }

  /** Number of runs. */
  get count(): number {
    return this.n;
  }

  // ------------------------------------------------------------------ nodes

  private grow(): void {
    const cap = this.cap * 2;
    const f = (a: Float64Array): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const i = (a: Int32Array): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.S = f(this.S);
    this.E = f(this.E);
    this.G = f(this.G);
    this.MG = f(this.MG);
    this.L = i(this.L);
    this.R = i(this.R);
    const p = new Uint32Array(cap);
    p.set(this.P);
    this.P = p;
    const k = new Uint8Array(cap);
    k.set(this.K);
    this.K = k;
    this.cap = cap;
  }

  private newNode(s: number, e: number, g: number, kind: number): number {
    let x: number;
    if (this.freeNodes.length > 0) x = this.freeNodes.pop()!;
    else {
      if (this.next >= this.cap) this.grow();
      x = this.next++;
    }
    this.S[x] = s;
    this.E[x] = e;
    this.G[x] = g;
    this.MG[x] = g;
    this.L[x] = 0;
    this.R[x] = 0;
    this.P[x] = prio();
    this.K[x] = kind;
    return x;
  }

  private pull(t: number): void {
    const MG = this.MG;
    let m = this.G[t]!;
    const a = MG[this.L[t]!]!;
    const b = MG[this.R[t]!]!;
    if (a > m) m = a;
    if (b > m) m = b;
    MG[t] = m;
  }

  private ins(t: number, x: number): number {
    if (t === 0) return x;
    if (this.S[x]! < this.S[t]!) {
      const c = this.ins(this.L[t]!, x);
      this.L[t] = c;
      if (this.P[c]! > this.P[t]!) {
        this.L[t] = this.R[c]!;
        this.R[c] = t;
        this.pull(t);
        this.pull(c);
        return c;
      }
    } else {
      const c = this.ins(this.R[t]!, x);
      this.R[t] = c;
      if (this.P[c]! > this.P[t]!) {
        this.R[t] = this.L[c]!;
        this.L[c] = t;
        this.pull(t);
        this.pull(c);
        return c;
      }
    }
    this.pull(t);
    return t;
  }

  private merge(a: number, b: number): number {
    if (a === 0) return b;
    if (b === 0) return a;
    if (this.P[a]! > this.P[b]!) {
      this.R[a] = this.merge(this.R[a]!, b);
      this.pull(a);
      return a;
    }
    this.L[b] = this.merge(a, this.L[b]!);
    this.pull(b);
    return b;
  }

  private del(t: number, key: number): number {
    if (t === 0) return 0;
    const s = this.S[t]!;
    if (s === key) return this.merge(this.L[t]!, this.R[t]!);
    if (key < s) this.L[t] = this.del(this.L[t]!, key);
    else this.R[t] = this.del(this.R[t]!, key);
    this.pull(t);
    return t;
  }

  /** Recompute the augmentation on the path to the node keyed `key`. */
  private refresh(key: number): void {
    const st = this.stack;
    let d = 0;
    let t = this.root;
    const S = this.S;
    while (t !== 0) {
      st[d++] = t;
      const s = S[t]!;
      if (s === key) break;
      t = key < s ? this.L[t]! : this.R[t]!;
    }
    while (d > 0) this.pull(st[--d]!);
  }

  /** First node with S >= x (0 if none). */
  private lowerBound(x: number): number {
    let t = this.root;
    let r = 0;
    const S = this.S;
    while (t !== 0) {
      if (S[t]! >= x) {
        r = t;
        t = this.L[t]!;
      } else t = this.R[t]!;
    }
    return r;
  }

  /** Last node with S < x (0 if none). */
  private lastBelow(x: number): number {
    let t = this.root;
    let r = 0;
    const S = this.S;
    while (t !== 0) {
      if (S[t]! < x) {
        r = t;
        t = this.R[t]!;
      } else t = this.L[t]!;
    }
    return r;
  }

  /** First node with E >= y (ends are sorted like starts). */
  private firstEndAtLeast(y: number): number {
    let t = this.root;
    let r = 0;
    const E = this.E;
    while (t !== 0) {
      if (E[t]! >= y) {
        r = t;
        t = this.L[t]!;
      } else t = this.R[t]!;
    }
    return r;
  }

  private gapStartOf(x: number): number {
    return this.S[x]! - this.G[x]!;
  }

  /** Change a node's start and gap, keeping both indexes in step. Order must be preserved. */
  private setGap(x: number, s: number, g: number): void {
    const og = this.G[x]!;
    const os = this.S[x]!;
    if (og === g && os === s) return;
    if (og > 0) this.gaps.remove(og, os);
    this.S[x] = s;
    this.G[x] = g;
    if (g > 0) this.gaps.add(g, s);
    this.refresh(s);
  }

  private addNode(s: number, e: number, kind: number): void {
    const p = this.lastBelow(s);
    const g = s - (p !== 0 ? this.E[p]! + 1 : this.exStart);
    const succ = this.lowerBound(s);
    const x = this.newNode(s, e, g, kind);
    this.root = this.ins(this.root, x);
    this.n++;
    if (g > 0) this.gaps.add(g, s);
    if (succ !== 0) this.setGap(succ, this.S[succ]!, this.S[succ]! - e - 1);
  }

  private removeNode(x: number): void {
    const g = this.G[x]!;
    const s = this.S[x]!;
    if (g > 0) this.gaps.remove(g, s);
    this.root = this.del(this.root, s);
    this.n--;
    this.freeNodes.push(x);
  }

  // ------------------------------------------------------------------ search

  /** First node keyed in [lo, hi] whose gap evaluates to FIT or FAIL (code in ffCode). */
  private ff(t0: number, lo: number, hi: number, q: Query): number {
    let t = t0;
    const size = q.size;
    while (t !== 0) {
      if (this.MG[t]! < size) return 0;
      const st = this.S[t]!;
      if (st > lo) {
        const r = this.ff(this.L[t]!, lo, hi, q);
        if (r !== 0) return r;
      }
      if (st >= lo && st <= hi && this.G[t]! >= size) {
        const gs = st - this.G[t]!;
        const code = evalMid(q, nextCandidate(q, gs - 1), st);
        if (code !== NOFIT) {
          this.ffCode = code;
          return t;
        }
      }
      if (st >= hi) return 0;
      t = this.R[t]!;
    }
    return 0;
  }

  find(q: Query): number {
    let ns = firstCandidate(q);
    if (ns < q.exStart) return FIND_OVERFLOW;
    const S = this.S;
    const E = this.E;
    const k = this.lowerBound(ns);
    const p = k !== 0 ? this.lastBelow(S[k]!) : this.lastBelow(ns);
    if (p !== 0 && E[p]! >= ns) {
      const t = nextCandidate(q, E[p]!);
      if (t < E[p]!) return FIND_NONE;
      ns = t;
    }
    const subend = q.subend;
    if (k === 0 || S[k]! > subend) {
      if (evalTail(q, ns, k !== 0 ? S[k]! : q.exEnd) === FIT) {
        q.result = q.ns;
        return FIND_FOUND;
      }
      return FIND_NONE;
    }
    const sk = S[k]!;
    let hasBest = false;
    let bestNs = 0;
    let bestOvh = 0;
    let bestRank = 0;
    const r0 = evalMid(q, ns, sk);
    if (r0 === FAIL) return FIND_NONE;
    if (r0 === FIT) {
      if (q.fast || q.ovh === 0) {
        q.result = q.ns;
        return FIND_FOUND;
      }
      hasBest = true;
      bestNs = q.ns;
      bestOvh = q.ovh;
      bestRank = sk;
    }
    // A run whose end makes the next aligned start wrap stops the scan (32-bit words only).
    let hiKey = subend;
    let hasTail = true;
    const j = this.firstEndAtLeast(q.yMax());
    if (j !== 0 && S[j]! <= subend) {
      hiKey = S[j]!;
      hasTail = false;
    }
    const lo = sk + 1;
    if (q.fast) {
      if (lo <= hiKey) {
        const v = this.ff(this.root, lo, hiKey, q);
        if (v !== 0) {
          if (this.ffCode === FIT) {
            q.result = q.ns;
            return FIND_FOUND;
          }
          return FIND_NONE;
        }
      }
      if (!hasTail) return FIND_NONE;
      return this.tail(q, subend) === FIT ? FIND_FOUND : FIND_NONE;
    }
    // Best fit. First find where the scan would give up on a boundary check, if anywhere.
    let hiMid = hiKey;
    if (q.boundary !== 0 && lo <= hiKey) {
      let F = Number.POSITIVE_INFINITY;
      const z = q.mod - q.boundary + (q.base % q.boundary);
      const u = this.lowerBound(z + 1);
      if (u !== 0 && S[u]! >= lo && S[u]! <= hiKey && this.gapStartOf(u) < z) {
        const gs = this.gapStartOf(u);
        if (evalMid(q, nextCandidate(q, gs - 1), S[u]!) === FAIL) F = S[u]!;
      }
      const f = this.lowerBound(q.exEnd + 2);
      if (f !== 0 && S[f]! <= hiKey) {
        const v = this.ff(this.root, Math.max(S[f]!, lo), hiKey, q);
        if (v !== 0) {
          if (this.ffCode === FAIL) F = Math.min(F, S[v]!);
          else {
            const v2 = this.ff(this.root, S[v]! + 1, hiKey, q);
            if (v2 !== 0 && this.ffCode === FAIL) F = Math.min(F, S[v2]!);
          }
        }
      }
      if (F !== Number.POSITIVE_INFINITY) {
        hasTail = false;
        hiMid = F - 1;
      }
    }
    // Scan gaps by increasing length; stop once no longer gap can beat the best overhead.
    if (lo <= hiMid) {
      const gi = this.gaps;
      const size = q.size;
      const maxPad = q.maxPad();
      let cur = gi.lowerBound(size, lo);
      while (cur !== 0) {
        const cl = gi.lenOf(cur);
        const cr = gi.rankOf(cur);
        let lb = cl - size - maxPad;
        if (lb < 0) lb = 0;
        if (hasBest && lb > bestOvh) break;
        let limit = hiMid;
        if (hasBest && lb === bestOvh && bestRank < limit) limit = bestRank;
        if (cr < lo) {
          cur = gi.lowerBound(cl, lo);
          continue;
        }
        if (cr > limit) {
          cur = gi.lowerBound(cl + 1, lo);
          continue;
        }
        const code = evalMid(q, nextCandidate(q, cr - cl - 1), cr);
        if (code === FIT) {
          if (!hasBest || q.ovh < bestOvh || (q.ovh === bestOvh && cr < bestRank)) {
            hasBest = true;
            bestNs = q.ns;
            bestOvh = q.ovh;
            bestRank = cr;
          }
        }
        cur = gi.successor(cur);
      }
    }
    if (hasTail && this.tail(q, subend) === FIT) {
      if (!hasBest || q.ovh < bestOvh) {
        hasBest = true;
        bestNs = q.ns;
        bestOvh = q.ovh;
      }
    }
    if (hasBest) {
      q.result = bestNs;
      return FIND_FOUND;
    }
    return FIND_NONE;
  }

  /** Evaluate the tail gap after the last run that starts at or before subend. */
  private tail(q: Query, subend: number): number {
    const m1 = this.lastBelow(subend + 1);
    const ns = nextCandidate(q, this.E[m1]!);
    const m = this.lowerBound(subend + 1);
    const code = evalTail(q, ns, m !== 0 ? this.S[m]! : q.exEnd);
    if (code === FIT) q.result = q.ns;
    return code;
  }

  // ------------------------------------------------------------------ updates

  conflicts(start: number, end: number): boolean {
    const x = this.firstEndAtLeast(start);
    return x !== 0 && this.S[x]! <= end;
  }

  insert(start: number, end: number, coalesce: boolean, kind: number): number {
    if (!coalesce) {
      this.addNode(start, end, kind);
      return 0;
    }
    const p = this.lastBelow(start);
    const s = this.lowerBound(start);
    const appended = p !== 0 && this.E[p]! + 1 === start;
    if (s !== 0 && end + 1 === this.S[s]!) {
      if (appended) {
        const nk = this.K[s]!;
        const se = this.E[s]!;
        this.removeNode(s);
        this.E[p] = se;
        return INS_NEW_RELEASED | INS_NEXT_RELEASED | (nk ? REL_KIND_ALLOC : 0);
      }
      this.setGap(s, start, this.G[s]! - (this.S[s]! - start));
      return INS_NEW_RELEASED;
    }
    if (appended) {
      this.E[p] = end;
      if (s !== 0) this.setGap(s, this.S[s]!, this.S[s]! - end - 1);
      return INS_NEW_RELEASED;
    }
    this.addNode(start, end, kind);
    return 0;
  }

  free(start: number, end: number, coalesce: boolean, spareKind: number): number {
    const x = this.firstEndAtLeast(start);
    if (x === 0) return FREE_NOT_FOUND;
    const S = this.S;
    const E = this.E;
    const xs = S[x]!;
    const xe = E[x]!;
    if (xs > end) return FREE_NOT_FOUND;
    if (start === xs && end === xe) {
      const kk = this.K[x]!;
      const succ = this.lowerBound(xs + 1);
      const grow = this.G[x]! + (xe - xs + 1);
      this.removeNode(x);
      if (succ !== 0) this.setGap(succ, S[succ]!, this.G[succ]! + grow);
      return FREE_RUN_RELEASED | (kk ? REL_KIND_ALLOC : 0);
    }
    if (!coalesce) return FREE_NOT_FOUND;
    if (start === xs && end < xe) {
      this.setGap(x, end + 1, this.G[x]! + (end + 1 - start));
      return 0;
    }
    if (start > xs && end === xe) {
      const succ = this.lowerBound(xs + 1);
      E[x] = start - 1;
      if (succ !== 0) this.setGap(succ, S[succ]!, this.G[succ]! + (end - start + 1));
      return 0;
    }
    if (start > xs && end < xe) {
      E[x] = start - 1;
      this.addNode(end + 1, xe, spareKind);
      return FREE_SPARE_USED;
    }
    return FREE_NOT_FOUND;
  }

  forEach(fn: (start: number, end: number, kind: number) => void): void {
    const st: number[] = [];
    let t = this.root;
    while (t !== 0 || st.length > 0) {
      while (t !== 0) {
        st.push(t);
        t = this.L[t]!;
      }
      t = st.pop()!;
      fn(this.S[t]!, this.E[t]!, this.K[t]!);
      t = this.R[t]!;
    }
  }

  largestGap(exEnd: number): number {
    if (this.n === 0) return exEnd - this.exStart + 1;
    // Runs past ex_end (possible without DIAGNOSTIC) make gap lengths overstate free space.
    let last = this.root;
    while (this.R[last]! !== 0) last = this.R[last]!;
    if (this.E[last]! > exEnd) return scanLargestGap(this, exEnd, this.exStart);
    const tailGap = exEnd - this.E[last]!;
    const m = this.MG[this.root]!;
    return Math.max(m, tailGap);
  }

  clear(): number[] {
    const kinds: number[] = [];
    const st: number[] = [];
    let t = this.root;
    while (t !== 0 || st.length > 0) {
      while (t !== 0) {
        st.push(t);
        t = this.L[t]!;
      }
      t = st.pop()!;
      kinds.push(this.K[t]!);
      t = this.R[t]!;
    }
    this.root = 0;
    this.n = 0;
    this.next = 1;
    this.freeNodes.length = 0;
    this.gaps.clear();
    return kinds;
  }
}
