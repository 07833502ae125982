/**
 * The Xen paravirtual network pair: `createNetbackPair` from `@mem/xen-foreign` (a guest's netfront
 * sending through domain 0's netback with foreign pages and grants, a generic network stack),
 * driven by the sim: built by each netback step (destructor mode by default, callback mode as a
 * scenario option; the previous pair is destroyed first), packets sent in chunks and each chunk run
 * until idle, its counters in the run result, its invariants among the kernel's, and the pages it
 * holds in the sim's accounting. The pair's checker compares the buddy free count with the count
 * right after the pair was built, so the kernel runs it while the pair is the last thing that ran;
 * the pages the pair holds are checked per zone after every operation.
 * The compat names (`@mem/xen-foreign/compat`) are bound to the pair's foreign-page mechanism and
 * hypervisor when it starts.
 *
 * @module
 */
import {
  createNetbackPair,
  type NetbackMode,
  type NetbackPair,
  type NetbackPairStats,
} from "@mem/xen-foreign";
import * as xenCompat from "@mem/xen-foreign/compat";
import type { Kernel } from "./kernel.js";

export type { NetbackMode };

/** The run result's netback figures (the stand-in's names, then the package's extra counters). */
export interface NetbackStats {
  requests: number;
  responses: number;
  grantsIssued: number;
  grantsMapped: number;
  grantsUnmapped: number;
  unmapBatches: number;
  clones: number;
  /** Packets netback handed to the stack (each once). */
  delivered: number;
  /** Buffers the stack delivered (clones and taps included). */
  packetsDelivered: number;
  destructorCalls: number;
  callbacks: number;
  delayedCopies: number;
  ringFull: number;
  pending: number;
  inflight: number;
  dealloc: number;
  packetsSent: number;
  packets: number;
  packetsDropped: number;
  responsesError: number;
  mapErrors: number;
  taps: number;
  held: number;
  copiedHeaders: number;
  zerocopyFrags: number;
  localCopyFrees: number;
  foreignDestructorCalls: number;
  hypercalls: number;
  buddyFreeBaseline: number;
}

/** The driver of the pair. */
export class XenDriver {
  private readonly k: Kernel;
  /** Buddy free pages when the last netback step began (after the pair was built). */
  freeBefore = -1;
  /** Buddy free pages when the last netback step ended. */
  freeAfter = -1;
  /** `kernel.ops` right after the pair's last operation. */
  private opsMark = -1;

  constructor(kernel: Kernel) {
    this.k = kernel;
  }

  /** The pair, once started. */
  get pair(): NetbackPair | null {
    return this.k.xen;
  }

  /** Whether the pair is up. */
  get up(): boolean {
    return this.k.xen !== null;
  }

  /** Builds a pair (guest domain, pool, stack, grants) in `mode`; the previous one goes first. */
  start(mode: NetbackMode, seed: number, guestPages = 512): NetbackPair {
    const k = this.k;
    let pair: NetbackPair;
    k.depth++;
    try {
      this.stop();
      pair = createNetbackPair({ buddy: k.buddy, mode, seed, guestPages });
      k.xen = pair;
      xenCompat.set_foreign_pages(pair.foreign);
      xenCompat.set_hypervisor(pair.hv);
    } finally {
      k.depth--;
    }
    k.log.print(
      `xen-netback: backend up (${mode === "destructor" ? "PG_foreign pages with destructors" : "zero-copy callbacks"}), ${pair.netback.poolSize} pending slots, domU ${pair.guest.nrPages} pages`,
    );
    this.opsMark = k.ops + 1;
    k.step({ op: "net.start", mode, guestPages, seed }, 100);
    return pair;
  }

  /** Tears the pair down (idle first); every page goes back. */
  stop(): void {
    const pair = this.k.xen;
    if (pair === null) return;
    pair.run({ untilIdle: true });
    pair.destroy();
    this.k.xen = null;
    xenCompat.set_foreign_pages(null);
    xenCompat.set_hypervisor(null);
  }

  /** The guest sends `packets` packets; the pair runs until idle. */
  send(packets: number): void {
    const k = this.k;
    const pair = k.xen;
    if (pair === null) throw new Error("netback: send before start");
    const t0 = pair.clock.nowUs;
    k.depth++;
    try {
      pair.send(packets);
      pair.run({ untilIdle: true });
    } finally {
      k.depth--;
    }
    // The pair's clock (held packets, delayed copies) advances the kernel's.
    k.log.advance(pair.clock.nowUs - t0);
    this.opsMark = k.ops + 1;
    k.step({ op: "net.send", packets }, 1);
  }

  /** Runs the pair until idle (before hibernation). */
  quiesce(): void {
    const pair = this.k.xen;
    if (pair === null) return;
    this.k.depth++;
    try {
      pair.run({ untilIdle: true });
    } finally {
      this.k.depth--;
    }
    if (this.k.depth === 0 && this.opsMark === this.k.ops) this.opsMark = this.k.ops + 1;
    this.k.step({ op: "net.quiesce" }, 10);
  }

  /** Pages the pair holds now, per zone: guest frames, pool pages, local copies, stack pages. */
  heldByZone(): Float64Array {
    const k = this.k;
    const out = new Float64Array(k.machine.zones.length);
    const pair = k.xen;
    if (pair === null) return out;
    const db = k.machine.pages;
    const add = (pfn: number): void => {
      if (pfn < 0) return;
      out[k.zoneOfIndex(db.indexOf(pfn))]! += 1;
    };
    for (const pfn of pair.guest.p2m) add(pfn);
    for (const pfn of pair.netback.poolPfn) add(pfn);
    for (const pfn of pair.netback.copiedPages) add(pfn);
    for (const pfn of pair.stack.localPages) add(pfn);
    return out;
  }

  /** The figures of the run result. */
  snapshot(): NetbackStats | null {
    const pair = this.k.xen;
    if (pair === null) return null;
    const s: NetbackPairStats = pair.stats();
    const nb = s.netback;
    return {
      requests: nb.requests,
      responses: nb.responses,
      grantsIssued: s.grantOps.grants,
      grantsMapped: s.grantOps.maps,
      grantsUnmapped: s.grantOps.unmaps,
      unmapBatches: nb.unmapBatches,
      clones: s.stack.clones,
      delivered: nb.packets,
      packetsDelivered: s.packetsDelivered,
      destructorCalls: nb.destructorCalls,
      callbacks: nb.zerocopyCallbacks,
      delayedCopies: nb.delayedCopies,
      ringFull: s.netfront.backlog,
      pending: nb.pending,
      inflight: nb.inflight,
      dealloc: nb.dealloc,
      packetsSent: s.packetsSent,
      packets: nb.packets,
      packetsDropped: nb.packetsDropped,
      responsesError: nb.responsesError,
      mapErrors: nb.mapErrors,
      taps: s.stack.taps,
      held: s.stack.held,
      copiedHeaders: nb.copiedHeaders,
      zerocopyFrags: nb.zerocopyFrags,
      localCopyFrees: nb.localCopyFrees,
      foreignDestructorCalls: s.foreignDestructorCalls,
      hypercalls: s.grantOps.hypercalls,
      buddyFreeBaseline: s.buddyFreeBaseline,
    };
  }

  /** Figures for the digest. */
  digestParts(): number[] {
    const pair = this.k.xen;
    if (pair === null) return [];
    const s = pair.stats();
    return [
      s.netback.requests,
      s.netback.responses,
      s.netback.destructorCalls,
      s.netback.delayedCopies,
      s.packetsDelivered,
      s.buddyFree,
    ];
  }

  /** The pair's own invariants, while the pair is the last thing that ran (see the module notes). */
  checkInvariants(): void {
    if (this.k.xen !== null && this.k.ops === this.opsMark) this.k.xen.checkInvariants();
  }
}
