import type {
  HotplugEvent,
  HotplugSource,
  PageAllocator,
  PfnRange,
  PfnSpace,
} from "@mem/pageflags";

/** A machine whose present memory is a list of pfn ranges; pfnValid is exact per pfn. */
export class FakeSpace implements PfnSpace {
  readonly pageSize: number;
  readonly physAddrBits: number;
  private ranges: PfnRange[] = [];

  constructor(opts: {
    pageSize?: number;
    physAddrBits?: number;
    ranges?: readonly (readonly [number, number])[];
  }) {
    this.pageSize = opts.pageSize ?? 4096;
    this.physAddrBits = opts.physAddrBits ?? 46;
    for (const [s, e] of opts.ranges ?? []) this.online(s, e);
  }

  pfnValid(pfn: number): boolean {
    return this.ranges.some((r) => r.start <= pfn && pfn < r.end);
  }

  pfnValidRange(startPfn: number, endPfn: number): boolean {
    return this.ranges.some((r) => r.start < endPfn && startPfn < r.end);
  }

  presentPfnRanges(): readonly PfnRange[] {
    return this.ranges;
  }

  /** Adds [start, end) to the present ranges. */
  online(start: number, end: number): void {
    const all = [...this.ranges, { start, end }].sort((a, b) => a.start - b.start);
    const out: { start: number; end: number }[] = [];
    for (const r of all) {
      const last = out[out.length - 1];
      if (last !== undefined && r.start <= last.end) last.end = Math.max(last.end, r.end);
      else out.push({ start: r.start, end: r.end });
    }
    this.ranges = out;
  }

  /** Removes [start, end) from the present ranges. */
  offline(start: number, end: number): void {
    const out: PfnRange[] = [];
    for (const r of this.ranges) {
      if (r.start < start) out.push({ start: r.start, end: Math.min(r.end, start) });
      if (r.end > end) out.push({ start: Math.max(r.start, end), end: r.end });
    }
    this.ranges = out.filter((r) => r.end > r.start);
  }

  /** Number of present pfns. */
  presentPages(): number {
    return this.ranges.reduce((n, r) => n + r.end - r.start, 0);
  }
}

/** Order-0 page allocator that counts pages, detects bad frees, and can be told to fail. */
export class FakeAllocator implements PageAllocator {
  readonly taken: Set<number> = new Set();
  allocs = 0;
  frees = 0;
  private nextPfn: number;
  /** Successful allocations left before it starts returning -1. */
  remaining: number;

  constructor(opts: { base?: number; failAfter?: number } = {}) {
    this.nextPfn = opts.base ?? 1_000_000;
    this.remaining = opts.failAfter ?? Number.POSITIVE_INFINITY;
  }

  allocPages(order: number): number {
    if (order !== 0)
      throw new Error(`FakeAllocator: order ${order} requested, bitmaps use order 0`);
    if (this.remaining <= 0) return -1;
    this.remaining--;
    const pfn = this.nextPfn++;
    this.taken.add(pfn);
    this.allocs++;
    return pfn;
  }

  freePages(pfn: number, order: number): void {
    if (order !== 0) throw new Error(`FakeAllocator: free of order ${order}`);
    if (!this.taken.has(pfn))
      throw new Error(`FakeAllocator: free of pfn ${pfn} that is not taken`);
    this.taken.delete(pfn);
    this.frees++;
  }

  /** Pages given out and not yet back. */
  get outstanding(): number {
    return this.taken.size;
  }
}

/** Hotplug source that updates a FakeSpace and notifies listeners in the kernel's order. */
export class FakeHotplug implements HotplugSource {
  private readonly listeners = new Set<(event: HotplugEvent) => boolean | undefined>();

  constructor(private readonly space: FakeSpace) {}

  subscribe(listener: (event: HotplugEvent) => boolean | undefined): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  private emit(event: HotplugEvent): boolean {
    let ok = true;
    for (const l of [...this.listeners]) if (l(event) === false) ok = false;
    return ok;
  }

  /** Brings [start, end) online; returns false when a listener reported a failure. */
  online(start: number, end: number, nid = 0): boolean {
    this.space.online(start, end);
    return this.emit({ type: "online", startPfn: start, endPfn: end, nid });
  }

  /** Takes [start, end) offline unless a listener vetoes; returns whether it went offline. */
  offline(start: number, end: number, nid = 0): boolean {
    if (!this.emit({ type: "going-offline", startPfn: start, endPfn: end, nid })) {
      this.emit({ type: "cancel-offline", startPfn: start, endPfn: end, nid });
      return false;
    }
    this.space.offline(start, end);
    this.emit({ type: "offline", startPfn: start, endPfn: end, nid });
    return true;
  }
}

/** Pfns per GiB with 4 KiB pages. */
export const GIB = 262144;
