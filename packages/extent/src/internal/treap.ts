/**
 * Pieces shared by the two typed-array treaps (`TreeEngine`'s runs and `GapIndex`'s gaps). Their
 * merges and rotations differ (the gap index keeps parent links, the run tree a path stack) and
 * stay with each.
 */

/** A node column: one typed array indexed by node number. */
export type Column =
  | Float64Array<ArrayBuffer>
  | Int32Array<ArrayBuffer>
  | Uint32Array<ArrayBuffer>
  | Uint8Array<ArrayBuffer>;

/**
 * Next state of a xorshift32 generator: deterministic treap priorities, as an unsigned 32-bit
 * number (flag-word arithmetic: the state fits in 32 bits).
 */
export function xorshift32(state: number): number {
  let s = state;
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  return s >>> 0;
}

/** A copy of column `a` grown to `cap` entries (the new ones zero). */
export function grown<T extends Column>(a: T, cap: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a);
  return b;
}
