/** Gives and takes whole pages; returns a pfn, or -1 when no page is free (never throws on a miss). */
export interface PageAllocator {
  /** Takes 2^order contiguous pages; returns the first pfn, or -1 when none are free. */
  allocPages(order: number): number;
  /** Gives back 2^order pages starting at `pfn`. */
  freePages(pfn: number, order: number): void;
}

/** A pfn range [start, end). */
export interface PfnRange {
  /** First pfn of the range. */
  readonly start: number;
  /** One past the last pfn of the range. */
  readonly end: number;
}

/** What the map needs to know of the machine. */
export interface PfnSpace {
  /** Bytes per page, a power of two >= 4096. */
  readonly pageSize: number;
  /** Physical address width in bits: 32, 36, 46, 52 ... */
  readonly physAddrBits: number;
  /** True when `pfn` has a page frame (lies in a present section). */
  pfnValid(pfn: number): boolean;
  /** True when any pfn in [startPfn, endPfn) is valid. */
  pfnValidRange(startPfn: number, endPfn: number): boolean;
  /** Sorted, disjoint, merged ranges where `pfnValid` is true. */
  presentPfnRanges(): readonly PfnRange[];
}

/** A memory hotplug notification for the pfn range [startPfn, endPfn) of node `nid`. */
export type HotplugEvent = {
  readonly type: "online" | "going-offline" | "cancel-offline" | "offline";
  readonly startPfn: number;
  readonly endPfn: number;
  readonly nid: number;
};

/** Memory hotplug notifications. A listener returning false on "going-offline" vetoes the removal. */
export interface HotplugSource {
  /** Registers `listener`; returns a function that unregisters it. */
  subscribe(listener: (event: HotplugEvent) => boolean | undefined): () => void;
}
