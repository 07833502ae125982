import { InvalidArgumentError } from "../errors.js";
import type { PfnSpace } from "../types.js";

/** Sizes derived from the machine's page size and physical address width. */
export interface Geometry {
  readonly pageSize: number;
  readonly physAddrBits: number;
  /** log2(pageSize). */
  readonly pageShift: number;
  /** Bits per bitmap page: pageSize * 8. */
  readonly bitsPerLeaf: number;
  /** 1 / bitsPerLeaf (exact: a power of two). */
  readonly invBitsPerLeaf: number;
  /** 32-bit words per bitmap page. */
  readonly wordsPerLeaf: number;
  /** Pointers per table page: pageSize / 8 (64-bit pointers, as in the kernel). */
  readonly fanout: number;
  /** log2(fanout). */
  readonly levelBits: number;
  /** One past the highest pfn the address width allows: 2^(physAddrBits - pageShift). */
  readonly pfnLimit: number;
  /** Bitmap pages needed to cover every pfn below pfnLimit. */
  readonly leafSlots: number;
  /** Table levels needed above the leaves to reach every leaf slot. */
  readonly maxLevels: number;
}

/** Largest number of leaf slots: leaf numbers are handled as 32-bit integers. */
const MAX_LEAF_SLOTS = 2 ** 31;

/** Checks the machine description and derives the bitmap geometry from it. */
export function geometryOf(space: PfnSpace): Geometry {
  const { pageSize, physAddrBits } = space;
  if (
    typeof pageSize !== "number" ||
    !Number.isInteger(pageSize) ||
    pageSize < 4096 ||
    // A bitmap page holds pageSize * 8 bits; bit indexes inside a page must stay below 2^31 for
    // the word arithmetic, so 256 MiB pages (2^31 bits per bitmap page) are the largest.
    pageSize > 2 ** 28 ||
    2 ** Math.round(Math.log2(pageSize)) !== pageSize
  ) {
    throw new InvalidArgumentError(
      "EINVAL",
      `space.pageSize ${String(pageSize)} is not a power of two between 4096 and 2^28 (256 MiB)`,
    );
  }
  const pageShift = Math.round(Math.log2(pageSize));
  if (
    typeof physAddrBits !== "number" ||
    !Number.isInteger(physAddrBits) ||
    physAddrBits <= pageShift ||
    physAddrBits - pageShift > 53
  ) {
    throw new InvalidArgumentError(
      "EINVAL",
      `space.physAddrBits ${String(physAddrBits)} must be an integer above the page shift ${pageShift} and at most ${pageShift + 53}`,
    );
  }
  const bitsPerLeaf = pageSize * 8;
  const pfnLimit = 2 ** (physAddrBits - pageShift);
  const leafSlots = Math.ceil(pfnLimit / bitsPerLeaf);
  if (leafSlots > MAX_LEAF_SLOTS) {
    throw new InvalidArgumentError(
      "EINVAL",
      `space.physAddrBits ${physAddrBits} needs ${leafSlots} bitmap pages of ${pageSize} bytes; at most 2^31 are supported`,
    );
  }
  const levelBits = pageShift - 3;
  const fanout = pageSize / 8;
  let maxLevels = 1;
  while (fanout ** maxLevels < leafSlots) maxLevels++;
  return {
    pageSize,
    physAddrBits,
    pageShift,
    bitsPerLeaf,
    invBitsPerLeaf: 1 / bitsPerLeaf,
    wordsPerLeaf: pageSize / 4,
    fanout,
    levelBits,
    pfnLimit,
    leafSlots,
    maxLevels,
  };
}

/** Table levels needed so that leaf number `leafNo` has a slot (at least 1). */
export function levelsFor(g: Geometry, leafNo: number): number {
  let levels = 1;
  while (g.fanout ** levels <= leafNo) levels++;
  return levels;
}

/** Table pages an ALL_PAGES map needs above its leaves. */
export function tablePagesForAll(g: Geometry): number {
  let pages = 0;
  let span = g.fanout;
  for (let l = 1; l <= g.maxLevels; l++) {
    pages += Math.ceil(g.leafSlots / span);
    span *= g.fanout;
  }
  return pages;
}
