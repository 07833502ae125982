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
 * First set bit at or after `bit` in the leaf of `words` starting at word `base` and `n` words
 * long (bit index inside the leaf), or -1. Skips zero words one compare each.
 */
export function scanLeaf(words: Int32Array, base: number, n: number, bit: number): number {
  let w = bit >>> 5;
  if (w >= n) return -1;
  let word = words[base + w]! & (-1 << (bit & 31));
  while (word === 0) {
    w++;
    if (w === n) return -1;
    word = words[base + w]!;
  }
  return w * 32 + 31 - Math.clz32(word & -word);
}

/** True when the `n` words from `base` are all zero. */
export function leafIsZero(words: Int32Array, base: number, n: number): boolean {
  for (let i = base; i < base + n; i++) if (words[i] !== 0) return false;
  return true;
}

/** Clears bits [from, to) of the leaf of `words` starting at word `base`. */
export function clearLeafRange(words: Int32Array, base: number, from: number, to: number): void {
  if (from >= to) return;
  let w = base + (from >>> 5);
  const last = base + ((to - 1) >>> 5);
  const headMask = -1 << (from & 31);
  const tailMask = -1 >>> (31 - ((to - 1) & 31));
  if (w === last) {
    words[w] = words[w]! & ~(headMask & tailMask);
    return;
  }
  words[w] = words[w]! & ~headMask;
  for (w++; w < last; w++) words[w] = 0;
  words[last] = words[last]! & ~tailMask;
}
