/**
 * A Xen paravirtual network pair: a guest domain's netfront grants its frames and queues transmit
 * requests; dom0's netback maps each grant into a page of its 256-slot pool, marks it foreign and
 * hands it as a fragment to a small generic network stack, which queues, sometimes clones (a second
 * reference on the fragment), delivers and finally frees with `put_page`. The last put reaches the
 * buddy allocator's free path, where netback's claiming hook takes the foreign page back (the
 * per-page destructor): the slot goes on the dealloc ring, grants are unmapped in batches, one
 * response per request goes back to the guest and the slot returns to the pending ring.
 *
 * Two modes: `"destructor"` (XenLinux 2.6.18: foreign pages and a destructor through the free hook)
 * and `"callback"` (mainline: netback keeps its own reference and a zero-copy completion callback
 * fires when the stack lets go). A packet the stack holds longer than HZ/2 is copied into a local
 * page so that the grant can go back early.
 *
 * This is the sim's stand-in for `@mem/xen-foreign`'s netback model, on the public API of
 * `@mem/buddy` (free hooks, `getPage`/`putPage`), written while that package was being written.
 *
 * @module
 */
import { GFP_KERNEL } from "@mem/buddy";
import { type FreePageHook, KernelPanic, PG_foreign } from "@mem/machine";
import type { Kernel } from "../kernel.js";
import { Rng } from "../rng.js";

/** `MAX_PENDING_REQS`. */
export const MAX_PENDING_REQS = 256;
/** HZ/2 in microseconds (HZ = 250). */
const COPY_TIMEOUT_US = 500_000;

/** Netback modes. */
export type NetbackMode = "destructor" | "callback";

/** Counters of a run. */
export interface NetbackStats {
  requests: number;
  responses: number;
  grantsIssued: number;
  grantsMapped: number;
  grantsUnmapped: number;
  unmapBatches: number;
  clones: number;
  delivered: number;
  destructorCalls: number;
  callbacks: number;
  delayedCopies: number;
  ringFull: number;
  pending: number;
  inflight: number;
  dealloc: number;
}

interface Skb {
  slot: number;
  refs: number;
  bornUs: number;
  /** Local copy pfn (after a delayed copy), or -1. */
  copy: number;
}

const SLOT_PENDING = 0;
const SLOT_INFLIGHT = 1;
const SLOT_DEALLOC = 2;

/** The netfront/netback pair. */
export class NetbackPair {
  private readonly k: Kernel;
  /** The mode. */
  mode: NetbackMode = "destructor";
  /** Pool page pfns by slot. */
  private slotPfn: number[] = [];
  private slotState = new Uint8Array(MAX_PENDING_REQS);
  private slotGrant = new Int32Array(MAX_PENDING_REQS).fill(-1);
  private readonly pending: number[] = [];
  private readonly deallocRing: number[] = [];
  private readonly held: Skb[] = [];
  /** Guest (domU) frames: handles of its pseudo-physical memory. */
  private guestHandles: number[] = [];
  /** Grant table of the guest: grant ref -> guest frame index, -1 when ended. */
  private grants: number[] = [];
  private grantMapped: number[] = [];
  private readonly freeGrants: number[] = [];
  private pfnToSlot = new Map<number, number>();
  private hookOff: (() => void) | null = null;
  private destructorRunning = false;
  /** Whether the pair is up. */
  up = false;
  /** Counters. */
  readonly stats: NetbackStats = {
    requests: 0,
    responses: 0,
    grantsIssued: 0,
    grantsMapped: 0,
    grantsUnmapped: 0,
    unmapBatches: 0,
    clones: 0,
    delivered: 0,
    destructorCalls: 0,
    callbacks: 0,
    delayedCopies: 0,
    ringFull: 0,
    pending: 0,
    inflight: 0,
    dealloc: 0,
  };
  /** Buddy free pages before the first run (the free count must come back to it). */
  freeBefore = -1;

  constructor(kernel: Kernel) {
    this.k = kernel;
  }

  private readonly hook: FreePageHook = {
    name: "netback",
    onFree: (pfn: number): boolean => {
      const slot = this.pfnToSlot.get(pfn);
      if (slot === undefined) return false;
      const db = this.k.machine.pages;
      if ((db.flags[db.indexOf(pfn)]! & PG_foreign) === 0) return false;
      this.destructor(slot);
      return true;
    },
  };

  /** The per-page destructor: the slot goes on the dealloc ring. */
  private destructor(slot: number): void {
    if (this.slotState[slot] !== SLOT_INFLIGHT)
      throw new KernelPanic(
        "invariant",
        `netback: destructor on slot ${slot}, which is not in flight`,
      );
    this.stats.destructorCalls++;
    this.slotState[slot] = SLOT_DEALLOC;
    this.deallocRing.push(slot);
  }

  /** Brings the pair up: the guest's memory, the pool pages (foreign, claimed once through the hook). */
  start(mode: NetbackMode, guestPages = 256): void {
    if (this.up) return;
    const k = this.k;
    this.mode = mode;
    k.depth++;
    try {
      this.hookOff = k.buddy.addFreeHook(this.hook);
      for (let g = 0; g < guestPages; g++) {
        const h = k.allocPages("xen-domU", GFP_KERNEL, 0);
        if (h < 0) throw new KernelPanic("ENOMEM", "netfront: no memory for the guest domain");
        this.guestHandles.push(h);
      }
      const db = k.machine.pages;
      for (let s = 0; s < MAX_PENDING_REQS; s++) {
        const pfn = k.buddy.alloc(GFP_KERNEL, 0);
        if (pfn < 0) throw new KernelPanic("ENOMEM", "netback: no memory for the page pool");
        k.take(pfn, 0, "netback", s + 1);
        this.slotPfn.push(pfn);
        this.pfnToSlot.set(pfn, s);
        this.slotState[s] = SLOT_PENDING;
        this.pending.push(s);
        if (mode === "destructor") {
          const i = db.indexOf(pfn);
          db.flags[i] = db.flags[i]! | PG_foreign;
          // Give the page to its owner: the final put goes through the claiming hook once.
          this.slotState[s] = SLOT_INFLIGHT;
          this.destructorRunning = true;
          k.buddy.putPage(pfn);
          this.destructorRunning = false;
          this.deallocRing.pop();
          this.stats.destructorCalls--;
          this.slotState[s] = SLOT_PENDING;
        }
      }
      this.up = true;
    } finally {
      k.depth--;
    }
    this.freeBefore = k.buddy.freePageCount;
    k.log.print(
      `xen-netback: backend up (${mode === "destructor" ? "foreign pages with destructors" : "zero-copy callbacks"}), ${MAX_PENDING_REQS} pending slots, domU ${guestPages} pages`,
    );
    k.step({ op: "net.start", mode, guestPages }, 100);
  }

  private grant(frame: number): number {
    const ref = this.freeGrants.pop() ?? this.grants.length;
    this.grants[ref] = frame;
    this.grantMapped[ref] = -1;
    this.stats.grantsIssued++;
    return ref;
  }

  /** Sends `packets` packets from the guest through netback and the stack; one run of the backend. */
  send(packets: number, seed: number): void {
    const k = this.k;
    const rng = new Rng(seed);
    if (!this.up) throw new KernelPanic("netback", "netback: send before start");
    k.depth++;
    try {
      for (let p = 0; p < packets; p++) {
        // netfront: grant a frame and post a request.
        const frame = rng.int(this.guestHandles.length);
        const ref = this.grant(frame);
        this.stats.requests++;
        if (this.pending.length === 0) {
          // Ring full: process completions first.
          this.stats.ringFull++;
          this.flushHeld(true);
          this.processDealloc();
        }
        const slot = this.pending.pop();
        if (slot === undefined)
          throw new KernelPanic("netback", "netback: no pending slot after a flush");
        this.mapGrant(slot, ref);
        const skb: Skb = { slot, refs: 1, bornUs: k.now, copy: -1 };
        if (rng.next() < 0.1) {
          k.buddy.getPage(this.slotPfn[slot]!);
          skb.refs++;
          this.stats.clones++;
        }
        // The stack: most packets are delivered at once, some are held (a slow socket).
        if (rng.next() < 0.05) this.held.push(skb);
        else this.deliver(skb);
        k.log.advance(2);
        if ((p & 31) === 31) {
          this.flushHeld(false);
          this.processDealloc();
        }
      }
      this.flushHeld(false);
      this.processDealloc();
    } finally {
      k.depth--;
    }
    k.step({ op: "net.send", packets, seed }, 1);
  }

  private mapGrant(slot: number, ref: number): void {
    const k = this.k;
    const pfn = this.slotPfn[slot]!;
    const db = k.machine.pages;
    const i = db.indexOf(pfn);
    if (this.grantMapped[ref] !== -1) throw new KernelPanic("EINVAL", `grant ${ref} mapped twice`);
    this.grantMapped[ref] = slot;
    this.slotGrant[slot] = ref;
    this.stats.grantsMapped++;
    this.slotState[slot] = SLOT_INFLIGHT;
    if (this.mode === "destructor") {
      // init_page_count: the foreign page comes back to life with one reference (the skb's).
      db.refcount[i] = 1;
    } else {
      // netback keeps its own reference; the skb takes one.
      k.buddy.getPage(pfn);
    }
  }

  /** The stack delivers the packet and drops its references. */
  private deliver(skb: Skb): void {
    const k = this.k;
    this.stats.delivered++;
    if (skb.copy >= 0) {
      k.release(skb.copy, 0);
      k.buddy.free(skb.copy, 0);
      return;
    }
    const pfn = this.slotPfn[skb.slot]!;
    for (let r = 0; r < skb.refs; r++) k.buddy.putPage(pfn);
    if (this.mode === "callback") {
      this.stats.callbacks++;
      this.slotState[skb.slot] = SLOT_DEALLOC;
      this.deallocRing.push(skb.slot);
    }
  }

  /** Delivers held packets (all when `all`), copying those held longer than HZ/2 first. */
  private flushHeld(all: boolean): void {
    const k = this.k;
    for (let j = this.held.length - 1; j >= 0; j--) {
      const skb = this.held[j]!;
      if (skb.copy < 0 && k.now - skb.bornUs >= COPY_TIMEOUT_US) {
        // Delayed copy: a local page replaces the foreign one, the grant goes back early.
        const pfn = k.buddy.alloc(GFP_KERNEL, 0);
        if (pfn >= 0) {
          k.take(pfn, 0, "kernel", 0);
          const slotPfn = this.slotPfn[skb.slot]!;
          for (let r = 0; r < skb.refs; r++) k.buddy.putPage(slotPfn);
          if (this.mode === "callback") {
            this.stats.callbacks++;
            this.slotState[skb.slot] = SLOT_DEALLOC;
            this.deallocRing.push(skb.slot);
          }
          skb.copy = pfn;
          this.stats.delayedCopies++;
        }
      }
      if (all || k.now - skb.bornUs >= 2 * COPY_TIMEOUT_US) {
        this.held.splice(j, 1);
        this.deliver(skb);
      }
    }
  }

  /** Batched grant unmaps, one response per request, slots back on the pending ring. */
  private processDealloc(): void {
    if (this.deallocRing.length === 0) return;
    this.stats.unmapBatches++;
    while (this.deallocRing.length > 0) {
      const slot = this.deallocRing.shift()!;
      const ref = this.slotGrant[slot]!;
      this.grantMapped[ref] = -1;
      this.grants[ref] = -1;
      this.freeGrants.push(ref);
      this.slotGrant[slot] = -1;
      this.stats.grantsUnmapped++;
      this.stats.responses++;
      this.slotState[slot] = SLOT_PENDING;
      this.pending.push(slot);
    }
  }

  /** Lets every held packet go and processes completions (before hibernation or stop). */
  quiesce(): void {
    if (!this.up) return;
    this.k.depth++;
    try {
      this.flushHeld(true);
      this.processDealloc();
    } finally {
      this.k.depth--;
    }
    this.k.step({ op: "net.quiesce" }, 10);
  }

  /** Removes netback's free hook (the pool pages stay with their owner). */
  detachHook(): void {
    this.hookOff?.();
    this.hookOff = null;
  }

  /** Counters with the ring occupancy. */
  snapshot(): NetbackStats {
    let pending = 0;
    let inflight = 0;
    let dealloc = 0;
    for (let s = 0; s < this.slotPfn.length; s++) {
      const st = this.slotState[s];
      if (st === SLOT_PENDING) pending++;
      else if (st === SLOT_INFLIGHT) inflight++;
      else dealloc++;
    }
    return { ...this.stats, pending, inflight, dealloc };
  }

  /** Figures for the digest. */
  digestParts(): number[] {
    return [
      this.stats.requests,
      this.stats.responses,
      this.stats.destructorCalls,
      this.held.length,
    ];
  }

  /**
   * Pending + in flight + dealloc = pool size, each slot in one; one response per finished request;
   * every pool page foreign (destructor mode) and never on a free list; destructors once per release.
   */
  checkInvariants(): void {
    if (!this.up) return;
    const db = this.k.machine.pages;
    const n = this.slotPfn.length;
    const seen = new Uint8Array(n);
    for (const s of this.pending) {
      if (seen[s]! || this.slotState[s] !== SLOT_PENDING)
        throw new KernelPanic(
          "invariant",
          `invariant: netback slot ${s} twice or misfiled (pending)`,
        );
      seen[s] = 1;
    }
    for (const s of this.deallocRing) {
      if (seen[s]! || this.slotState[s] !== SLOT_DEALLOC)
        throw new KernelPanic(
          "invariant",
          `invariant: netback slot ${s} twice or misfiled (dealloc)`,
        );
      seen[s] = 1;
    }
    let inflight = 0;
    for (let s = 0; s < n; s++) if (this.slotState[s] === SLOT_INFLIGHT) inflight++;
    if (this.pending.length + this.deallocRing.length + inflight !== MAX_PENDING_REQS)
      throw new KernelPanic(
        "invariant",
        `invariant: netback pending ${this.pending.length} + in flight ${inflight} + dealloc ${this.deallocRing.length} != ${MAX_PENDING_REQS}`,
      );
    const finished = this.stats.requests - inflight - this.deallocRing.length;
    if (this.stats.responses !== finished)
      throw new KernelPanic(
        "invariant",
        `invariant: netback sent ${this.stats.responses} responses for ${finished} finished requests`,
      );
    for (let s = 0; s < n; s++) {
      const i = db.indexOf(this.slotPfn[s]!);
      const f = db.flags[i]!;
      if (this.mode === "destructor" && (f & PG_foreign) === 0)
        throw new KernelPanic(
          "invariant",
          `invariant: netback pool page of slot ${s} lost PG_foreign`,
        );
      if (this.slotState[s] === SLOT_PENDING && this.mode === "destructor" && db.refcount[i] !== 0)
        throw new KernelPanic(
          "invariant",
          `invariant: idle foreign page of slot ${s} has count ${db.refcount[i]}`,
        );
    }
    if (this.destructorRunning)
      throw new KernelPanic("invariant", "invariant: destructor re-entered");
  }
}
