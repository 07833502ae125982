import { alignUp, modP2 } from "./arith.js";
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
import { GapIndex, RESIDUES, TIERS, tierOf } from "./gap-index.js";

/**
 * Most queued gaps a best-fit scan evaluates one by one rather than indexing them first (see
 * `flush`): an evaluation costs a few tens of ns, an index update a few hundred.
 */
export const DIRECT_SCAN_MAX = 16;

import { scanLargestGap } from "./linear-engine.js";
import { grown, xorshift32 } from "./treap.js";

/**
 * Generator state in a typed array: a module-level `let` holding a number above 2^30 would be
 * boxed (a heap number allocated per insert).
 */
const seed = new Uint32Array([0x2545f491]);
function prio(): number {
  const s = xorshift32(seed[0]!);
  seed[0] = s;
  return s;
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
  /** Parent (0 for the root): lets an insert start from the run a search found. */
  private U = new Int32Array(16);
  private P = new Uint32Array(16);
  private K = new Uint8Array(16);
  /** Gap-index node of the gap before the run, 0 while not indexed. */
  private GN = new Int32Array(16);
  /** Tier + 1 of the dirty list the run is on (its gap waits to be indexed), 0 if none. */
  private DF = new Uint8Array(16);
  /** Dirty lists (intrusive, doubly linked): next and previous run. */
  private DN = new Int32Array(16);
  private DP = new Int32Array(16);
  /**
   * Heads of the dirty lists, one per length tier (tier = floor(log2(gap length))): runs whose
   * gap must enter the gap index before a best-fit scan for a size of that tier or less.
   */
  private readonly dHead = new Int32Array(TIERS);
  /** Length of each dirty list. */
  private readonly dCount = new Int32Array(TIERS);
  /** Lowest tier whose dirty list may be non-empty (TIERS when all are empty). */
  private dLow = TIERS;
  /** Highest tier whose dirty list may be non-empty (-1 when all are empty). */
  private dHigh = -1;
  private cap = 16;
  private next = 1;
  private readonly freeNodes: number[] = [];
  private root = 0;
  private n = 0;
  private readonly exStart: number;
  private readonly gaps: GapIndex = new GapIndex();
  private stack = new Int32Array(256);
  /** Run node of each indexed gap, by gap-index node (maps a best-fit hit back to its run). */
  private runOfGap = new Int32Array(16);
  /**
   * The run whose gap holds the last search's result (0 if none): `insert` checks that the new
   * range lies in that gap and then starts from it instead of descending from the root.
   */
  private hint = 0;
  /**
   * Inserts that started from the search's run, and those of them that joined two runs
   * (white-box tests check both paths are exercised).
   */
  hintHits = 0;
  hintJoins = 0;
  private ffCode = NOFIT;
  /** Upper bound of every run end ever stored (never lowered until clear). */
  private hiEnd = -1;
  /** Results of `walk`: predecessor / successor of the key and their depths in `stack`. */
  private wp = 0;
  private ws = 0;
  private wsd = 0;
  /** Length of the last walk's path. */
  private wd = 0;
  /**
   * Remembered neighbours of the two keys every search looks up without needing the path (the
   * aligned subregion start, and subend + 1 for the tail): key, predecessor, successor. Checked
   * before use (see `locate`), never trusted.
   */
  private c0Key = -1;
  private c0P = 0;
  private c0S = 0;
  private c1Key = -1;
  private c1P = 0;
  private c1S = 0;
  /** Per-request pad table by gap-start class (see `prepareClasses`). */
  private readonly padOf = new Int32Array(RESIDUES);
  private readonly good1 = new Int32Array(RESIDUES * 4 + 2);
  private readonly good2 = new Int32Array(RESIDUES * 4 + 2);
  private maxPadAct = 0;
  /** Best-fit scans that used class pruning (white-box tests check the path is exercised). */
  classScans = 0;
  /**
   * Most queued gaps a best-fit scan evaluates directly instead of indexing them
   * ({@link DIRECT_SCAN_MAX}; white-box tests vary it, 0 always indexes).
   */
  directScanMax: number = DIRECT_SCAN_MAX;
  /** Best-fit scans that evaluated queued gaps directly (white-box tests check the path). */
  directScans = 0;
  /** Best-fit scans that left shorter gaps unindexed (white-box tests check the path). */
  deferredScans = 0;
  /** Queued gaps that moved to another tier's dirty list (white-box tests). */
  tierMoves = 0;
  /** Searches that used a remembered neighbour pair, and pairs found stale (white-box tests). */
  locateHits = 0;
  locateStale = 0;
  private cAlign = -1;
  private cBoundary = -1;
  private cSize = -1;
  private cSkew = -1;
  private cBase = -1;
  private cRealign = false;
  private cMod = -1;

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
    this.S = grown(this.S, cap);
    this.E = grown(this.E, cap);
    this.G = grown(this.G, cap);
    this.MG = grown(this.MG, cap);
    this.L = grown(this.L, cap);
    this.R = grown(this.R, cap);
    this.U = grown(this.U, cap);
    this.GN = grown(this.GN, cap);
    this.DN = grown(this.DN, cap);
    this.DP = grown(this.DP, cap);
    this.DF = grown(this.DF, cap);
    this.P = grown(this.P, cap);
    this.K = grown(this.K, cap);
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
    this.U[x] = 0;
    this.P[x] = prio();
    this.K[x] = kind;
    this.GN[x] = 0;
    this.DF[x] = 0;
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

  private push(d: number, t: number): void {
    if (d >= this.stack.length) {
      const s = new Int32Array(this.stack.length * 2);
      s.set(this.stack);
      this.stack = s;
    }
    this.stack[d] = t;
  }

  /**
   * One descent by start address, recording the path in `stack`: `wp` is the last node with
   * S < key and `ws` the first with S >= key (both lie on the path), `wsd` the depth of `ws`.
   */
  private walk(key: number): void {
    let t = this.root;
    let d = 0;
    let p = 0;
    let sc = 0;
    let sd = 0;
    const S = this.S;
    const L = this.L;
    const R = this.R;
    let st = this.stack;
    while (t !== 0) {
      if (d >= st.length) {
        this.push(d, t);
        st = this.stack;
      } else st[d] = t;
      if (S[t]! < key) {
        p = t;
        d++;
        t = R[t]!;
      } else {
        sc = t;
        sd = d++;
        t = L[t]!;
      }
    }
    this.wp = p;
    this.ws = sc;
    this.wsd = sd;
    this.wd = d;
  }

  /**
   * `wp` and `ws` as `walk(key)` sets them (the path is not recorded), from the remembered pair
   * of `slot` when it still holds: both nodes are live runs, S[p] < key <= S[s], and p is s's
   * predecessor (its end meets the start of s's gap; with p = 0, s's gap starts at ex_start).
   * Released nodes have S = NaN, so a stale pair fails the check and a walk refreshes it.
   */
  private locate(key: number, slot: number): void {
    const S = this.S;
    const p = slot === 0 ? this.c0P : this.c1P;
    const sc = slot === 0 ? this.c0S : this.c1S;
    if (sc !== 0 && (slot === 0 ? this.c0Key : this.c1Key) === key) {
      const ss = S[sc]!;
      const gs = ss - this.G[sc]!;
      if (ss >= key && (p === 0 ? gs === this.exStart : S[p]! < key && this.E[p]! + 1 === gs)) {
        this.wp = p;
        this.ws = sc;
        this.locateHits++;
        return;
      }
      this.locateStale++;
    }
    this.walk(key);
    if (slot === 0) {
      this.c0Key = key;
      this.c0P = this.wp;
      this.c0S = this.ws;
    } else {
      this.c1Key = key;
      this.c1P = this.wp;
      this.c1S = this.ws;
    }
  }

  /**
   * Recompute MG from stack[d] up to the root after the gap of stack[d] changed, stopping as
   * soon as a node's MG is unchanged.
   */
  private pullFrom(d0: number): void {
    const st = this.stack;
    const MG = this.MG;
    for (let d = d0; d >= 0; d--) {
      const t = st[d]!;
      const o = MG[t]!;
      this.pull(t);
      if (MG[t] === o) return;
    }
  }

  /** First node with S >= x (0 if none). */
  private lowerBound(x: number): number {
    let t = this.root;
    let r = 0;
    const S = this.S;
    const L = this.L;
    const R = this.R;
    while (t !== 0) {
      if (S[t]! >= x) {
        r = t;
        t = L[t]!;
      } else t = R[t]!;
    }
    return r;
  }

  /**
   * First node with E >= y (ends are sorted like starts). `lowerBound` with E for S, written out
   * again: one descent taking the key array as an argument measured 5-10% slower on alloc/free.
   */
  private firstEndAtLeast(y: number): number {
    let t = this.root;
    let r = 0;
    const E = this.E;
    const L = this.L;
    const R = this.R;
    while (t !== 0) {
      if (E[t]! >= y) {
        r = t;
        t = L[t]!;
      } else t = R[t]!;
    }
    return r;
  }

  private gapStartOf(x: number): number {
    return this.S[x]! - this.G[x]!;
  }

  /** setGapOnly, then fix the tags from `x` = stack[d] (on the current path) upward. */
  private setGapAt(x: number, s: number, g: number, d: number): void {
    if (this.setGapOnly(x, s, g)) this.pullFrom(d);
  }

  /**
   * Change a node's start and gap (order must be preserved); the gap leaves the gap index now
   * and is queued to re-enter it. Returns false when nothing changed. Tags are not fixed here.
   */
  private setGapOnly(x: number, s: number, g: number): boolean {
    const og = this.G[x]!;
    const os = this.S[x]!;
    if (og === g && os === s) return false;
    const gn = this.GN[x]!;
    if (gn !== 0) {
      this.gaps.removeNode(gn);
      this.GN[x] = 0;
    }
    this.S[x] = s;
    this.G[x] = g;
    if (g > 0) this.markDirty(x);
    else if (this.DF[x] !== 0) this.unqueue(x);
    return true;
  }

  /**
   * Queue x's gap (G[x] > 0, not indexed) for the gap index, on the dirty list of its length
   * tier (added lazily by `flush`); a run already queued under another tier moves.
   */
  private markDirty(x: number): void {
    const t = tierOf(this.G[x]!);
    const q = this.DF[x]!;
    if (q === t + 1) return;
    if (q !== 0) {
      this.unqueue(x);
      this.tierMoves++;
    }
    const h = this.dHead[t]!;
    this.DN[x] = h;
    this.DP[x] = 0;
    if (h !== 0) this.DP[h] = x;
    this.dHead[t] = x;
    this.dCount[t] = this.dCount[t]! + 1;
    this.DF[x] = t + 1;
    if (t < this.dLow) this.dLow = t;
    if (t > this.dHigh) this.dHigh = t;
  }

  /** Take x off its dirty list (DF[x] !== 0). */
  private unqueue(x: number): void {
    const nx = this.DN[x]!;
    const pv = this.DP[x]!;
    const t = this.DF[x]! - 1;
    if (pv !== 0) this.DN[pv] = nx;
    else this.dHead[t] = nx;
    if (nx !== 0) this.DP[nx] = pv;
    this.dCount[t] = this.dCount[t]! - 1;
    this.DF[x] = 0;
  }

  /**
   * Bring the gap index up to date for a scan of gaps of length >= `size`: index the gaps
   * queued since the last best-fit scan whose tier is at least `size`'s. A gap that changed
   * several times in between is indexed once; first fit never pays for it, and gaps too short
   * for every best fit asked so far (the crumbs of a fragmented map) are never indexed.
   *
   * When at most `directScanMax` gaps wait in those tiers, nothing is indexed and true is
   * returned: the scan evaluates them straight from their lists instead. Best fit keeps
   * allocating in the same few gaps (the smallest that fit), and each allocation or free there
   * would otherwise take the gap out of the index and put it back, two treap updates each time.
   */
  private flush(size: number): boolean {
    const t0 = tierOf(size);
    const hi = this.dHigh;
    if (t0 > hi) return false;
    const count = this.dCount;
    let waiting = 0;
    for (let t = Math.max(t0, this.dLow); t <= hi; t++) waiting += count[t]!;
    if (waiting === 0) return false;
    if (waiting <= this.directScanMax) {
      this.directScans++;
      return true;
    }
    const head = this.dHead;
    const DN = this.DN;
    const DF = this.DF;
    const GN = this.GN;
    const G = this.G;
    const S = this.S;
    for (let t = Math.max(t0, this.dLow); t <= hi; t++) {
      let x = head[t]!;
      while (x !== 0) {
        const nx = DN[x]!;
        DF[x] = 0;
        if (GN[x] === 0) {
          const gn = this.gaps.add(G[x]!, S[x]!);
          GN[x] = gn;
          if (gn >= this.runOfGap.length) this.runOfGap = grown(this.runOfGap, gn * 2);
          this.runOfGap[gn] = x;
        }
        x = nx;
      }
      head[t] = 0;
      count[t] = 0;
    }
    if (t0 <= this.dLow) {
      this.dLow = TIERS;
      this.dHigh = -1;
    } else {
      this.dHigh = t0 - 1;
      this.deferredScans++;
    }
    return false;
  }

  /** Insert the run [s, e]; `walked`: the last `walk` was `walk(s)` and nothing changed since. */
  private addNode(s: number, e: number, kind: number, walked: boolean): void {
    if (!walked) this.walk(s);
    const p = this.wp;
    const g = s - (p !== 0 ? this.E[p]! + 1 : this.exStart);
    const succ = this.ws;
    let d = this.wd;
    if (e > this.hiEnd) this.hiEnd = e;
    // The successor's gap shrinks first (the path is still the walk's).
    if (succ !== 0) this.setGapAt(succ, this.S[succ]!, this.S[succ]! - e - 1, this.wsd);
    const x = this.newNode(s, e, g, kind);
    this.n++;
    if (g > 0) this.markDirty(x);
    if (d === 0) {
      this.root = x;
      return;
    }
    const L = this.L;
    const R = this.R;
    const P = this.P;
    const st = this.stack;
    const U = this.U;
    const leaf = st[d - 1]!;
    if (s < this.S[leaf]!) L[leaf] = x;
    else R[leaf] = x;
    U[x] = leaf;
    // Rotate x up while its priority beats its parent's.
    const px = P[x]!;
    while (d > 0) {
      const q = st[d - 1]!;
      if (px <= P[q]!) break;
      if (L[q] === x) {
        const c = R[x]!;
        L[q] = c;
        U[c] = q;
        R[x] = q;
      } else {
        const c = L[x]!;
        R[q] = c;
        U[c] = q;
        L[x] = q;
      }
      U[q] = x;
      this.pull(q);
      this.pull(x);
      d--;
      if (d === 0) {
        this.root = x;
        U[x] = 0;
      } else {
        const gp = st[d - 1]!;
        U[x] = gp;
        if (L[gp] === q) L[gp] = x;
        else R[gp] = x;
      }
    }
    // The rest of the path: x's ancestors, whose largest gap can only grow to g.
    const MG = this.MG;
    while (d > 0) {
      const an = st[--d]!;
      if (MG[an]! >= g) break;
      MG[an] = g;
    }
  }

  /** Remove the run x (its ancestors are found by parent links; their tags are fixed). */
  private removeAt(x: number): void {
    const gn = this.GN[x]!;
    if (gn !== 0) this.gaps.removeNode(gn);
    if (this.DF[x] !== 0) this.unqueue(x);
    const m = this.merge(this.L[x]!, this.R[x]!);
    const par = this.U[x]!;
    this.U[m] = par;
    if (par === 0) this.root = m;
    else {
      if (this.L[par] === x) this.L[par] = m;
      else this.R[par] = m;
      this.pullUp(par);
    }
    this.n--;
    // A released node has no start: a remembered neighbour pointing at it no longer checks out.
    this.S[x] = Number.NaN;
    this.freeNodes.push(x);
  }

  /** Recompute MG from x up to the root by parent links, stopping at the first unchanged node. */
  private pullUp(x: number): void {
    const MG = this.MG;
    const U = this.U;
    for (let t = x; t !== 0; t = U[t]!) {
      const o = MG[t]!;
      this.pull(t);
      if (MG[t] === o) return;
    }
  }

  /**
   * `insert` when the run `s` is known to follow the new range [start, end] (it lies in s's
   * gap): the predecessor and every ancestor are reached by parent links, so nothing descends
   * from the root. Same effects as the walking path.
   */
  private insertBefore(
    s: number,
    start: number,
    end: number,
    coalesce: boolean,
    kind: number,
  ): number {
    const S = this.S;
    const E = this.E;
    const L = this.L;
    const R = this.R;
    const U = this.U;
    // Predecessor of s: the rightmost run of its left subtree, else the nearest ancestor of
    // which s is in the right subtree.
    let p = L[s]!;
    if (p !== 0) while (R[p]! !== 0) p = R[p]!;
    else {
      let c = s;
      p = U[c]!;
      while (p !== 0 && L[p] === c) {
        c = p;
        p = U[p]!;
      }
    }
    if (end > this.hiEnd) this.hiEnd = end;
    const ss = S[s]!;
    if (coalesce) {
      const appended = p !== 0 && E[p]! + 1 === start;
      if (end + 1 === ss) {
        if (appended) {
          const nk = this.K[s]!;
          const se = E[s]!;
          this.removeAt(s);
          E[p] = se;
          this.hintJoins++;
          return INS_NEW_RELEASED | INS_NEXT_RELEASED | (nk ? REL_KIND_ALLOC : 0);
        }
        if (this.setGapOnly(s, start, this.G[s]! - (ss - start))) this.pullUp(s);
        return INS_NEW_RELEASED;
      }
      if (appended) {
        E[p] = end;
        if (this.setGapOnly(s, ss, ss - end - 1)) this.pullUp(s);
        return INS_NEW_RELEASED;
      }
    }
    const g = start - (p !== 0 ? E[p]! + 1 : this.exStart);
    // The successor's gap shrinks first, then the new run hangs below s or its predecessor.
    if (this.setGapOnly(s, ss, ss - end - 1)) this.pullUp(s);
    const x = this.newNode(start, end, g, kind);
    this.n++;
    if (g > 0) this.markDirty(x);
    const Lx = this.L;
    const Rx = this.R;
    const Ux = this.U;
    const P = this.P;
    if (Lx[s] === 0) {
      Lx[s] = x;
      Ux[x] = s;
    } else {
      Rx[p] = x;
      Ux[x] = p;
    }
    // Rotate x up while its priority beats its parent's.
    const px = P[x]!;
    let q = Ux[x]!;
    while (q !== 0 && px > P[q]!) {
      const gp = Ux[q]!;
      if (Lx[q] === x) {
        const c = Rx[x]!;
        Lx[q] = c;
        Ux[c] = q;
        Rx[x] = q;
      } else {
        const c = Lx[x]!;
        Rx[q] = c;
        Ux[c] = q;
        Lx[x] = q;
      }
      Ux[q] = x;
      this.pull(q);
      this.pull(x);
      Ux[x] = gp;
      if (gp === 0) this.root = x;
      else if (Lx[gp] === q) Lx[gp] = x;
      else Rx[gp] = x;
      q = gp;
    }
    // The rest: x's ancestors, whose largest gap can only grow to g.
    const MG = this.MG;
    for (let an = Ux[x]!; an !== 0 && MG[an]! < g; an = Ux[an]!) MG[an] = g;
    return 0;
  }

  // ------------------------------------------------------------------ search

  /** First node keyed in [lo, hi] whose gap evaluates to FIT or FAIL (code in ffCode). */
  private ff(t0: number, lo: number, hi: number, q: Query): number {
    let t = t0;
    const size = q.size;
    const MG = this.MG;
    const S = this.S;
    const G = this.G;
    const L = this.L;
    const R = this.R;
    while (t !== 0) {
      if (MG[t]! < size) return 0;
      const st = S[t]!;
      if (st > lo) {
        const l = L[t]!;
        if (l !== 0 && MG[l]! >= size) {
          const r = this.ff(l, lo, hi, q);
          if (r !== 0) return r;
        }
      }
      const g = G[t]!;
      if (st >= lo && st <= hi && g >= size) {
        const gs = st - g;
        const code = evalMid(q, nextCandidate(q, gs - 1), st);
        if (code !== NOFIT) {
          this.ffCode = code;
          return t;
        }
      }
      if (st >= hi) return 0;
      t = R[t]!;
    }
    return 0;
  }

  find(q: Query): number {
    this.hint = 0;
    let ns = firstCandidate(q);
    if (ns < q.exStart) return FIND_OVERFLOW;
    const S = this.S;
    const E = this.E;
    this.locate(ns, 0);
    const k = this.ws;
    const p = this.wp;
    if (p !== 0 && E[p]! >= ns) {
      const t = nextCandidate(q, E[p]!);
      if (t < E[p]!) return FIND_NONE;
      ns = t;
    }
    const subend = q.subend;
    if (k === 0 || S[k]! > subend) {
      if (evalTail(q, ns, k !== 0 ? S[k]! : q.exEnd) === FIT) {
        q.result = q.ns;
        this.hint = k;
        return FIND_FOUND;
      }
      return FIND_NONE;
    }
    const sk = S[k]!;
    let hasBest = false;
    let bestNs = 0;
    let bestOvh = 0;
    let bestRank = 0;
    let bestRun = 0;
    const r0 = evalMid(q, ns, sk);
    if (r0 === FAIL) return FIND_NONE;
    if (r0 === FIT) {
      if (q.fast || q.ovh === 0) {
        q.result = q.ns;
        this.hint = k;
        return FIND_FOUND;
      }
      hasBest = true;
      bestRun = k;
      bestNs = q.ns;
      bestOvh = q.ovh;
      bestRank = sk;
    }
    // A run whose end makes the next aligned start wrap stops the scan (32-bit words only).
    let hiKey = subend;
    let hasTail = true;
    const ym = q.yMax();
    const j = ym > this.hiEnd ? 0 : this.firstEndAtLeast(ym);
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
            this.hint = v;
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
      const z = q.mod - q.boundary + modP2(q.base, q.boundary);
      const u = z + 1 > this.hiEnd ? 0 : this.lowerBound(z + 1);
      if (u !== 0 && S[u]! >= lo && S[u]! <= hiKey && this.gapStartOf(u) < z) {
        const gs = this.gapStartOf(u);
        if (evalMid(q, nextCandidate(q, gs - 1), S[u]!) === FAIL) F = S[u]!;
      }
      const f = q.exEnd + 2 > this.hiEnd ? 0 : this.lowerBound(q.exEnd + 2);
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
    // After a few evaluations, skip gaps whose start class cannot beat the best (pruning).
    if (lo <= hiMid) {
      const gi = this.gaps;
      const size = q.size;
      const maxPad = q.maxPad();
      const classes = q.align > 1 || q.boundary !== 0;
      let prune = false;
      let evals = 0;
      const direct = this.flush(size);
      // The queued gaps that flush() left out of the index, first (they are often the best,
      // and a best found early cuts the scan of the index short): the same test, one by one.
      // The winner is the least (overhead, rank) whatever the order the gaps are looked at in.
      if (direct) {
        const G = this.G;
        const DN = this.DN;
        const head = this.dHead;
        const hi = this.dHigh;
        for (let t = Math.max(tierOf(size), this.dLow); t <= hi; t++) {
          for (let x = head[t]!; x !== 0; x = DN[x]!) {
            const cl = G[x]!;
            const cr = S[x]!;
            if (cl < size || cr < lo || cr > hiMid) continue;
            if (hasBest && cl - size - maxPad > bestOvh) continue;
            if (evalMid(q, nextCandidate(q, cr - cl - 1), cr) !== FIT) continue;
            if (!hasBest || q.ovh < bestOvh || (q.ovh === bestOvh && cr < bestRank)) {
              hasBest = true;
              bestNs = q.ns;
              bestOvh = q.ovh;
              bestRank = cr;
              bestRun = x;
            }
          }
        }
      }
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
          cur = this.nextGap(cur, cl, lo, prune, size, bestOvh);
          continue;
        }
        if (cr > limit) {
          cur = this.nextGap(cur, cl + 1, lo, prune, size, bestOvh);
          continue;
        }
        if (prune && this.padOf[gi.classOf(cur)]! < cl - size - bestOvh) {
          cur = this.afterGap(cur, cl, prune, size, bestOvh);
          continue;
        }
        const code = evalMid(q, nextCandidate(q, cr - cl - 1), cr);
        if (code === FIT) {
          if (!hasBest || q.ovh < bestOvh || (q.ovh === bestOvh && cr < bestRank)) {
            hasBest = true;
            bestNs = q.ns;
            bestOvh = q.ovh;
            bestRank = cr;
            bestRun = this.runOfGap[cur]!;
          }
        }
        if (classes && !prune && hasBest && ++evals >= 1 && this.prepareClasses(q)) {
          prune = true;
          this.classScans++;
        }
        cur = this.afterGap(cur, cl, prune, size, bestOvh);
      }
    }
    // An exact fit cannot be beaten (the tail must leave strictly less): skip its descent.
    if (hasTail && !(hasBest && bestOvh === 0) && this.tail(q, subend) === FIT) {
      if (!hasBest || q.ovh < bestOvh) {
        hasBest = true;
        bestNs = q.ns;
        bestOvh = q.ovh;
        bestRun = this.ws;
      }
    }
    if (hasBest) {
      q.result = bestNs;
      this.hint = bestRun;
      return FIND_FOUND;
    }
    return FIND_NONE;
  }

  /** Evaluate the tail gap after the last run that starts at or before subend. */
  private tail(q: Query, subend: number): number {
    this.locate(subend + 1, 1);
    const m1 = this.wp;
    const m = this.ws;
    const ns = nextCandidate(q, this.E[m1]!);
    const code = evalTail(q, ns, m !== 0 ? this.S[m]! : q.exEnd);
    if (code === FIT) {
      q.result = q.ns;
      this.hint = m;
    }
    return code;
  }

  // ------------------------------------------------------------------ updates

  conflicts(start: number, end: number): boolean {
    const x = this.firstEndAtLeast(start);
    return x !== 0 && this.S[x]! <= end;
  }

  insert(start: number, end: number, coalesce: boolean, kind: number): number {
    const h = this.hint;
    if (h !== 0) {
      this.hint = 0;
      // NaN (a released run) fails the check, as does any run whose gap does not hold the range.
      const hs = this.S[h]!;
      if (end < hs && hs - this.G[h]! <= start) {
        this.hintHits++;
        return this.insertBefore(h, start, end, coalesce, kind);
      }
    }
    if (!coalesce) {
      this.addNode(start, end, kind, false);
      return 0;
    }
    this.walk(start);
    const p = this.wp;
    const s = this.ws;
    const appended = p !== 0 && this.E[p]! + 1 === start;
    if (end > this.hiEnd) this.hiEnd = end;
    if (s !== 0 && end + 1 === this.S[s]!) {
      if (appended) {
        const nk = this.K[s]!;
        const se = this.E[s]!;
        this.removeAt(s);
        this.E[p] = se;
        return INS_NEW_RELEASED | INS_NEXT_RELEASED | (nk ? REL_KIND_ALLOC : 0);
      }
      this.setGapAt(s, start, this.G[s]! - (this.S[s]! - start), this.wsd);
      return INS_NEW_RELEASED;
    }
    if (appended) {
      this.E[p] = end;
      if (s !== 0) this.setGapAt(s, this.S[s]!, this.S[s]! - end - 1, this.wsd);
      return INS_NEW_RELEASED;
    }
    this.addNode(start, end, kind, true);
    return 0;
  }

  free(start: number, end: number, coalesce: boolean, spareKind: number): number {
    // One descent by end address: x = first run with E >= start, up = its in-order successor
    // when x has no right subtree (the last node where the descent turned left before x).
    const S = this.S;
    const E = this.E;
    const L = this.L;
    const R = this.R;
    let t = this.root;
    let d = 0;
    let x = 0;
    let xd = 0;
    let up = 0;
    let upd = 0;
    let stk = this.stack;
    while (t !== 0) {
      if (d >= stk.length) {
        this.push(d, t);
        stk = this.stack;
      } else stk[d] = t;
      if (E[t]! >= start) {
        up = x;
        upd = xd;
        x = t;
        xd = d++;
        t = L[t]!;
      } else {
        d++;
        t = R[t]!;
      }
    }
    if (x === 0) return FREE_NOT_FOUND;
    const xs = S[x]!;
    const xe = E[x]!;
    if (xs > end) return FREE_NOT_FOUND;
    if (start === xs && end === xe) {
      const kk = this.K[x]!;
      const succ = this.succOf(x, xd, up, upd);
      const sd = this.wsd;
      if (succ !== 0) {
        this.setGapOnly(succ, S[succ]!, this.G[succ]! + this.G[x]! + (xe - xs + 1));
        // Below x: fix the spine from succ up to x's right child before x goes.
        for (let k = sd; k > xd; k--) this.pull(this.stack[k]!);
      }
      this.removeAt(x);
      // Above x: its ancestors were pulled by removeAt, but maybe not as far up as succ.
      if (succ !== 0 && sd < xd) this.pullFrom(sd);
      return FREE_RUN_RELEASED | (kk ? REL_KIND_ALLOC : 0);
    }
    if (!coalesce) return FREE_NOT_FOUND;
    if (start === xs && end < xe) {
      this.setGapAt(x, end + 1, this.G[x]! + (end + 1 - start), xd);
      return 0;
    }
    if (start > xs && end === xe) {
      const succ = this.succOf(x, xd, up, upd);
      E[x] = start - 1;
      if (succ !== 0) this.setGapAt(succ, S[succ]!, this.G[succ]! + (end - start + 1), this.wsd);
      return 0;
    }
    if (start > xs && end < xe) {
      E[x] = start - 1;
      this.addNode(end + 1, xe, spareKind, false);
      return FREE_SPARE_USED;
    }
    return FREE_NOT_FOUND;
  }

  /**
   * In-order successor of x = stack[xd] (0 if none), with the path to it left in `stack` and
   * its depth in `wsd`. `up`/`upd`: the successor when x has no right subtree.
   */
  private succOf(x: number, xd: number, up: number, upd: number): number {
    let t = this.R[x]!;
    if (t === 0) {
      this.wsd = upd;
      return up;
    }
    let d = xd + 1;
    let s = 0;
    while (t !== 0) {
      this.push(d, t);
      s = t;
      this.wsd = d++;
      t = this.L[t]!;
    }
    return s;
  }

  // ------------------------------------------------------------------ class pruning

  /**
   * Best-fit pruning by gap-start class: for a request whose alignment and boundary divide 64,
   * far from the top of the word, the candidate's offset into a gap (its pad) depends only on
   * the gap start mod 64, and a fitting gap of length l leaves l - size - pad. Fills `padOf`
   * and the masks `good1/good2[t]` of classes with pad >= t. Returns false when not applicable.
   */
  private prepareClasses(q: Query): boolean {
    if (q.align > RESIDUES || q.boundary > RESIDUES) return false;
    const mod = q.mod;
    if (this.hiEnd + 4 * RESIDUES >= mod || q.exEnd + 4 * RESIDUES >= mod) return false;
    if (
      this.cAlign === q.align &&
      this.cBoundary === q.boundary &&
      this.cSize === q.size &&
      this.cSkew === q.skew &&
      this.cBase === q.base &&
      this.cRealign === q.realign &&
      this.cMod === mod
    )
      return true;
    const padOf = this.padOf;
    const g1 = this.good1;
    const g2 = this.good2;
    let maxPad = 0;
    for (let r = 0; r < RESIDUES; r++) {
      let ns = alignUp(r, q.align, q.skew, mod);
      if (q.boundary !== 0) {
        const dc = alignUp(ns + 1, q.boundary, q.base, mod) - 1;
        if (ns + q.size - 1 > dc) {
          ns = dc + 1;
          if (q.realign) ns = alignUp(ns, q.align, q.skew, mod);
        }
      }
      const pad = ns - r;
      padOf[r] = pad;
      if (pad > maxPad) maxPad = pad;
    }
    if (maxPad + 1 >= g1.length) return false;
    g1.fill(0, 0, maxPad + 2);
    g2.fill(0, 0, maxPad + 2);
    for (let r = 0; r < RESIDUES; r++) {
      const pad = padOf[r]!;
      if (r < 32) g1[pad] = g1[pad]! | (1 << r);
      else g2[pad] = g2[pad]! | (1 << (r - 32));
    }
    for (let t = maxPad - 1; t >= 0; t--) {
      g1[t] = g1[t]! | g1[t + 1]!;
      g2[t] = g2[t]! | g2[t + 1]!;
    }
    this.maxPadAct = maxPad;
    this.cAlign = q.align;
    this.cBoundary = q.boundary;
    this.cSize = q.size;
    this.cSkew = q.skew;
    this.cBase = q.base;
    this.cRealign = q.realign;
    this.cMod = mod;
    return true;
  }

  /** The gap after `cur` (of length `len`) in order; with pruning, as in `nextGap`. */
  private afterGap(
    cur: number,
    len: number,
    prune: boolean,
    size: number,
    bestOvh: number,
  ): number {
    if (!prune) return this.gaps.nextIn(cur, -1, -1);
    const t = len - size - bestOvh;
    if (t <= 0) return this.gaps.nextIn(cur, -1, -1);
    if (t > this.maxPadAct) return 0;
    return this.gaps.nextIn(cur, this.good1[t]!, this.good2[t]!);
  }

  /** Next gap >= (len, rank) (past `from`, which is below it); with pruning, skip classes whose pad cannot beat `bestOvh`. */
  private nextGap(
    from: number,
    len: number,
    rank: number,
    prune: boolean,
    size: number,
    bestOvh: number,
  ): number {
    const t = len - size - bestOvh;
    if (!prune || t <= 0) return this.gaps.lowerBoundFrom(from, len, rank, -1, -1);
    if (t > this.maxPadAct) return 0;
    return this.gaps.lowerBoundFrom(from, len, rank, this.good1[t]!, this.good2[t]!);
  }

  /**
   * White-box check of the lazy gap index (tests only, O(n)): every run with a gap is either
   * indexed with its current (length, start) or queued on the dirty list of its length tier,
   * never both; the dirty lists are well linked. Returns the first violation, or null.
   */
  checkGapIndex(): string | null {
    const bad = this.checkRunTree();
    if (bad !== null) return bad;
    const queued = new Set<number>();
    for (let t = 0; t < TIERS; t++) {
      let prev = 0;
      for (let x = this.dHead[t]!; x !== 0; x = this.DN[x]!) {
        if (this.DP[x] !== prev) return `run node ${x}: bad back link in tier ${t}`;
        if (this.DF[x] !== t + 1) return `run node ${x}: on tier ${t} list, tagged ${this.DF[x]}`;
        if (t < this.dLow || t > this.dHigh) return `tier ${t} list outside [dLow, dHigh]`;
        if (queued.has(x)) return `run node ${x}: queued twice`;
        queued.add(x);
        prev = x;
      }
    }
    const st: number[] = [];
    let t = this.root;
    while (t !== 0 || st.length > 0) {
      while (t !== 0) {
        st.push(t);
        t = this.L[t]!;
      }
      t = st.pop()!;
      const g = this.G[t]!;
      const gn = this.GN[t]!;
      const q = this.DF[t]!;
      if (g > 0) {
        if ((gn !== 0) === (q !== 0)) return `run ${this.S[t]}: indexed ${gn}, queued ${q}`;
        if (gn !== 0 && (this.gaps.lenOf(gn) !== g || this.gaps.rankOf(gn) !== this.S[t]!))
          return `run ${this.S[t]}: stale index entry`;
        if (q !== 0 && q !== tierOf(g) + 1) return `run ${this.S[t]}: queued in the wrong tier`;
      } else if (gn !== 0 || q !== 0) return `run ${this.S[t]}: no gap, but indexed or queued`;
      queued.delete(t);
      t = this.R[t]!;
    }
    if (queued.size > 0) return `${queued.size} queued nodes are not runs`;
    return null;
  }

  /**
   * White-box check of the run treap (tests only, O(n)): parent links, start order, heap order
   * of the priorities and the largest-gap tags. Returns the first violation, or null.
   */
  checkRunTree(): string | null {
    if (this.root !== 0 && this.U[this.root] !== 0) return "root has a parent";
    const st: number[] = [this.root];
    let count = 0;
    while (st.length > 0) {
      const t = st.pop()!;
      if (t === 0) continue;
      count++;
      let m = this.G[t]!;
      for (const c of [this.L[t]!, this.R[t]!]) {
        if (c === 0) continue;
        if (this.U[c] !== t) return `run node ${c}: parent ${this.U[c]}, expected ${t}`;
        if (this.P[c]! > this.P[t]!) return `run node ${c}: priority above its parent's`;
        if (this.MG[c]! > m) m = this.MG[c]!;
        st.push(c);
      }
      const l = this.L[t]!;
      const r = this.R[t]!;
      if ((l !== 0 && this.S[l]! >= this.S[t]!) || (r !== 0 && this.S[r]! <= this.S[t]!))
        return `run node ${t}: out of order`;
      if (this.MG[t] !== m) return `run node ${t}: largest-gap tag ${this.MG[t]}, expected ${m}`;
    }
    if (count !== this.n) return `${count} nodes reachable, ${this.n} runs`;
    return null;
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
    this.hiEnd = -1;
    this.dHead.fill(0);
    this.dCount.fill(0);
    this.dLow = TIERS;
    this.dHigh = -1;
    this.c0S = 0;
    this.c1S = 0;
    this.next = 1;
    this.freeNodes.length = 0;
    this.gaps.clear();
    return kinds;
  }
}
