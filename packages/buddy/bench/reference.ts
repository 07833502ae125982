/**
 * The straightforward reference buddy allocator: a Set of free block pfns per order, no zones, no
 * migratetypes, no per-CPU lists, no page database. Used by the benchmarks as the baseline and by
 * test/bench-equivalence.test.ts to check the real allocator's free blocks.
 */
export class ReferenceBuddy {
  /** Free block pfns per order. */
  readonly free: Set<number>[];
  readonly orders: number;

  constructor(orders = 11) {
    this.orders = orders;
    this.free = Array.from({ length: orders }, () => new Set<number>());
  }

  /** Frees the block of 2^order pages at pfn, merging with free buddies. */
  freeBlock(pfnIn: number, orderIn: number): void {
    let pfn = pfnIn;
    let order = orderIn;
    while (order < this.orders - 1) {
      const size = 2 ** order;
      const buddy = Math.floor(pfn / size) % 2 === 1 ? pfn - size : pfn + size;
      if (!this.free[order]!.delete(buddy)) break;
      pfn = Math.min(pfn, buddy);
      order++;
    }
    this.free[order]!.add(pfn);
  }

  /** Takes a block of the smallest order >= order that has one, splitting it; pfn or -1. */
  alloc(order: number): number {
    for (let o = order; o < this.orders; o++) {
      const set = this.free[o]!;
      if (set.size === 0) continue;
      const pfn = set.values().next().value as number;
      set.delete(pfn);
      for (let h = o; h > order; h--) this.free[h - 1]!.add(pfn + 2 ** (h - 1));
      return pfn;
    }
    return -1;
  }

  /**
   * Takes the block at `pfn` of `order` if a buddy allocator could have chosen it: the lower end of
   * a free block of the smallest order that has free blocks. Returns false otherwise.
   */
  allocAt(pfn: number, order: number): boolean {
    let smallest = -1;
    for (let o = order; o < this.orders; o++) {
      if (this.free[o]!.size > 0) {
        smallest = o;
        break;
      }
    }
    if (smallest < 0) return false;
    const size = 2 ** smallest;
    const head = Math.floor(pfn / size) * size;
    if (head !== pfn || !this.free[smallest]!.has(head)) return false;
    this.free[smallest]!.delete(head);
    for (let h = smallest; h > order; h--) this.free[h - 1]!.add(pfn + 2 ** (h - 1));
    return true;
  }

  /** The free blocks as sorted "pfn/order" strings. */
  blocks(): string[] {
    const out: [number, number][] = [];
    this.free.forEach((s, o) => {
      for (const p of s) out.push([p, o]);
    });
    return out.sort((a, b) => a[0] - b[0]).map(([p, o]) => `${p}/${o}`);
  }
}
