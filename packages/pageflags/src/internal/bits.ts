/** Number of set bits in a 32-bit word. */
export function popcount32(word: number): number {
  let v = word - ((word >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) as number;
}

/** Index of the lowest set bit of a non-zero 32-bit word. */
export function lowestBit(word: number): number {
  return 31 - Math.clz32(word & -word);
}

/**
 * First set bit at or after `bit` in `leaf` (bit index inside the leaf), or -1.
 * Skips zero words one compare each.
 */
export function scanLeaf(leaf: Int32Array, bit: number): number {
  const n = leaf.length;
  let w = bit >>> 5;
  if (w >= n) return -1;
  let word = leaf[w]! & (-1 << (bit & 31));
  while (word === 0) {
    w++;
    if (w === n) return -1;
    word = leaf[w]!;
  }
  return w * 32 + 31 - Math.clz32(word & -word);
}

/** True when every word of `leaf` is zero. */
export function leafIsZero(leaf: Int32Array): boolean {
  for (let i = 0; i < leaf.length; i++) if (leaf[i] !== 0) return false;
  return true;
}

/** Clears bits [from, to) of `leaf` (bit indices inside the leaf). */
export function clearLeafRange(leaf: Int32Array, from: number, to: number): void {
  if (from >= to) return;
  let w = from >>> 5;
  const last = (to - 1) >>> 5;
  const headMask = -1 << (from & 31);
  const tailMask = -1 >>> (31 - ((to - 1) & 31));
  if (w === last) {
    leaf[w] = leaf[w]! & ~(headMask & tailMask);
    return;
  }
  leaf[w] = leaf[w]! & ~headMask;
  for (w++; w < last; w++) leaf[w] = 0;
  leaf[last] = leaf[last]! & ~tailMask;
}
