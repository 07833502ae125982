/**
 * The sim's side of `@mem/contig`: the kernel's {@link ContigAllocator} (FreeBSD's split API and
 * `contigmalloc`, NetBSD's `uvm_pglistalloc`, from `createContigCompat`) over the sim's page queues,
 * the allocators of the ladder strategies, and the sim's own accounting of the pages they hold.
 *
 * The buddy allocator has one free-pool observer slot and the page queues one listener slot; a
 * `ContigAllocator` takes both. The kernel's allocator holds them all the time. The ISA card's
 * extent mirror and the ladder's linear and extent strategies are further `ContigAllocator`s that
 * live only while they are used: {@link SharedSlots} gives each allocator views of the buddy
 * allocator and the queues whose `setFreePoolObserver` / `setListener` register it, and puts the
 * observer itself in the real slot when it is alone (the usual case), or a fan-out to all of them
 * while several are attached. Nothing else in the sim observes the free pool.
 *
 * @module
 */
import type { BuddyAllocator, FreePoolObserver } from "@mem/buddy";
import {
  ContigAllocator,
  type ContigHandle,
  type ContigReclaim,
  type ContigSearch,
  type PageQueueListener,
  type PageQueues,
} from "@mem/contig";
import { type ContigCompat, createContigCompat } from "@mem/contig/compat";
import type { Extent } from "@mem/extent";
import { KernelPanic, PG_pinned } from "@mem/machine";
import type { Kernel } from "./kernel.js";

/** A ladder strategy: a search and a reclaim of the real allocator. */
export type ContigStrategy = "linear" | "launder" | "extent" | "indexed" | "migrate" | "free";

/** The ladder's strategies, FreeBSD 4.7 first. */
export const CONTIG_STRATEGIES: readonly ContigStrategy[] = [
  "linear",
  "launder",
  "extent",
  "indexed",
  "migrate",
];

/** How each strategy runs: the allocator's search and the request's reclaim. */
export const STRATEGY_CONFIG: Readonly<
  Record<ContigStrategy, { search: ContigSearch; reclaim: ContigReclaim; label: string }>
> = {
  linear: { search: "linear", reclaim: "none", label: "FreeBSD 4.7 scan" },
  launder: { search: "linear", reclaim: "launder", label: "FreeBSD 4.7 scan + laundering" },
  extent: { search: "extent", reclaim: "none", label: "NetBSD extent mirror" },
  indexed: { search: "indexed", reclaim: "none", label: "indexed" },
  migrate: { search: "indexed", reclaim: "migrate", label: "indexed + migration" },
  // The stand-in's name for "free pages only", kept for old scenarios: the indexed search.
  free: { search: "indexed", reclaim: "none", label: "free pages only (indexed)" },
};

/** One rung of the success ladder. */
export interface LadderRung {
  readonly strategy: ContigStrategy;
  /** The allocator's search. */
  readonly search: ContigSearch;
  /** The request's reclaim. */
  readonly reclaim: ContigReclaim;
  readonly bytes: number;
  readonly attempts: number;
  readonly successes: number;
  /** Mean simulated time per attempt, microseconds (from the allocator's own counters). */
  readonly meanUs: number;
  /** Mean wall time per attempt of `allocate` + `free`, microseconds. */
  readonly wallUs: number;
  /** Pages moved (laundered to the cache queue, or migrated) over all attempts. */
  readonly moved: number;
}

/** Gives each contiguous allocator its own view of the buddy allocator's and queues' slots. */
export class SharedSlots {
  private readonly observers: FreePoolObserver[] = [];
  private readonly listeners: PageQueueListener[] = [];
  private readonly fanObserver: FreePoolObserver = {
    pagesFreed: (pfn: number, count: number): void => {
      for (const o of this.observers) o.pagesFreed(pfn, count);
    },
    pagesTaken: (pfn: number, count: number): void => {
      for (const o of this.observers) o.pagesTaken(pfn, count);
    },
  };
  private readonly fanListener: PageQueueListener = {
    queueChanged: (index: number, from: number, to: number): void => {
      for (const l of this.listeners) l.queueChanged(index, from, to);
    },
  };

  constructor(
    readonly buddy: BuddyAllocator,
    readonly queues: PageQueues,
  ) {}

  /** Allocators attached now. */
  get attached(): number {
    return this.observers.length;
  }

  private refresh(): void {
    const o = this.observers;
    this.buddy.setFreePoolObserver(
      o.length === 0 ? null : o.length === 1 ? o[0]! : this.fanObserver,
    );
    const l = this.listeners;
    this.queues.setListener(l.length === 0 ? null : l.length === 1 ? l[0]! : this.fanListener);
  }

  /** Views of the buddy allocator and the queues for one allocator. */
  views(): { buddy: BuddyAllocator; queues: PageQueues } {
    let mine: FreePoolObserver | null = null;
    let myListener: PageQueueListener | null = null;
    const setObserver = (o: FreePoolObserver | null): void => {
      if (mine !== null) this.observers.splice(this.observers.indexOf(mine), 1);
      mine = o;
      if (o !== null) this.observers.push(o);
      this.refresh();
    };
    const setListener = (l: PageQueueListener | null): void => {
      if (myListener !== null) this.listeners.splice(this.listeners.indexOf(myListener), 1);
      myListener = l;
      if (l !== null) this.listeners.push(l);
      this.refresh();
    };
    return {
      buddy: view(this.buddy, "setFreePoolObserver", setObserver),
      queues: view(this.queues, "setListener", setListener),
    };
  }
}

/** `target` with method `key` replaced; every other method runs on `target` itself. */
function view<T extends object>(target: T, key: string, replacement: unknown): T {
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(t, p) {
      if (p === key) return replacement;
      const v: unknown = Reflect.get(t, p, t);
      if (typeof v !== "function") return v;
      let b = bound.get(p);
      if (b === undefined) {
        b = (v as (...args: unknown[]) => unknown).bind(t);
        bound.set(p, b);
      }
      return b;
    },
  });
}

/** A buffer a device holds. */
export interface DeviceBuffer {
  readonly label: string;
  readonly pfn: number;
  readonly pages: number;
  /** The allocator's handle (null for a `uvm_pglistalloc` page list). */
  readonly handle: ContigHandle | null;
  /** The page list (pfns) of `uvm_pglistalloc`, or null. */
  readonly rlist: number[] | null;
  /** User process mapping it (mapcount on every page), or -1. */
  userPid: number;
}

/** Counters kept by the sim on top of the allocator's. */
export interface ContigSimStats {
  /** Pages leaked by the legacy `contigmalloc` (wired, reachable from nothing). */
  leakedPages: number;
}

/** The kernel's contiguous allocation: the real allocator, its compat API and the sim's books. */
export class ContigDriver {
  private readonly k: Kernel;
  /** The slots shared by every allocator. */
  readonly slots: SharedSlots;
  /** `createContigCompat` over the page database, the buddy allocator and the kernel map. */
  readonly compat: ContigCompat;
  /** The kernel's allocator (`compat.allocator`): indexed search, the page queues, legacy compat. */
  readonly allocator: ContigAllocator;
  /** The kernel map (bytes). */
  readonly kernelMap: Extent;
  /** Live device buffers. */
  readonly buffers: Set<DeviceBuffer> = new Set();
  /** The success ladder, when one was run. */
  readonly ladder: LadderRung[] = [];
  /** Pages the legacy path leaked, per zone. */
  readonly leakedByZone: Float64Array;
  /** Sim counters. */
  readonly sim: ContigSimStats = { leakedPages: 0 };

  constructor(kernel: Kernel, queues: PageQueues, kernelMap: Extent, legacy: boolean) {
    this.k = kernel;
    this.kernelMap = kernelMap;
    this.slots = new SharedSlots(kernel.buddy, queues);
    const v = this.slots.views();
    this.compat = createContigCompat(kernel.machine.pages, v.buddy, kernelMap, {
      queues: v.queues,
      legacy,
      search: "indexed",
      mirror: false,
    });
    this.allocator = this.compat.allocator;
    this.leakedByZone = new Float64Array(kernel.machine.zones.length);
  }

  /** A further allocator on the shared slots (detach it when done). */
  extraAllocator(search: ContigSearch, withQueues: boolean): ContigAllocator {
    const v = this.slots.views();
    return new ContigAllocator({
      buddy: v.buddy,
      search,
      kernelMap: this.kernelMap,
      ...(withQueues ? { queues: v.queues } : {}),
    });
  }

  /** A compat API with NetBSD's extent mirror of the free pages (detach its allocator when done). */
  mirrorCompat(): ContigCompat {
    const v = this.slots.views();
    return createContigCompat(this.k.machine.pages, v.buddy, this.kernelMap, {
      search: "extent",
      mirror: true,
    });
  }

  /** Adds (+1) or removes (-1) `[pfn, pfn + pages)` to the sim's count of held pages. */
  account(pfn: number, pages: number, sign: 1 | -1): void {
    const k = this.k;
    const db = k.machine.pages;
    const i0 = db.indexOf(pfn);
    let z = k.zoneOfIndex(i0);
    let run = 0;
    for (let j = 0; j < pages; j++) {
      const zj = k.zoneOfIndex(db.indexOf(pfn + j));
      if (zj !== z) {
        k.allocatedByZone[z]! += sign * run;
        z = zj;
        run = 0;
      }
      run++;
    }
    k.allocatedByZone[z]! += sign * run;
  }

  /** Registers a buffer the allocator just handed out. */
  adopt(
    label: string,
    pfn: number,
    pages: number,
    handle: ContigHandle | null,
    rlist: number[] | null,
  ): DeviceBuffer {
    this.account(pfn, pages, 1);
    const b: DeviceBuffer = { label, pfn, pages, handle, rlist, userPid: -1 };
    this.buffers.add(b);
    return b;
  }

  /** Forgets a buffer the caller is about to free through the allocator (unmaps it from users). */
  disown(b: DeviceBuffer): void {
    if (!this.buffers.has(b))
      throw new KernelPanic("double-free", `contig: buffer ${b.label} is not held`);
    if (b.userPid >= 0) this.unmapUser(b);
    this.buffers.delete(b);
    this.account(b.pfn, b.pages, -1);
  }

  /** Maps the buffer into user process `pid`: one more mapping on every page. */
  mapUser(b: DeviceBuffer, pid: number): void {
    const db = this.k.machine.pages;
    const i0 = db.indexOf(b.pfn);
    for (let j = 0; j < b.pages; j++) db.mapcount[i0 + j] = db.mapcount[i0 + j]! + 1;
    b.userPid = pid;
  }

  /** Removes the user mapping. */
  unmapUser(b: DeviceBuffer): void {
    const db = this.k.machine.pages;
    const i0 = db.indexOf(b.pfn);
    for (let j = 0; j < b.pages; j++) db.mapcount[i0 + j] = db.mapcount[i0 + j]! - 1;
    b.userPid = -1;
  }

  /**
   * After the legacy `contigmalloc` leaked `pages` pages: finds them (pinned contiguous pages no
   * buffer holds), counts them as held and returns the first pfn, or -1.
   */
  findLeak(pages: number): number {
    const k = this.k;
    const db = k.machine.pages;
    const tag = this.allocator.ownerTag;
    const known = [...this.buffers];
    let first = -1;
    let found = 0;
    for (const r of k.machine.presentPfnRanges()) {
      const i0 = db.indexOf(r.start);
      for (let p = r.start; p < r.end; p++) {
        const i = i0 + (p - r.start);
        if (db.owner[i] !== tag || (db.flags[i]! & PG_pinned) === 0) continue;
        if (known.some((b) => p >= b.pfn && p < b.pfn + b.pages)) continue;
        if (this.isLeaked(p)) continue;
        if (first < 0) first = p;
        found++;
      }
    }
    if (first < 0 || found !== pages)
      throw new KernelPanic(
        "invariant",
        `contig: legacy contigmalloc leaked ${pages} pages but ${found} unowned pinned pages were found`,
      );
    this.account(first, pages, 1);
    const i0 = db.indexOf(first);
    for (let j = 0; j < pages; j++) this.leakedByZone[k.zoneOfIndex(i0 + j)]! += 1;
    this.leaks.push([first, pages]);
    this.sim.leakedPages += pages;
    return first;
  }

  private readonly leaks: [number, number][] = [];

  private isLeaked(p: number): boolean {
    return this.leaks.some(([s, n]) => p >= s && p < s + n);
  }

  /** Leaked ranges `[pfn, pages]`. */
  get leakedRanges(): readonly (readonly [number, number])[] {
    return this.leaks;
  }

  /**
   * The success ladder: for each strategy and size, `attempts` allocations (each freed at once) of
   * `bytes` below `highPfn`, page aligned, by the real allocator's search and reclaim.
   */
  runLadder(
    sizes: readonly number[],
    strategies: readonly ContigStrategy[],
    attempts: number,
    highPfn: number,
  ): LadderRung[] {
    const k = this.k;
    const ps = k.machine.pageSize;
    const out: LadderRung[] = [];
    // One further allocator per search (linear, extent) for the whole ladder.
    const extra = new Map<ContigSearch, ContigAllocator>();
    k.depth++;
    try {
      for (const strategy of strategies) {
        const cfg = STRATEGY_CONFIG[strategy];
        if (cfg === undefined) throw new KernelPanic("contig", `contig: no strategy ${strategy}`);
        let a = cfg.search === "indexed" ? this.allocator : extra.get(cfg.search);
        if (a === undefined) {
          a = this.extraAllocator(cfg.search, true);
          extra.set(cfg.search, a);
        }
        for (const bytes of sizes) {
          let successes = 0;
          let moved = 0;
          let simUs = 0;
          let wallUs = 0;
          for (let t = 0; t < attempts; t++) {
            const s = a.stats;
            const before = [s.candidates, s.pageouts, s.cached, s.migrated, s.cacheSteals];
            const w0 = performance.now();
            const h = a.allocate({ size: bytes, high: highPfn * ps, reclaim: cfg.reclaim });
            if (h !== null) {
              successes++;
              a.free(h);
            }
            wallUs += (performance.now() - w0) * 1000;
            const d = [s.candidates, s.pageouts, s.cached, s.migrated, s.cacheSteals].map(
              (x, j) => x - before[j]!,
            );
            moved += d[2]! + d[3]!;
            // Simulated cost: a search step per candidate, a disk write per pageout, a copy per
            // migrated page, and the page writes of the claim.
            const us =
              20 + d[0]! + 100 * d[1]! + 5 * d[3]! + d[4]! + (h ? Math.ceil(h.pages / 64) : 0);
            simUs += us;
            k.log.advance(us);
          }
          const rung: LadderRung = {
            strategy,
            search: cfg.search,
            reclaim: cfg.reclaim,
            bytes,
            attempts,
            successes,
            meanUs: simUs / attempts,
            wallUs: Math.round(wallUs / attempts),
            moved,
          };
          out.push(rung);
          this.ladder.push(rung);
        }
      }
    } finally {
      for (const a of extra.values()) a.detach();
      k.depth--;
    }
    k.step(
      { op: "contig.ladder", sizes: [...sizes], strategies: [...strategies], attempts, highPfn },
      10,
    );
    return out;
  }

  /** The allocator's counters with the sim's. */
  stats(): Record<string, number> {
    return { ...this.allocator.stats, simLeakedPages: this.sim.leakedPages };
  }

  /** Figures for the digest. */
  digestParts(): number[] {
    const s = this.allocator.stats;
    return [this.buffers.size, s.allocations, s.failures, s.pagesHeld, s.migrated, s.pageouts];
  }

  /**
   * The allocator's invariants (its index equals the free pool, held pages pinned and tagged),
   * and every device buffer's pages held, pinned and tagged.
   */
  checkInvariants(): void {
    this.allocator.checkInvariants();
    const db = this.k.machine.pages;
    const tag = this.allocator.ownerTag;
    for (const b of this.buffers) {
      const i0 = db.indexOf(b.pfn);
      for (let j = 0; j < b.pages; j++) {
        const i = i0 + j;
        if (db.refcount[i] !== 1 || db.owner[i] !== tag || (db.flags[i]! & PG_pinned) === 0)
          throw new KernelPanic(
            "invariant",
            `invariant: contig buffer ${b.label} pfn ${b.pfn + j} is not held (count ${db.refcount[i]})`,
          );
        if (db.mapcount[i] !== (b.userPid >= 0 ? 1 : 0))
          throw new KernelPanic(
            "invariant",
            `invariant: contig buffer ${b.label} pfn ${b.pfn + j} has ${db.mapcount[i]} mappings`,
          );
      }
    }
  }
}
