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
  nextCandidate,
  type Query,
} from "./fit.js";

/** Largest free gap of a run store inside [exStart, exEnd], by a walk over its runs. */
export function scanLargestGap(engine: Engine, exEnd: number, exStart: number): number {
  let best = 0;
  let prev = exStart;
  engine.forEach((s, e) => {
    const top = Math.min(s - 1, exEnd);
    if (top >= prev && top - prev + 1 > best) best = top - prev + 1;
    if (e + 1 > prev) prev = e + 1;
  });
  if (exEnd >= prev && exEnd - prev + 1 > best) best = exEnd - prev + 1;
  return best;
}

/**
 * The reference run store: a sorted list walked from the head on every operation, exactly like
 * NetBSD's `LIST` of `extent_region`s. O(n) per operation.
 */
export class LinearEngine implements Engine {
  private readonly s: number[] = [];
  private readonly e: number[] = [];
  private readonly k: number[] = [];
  private readonly exStart: number;

  /** Create an empty list for an extent starting at `exStart`. */
  constructor(exStart: number) {
    this.exStart = exStart;
  }

  /** Number of runs. */
  get count(): number {
    return this.s.length;
  }

  /** NetBSD's scan, gap by gap. */
  find(q: Query): number {
    const s = this.s;
    const e = this.e;
    const n = s.length;
    let ns = firstCandidate(q);
    if (ns < q.exStart) return FIND_OVERFLOW;
    let i = 0;
    while (i < n && s[i]! < ns) i++;
    if (i > 0 && e[i - 1]! >= ns) {
      const t = nextCandidate(q, e[i - 1]!);
      // Deviation: NetBSD does not check this wrap and would corrupt its list; we stop here.
      if (t < e[i - 1]!) return FIND_NONE;
      ns = t;
    }
    let hasBest = false;
    let bestNs = 0;
    let bestOvh = 0;
    let exend = q.exEnd;
    let tail = true;
    for (; i < n; i++) {
      if (s[i]! > q.subend) {
        exend = s[i]!;
        break;
      }
      const r = evalMid(q, ns, s[i]!);
      if (r === FAIL) {
        tail = false;
        break;
      }
      if (r === FIT) {
        if (q.fast || q.ovh === 0) {
          q.result = q.ns;
          return FIND_FOUND;
        }
        if (!hasBest || q.ovh < bestOvh) {
          hasBest = true;
          bestOvh = q.ovh;
          bestNs = q.ns;
        }
      }
      const t = nextCandidate(q, e[i]!);
      if (t < e[i]!) {
        tail = false;
        break;
      }
      ns = t;
    }
    if (tail && evalTail(q, ns, exend) === FIT) {
      if (q.fast || q.ovh === 0) {
        q.result = q.ns;
        return FIND_FOUND;
      }
      if (!hasBest || q.ovh < bestOvh) {
        hasBest = true;
        bestOvh = q.ovh;
        bestNs = q.ns;
      }
    }
    if (!q.fast && hasBest) {
      q.result = bestNs;
      return FIND_FOUND;
    }
    return FIND_NONE;
  }

  conflicts(start: number, end: number): boolean {
    const s = this.s;
    const e = this.e;
    for (let i = 0; i < s.length; i++) {
      if (s[i]! > end) return false;
      if (e[i]! >= start) return true;
    }
    return false;
  }

  insert(start: number, end: number, coalesce: boolean, kind: number): number {
    const s = this.s;
    const e = this.e;
    let i = 0;
    while (i < s.length && s[i]! < start) i++;
    // i: index of the next run; i - 1: the run before.
    if (!coalesce) {
      s.splice(i, 0, start);
      e.splice(i, 0, end);
      this.k.splice(i, 0, kind);
      return 0;
    }
    let appended = false;
    if (i > 0 && e[i - 1]! + 1 === start) {
      e[i - 1] = end;
      appended = true;
    }
    if (i < s.length && end + 1 === s[i]!) {
      if (appended) {
        e[i - 1] = e[i]!;
        const nk = this.k[i]!;
        s.splice(i, 1);
        e.splice(i, 1);
        this.k.splice(i, 1);
        return INS_NEW_RELEASED | INS_NEXT_RELEASED | (nk ? REL_KIND_ALLOC : 0);
      }
      s[i] = start;
      return INS_NEW_RELEASED;
    }
    if (appended) return INS_NEW_RELEASED;
    s.splice(i, 0, start);
    e.splice(i, 0, end);
    this.k.splice(i, 0, kind);
    return 0;
  }

  free(start: number, end: number, coalesce: boolean, spareKind: number): number {
    const s = this.s;
    const e = this.e;
    for (let i = 0; i < s.length; i++) {
      if (e[i]! < start) continue;
      if (s[i]! > end) break;
      if (start === s[i]! && end === e[i]!) {
        const kk = this.k[i]!;
        s.splice(i, 1);
        e.splice(i, 1);
        this.k.splice(i, 1);
        return FREE_RUN_RELEASED | (kk ? REL_KIND_ALLOC : 0);
      }
      if (!coalesce) continue;
      if (start === s[i]! && end < e[i]!) {
        s[i] = end + 1;
        return 0;
      }
      if (start > s[i]! && end === e[i]!) {
        e[i] = start - 1;
        return 0;
      }
      if (start > s[i]! && end < e[i]!) {
        s.splice(i + 1, 0, end + 1);
        e.splice(i + 1, 0, e[i]!);
        this.k.splice(i + 1, 0, spareKind);
        e[i] = start - 1;
        return FREE_SPARE_USED;
      }
    }
    return FREE_NOT_FOUND;
  }

  forEach(fn: (start: number, end: number, kind: number) => void): void {
    for (let i = 0; i < this.s.length; i++) fn(this.s[i]!, this.e[i]!, this.k[i]!);
  }

  /**
   * Replace the runs with sorted, disjoint ones in O(n) (benchmark set-up; the kernel list can
   * only be built one insert at a time, which is O(n^2)).
   */
  load(starts: ArrayLike<number>, ends: ArrayLike<number>, kind = 1): void {
    this.s.length = 0;
    this.e.length = 0;
    this.k.length = 0;
    for (let i = 0; i < starts.length; i++) {
      this.s.push(starts[i]!);
      this.e.push(ends[i]!);
      this.k.push(kind);
    }
  }

  largestGap(exEnd: number): number {
    return scanLargestGap(this, exEnd, this.exStart);
  }

  clear(): number[] {
    const kinds = this.k.slice();
    this.s.length = 0;
    this.e.length = 0;
    this.k.length = 0;
    return kinds;
  }
}
