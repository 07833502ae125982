/**
 * The simulated kernel: the subsystems after boot, the sim's own bookkeeping of who owns which
 * pages, the operations every driver and workload goes through (each recorded to the trace and
 * followed by the invariant checks in debug mode), time series samples, and the final digest.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { BootAllocator } from "@mem/bootmem";
import {
  type BuddyAllocator,
  fillContigPageInfo,
  fragmentationIndex,
  GFP_HIGHUSER_MOVABLE,
  unusableFreeIndex,
} from "@mem/buddy";
import type { ContigAllocator, PageOwner, PageQueues } from "@mem/contig";
import { PQ_ACTIVE, PQ_NONE } from "@mem/contig";
import type { Extent } from "@mem/extent";
import {
  KernelPanic,
  type Machine,
  type MachineSpec,
  PG_buddy,
  PG_dirty,
  PG_foreign,
  PG_head,
  PG_hole,
  PG_isolated,
  PG_pcp,
  PG_reserved,
} from "@mem/machine";
import type { PageFlagMap } from "@mem/pageflags";
import type { NetbackPair } from "@mem/xen-foreign";
import type { ContigDriver } from "./contig.js";
import type { KernelLog } from "./dmesg.js";
import type { IsaSoundCard } from "./drivers/isa-sound.js";
import type { PciCaptureCard } from "./drivers/pci-capture.js";
import type { PageCache } from "./page-cache.js";
import { procFile } from "./proc.js";
import { type ProgressFn, type RunResult, runScenario } from "./run.js";
import { loadScenario, parseScenario, type Scenario, type ScenarioInput } from "./scenarios.js";
import {
  FRAG_ORDERS,
  KINDS,
  type Kind,
  STATE_DMA,
  STATE_FOREIGN,
  STATE_FREE,
  STATE_GUEST,
  STATE_HOLE,
  STATE_ISOLATED,
  STATE_KERNEL,
  STATE_PAGECACHE,
  STATE_PAGECACHE_DIRTY,
  STATE_PCP,
  STATE_RESERVED,
  stateOfKind,
} from "./state.js";
import type { TraceOp, TraceSink } from "./trace.js";
import type { XenDriver } from "./xen.js";

/** An invariant broke: names the operation after which it was found. */
export class InvariantError extends Error {
  /** The operation that broke it. */
  readonly op: TraceOp | null;

  constructor(message: string, op: TraceOp | null) {
    super(message);
    this.name = "InvariantError";
    this.op = op;
  }
}

/** A boot-time reservation, for /proc/iomem and the report. */
export interface Reservation {
  /** First byte. */
  readonly start: number;
  /** One past the last byte. */
  readonly end: number;
  /** What it holds. */
  readonly name: string;
}

/** One time series sample. */
export interface Sample {
  /** Simulated time, microseconds. */
  readonly t: number;
  /** Operations so far. */
  readonly ops: number;
  /** Per zone (index = zone id of the populated zones list): free pages. */
  readonly free: number[];
  /** Per zone: free blocks per order. */
  readonly freeByOrder: number[][];
  /** Per zone: unusable free index (thousandths) for {@link FRAG_ORDERS}. */
  readonly unusable: number[][];
  /** Per zone: fragmentation index (thousandths, -1000 = would succeed) for {@link FRAG_ORDERS}. */
  readonly extfrag: number[][];
}

/** The Suspend2 pageflags maps. */
export interface HibernationMaps {
  /** Pages saved by the atomic copy. */
  readonly pageset1: PageFlagMap;
  /** Pages written first, in place (the page cache). */
  readonly pageset2: PageFlagMap;
  /** Pages never saved. */
  readonly nosave: PageFlagMap;
}

/** A hotplug event as the report shows it. */
export interface HotplugRecord {
  /** Simulated time, microseconds. */
  readonly t: number;
  /** What happened. */
  readonly type: "add" | "remove" | "remove-failed";
  /** First pfn. */
  readonly startPfn: number;
  /** One past the last pfn. */
  readonly endPfn: number;
  /** Pages migrated out before removal. */
  readonly migrated: number;
}

/** What the kernel was booted with (enough to boot it again). */
export interface BootRecord {
  readonly machineSpec: MachineSpec;
  readonly bootAllocator: "rootmem" | "memblock";
  readonly minFreeKbytes: number;
  readonly cpus: number;
  readonly seed: number;
}

const INITIAL_HANDLES = 1024;

/**
 * The kernel after boot. Construct with `boot()`; drivers and workloads act through its methods
 * so that every operation is counted, traced and checked.
 */
export class Kernel {
  /** The machine. */
  readonly machine: Machine;
  /** The boot allocator (released: later calls are BUGs). */
  readonly bootmem: BootAllocator;
  /** The buddy allocator. */
  readonly buddy: BuddyAllocator;
  /** The kernel log. */
  readonly log: KernelLog;
  /** How it was booted. */
  readonly bootRecord: BootRecord;
  /** Boot-time reservations. */
  readonly reservations: Reservation[] = [];
  /** Owner tag per kind. */
  readonly ownerTag: Record<Kind, number>;
  /** Kind per owner tag. */
  private readonly kindOfTag: (Kind | undefined)[] = [];
  /** Zone id by `zoneNode` value (nid * 8 + type). */
  private readonly znToZone: Int32Array;
  /** Pages the sim holds per zone (every kind). */
  readonly allocatedByZone: Float64Array;
  /** Extents: the kernel map (bytes, shared with `@mem/contig`) and the DMA mirror storage. */
  readonly extent: { kernelVa: Extent; dmaMirrorDescriptors: number; dmaMirrorBytes: number };
  /** The pageflags maps (Suspend2's three). */
  readonly pageflags: HibernationMaps;
  /** Device and subsystem drivers, set up after boot. */
  pageCache!: PageCache;
  /** The page queues (inactive, active, cache) of the page cache and anonymous memory. */
  queues!: PageQueues;
  /** The kernel's contiguous allocator (`@mem/contig`; `compat.contig.allocator`). */
  contig!: ContigAllocator;
  /** The sim's books on contiguous allocation (device buffers, ladder, shared observer slots). */
  contigDriver!: ContigDriver;
  /** The ISA sound card. */
  isa!: IsaSoundCard;
  /** The PCI capture card. */
  capture!: PciCaptureCard;
  /** The Xen netfront/netback pair (`@mem/xen-foreign`), once a netback step started it. */
  xen: NetbackPair | null = null;
  /** The sim's driver of the pair. */
  xenDriver!: XenDriver;
  /** Compat objects (the C names bound to this kernel's subsystems). */
  compat!: Record<string, unknown>;

  /** Handles: pfn, order (-1 = unused) and kind of each allocation made through {@link allocPages}. */
  private hPfn = new Float64Array(INITIAL_HANDLES);
  private hOrder = new Int8Array(INITIAL_HANDLES).fill(-1);
  private nextHandle = 0;
  /** Live handles. */
  liveHandles = 0;

  /** Trace sink or null. */
  trace: TraceSink | null = null;
  /** Run the invariant checks after every operation. */
  debug = false;
  /** Operations so far. */
  ops = 0;
  /** Failed allocations through {@link allocPages}. */
  allocFailures = 0;
  /** Invariant checks run. */
  invariantChecks = 0;
  /** Samples. */
  readonly samples: Sample[] = [];
  /** Hotplug events. */
  readonly hotplugEvents: HotplugRecord[] = [];
  /** Pages removed by hotplug so far. */
  hotplugRemovedPages = 0;
  /** Pages added by hotplug so far. */
  hotplugAddedPages = 0;
  /** Pages migrated (hotplug and contig). */
  migratedPages = 0;
  /** Populated zones (ids) sampled, fixed at boot (hot-added zones join when populated). */
  sampledZones: number[];

  constructor(
    machine: Machine,
    bootmem: BootAllocator,
    buddy: BuddyAllocator,
    log: KernelLog,
    bootRecord: BootRecord,
    kernelVa: Extent,
    pageflags: HibernationMaps,
    dmaMirror: { descriptors: number; bytes: number },
  ) {
    this.machine = machine;
    this.bootmem = bootmem;
    this.buddy = buddy;
    this.log = log;
    this.bootRecord = bootRecord;
    this.pageflags = pageflags;
    this.extent = {
      kernelVa,
      dmaMirrorDescriptors: dmaMirror.descriptors,
      dmaMirrorBytes: dmaMirror.bytes,
    };
    const tags = {} as Record<Kind, number>;
    for (const k of KINDS) {
      const t = machine.registerOwner(k);
      tags[k] = t;
      this.kindOfTag[t] = k;
    }
    this.ownerTag = tags;
    const maxNid = Math.max(...machine.nodes.map((n) => n.id));
    this.znToZone = new Int32Array((maxNid + 1) * 8).fill(-1);
    for (const z of machine.zones) this.znToZone[z.nid * 8 + z.type] = z.id;
    this.allocatedByZone = new Float64Array(machine.zones.length);
    this.sampledZones = machine.zones.filter((z) => z.presentPages > 0).map((z) => z.id);
  }

  /** Simulated time in microseconds. */
  get now(): number {
    return this.log.now;
  }

  /** The text of /proc/`name` (buddyinfo, zoneinfo, pagetypeinfo, vmstat, iomem, extfrag). */
  proc(name: string): string {
    return procFile(this, name);
  }

  /** Runs a scenario (a built-in name, a file path, or a scenario object) on this kernel. */
  run(scenario: string | ScenarioInput | Scenario, onProgress?: ProgressFn): RunResult {
    const s = typeof scenario === "string" ? loadScenario(scenario) : parseScenario(scenario);
    return runScenario(this, s, onProgress);
  }

  // -------------------------------------------------------------------------------------------
  // Page bookkeeping shared by every driver

  /** Zone id of the page at dense index `i`. */
  zoneOfIndex(i: number): number {
    return this.znToZone[this.machine.pages.zoneNode[i]!]!;
  }

  /** Records that the sim took the block of 2^order pages at `pfn` for `kind`. */
  take(pfn: number, order: number, kind: Kind, mapping: number): void {
    const db = this.machine.pages;
    const i = db.indexOf(pfn);
    db.owner[i] = this.ownerTag[kind];
    db.mapping[i] = mapping;
    this.allocatedByZone[this.znToZone[db.zoneNode[i]!]!]! += 2 ** order;
  }

  /** Records that `count` single pages from `pfn` were taken (a contiguous range of order-0 pages). */
  takeRange(pfn: number, count: number, kind: Kind, mapping: number): void {
    const db = this.machine.pages;
    const tag = this.ownerTag[kind];
    for (let k = 0; k < count; k++) {
      const i = db.indexOf(pfn + k);
      db.owner[i] = tag;
      db.mapping[i] = mapping;
      this.allocatedByZone[this.znToZone[db.zoneNode[i]!]!]! += 1;
    }
  }

  /** Clears the sim's marks on the block before it goes back to the buddy allocator. */
  release(pfn: number, order: number): void {
    const db = this.machine.pages;
    const i = db.indexOf(pfn);
    db.owner[i] = 0;
    db.mapping[i] = 0;
    this.allocatedByZone[this.znToZone[db.zoneNode[i]!]!]! -= 2 ** order;
  }

  /** The kind owning the allocated block headed at `pfn`, if the sim allocated it. */
  kindAt(pfn: number): Kind | undefined {
    const db = this.machine.pages;
    return this.kindOfTag[db.owner[db.indexOf(pfn)]!];
  }

  // -------------------------------------------------------------------------------------------
  // Operations (traced)

  /** Counts an operation, records it, advances the clock and checks the invariants in debug mode. */
  step(op: TraceOp | null, costUs: number): void {
    this.ops++;
    this.log.advance(costUs);
    if (this.depth !== 0) return;
    if (op !== null && this.trace !== null) this.trace.record(op);
    if (this.debug) this.checkAfter(op);
  }

  /** Nesting depth of composite operations: only top-level operations are traced and checked. */
  depth = 0;

  /** Runs the invariant checks and wraps a failure with the operation. */
  checkAfter(op: TraceOp | null): void {
    try {
      this.checkInvariants();
    } catch (e) {
      throw new InvariantError(
        `${(e as Error).message}${op ? ` (after ${JSON.stringify(op)})` : ""}`,
        op,
      );
    }
  }

  /**
   * Allocates 2^order pages with `gfp` on `cpu` for `kind` (kernel or anon); returns a handle, or
   * -1 when the allocator has nothing.
   */
  allocPages(kind: Kind, gfp: number, order: number, cpu = 0): number {
    const b = this.buddy;
    if (b.cpu !== cpu) b.setCpu(cpu);
    const pfn = b.alloc(gfp, order);
    let h = -1;
    if (pfn < 0) this.allocFailures++;
    else {
      h = this.nextHandle++;
      if (h >= this.hPfn.length) this.growHandles();
      this.hPfn[h] = pfn;
      this.hOrder[h] = order;
      this.liveHandles++;
      this.take(pfn, order, kind, h + 1);
      if (kind === "anon" && order === 0) this.mapAnon(pfn);
    }
    if ((this.trace !== null || this.debug) && this.depth === 0)
      this.step({ op: "alloc", kind, gfp, order, cpu, h }, 1);
    else {
      this.ops++;
      this.log.advance(1);
    }
    return h;
  }

  /** Frees the allocation behind handle `h` on `cpu`. */
  freeHandle(h: number, cpu = 0): void {
    const order = this.hOrder[h];
    if (order === undefined || order < 0)
      throw new KernelPanic("bad-handle", `free of handle ${h}, which is not allocated`);
    const pfn = this.hPfn[h]!;
    const b = this.buddy;
    if (b.cpu !== cpu) b.setCpu(cpu);
    if (order === 0 && this.queues.queueOf(pfn) !== PQ_NONE) this.unmapAnon(pfn);
    this.release(pfn, order);
    b.free(pfn, order);
    this.hOrder[h] = -1;
    this.liveHandles--;
    if ((this.trace !== null || this.debug) && this.depth === 0)
      this.step({ op: "free", h, cpu }, 1);
    else {
      this.ops++;
      this.log.advance(1);
    }
  }

  /**
   * An order-0 anonymous page is mapped into a user process (one mapping, and the reference that
   * goes with it) and put on the active queue, where contig's migration may move it (laundering
   * skips mapped pages).
   */
  private mapAnon(pfn: number): void {
    const db = this.machine.pages;
    const i = db.indexOf(pfn);
    db.mapcount[i] = 1;
    db.refcount[i] = 2;
    this.queues.add(pfn, PQ_ACTIVE);
  }

  private unmapAnon(pfn: number): void {
    const db = this.machine.pages;
    const i = db.indexOf(pfn);
    this.queues.remove(pfn);
    db.mapcount[i] = 0;
    db.refcount[i] = 1;
  }

  /** The owner of anonymous pages on the queues: their handles follow migration. */
  readonly anonOwner: PageOwner = {
    migratePage: (oldPfn: number, newPfn: number): void => {
      const db = this.machine.pages;
      const h = db.mapping[db.indexOf(newPfn)]! - 1;
      this.hPfn[h] = newPfn;
      this.movePageAccounting(oldPfn, newPfn);
    },
  };

  /** A page the sim holds moved from `oldPfn` to `newPfn` (the zones' counts follow). */
  movePageAccounting(oldPfn: number, newPfn: number): void {
    const db = this.machine.pages;
    this.allocatedByZone[this.zoneOfIndex(db.indexOf(oldPfn))]! -= 1;
    this.allocatedByZone[this.zoneOfIndex(db.indexOf(newPfn))]! += 1;
    this.migratedPages++;
  }

  /**
   * Migrates the queued page at `pfn` (page cache or anonymous) to a page outside `[avoidStart,
   * avoidEnd)` with `PageQueues.migratePage` (its owner is told); false when it is not movable or
   * no target page could be had.
   */
  migrateQueued(pfn: number, avoidStart: number, avoidEnd: number): boolean {
    const q = this.queues;
    if (!q.isMovable(pfn)) return false;
    const target = this.buddy.allocPagesIn(GFP_HIGHUSER_MOVABLE, 0, {
      avoid: { start: avoidStart, end: avoidEnd },
    });
    if (target < 0) return false;
    q.migratePage(pfn, target);
    this.buddy.free(pfn, 0);
    return true;
  }

  /** Migrates the anonymous block behind handle `h` out of `[avoidStart, avoidEnd)`. */
  migrateHandle(h: number, avoidStart: number, avoidEnd: number): boolean {
    const pfn = this.handlePfn(h);
    const order = this.handleOrder(h);
    if (pfn < 0) return false;
    if (order === 0 && this.queues.queueOf(pfn) !== PQ_NONE) {
      const ok = this.migrateQueued(pfn, avoidStart, avoidEnd);
      this.step({ op: "migrate", h, avoidStart, avoidEnd }, 5);
      return ok;
    }
    const target = this.buddy.allocPagesIn(GFP_HIGHUSER_MOVABLE, order, {
      avoid: { start: avoidStart, end: avoidEnd },
    });
    if (target < 0) return false;
    this.take(target, order, "anon", h + 1);
    this.release(pfn, order);
    this.buddy.free(pfn, order);
    this.hPfn[h] = target;
    this.migratedPages += 2 ** order;
    this.step({ op: "migrate", h, avoidStart, avoidEnd }, 5 * 2 ** order);
    return true;
  }

  /** The pfn behind handle `h`, or -1. */
  handlePfn(h: number): number {
    return (this.hOrder[h] ?? -1) < 0 ? -1 : this.hPfn[h]!;
  }

  /** The order behind handle `h`, or -1. */
  handleOrder(h: number): number {
    return this.hOrder[h] ?? -1;
  }

  /** Moves handle `h` to `newPfn` (migration); the caller copied and freed. */
  moveHandle(h: number, newPfn: number): void {
    this.hPfn[h] = newPfn;
  }

  /** Handles issued so far (live or freed). */
  get handlesIssued(): number {
    return this.nextHandle;
  }

  private growHandles(): void {
    const n = this.hPfn.length * 2;
    const p = new Float64Array(n);
    p.set(this.hPfn);
    const o = new Int8Array(n).fill(-1);
    o.set(this.hOrder);
    this.hPfn = p;
    this.hOrder = o;
  }

  // -------------------------------------------------------------------------------------------
  // Samples, snapshot, digest

  /** Records a time series sample. */
  sample(): void {
    const free: number[] = [];
    const freeByOrder: number[][] = [];
    const unusable: number[][] = [];
    const extfrag: number[][] = [];
    for (const id of this.sampledZones) {
      const zi = this.buddy.zoneInfo(id);
      free.push(zi.freePages + zi.pcpPages);
      freeByOrder.push(zi.nrFree.slice());
      const u: number[] = [];
      const f: number[] = [];
      for (const o of FRAG_ORDERS) {
        if (o >= zi.nrFree.length) continue;
        const info = fillContigPageInfo(zi.nrFree, o);
        u.push(unusableFreeIndex(o, info));
        f.push(fragmentationIndex(o, info));
      }
      unusable.push(u);
      extfrag.push(f);
    }
    this.samples.push({ t: this.now, ops: this.ops, free, freeByOrder, unusable, extfrag });
  }

  /**
   * The state of every present page (see `PAGE_STATE_NAMES`), in the order of
   * `machine.presentPfnRanges()`.
   */
  pageStates(): Uint8Array {
    const m = this.machine;
    const db = m.pages;
    const ranges = m.presentPfnRanges();
    let total = 0;
    for (const r of ranges) total += r.end - r.start;
    const out = new Uint8Array(total);
    const flags = db.flags;
    const rc = db.refcount;
    const priv = db.private;
    const owner = db.owner;
    let off = 0;
    for (const r of ranges) {
      const i0 = db.indexOf(r.start);
      const n = r.end - r.start;
      let k = 0;
      while (k < n) {
        const i = i0 + k;
        const f = flags[i]!;
        let st: number;
        let span = 1;
        if ((f & PG_hole) !== 0) st = STATE_HOLE;
        else if ((f & PG_buddy) !== 0) {
          const o = priv[i]!;
          st = STATE_FREE + o;
          span = 2 ** o;
        } else if ((f & PG_pcp) !== 0) st = STATE_PCP;
        else if ((f & PG_isolated) !== 0) st = STATE_ISOLATED;
        else if ((f & PG_reserved) !== 0) st = STATE_RESERVED;
        else if (rc[i]! > 0 || (f & PG_foreign) !== 0 || owner[i] !== 0) {
          st = this.stateOfTag(owner[i]!);
          if (st === STATE_PAGECACHE && (f & PG_dirty) !== 0) st = STATE_PAGECACHE_DIRTY;
          if ((f & PG_head) !== 0) span = 2 ** priv[i + 1]!;
        } else st = this.stateOfTag(owner[i]!);
        if (span === 1) out[off + k] = st;
        else {
          if (span > n - k) span = n - k;
          out.fill(st, off + k, off + k + span);
        }
        k += span;
      }
      off += n;
    }
    // The ISA card's buffer carries contig's owner tag like every contiguous page.
    const isa = this.isa?.buffer;
    if (isa) {
      let base = 0;
      for (const r of ranges) {
        if (isa.pfn >= r.start && isa.pfn < r.end) {
          out.fill(STATE_DMA, base + isa.pfn - r.start, base + isa.pfn - r.start + isa.pages);
          break;
        }
        base += r.end - r.start;
      }
    }
    return out;
  }

  private tagStates: Int16Array = new Int16Array(0);

  /** The page-map state of pages carrying owner tag `tag` (the sim's kinds, Xen's domains, ...). */
  stateOfTag(tag: number): number {
    let s = this.tagStates[tag];
    if (s === undefined || s < 0) {
      if (tag >= this.tagStates.length) {
        const grown = new Int16Array(tag + 16).fill(-1);
        grown.set(this.tagStates);
        this.tagStates = grown;
      }
      const kind = this.kindOfTag[tag];
      const name = this.machine.ownerName(tag);
      if (kind !== undefined) s = stateOfKind(kind);
      else if (/^xen-dom[1-9]/.test(name)) s = STATE_GUEST;
      else if (name === "netif_page_release" || name === "xenvif_pool_guard") s = STATE_FOREIGN;
      else s = STATE_KERNEL;
      this.tagStates[tag] = s;
    }
    return s;
  }

  /** A digest of the final state: the buddy allocator's state digest and the sim's bookkeeping. */
  digest(): string {
    const h = createHash("sha256");
    const db = this.machine.pages;
    for (const a of [
      db.flags,
      db.refcount,
      db.mapcount,
      db.private,
      db.mapping,
      db.next,
      db.prev,
      db.owner,
    ])
      h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    const b = this.buddy;
    const zones = this.machine.zones.map((z) => {
      const zi = b.zoneInfo(z.id);
      return [zi.managed, zi.freePages, zi.pcpPages, zi.nrFree, zi.pcpCounts, z.presentPages];
    });
    h.update(JSON.stringify([zones, b.stats, b.cpu]));
    h.update(new Uint8Array(this.allocatedByZone.buffer));
    h.update(new Uint8Array(this.hPfn.buffer, 0, this.nextHandle * 8));
    h.update(new Uint8Array(this.hOrder.buffer, 0, this.nextHandle));
    h.update(
      JSON.stringify([
        this.pageCache.digestParts(),
        this.pageflags.pageset1.count(),
        this.pageflags.pageset2.count(),
        this.pageflags.nosave.count(),
        this.hotplugAddedPages,
        this.hotplugRemovedPages,
        this.xenDriver.digestParts(),
        this.contigDriver.digestParts(),
      ]),
    );
    return h.digest("hex").slice(0, 16);
  }

  // -------------------------------------------------------------------------------------------
  // Invariants

  /**
   * Every invariant: no page lost per zone (free + allocated + reserved + foreign + isolated =
   * present, with the sim's own count of what it allocated matching the page database), the buddy
   * allocator's checker, the pageflags maps' self checks, the page cache's and netback's.
   *
   * @throws {@link KernelPanic} ("invariant") naming the first violation.
   */
  checkInvariants(): void {
    this.invariantChecks++;
    this.buddy.checkInvariants();
    const m = this.machine;
    const db = m.pages;
    const nz = m.zones.length;
    const free = new Float64Array(nz);
    const alloc = new Float64Array(nz);
    const reserved = new Float64Array(nz);
    const foreign = new Float64Array(nz);
    const isolated = new Float64Array(nz);
    const flags = db.flags;
    const rc = db.refcount;
    const priv = db.private;
    for (const r of m.presentPfnRanges()) {
      const i0 = db.indexOf(r.start);
      const n = r.end - r.start;
      let k = 0;
      while (k < n) {
        const i = i0 + k;
        const f = flags[i]!;
        const z = this.znToZone[db.zoneNode[i]!]!;
        let span = 1;
        if ((f & PG_hole) !== 0) {
          k++;
          continue;
        }
        if ((f & PG_buddy) !== 0) {
          span = 2 ** priv[i]!;
          free[z]! += span;
        } else if ((f & PG_pcp) !== 0) free[z]! += 1;
        else if ((f & PG_isolated) !== 0) isolated[z]! += 1;
        else if ((f & PG_reserved) !== 0) reserved[z]! += 1;
        else if (rc[i]! > 0) {
          if ((f & PG_head) !== 0) span = 2 ** priv[i + 1]!;
          alloc[z]! += span;
        } else if ((f & PG_foreign) !== 0) foreign[z]! += 1;
        else if (db.owner[i] !== 0) alloc[z]! += 1;
        else
          throw new KernelPanic(
            "invariant",
            `invariant: pfn ${db.pfnOf(i)} is neither free, allocated, reserved, foreign nor isolated (lost)`,
          );
        k += span;
      }
    }
    const xenHeld = this.xenDriver.heldByZone();
    for (const zone of m.zones) {
      const z = zone.id;
      const name = `node ${zone.nid} zone ${zone.name}`;
      const zi = this.buddy.zoneInfo(z);
      if (free[z] !== zi.freePages + zi.pcpPages)
        throw new KernelPanic(
          "invariant",
          `invariant: ${name}: ${free[z]} free pages in the page database, the allocator counts ${zi.freePages + zi.pcpPages}`,
        );
      const held = alloc[z]! + foreign[z]!;
      if (held !== this.allocatedByZone[z]! + xenHeld[z]!)
        throw new KernelPanic(
          "invariant",
          `invariant: ${name}: ${held} pages allocated or foreign in the page database, the sim holds ${this.allocatedByZone[z]} and the Xen pair ${xenHeld[z]}`,
        );
      const sum = free[z]! + alloc[z]! + reserved[z]! + foreign[z]! + isolated[z]!;
      if (sum !== zone.presentPages)
        throw new KernelPanic(
          "invariant",
          `invariant: ${name}: free ${free[z]} + allocated ${alloc[z]} + reserved ${reserved[z]} + foreign ${foreign[z]} + isolated ${isolated[z]} = ${sum} != present ${zone.presentPages} (pages lost)`,
        );
    }
    for (const map of [this.pageflags.pageset1, this.pageflags.pageset2, this.pageflags.nosave])
      map.selfCheck();
    this.pageCache.checkInvariants();
    this.xenDriver.checkInvariants();
    this.contigDriver.checkInvariants();
  }

  /** Kinds and the pages each holds (by scanning owner tags of allocated heads). */
  pagesByKind(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const k of KINDS) out[k] = 0;
    const st = this.pageStates();
    const names: Record<number, string> = {};
    for (const k of KINDS) names[stateOfKind(k)] = k;
    for (let i = 0; i < st.length; i++) {
      const s = st[i]!;
      const k = s === STATE_PAGECACHE_DIRTY ? "pagecache" : names[s];
      if (k !== undefined) out[k]! += 1;
    }
    return out;
  }
}
