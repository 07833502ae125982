import type { Query } from "./fit.js";

/** `insert` result bit: the new descriptor was not needed (the range coalesced). */
export const INS_NEW_RELEASED = 1;
/** `insert` result bit: a three-way merge released the next run's descriptor. */
export const INS_NEXT_RELEASED = 2;
/** `insert`/`free` result bit: the released run descriptor came from the pool (ER_ALLOC). */
export const REL_KIND_ALLOC = 4;
/** `free` result bit: the whole run was removed and its descriptor released. */
export const FREE_RUN_RELEASED = 2;
/** `free` result bit: the spare descriptor was consumed by a split. */
export const FREE_SPARE_USED = 8;
/** `free` result: no single run holds the range (the kernel panics). */
export const FREE_NOT_FOUND = -1;

/**
 * A run store: the sorted, disjoint list of allocated runs of one extent. Two implementations
 * exist: a linear list (the reference, NetBSD's algorithm) and an indexed tree (O(log n)).
 * Descriptor kinds: 0 = fixed storage, 1 = pool (ER_ALLOC).
 */
export interface Engine {
  /** Number of runs (= region descriptors in use). */
  readonly count: number;
  /** Search for a place; see FIND_* codes. Does not modify the map. */
  find(q: Query): number;
  /** True when some run intersects [start, end]. */
  conflicts(start: number, end: number): boolean;
  /** Insert [start, end] (free space) with coalescing rules; returns INS_* bits. */
  insert(start: number, end: number, coalesce: boolean, kind: number): number;
  /** Free [start, end]; returns FREE_* bits or FREE_NOT_FOUND (map unchanged). */
  free(start: number, end: number, coalesce: boolean, spareKind: number): number;
  /** Visit runs in address order (with the descriptor kind of each run). */
  forEach(fn: (start: number, end: number, kind: number) => void): void;
  /** Size of the largest free gap inside [exStart, exEnd] (0 if none). */
  largestGap(exEnd: number): number;
  /** Descriptor kinds of all runs (for destroy), then empty the map. */
  clear(): number[];
}
