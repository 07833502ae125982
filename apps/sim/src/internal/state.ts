/**
 * Page owners and page states of the simulated kernel: the owner tag the sim writes into a block's
 * head page (`PageDatabase.owner`), and the one-byte state per page of the memory-map snapshot.
 *
 * @module
 */

/** What the sim allocates pages for; each kind is registered as a machine owner tag. */
export const KINDS = [
  "kernel",
  "anon",
  "pagecache",
  "dma",
  "contig",
  "netback",
  "xen-domU",
  "pageflags",
] as const;

/** One of {@link KINDS}. */
export type Kind = (typeof KINDS)[number];

/** Page states of {@link PAGE_STATE_NAMES}; free pages of order o are `STATE_FREE + o`. */
export const STATE_HOLE = 0;
/** Reserved by the firmware, the boot allocator or the kernel image. */
export const STATE_RESERVED = 1;
/** Unmovable or reclaimable kernel memory. */
export const STATE_KERNEL = 2;
/** Movable user (anonymous) memory. */
export const STATE_USER = 3;
/** A clean page-cache page. */
export const STATE_PAGECACHE = 4;
/** A dirty page-cache page. */
export const STATE_PAGECACHE_DIRTY = 5;
/** An ISA DMA buffer. */
export const STATE_DMA = 6;
/** A contiguous device buffer. */
export const STATE_CONTIG = 7;
/** A foreign page (Xen netback pool, claimed by its owner). */
export const STATE_FOREIGN = 8;
/** A Xen guest domain's page. */
export const STATE_GUEST = 9;
/** A free page on a per-CPU list. */
export const STATE_PCP = 10;
/** An isolated page (pending offline). */
export const STATE_ISOLATED = 11;
/** Bitmap pages of the pageflags maps. */
export const STATE_PAGEFLAGS = 12;
/** Free in a buddy block of order o: `STATE_FREE + o`. */
export const STATE_FREE = 16;

/** The legend of the page-state bytes, index = state. */
export const PAGE_STATE_NAMES: readonly string[] = (() => {
  const names = [
    "hole",
    "reserved",
    "kernel",
    "user",
    "pagecache",
    "pagecache-dirty",
    "dma-buffer",
    "contig-buffer",
    "foreign",
    "xen-guest",
    "free-pcp",
    "isolated",
    "pageflags",
    "",
    "",
    "",
  ];
  for (let o = 0; o < 16; o++) names.push(`free-order-${o}`);
  return names;
})();

/** The snapshot state of a page allocated for `kind`. */
export function stateOfKind(kind: Kind | undefined): number {
  switch (kind) {
    case "kernel":
      return STATE_KERNEL;
    case "anon":
      return STATE_USER;
    case "pagecache":
      return STATE_PAGECACHE;
    case "dma":
      return STATE_DMA;
    case "contig":
      return STATE_CONTIG;
    case "netback":
      return STATE_FOREIGN;
    case "xen-domU":
      return STATE_GUEST;
    case "pageflags":
      return STATE_PAGEFLAGS;
    default:
      return STATE_KERNEL;
  }
}

/** Orders whose fragmentation indices are sampled (order 3, THP-sized pageblocks, the largest). */
export const FRAG_ORDERS: readonly number[] = [3, 9, 10];
