/**
 * Word-at-a-time operations on a page bitmap stored as 32-bit words (bit set = page reserved).
 * Bit indexes are relative to the bitmap's base pfn and stay below 2^31 (the allocator refuses
 * larger spans), so they are handled with ordinary arithmetic; bitwise operators only ever touch
 * the 32-bit words themselves.
 *
 * @module
 */

const FULL = 0xffffffff;

/** The bits `[lo, hi)` of one word, 0 <= lo < hi <= 32. */
function mask(lo: number, hi: number): number {
  return ((FULL >>> (32 - (hi - lo))) << lo) >>> 0;
}

/** Index of the lowest set bit of a non-zero word. */
export function lowestBit(word: number): number {
  return 31 - Math.clz32(word & -word);
}

/** The first zero bit in `[from, to)`, or `to` when every bit there is set. */
export function findNextZero(map: Uint32Array, from: number, to: number): number {
  if (from >= to) return to;
  let w = Math.floor(from / 32);
  const lastWord = Math.floor((to - 1) / 32);
  let inv = ~map[w]! & (FULL << (from % 32));
  while (inv === 0) {
    if (w >= lastWord) return to;
    w++;
    // Skip full words with one comparison each.
    while (w < lastWord && map[w] === FULL) w++;
    inv = ~map[w]!;
  }
  const bit = w * 32 + lowestBit(inv);
  return Math.min(bit, to);
}

/** The first set bit in `[from, to)`, or `to` when every bit there is clear. */
export function findNextSet(map: Uint32Array, from: number, to: number): number {
  if (from >= to) return to;
  let w = Math.floor(from / 32);
  const lastWord = Math.floor((to - 1) / 32);
  let word = map[w]! & (FULL << (from % 32));
  while (word === 0) {
    if (w >= lastWord) return to;
    w++;
    while (w < lastWord && map[w] === 0) w++;
    word = map[w]!;
  }
  const bit = w * 32 + lowestBit(word);
  return Math.min(bit, to);
}

/** Sets (`value` true) or clears the bits `[from, to)`. */
export function fillRange(map: Uint32Array, from: number, to: number, value: boolean): void {
  if (from >= to) return;
  const w0 = Math.floor(from / 32);
  const w1 = Math.floor((to - 1) / 32);
  const b0 = from - w0 * 32;
  const b1 = to - w1 * 32;
  if (w0 === w1) {
    const m = mask(b0, b1);
    map[w0] = value ? map[w0]! | m : map[w0]! & ~m;
    return;
  }
  const m0 = mask(b0, 32);
  const m1 = mask(0, b1);
  map[w0] = value ? map[w0]! | m0 : map[w0]! & ~m0;
  map.fill(value ? FULL : 0, w0 + 1, w1);
  map[w1] = value ? map[w1]! | m1 : map[w1]! & ~m1;
}

/** Whether bit `i` is set. */
export function testBit(map: Uint32Array, i: number): boolean {
  const w = Math.floor(i / 32);
  return ((map[w]! >>> (i - w * 32)) & 1) === 1;
}

/** Number of clear bits in `[from, to)`. */
export function countZeros(map: Uint32Array, from: number, to: number): number {
  let n = 0;
  let i = findNextZero(map, from, to);
  while (i < to) {
    const next = findNextSet(map, i, to);
    n += next - i;
    i = findNextZero(map, next, to);
  }
  return n;
}
