/**
 * Named bits of a page's flags word, in the spirit of Linux's `enum pageflags`. The values are
 * bit masks for a 32-bit flags word, so `flags & PG_reserved` is a fine test (bitwise operators are
 * for flag words, never for pfns or addresses).
 *
 * @module
 */

/** Page is locked for I/O. */
export const PG_locked: number = 1; // bit 0
/** Recently referenced (the second chance of the LRU). */
export const PG_referenced: number = 2; // bit 1
/** Contents are valid. */
export const PG_uptodate: number = 4; // bit 2
/** Contents differ from the backing store. */
export const PG_dirty: number = 8; // bit 3
/** On an LRU page queue (active or inactive). */
export const PG_lru: number = 16; // bit 4
/** On the active queue (with PG_lru). */
export const PG_active: number = 32; // bit 5
/** Owned by the slab allocator. */
export const PG_slab: number = 64; // bit 6
/** Owner-private bit (Linux's PG_owner_priv_1; PG_checked for file systems). */
export const PG_owner_priv_1: number = 128; // bit 7
/** Architecture-private bit. Xen keeps `PG_foreign` here. */
export const PG_arch_1: number = 256; // bit 8
/** Reserved: never given to the page allocator (firmware, kernel image, holes, boot data). */
export const PG_reserved: number = 512; // bit 9
/** `private` holds owner data (buffer heads in Linux). */
export const PG_private: number = 1024; // bit 10
/** Being written back to its backing store. */
export const PG_writeback: number = 2048; // bit 11
/** First page of a compound (multi-page) block. */
export const PG_head: number = 4096; // bit 12
/** A tail page of a compound block. */
export const PG_tail: number = 8192; // bit 13
/** Backed by swap. */
export const PG_swapbacked: number = 16384; // bit 14
/** Being reclaimed. */
export const PG_reclaim: number = 32768; // bit 15
/** Free, heading a block in the buddy allocator; `private` holds the order. */
export const PG_buddy: number = 65536; // bit 16
/** Pinned (wired in FreeBSD terms): must not move or be reclaimed. */
export const PG_pinned: number = 131072; // bit 17
/** On a per-CPU free list. */
export const PG_pcp: number = 262144; // bit 18
/** Isolated from the allocator (being migrated, offlined, or held for a contiguous range). */
export const PG_isolated: number = 524288; // bit 19
/** Excluded from hibernation images. */
export const PG_nosave: number = 1048576; // bit 20
/** Not a page of RAM: a hole inside a present section. Always with PG_reserved. */
export const PG_hole: number = 2097152; // bit 21
/** Xen's foreign-page mark: the same bit as {@link PG_arch_1}, as the 2004 thread agreed. */
export const PG_foreign: number = PG_arch_1;

/** Every named flag, for printing. */
export const PAGE_FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [PG_locked, "locked"],
  [PG_referenced, "referenced"],
  [PG_uptodate, "uptodate"],
  [PG_dirty, "dirty"],
  [PG_lru, "lru"],
  [PG_active, "active"],
  [PG_slab, "slab"],
  [PG_owner_priv_1, "owner_priv_1"],
  [PG_arch_1, "arch_1"],
  [PG_reserved, "reserved"],
  [PG_private, "private"],
  [PG_writeback, "writeback"],
  [PG_head, "head"],
  [PG_tail, "tail"],
  [PG_swapbacked, "swapbacked"],
  [PG_reclaim, "reclaim"],
  [PG_buddy, "buddy"],
  [PG_pinned, "pinned"],
  [PG_pcp, "pcp"],
  [PG_isolated, "isolated"],
  [PG_nosave, "nosave"],
  [PG_hole, "hole"],
];

/** Renders a flags word as Linux's `%pGp` does: names joined by `|`. */
export function formatPageFlags(flags: number): string {
  const names: string[] = [];
  for (const [bit, name] of PAGE_FLAG_NAMES) if ((flags & bit) !== 0) names.push(name);
  return names.join("|");
}
