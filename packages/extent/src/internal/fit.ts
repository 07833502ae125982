import { alignUpInv, leOv, modP2, wrap } from "./arith.js";

/** Gap evaluation results. */
export const NOFIT = 0;
/** The candidate fits; `q.ns` and `q.ovh` are set. */
export const FIT = 1;
/** The boundary check gave up: the scan stops here (the kernel's `goto fail`). */
export const FAIL = 2;

/** Search outcome codes of an engine's `find`. */
export const FIND_NONE = 0;
/** A place was found: `q.result`. */
export const FIND_FOUND = 1;
/** Aligning `substart` wrapped below the extent start (EINVAL or a DIAGNOSTIC panic). */
export const FIND_OVERFLOW = 2;

/**
 * One allocation request with every constant the scan needs, reused between calls so that a
 * search allocates nothing.
 */
export class Query {
  size = 1;
  align = 1;
  /** 1 / align (exact: a power of two), so that aligning multiplies instead of dividing. */
  alignInv = 1;
  skew = 0;
  boundary = 0;
  /** 1 / boundary (exact), or 0 without a boundary. */
  boundaryInv = 0;
  /** Origin of boundary lines: 0 with EX_BOUNDZERO, else the extent start. */
  base = 0;
  fast = false;
  /** vmem behaviour: re-align after a boundary bump (idiomatic API only). */
  realign = false;
  substart = 0;
  subend = 0;
  exStart = 0;
  exEnd = 0;
  mod = 0;
  /** Output of an evaluation: candidate start and overhead. */
  ns = 0;
  ovh = 0;
  /** Output of a search: the chosen start. */
  result = 0;

  /** Largest y < 2^W with y = skew (mod align): a run ending at or past it makes the skip wrap. */
  yMax(): number {
    return this.mod - this.align + modP2(this.skew, this.align);
  }

  /** Upper bound of (candidate start - gap start) for a gap in the middle of the map. */
  maxPad(): number {
    let p = this.align - 1;
    if (this.boundary !== 0) {
      p += this.size - 1;
      if (this.realign) p += this.align - 1;
    }
    return p;
  }
}

/**
 * The boundary step shared by {@link evalMid} and {@link evalTail}, for a candidate `ns` that
 * passed the size test `leOv(ns, len, limit)`: when the allocation would cross a boundary line,
 * the candidate moves to the line (re-aligned if `q.realign`) and must pass the same size test
 * again. Returns FIT with the final candidate in `q.ns`, `miss` where the moved candidate fails
 * (the caller's "try the next gap" or "give up"), or FAIL where the kernel's scan gives up.
 */
function boundaryStep(q: Query, ns0: number, len: number, limit: number, miss: number): number {
  const size = q.size;
  const mod = q.mod;
  let ns = ns0;
  let dc = wrap(alignUpInv(ns + 1, q.boundary, q.boundaryInv, q.base, mod) - 1, mod);
  if (dc < q.exStart) dc = q.exEnd;
  else if (ns + size - 1 > dc) {
    ns = dc + 1;
    if (q.realign) {
      const r = alignUpInv(ns, q.align, q.alignInv, q.skew, mod);
      if (r < ns) return miss;
      ns = r;
    }
    const dcw = dc + q.boundary;
    dc = wrap(dcw, mod);
    if (!leOv(ns, len, limit, mod)) return miss;
    if (q.realign && dcw < mod && ns + size - 1 > dc) return miss;
  }
  if (ns + size - 1 > q.exEnd || dc < ns) return FAIL;
  q.ns = ns;
  return FIT;
}

/**
 * Evaluate the gap that ends just before `limit` (the start of the next run), with `ns` the
 * aligned candidate start. Mirrors the in-loop step of extent_alloc_subregion1.
 */
export function evalMid(q: Query, ns0: number, limit: number): number {
  const size = q.size;
  if (!leOv(ns0, size, limit, q.mod)) return NOFIT;
  let ns = ns0;
  if (q.boundary !== 0) {
    const code = boundaryStep(q, ns0, size, limit, NOFIT);
    if (code !== FIT) return code;
    ns = q.ns;
  }
  q.ns = ns;
  q.ovh = limit - ns - size;
  return FIT;
}

/**
 * Evaluate the last gap of the scan: from `ns0` to `subend`, with `exend` the end of the free
 * space used to score it (the start of the first run past `subend`, or the extent end).
 */
export function evalTail(q: Query, ns0: number, exend: number): number {
  const size = q.size;
  const mod = q.mod;
  if (!leOv(ns0, size - 1, q.subend, mod)) return NOFIT;
  let ns = ns0;
  if (q.boundary !== 0) {
    const code = boundaryStep(q, ns0, size - 1, q.subend, FAIL);
    if (code !== FIT) return code;
    ns = q.ns;
  }
  q.ns = ns;
  q.ovh = wrap(exend - ns - (size - 1), mod);
  return FIT;
}

/** Start of the scan: the aligned subregion start (callers check it against the extent start). */
export function firstCandidate(q: Query): number {
  return alignUpInv(q.substart, q.align, q.alignInv, q.skew, q.mod);
}

/** Aligned start of the gap that follows a run ending at `end` (may wrap: compare with `end`). */
export function nextCandidate(q: Query, end: number): number {
  return alignUpInv(wrap(end + 1, q.mod), q.align, q.alignInv, q.skew, q.mod);
}
