/**
 * Sizing of the direct leaf table: an Int32Array indexed by leaf number holding the leaf's word
 * offset in the bitmap arena (-1 for a missing leaf). It replaces the multi-level walk on the hot
 * path (`test`, `set`, `clear`) while the span up to the highest leaf is modest next to the
 * bitmap itself; beyond that the map walks its table as before.
 *
 * Cost: 4 bytes per leaf slot from leaf 0 to the table's end. The table is built only when the
 * slots needed (highest leaf number + 1) are at most {@link DIRECT_BUILD_SHARE} of the words the
 * bitmap pages hold (4 bytes per slot against 4 bytes per word: at most 1/32 = 3.1 % of the
 * bitmap), and is never longer than {@link DIRECT_MAX_SHARE} of them (1/16 = 6.25 %), the slack
 * letting it grow geometrically (×1.5) instead of at every new highest leaf.
 */

/** Build the direct table when slots needed <= bitmap words / 32. */
export const DIRECT_BUILD_SHARE = 32;
/** The direct table never holds more than bitmap words / 16 slots. */
export const DIRECT_MAX_SHARE = 16;

/**
 * Length to give the direct table for `need` leaf slots (highest leaf number + 1) when the map
 * holds `leaves` bitmap pages of `wordsPerLeaf` words each and `fullLeaves` leaves lie wholly
 * below the pfn limit; 0 when there is no leaf, -1 when the table would cost too much or cannot
 * be used (walk the multi-level table). The fast paths rely on what a table guarantees: a leaf
 * number below its length is a whole leaf below the pfn limit, and a bit index inside a leaf
 * (below wordsPerLeaf * 32 <= 2^31) fits a 32-bit integer.
 */
export function directLength(
  need: number,
  leaves: number,
  wordsPerLeaf: number,
  fullLeaves: number,
): number {
  if (need <= 0 || leaves <= 0) return 0;
  const words = leaves * wordsPerLeaf;
  if (need * DIRECT_BUILD_SHARE > words || need > fullLeaves || wordsPerLeaf * 32 > 2 ** 31) {
    return -1;
  }
  return Math.min(Math.ceil(need * 1.5), Math.floor(words / DIRECT_MAX_SHARE), fullLeaves);
}

/** Longest direct table allowed for `leaves` bitmap pages of `wordsPerLeaf` words. */
export function directMaxLength(leaves: number, wordsPerLeaf: number): number {
  return Math.floor((leaves * wordsPerLeaf) / DIRECT_MAX_SHARE);
}
