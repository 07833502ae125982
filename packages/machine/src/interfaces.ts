/**
 * The interfaces the subsystems implement or consume. They are structural: a package that must
 * not depend on @mem/machine (like @mem/pageflags) declares the same shapes and still fits.
 *
 * @module
 */

/** A pfn range `[start, end)`. */
export interface PfnRange {
  /** First pfn. */
  readonly start: number;
  /** One past the last pfn. */
  readonly end: number;
}

/** A physical byte range `[start, end)`. */
export interface PhysRange {
  /** First byte. */
  readonly start: number;
  /** One past the last byte. */
  readonly end: number;
}

/** Returned by {@link PageAllocator.allocPages} when no block is free. */
export const NO_PFN = -1;

/**
 * Gives and takes blocks of 2^order pages. Allocation failure is an expected outcome: it returns
 * {@link NO_PFN} and never throws. Freeing something that was not allocated throws.
 */
export interface PageAllocator {
  /** A free block of 2^order pages, its first pfn, or {@link NO_PFN}. */
  allocPages(order: number): number;
  /** Gives back the block of 2^order pages at `pfn`. */
  freePages(pfn: number, order: number): void;
}

/**
 * Where the boot allocator hands free memory when the page allocator takes over (Linux's
 * `__free_pages_bootmem` / `memblock_free_pages`).
 */
export interface FreePageSink {
  /** Takes the free block of 2^order pages at `pfn`, aligned to its size. */
  freePagesBootmem(pfn: number, order: number): void;
}

/**
 * A hook on the page allocator's free path (Linux's `arch_free_page`). An observing hook (User-Mode
 * Linux) sees the free and returns false; a claiming hook (Xen's foreign pages) returns true, which
 * stops the generic free: the page has gone back to its owner.
 */
export interface FreePageHook {
  /** A name for diagnostics. */
  readonly name: string;
  /**
   * When set, the hook only wants pages whose flags word (as it was at the final free) has one of
   * these bits, e.g. `PG_foreign` for Xen: the allocator then skips it for every other page with a
   * single AND, so normal pages pay nothing for it. Leave it unset (or 0) to see every free, as
   * User-Mode Linux's observing hook must.
   */
  readonly flagMask?: number | undefined;
  /**
   * Called at the final free of the block of 2^order pages at `pfn`, before any statistics.
   * @returns true when the hook took the page (the allocator must not free it).
   */
  onFree(pfn: number, order: number): boolean;
}

/**
 * A memory hotplug notification. `"going-offline"` listeners may veto by returning false; a veto
 * is followed by `"cancel-offline"` to every listener.
 */
export interface HotplugEvent {
  /** What happens. */
  readonly type: "online" | "going-offline" | "cancel-offline" | "offline";
  /** First pfn of the range. */
  readonly startPfn: number;
  /** One past the last pfn. */
  readonly endPfn: number;
  /** The node the memory belongs to. */
  readonly nid: number;
}

/** A hotplug listener; returning false from `"going-offline"` vetoes it. */
export type HotplugListener = (event: HotplugEvent) => boolean | undefined;

/** Something hotplug events can be subscribed to. */
export interface HotplugSource {
  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: HotplugListener): () => void;
}
