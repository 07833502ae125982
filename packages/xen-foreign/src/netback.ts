/**
 * Domain 0's network backend: a pool of {@link MAX_PENDING_REQS} page slots, the pending ring, the
 * transmit path that maps a guest's granted frame into a pool page and hands it to the network
 * stack as a fragment, the dealloc ring with batched grant unmaps, one response per request, the
 * delayed copy of pages the stack holds too long, and the copying receive path.
 *
 * Two modes decide who gives a slot back:
 * - `"destructor"` (XenLinux 2.6.16-2.6.18): pool pages are foreign with a per-page destructor;
 *   an idle pool page sits at count 1, that reference passes to the fragment, and the stack's last
 *   `put_page` runs the destructor, which resets the count to 1 and queues the slot for dealloc.
 * - `"callback"` (mainline): the pool keeps its own base reference (count 1 when idle, 1 + the
 *   stack's references in flight), each buffer carries a zero-copy completion listing its slots,
 *   and the completion queues them; the page count never reaches 0 (the pages stay tagged foreign
 *   with a guard destructor that panics if it ever did).
 *
 * @module
 */
import { type BuddyAllocator, GFP_ATOMIC, GFP_KERNEL } from "@mem/buddy";
import { describeValue, KernelPanic, PG_buddy, PG_foreign, PG_pcp } from "@mem/machine";
import type { SimClock } from "./clock.js";
import type { ForeignPages } from "./foreign-pages.js";
import { GNTMAP_host_map, GNTMAP_readonly, GNTST_okay } from "./grant-status.js";
import { IndexRing, NETTXF_more_data, type NetRxRing, type NetTxRing } from "./internal/rings.js";
import type { NetStack, ZeroCopyCompletion } from "./net-stack.js";
import type { Domain, Hypervisor } from "./xen.js";

/** Pool slots of a backend (`MAX_PENDING_REQS`). */
export const MAX_PENDING_REQS = 256;
/** Most fragments of a socket buffer (`MAX_SKB_FRAGS` with 4 KiB pages). */
export const MAX_SKB_FRAGS = 18;
/** Bytes copied into the linear area (`PKT_PROT_LEN`); a first slot this small is copied whole. */
export const PKT_PROT_LEN = 64;
/** Response status: done. */
export const NETIF_RSP_OKAY = 0;
/** Response status: refused. */
export const NETIF_RSP_ERROR = -1;
/** Delayed copy timeout: HZ/2 at HZ = 250, in microseconds. */
export const DELAYED_COPY_US = 500_000;

/** Who returns a pool slot: a per-page destructor or a per-buffer zero-copy completion. */
export type NetbackMode = "destructor" | "callback";

/** Slot on the pending ring (free). */
export const SLOT_PENDING = 0;
/** Slot in flight (mapped, held by the stack or about to be released). */
export const SLOT_INFLIGHT = 1;
/** Slot on the dealloc ring (waiting for the batched unmap and its response). */
export const SLOT_DEALLOC = 2;

/** Options of a {@link Netback}. */
export interface NetbackOptions {
  /** The hypervisor. */
  readonly hv: Hypervisor;
  /** The foreign-page mechanism (its hook must be attached to the buddy allocator). */
  readonly foreign: ForeignPages;
  /** The network stack packets go to. */
  readonly stack: NetStack;
  /** The guest (the `netif`). */
  readonly guest: Domain;
  /** Shared transmit ring. */
  readonly tx: NetTxRing;
  /** Shared receive ring. */
  readonly rx: NetRxRing;
  /** Simulated time. */
  readonly clock: SimClock;
  /** Release mode (default `"destructor"`). */
  readonly mode?: NetbackMode;
  /** Delayed copy timeout in microseconds (default {@link DELAYED_COPY_US}; 0 disables). */
  readonly delayedCopyUs?: number;
}

/** Counters of a backend, in the spirit of netback's statistics. */
export interface NetbackStats {
  /** Transmit requests consumed. */
  readonly requests: number;
  /** Responses sent (one per request). */
  readonly responses: number;
  /** Responses with {@link NETIF_RSP_OKAY}. */
  readonly responsesOkay: number;
  /** Responses with {@link NETIF_RSP_ERROR}. */
  readonly responsesError: number;
  /** Packets handed to the stack. */
  readonly packets: number;
  /** Packets dropped (a grant map failed). */
  readonly packetsDropped: number;
  /** Grant maps refused. */
  readonly mapErrors: number;
  /** Slots whose data went to the stack in a pool page (`tx_zerocopy_success` + in flight). */
  readonly zerocopyFrags: number;
  /** First slots copied whole into the linear area. */
  readonly copiedHeaders: number;
  /** Delayed copies (pages the stack held longer than the timeout). */
  readonly delayedCopies: number;
  /** Delayed copies that found no free page (retried later). */
  readonly copyFailures: number;
  /** Pool destructor runs (destructor mode). */
  readonly destructorCalls: number;
  /** Zero-copy completions (callback mode). */
  readonly zerocopyCallbacks: number;
  /** Local copies freed back to the buddy allocator. */
  readonly localCopyFrees: number;
  /** Batched unmap hypercalls. */
  readonly unmapBatches: number;
  /** Receive packets copied to the guest. */
  readonly rxPackets: number;
  /** Receive copies refused. */
  readonly rxErrors: number;
  /** Slots on the pending ring. */
  readonly pending: number;
  /** Slots in flight. */
  readonly inflight: number;
  /** Slots on the dealloc ring. */
  readonly dealloc: number;
  /** Local copies the stack still holds. */
  readonly copiedPagesHeld: number;
}

/** A buffer's zero-copy completion in callback mode: the slots it carries. */
class TxUbuf implements ZeroCopyCompletion {
  refcnt = 1;
  constructor(
    private readonly nb: Netback,
    readonly idxs: number[],
  ) {}
  complete(success: boolean): void {
    this.nb.zerocopyCallback(this, success);
  }
}

/** The backend of one guest's network interface. */
export class Netback {
  /** Release mode. */
  readonly mode: NetbackMode;
  /** Pool size. */
  readonly poolSize: number = MAX_PENDING_REQS;
  /** Destructor id of idle and in-flight pool pages. */
  readonly poolDestructorId: number;
  /** Destructor id of local copies left with the stack. */
  readonly copyDestructorId: number;
  private readonly hv: Hypervisor;
  private readonly buddy: BuddyAllocator;
  private readonly foreign: ForeignPages;
  private readonly stack: NetStack;
  private readonly guest: Domain;
  private readonly tx: NetTxRing;
  private readonly rx: NetRxRing;
  private readonly clock: SimClock;
  private readonly delayedCopyUs: number;
  /** Pool page of each slot. */
  readonly poolPfn: Float64Array;
  /** @internal slot states. */
  readonly state: Uint8Array;
  private readonly reqId: Int32Array;
  private readonly handle: Int32Array;
  private readonly allocTime: Float64Array;
  private readonly ubufOf: (TxUbuf | null)[];
  private readonly pendingRing: IndexRing;
  private readonly deallocRing: IndexRing;
  // In-use list in allocation order (pending_inuse), intrusive: index + 1, 0 = none.
  private readonly inuseNext: Int32Array;
  private readonly inusePrev: Int32Array;
  private readonly inuse: Uint8Array;
  private inuseHead = 0;
  private inuseTail = 0;
  /** Local copies the stack still holds. */
  readonly copiedPages: Set<number> = new Set();
  private readonly pktIdx: Int32Array = new Int32Array(MAX_SKB_FRAGS + 1);
  private readonly scratchPfn: Float64Array;
  private readonly scratchHandle: Int32Array;
  private readonly scratchStatus: Int32Array;
  private released = false;
  private readonly c = {
    requests: 0,
    responses: 0,
    responsesOkay: 0,
    responsesError: 0,
    packets: 0,
    packetsDropped: 0,
    mapErrors: 0,
    zerocopyFrags: 0,
    copiedHeaders: 0,
    delayedCopies: 0,
    copyFailures: 0,
    destructorCalls: 0,
    zerocopyCallbacks: 0,
    localCopyFrees: 0,
    unmapBatches: 0,
    rxPackets: 0,
    rxErrors: 0,
  };

  /**
   * Takes the pool's pages from the buddy allocator, balloons them out and marks them foreign.
   *
   * @throws {@link @mem/machine!index.KernelPanic} (`"enomem"`) when the pool cannot be filled; nothing is kept then.
   */
  constructor(options: NetbackOptions) {
    this.hv = options.hv;
    this.buddy = options.hv.buddy;
    this.foreign = options.foreign;
    this.stack = options.stack;
    this.guest = options.guest;
    this.tx = options.tx;
    this.rx = options.rx;
    this.clock = options.clock;
    this.mode = options.mode ?? "destructor";
    this.delayedCopyUs = options.delayedCopyUs ?? DELAYED_COPY_US;
    const n = this.poolSize;
    this.poolDestructorId =
      this.mode === "destructor"
        ? this.foreign.registerDestructor("netif_page_release", (pfn, order) =>
            this.pageRelease(pfn, order),
          )
        : this.foreign.registerDestructor("xenvif_pool_guard", (pfn) => {
            throw new KernelPanic(
              "netback-base-ref-lost",
              `callback mode: pool pfn ${describeValue(pfn)} reached count 0; the pool's base reference was dropped`,
            );
          });
    this.copyDestructorId = this.foreign.registerDestructor("gnttab_page_free", (pfn, order) =>
      this.copyRelease(pfn, order),
    );
    this.poolPfn = new Float64Array(n);
    this.state = new Uint8Array(n);
    this.reqId = new Int32Array(n).fill(-1);
    this.handle = new Int32Array(n).fill(-1);
    this.allocTime = new Float64Array(n);
    this.ubufOf = new Array<TxUbuf | null>(n).fill(null);
    this.pendingRing = new IndexRing(n);
    this.deallocRing = new IndexRing(n);
    this.inuse = new Uint8Array(n);
    this.inuseNext = new Int32Array(n);
    this.inusePrev = new Int32Array(n);
    this.scratchPfn = new Float64Array(n);
    this.scratchHandle = new Int32Array(n);
    this.scratchStatus = new Int32Array(n);
    for (let idx = 0; idx < n; idx++) {
      const pfn = this.buddy.alloc(GFP_KERNEL, 0);
      if (pfn < 0) {
        for (let j = 0; j < idx; j++) this.buddy.free(this.poolPfn[j]!, 0);
        throw new KernelPanic("enomem", `netback: no memory for pool page ${idx} of ${n}`);
      }
      this.poolPfn[idx] = pfn;
    }
    const db = this.buddy.machine.pages;
    for (let idx = 0; idx < n; idx++) {
      const pfn = this.poolPfn[idx]!;
      this.foreign.setForeign(pfn, this.poolDestructorId);
      db.private[db.indexOf(pfn)] = idx;
      this.hv.dom0.ballooned.add(pfn);
      this.pendingRing.push(idx);
    }
  }

  /** Counters. */
  get stats(): NetbackStats {
    return {
      ...this.c,
      pending: this.pendingRing.size,
      inflight: this.poolSize - this.pendingRing.size - this.deallocRing.size,
      dealloc: this.deallocRing.size,
      copiedPagesHeld: this.copiedPages.size,
    };
  }

  /** Slots not on the pending ring (`NR_PENDING_REQS`). */
  get nrPendingReqs(): number {
    return this.poolSize - this.pendingRing.size;
  }

  /** True when no slot is in use and every request has its response. */
  get idle(): boolean {
    return (
      this.pendingRing.size === this.poolSize &&
      this.tx.reqProd === this.tx.reqCons &&
      this.copiedPages.size === 0
    );
  }

  // -----------------------------------------------------------------------------------------------
  // Transmit

  /**
   * `net_tx_action`: takes whole packets off the transmit ring while the pool has room for the
   * largest packet, maps their grants into pool pages and hands them to the stack. Returns the
   * number of requests consumed.
   */
  txAction(): number {
    this.checkAlive();
    const tx = this.tx;
    const dom0 = this.hv.dom0;
    const now = this.clock.nowUs;
    let consumed = 0;
    while (this.nrPendingReqs + MAX_SKB_FRAGS < this.poolSize) {
      const avail = tx.reqProd - tx.reqCons;
      if (avail === 0) break;
      let n = 0;
      let complete = false;
      while (n < avail) {
        const f = tx.reqFlags[(tx.reqCons + n) & tx.mask]!;
        n++;
        if ((f & NETTXF_more_data) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete) break; // the rest of the packet is not on the ring yet
      const first = tx.reqCons;
      tx.reqCons += n;
      consumed += n;
      this.c.requests += n;
      if (n > MAX_SKB_FRAGS + 1) {
        for (let k = 0; k < n; k++) this.respond(tx.reqId[(first + k) & tx.mask]!, NETIF_RSP_ERROR);
        this.c.packetsDropped++;
        continue;
      }
      // Map every slot of the packet (one batch).
      let failed = 0;
      const slots = this.pktIdx;
      for (let k = 0; k < n; k++) {
        const r = (first + k) & tx.mask;
        const idx = this.pendingRing.pop();
        slots[k] = idx;
        this.state[idx] = SLOT_INFLIGHT;
        this.reqId[idx] = tx.reqId[r]!;
        this.allocTime[idx] = now;
        const pfn = this.poolPfn[idx]!;
        const h = this.hv.gnttabMap(
          dom0,
          pfn,
          GNTMAP_host_map | GNTMAP_readonly,
          tx.reqGref[r]!,
          this.guest.id,
        );
        this.handle[idx] = h;
        if (h >= 0) dom0.ballooned.delete(pfn);
        else failed++;
      }
      if (failed !== 0) {
        // netbk_tx_check_mop: failed slots answer ERROR at once; mapped ones go through dealloc.
        for (let k = 0; k < n; k++) {
          const idx = slots[k]!;
          if (this.handle[idx]! < 0) {
            this.handle[idx] = -1;
            this.state[idx] = SLOT_PENDING;
            this.respond(this.reqId[idx]!, NETIF_RSP_ERROR);
            this.pendingRing.push(idx);
          } else this.idxRelease(idx);
        }
        this.c.mapErrors += failed;
        this.c.packetsDropped++;
        continue;
      }
      const frags: number[] = [];
      const stamps: number[] = [];
      let linear = -1;
      let ubuf: TxUbuf | null = null;
      for (let k = 0; k < n; k++) {
        const idx = slots[k]!;
        const pfn = this.poolPfn[idx]!;
        const size = tx.reqSize[(first + k) & tx.mask]!;
        if (k === 0 && size <= PKT_PROT_LEN) {
          linear = this.hv.read(dom0, pfn);
          this.c.copiedHeaders++;
          this.idxRelease(idx);
          continue;
        }
        frags.push(pfn);
        stamps.push(this.hv.read(dom0, pfn));
        this.inuseAdd(idx);
        this.c.zerocopyFrags++;
        if (this.mode === "callback") {
          this.buddy.getPage(pfn);
          if (ubuf === null) ubuf = new TxUbuf(this, []);
          ubuf.idxs.push(idx);
          this.ubufOf[idx] = ubuf;
        }
      }
      this.stack.netifRx(frags, stamps, linear, ubuf);
      this.c.packets++;
    }
    return consumed;
  }

  /** `netif_idx_release`: slot `idx` goes on the dealloc ring. */
  private idxRelease(idx: number): void {
    if (this.inuse[idx] !== 0) this.inuseRemove(idx);
    this.state[idx] = SLOT_DEALLOC;
    this.deallocRing.push(idx);
  }

  /** The pool destructor (destructor mode): count reached 0 on an in-flight pool page. */
  private pageRelease(pfn: number, order: number): void {
    const db = this.buddy.machine.pages;
    const i = db.indexOf(pfn);
    const idx = db.private[i]!;
    if (order !== 0 || idx >= this.poolSize || this.poolPfn[idx] !== pfn)
      throw new KernelPanic(
        "netback-bad-page",
        `netif_page_release: pfn ${describeValue(pfn)} (order ${order}) is not a pool page`,
      );
    if (this.state[idx] !== SLOT_INFLIGHT)
      throw new KernelPanic(
        "netback-dtor-state",
        `netif_page_release: slot ${idx} (pfn ${describeValue(pfn)}) is not in flight (state ${this.state[idx]})`,
      );
    db.refcount[i] = 1; // ready for next use: an idle pool page sits at count 1
    this.idxRelease(idx);
    this.c.destructorCalls++;
  }

  /**
   * The zero-copy completion (callback mode): every slot of the buffer goes to dealloc.
   * @internal called by the network stack's completion.
   */
  zerocopyCallback(ubuf: TxUbuf, success: boolean): void {
    const db = this.buddy.machine.pages;
    for (const idx of ubuf.idxs) {
      if (idx < 0) continue;
      const rc = db.refcount[db.indexOf(this.poolPfn[idx]!)]!;
      if (this.state[idx] !== SLOT_INFLIGHT || this.ubufOf[idx] !== ubuf || rc !== 1)
        throw new KernelPanic(
          "netback-zc-state",
          `zero-copy completion: slot ${idx} is in state ${this.state[idx]} with page count ${rc}`,
        );
    }
    for (const idx of ubuf.idxs) {
      if (idx < 0) continue;
      this.ubufOf[idx] = null;
      this.idxRelease(idx);
    }
    this.c.zerocopyCallbacks++;
    void success;
  }

  /** The local-copy destructor: a page copied out by the delayed copy goes back to the buddy. */
  private copyRelease(pfn: number, order: number): void {
    if (order !== 0 || !this.copiedPages.has(pfn))
      throw new KernelPanic(
        "netback-bad-copy",
        `gnttab_page_free: pfn ${describeValue(pfn)} is not a local copy of this backend`,
      );
    const db = this.buddy.machine.pages;
    this.copiedPages.delete(pfn);
    this.foreign.clearForeign(pfn);
    db.refcount[db.indexOf(pfn)] = 1;
    this.c.localCopyFrees++;
    this.buddy.free(pfn, 0);
  }

  // -----------------------------------------------------------------------------------------------
  // Dealloc

  /**
   * `net_tx_action_dealloc`: unmaps every slot on the dealloc ring in one batch, answers each
   * request OKAY and puts the slots back on the pending ring. Returns the slots done.
   */
  deallocAction(): number {
    this.checkAlive();
    const n = this.deallocRing.size;
    if (n === 0) return 0;
    const db = this.buddy.machine.pages;
    for (let k = 0; k < n; k++) {
      const idx = this.deallocRing.at(k);
      const rc = db.refcount[db.indexOf(this.poolPfn[idx]!)]!;
      if (rc !== 1)
        throw new KernelPanic(
          "netback-dealloc-ref",
          `dealloc: slot ${idx} page count is ${rc}, expected 1`,
        );
      this.scratchPfn[k] = this.poolPfn[idx]!;
      this.scratchHandle[k] = this.handle[idx]!;
    }
    const bad = this.hv.gnttabUnmapBatch(
      this.hv.dom0,
      this.scratchPfn,
      this.scratchHandle,
      n,
      this.scratchStatus,
    );
    if (bad !== 0) throw new KernelPanic("netback-unmap", `dealloc: ${bad} of ${n} unmaps failed`);
    this.c.unmapBatches++;
    for (let k = 0; k < n; k++) {
      const idx = this.deallocRing.pop();
      this.hv.dom0.ballooned.add(this.poolPfn[idx]!);
      this.handle[idx] = -1;
      this.state[idx] = SLOT_PENDING;
      this.respond(this.reqId[idx]!, NETIF_RSP_OKAY);
      this.pendingRing.push(idx);
    }
    return n;
  }

  private respond(id: number, status: number): void {
    const tx = this.tx;
    const r = tx.rspProd & tx.mask;
    tx.rspId[r] = id;
    tx.rspStatus[r] = status;
    tx.rspProd++;
    this.c.responses++;
    if (status === NETIF_RSP_OKAY) this.c.responsesOkay++;
    else this.c.responsesError++;
  }

  // -----------------------------------------------------------------------------------------------
  // Delayed copy

  /** When the oldest in-flight slot times out, or Infinity. */
  nextCopyDeadline(): number {
    if (this.inuseHead === 0 || this.delayedCopyUs === 0) return Number.POSITIVE_INFINITY;
    return this.allocTime[this.inuseHead - 1]! + this.delayedCopyUs;
  }

  /**
   * Copies out every in-flight page older than the timeout into a local page, so the grant goes
   * back to the guest now: the stack keeps the old page (now backed by the local copy, freed to
   * the buddy allocator by its destructor at its last put) and the slot gets a fresh pool page.
   * Returns the copies made.
   */
  delayedCopy(): number {
    this.checkAlive();
    if (this.delayedCopyUs === 0) return 0;
    const now = this.clock.nowUs;
    let n = 0;
    while (this.inuseHead !== 0) {
      const idx = this.inuseHead - 1;
      if (now - this.allocTime[idx]! < this.delayedCopyUs) break;
      if (!this.copyOut(idx)) break;
      n++;
    }
    return n;
  }

  private copyOut(idx: number): boolean {
    const db = this.buddy.machine.pages;
    const dom0 = this.hv.dom0;
    const old = this.poolPfn[idx]!;
    const oi = db.indexOf(old);
    const base = this.mode === "callback" ? 1 : 0;
    if (this.state[idx] !== SLOT_INFLIGHT || db.refcount[oi]! <= base)
      throw new KernelPanic(
        "netback-copy-state",
        `delayed copy: slot ${idx} is in state ${this.state[idx]} with page count ${db.refcount[oi]}`,
      );
    const fresh = this.buddy.alloc(GFP_ATOMIC, 0);
    if (fresh < 0) {
      this.c.copyFailures++;
      return false;
    }
    const data = this.hv.read(dom0, old);
    const st = this.hv.gnttabUnmap(dom0, old, this.handle[idx]!);
    if (st !== GNTST_okay) {
      this.buddy.free(fresh, 0);
      throw new KernelPanic("netback-unmap", `delayed copy: ${this.hv.lastError}`);
    }
    this.hv.writeFrame(dom0, old, data);
    if (this.mode === "callback") {
      const ubuf = this.ubufOf[idx]!;
      ubuf.idxs[ubuf.idxs.indexOf(idx)] = -1;
      this.ubufOf[idx] = null;
      db.refcount[oi] = db.refcount[oi]! - 1; // the pool's base reference
    }
    this.foreign.setForeign(old, this.copyDestructorId);
    db.private[oi] = 0;
    this.copiedPages.add(old);
    this.foreign.setForeign(fresh, this.poolDestructorId);
    db.private[db.indexOf(fresh)] = idx;
    dom0.ballooned.add(fresh);
    this.poolPfn[idx] = fresh;
    this.inuseRemove(idx);
    this.handle[idx] = -1;
    this.state[idx] = SLOT_PENDING;
    this.respond(this.reqId[idx]!, NETIF_RSP_OKAY);
    this.pendingRing.push(idx);
    this.c.delayedCopies++;
    return true;
  }

  private inuseAdd(idx: number): void {
    this.inuse[idx] = 1;
    this.inuseNext[idx] = 0;
    this.inusePrev[idx] = this.inuseTail;
    if (this.inuseTail !== 0) this.inuseNext[this.inuseTail - 1] = idx + 1;
    else this.inuseHead = idx + 1;
    this.inuseTail = idx + 1;
  }

  private inuseRemove(idx: number): void {
    const nx = this.inuseNext[idx]!;
    const pv = this.inusePrev[idx]!;
    if (pv !== 0) this.inuseNext[pv - 1] = nx;
    else this.inuseHead = nx;
    if (nx !== 0) this.inusePrev[nx - 1] = pv;
    else this.inuseTail = pv;
    this.inuseNext[idx] = 0;
    this.inusePrev[idx] = 0;
    this.inuse[idx] = 0;
  }

  // -----------------------------------------------------------------------------------------------
  // Receive

  /**
   * `net_rx_action`: copies each outgoing packet of the stack into a buffer the guest posted
   * (`GNTTABOP_copy`), answers it and frees the packet. Returns the packets done.
   */
  rxAction(): number {
    this.checkAlive();
    const rx = this.rx;
    const out = this.stack.outgoing;
    let n = 0;
    while (out.length > 0 && rx.reqProd !== rx.reqCons) {
      const skb = out.shift()!;
      const r = rx.reqCons & rx.mask;
      rx.reqCons++;
      const st = this.hv.gnttabCopy(skb.shared.frags[0]!, rx.reqGref[r]!, this.guest.id);
      const w = rx.rspProd & rx.mask;
      rx.rspId[w] = rx.reqId[r]!;
      rx.rspStatus[w] = st === GNTST_okay ? NETIF_RSP_OKAY : NETIF_RSP_ERROR;
      rx.rspProd++;
      if (st === GNTST_okay) this.c.rxPackets++;
      else this.c.rxErrors++;
      this.stack.kfreeSkb(skb);
      n++;
    }
    return n;
  }

  // -----------------------------------------------------------------------------------------------
  // Teardown and invariants

  /**
   * Gives the pool back: every slot must be idle; each page loses its foreign mark and goes back
   * to the buddy allocator.
   *
   * @throws {@link @mem/machine!index.KernelPanic} (`"netback-busy"`) while a slot or a local copy is in use.
   */
  release(): void {
    this.checkAlive();
    if (this.pendingRing.size !== this.poolSize || this.copiedPages.size !== 0)
      throw new KernelPanic(
        "netback-busy",
        `netback: ${this.nrPendingReqs} slots and ${this.copiedPages.size} local copies still in use`,
      );
    const db = this.buddy.machine.pages;
    for (let idx = 0; idx < this.poolSize; idx++) {
      const pfn = this.poolPfn[idx]!;
      this.foreign.clearForeign(pfn);
      db.private[db.indexOf(pfn)] = 0;
      this.hv.dom0.ballooned.delete(pfn);
      this.buddy.free(pfn, 0);
    }
    this.released = true;
  }

  private checkAlive(): void {
    if (this.released) throw new KernelPanic("netback-released", "netback: the pool was released");
  }

  /**
   * Checks the backend's invariants against the stack's page references; throws a
   * {@link @mem/machine!index.KernelPanic} (`"invariant"`) naming the first violation.
   *
   * Slots partition into pending + in flight + dealloc, each in exactly one; pool pages are
   * foreign with the pool destructor, on no buddy list, distinct; counts match (idle 1, in flight
   * the stack's references, plus 1 in callback mode); exactly the in-flight and dealloc slots are
   * mapped, each grant once; requests = responses + slots in use; local copies are held only by
   * the stack.
   */
  checkInvariants(refs: Map<number, number> = this.stack.pageRefs()): void {
    if (this.released) return;
    const fail = (msg: string): never => {
      throw new KernelPanic("invariant", `netback (${this.mode}): ${msg}`);
    };
    const n = this.poolSize;
    const seen = new Uint8Array(n);
    for (let k = 0; k < this.pendingRing.size; k++) {
      const idx = this.pendingRing.at(k);
      if (seen[idx] !== 0 || this.state[idx] !== SLOT_PENDING)
        fail(`slot ${idx} on the pending ring twice or in state ${this.state[idx]}`);
      seen[idx] = 1;
    }
    for (let k = 0; k < this.deallocRing.size; k++) {
      const idx = this.deallocRing.at(k);
      if (seen[idx] !== 0 || this.state[idx] !== SLOT_DEALLOC)
        fail(
          `slot ${idx} on the dealloc ring twice, or also pending, or in state ${this.state[idx]}`,
        );
      seen[idx] = 2;
    }
    let inflight = 0;
    for (let i = this.inuseHead; i !== 0; i = this.inuseNext[i - 1]!) {
      const idx = i - 1;
      if (seen[idx] !== 0 || this.state[idx] !== SLOT_INFLIGHT)
        fail(`slot ${idx} in use and elsewhere, or in state ${this.state[idx]}`);
      seen[idx] = 3;
      inflight++;
    }
    if (this.pendingRing.size + inflight + this.deallocRing.size !== n)
      fail(
        `pending ${this.pendingRing.size} + in flight ${inflight} + dealloc ${this.deallocRing.size} != ${n}`,
      );
    const db = this.buddy.machine.pages;
    const dom0 = this.hv.dom0;
    const pfns = new Set<number>();
    const base = this.mode === "callback" ? 1 : 0;
    for (let idx = 0; idx < n; idx++) {
      const pfn = this.poolPfn[idx]!;
      if (pfns.has(pfn) || this.copiedPages.has(pfn)) fail(`pfn ${pfn} is in two places`);
      pfns.add(pfn);
      const i = db.indexOf(pfn);
      const f = db.flags[i]!;
      if ((f & PG_foreign) === 0 || db.mapping[i] !== this.poolDestructorId)
        fail(`pool pfn ${pfn} (slot ${idx}) lost its foreign mark or destructor`);
      if ((f & (PG_buddy | PG_pcp)) !== 0) fail(`pool pfn ${pfn} is on a buddy free list`);
      if (db.private[i] !== idx) fail(`pool pfn ${pfn} records slot ${db.private[i]}, not ${idx}`);
      const rc = db.refcount[i]!;
      const r = refs.get(pfn) ?? 0;
      const st = this.state[idx]!;
      const mapped = dom0.hostMap.get(pfn);
      if (st === SLOT_PENDING) {
        if (rc !== 1 || r !== 0) fail(`idle slot ${idx}: count ${rc}, stack refs ${r}`);
        if (mapped !== undefined || this.handle[idx] !== -1) fail(`idle slot ${idx} is mapped`);
        if (!dom0.ballooned.has(pfn)) fail(`idle slot ${idx} has a frame behind it`);
      } else {
        if (mapped === undefined || mapped !== this.handle[idx])
          fail(`slot ${idx} in state ${st} is not mapped by its handle`);
        const want = st === SLOT_DEALLOC ? 1 : base + r;
        if (rc !== want || (st === SLOT_INFLIGHT && r === 0) || (st === SLOT_DEALLOC && r !== 0))
          fail(`slot ${idx} in state ${st}: count ${rc}, stack refs ${r}`);
      }
    }
    if (dom0.hostMap.size !== n - this.pendingRing.size)
      fail(`${dom0.hostMap.size} grants mapped, ${n - this.pendingRing.size} slots in use`);
    for (const pfn of this.copiedPages) {
      const i = db.indexOf(pfn);
      const r = refs.get(pfn) ?? 0;
      if ((db.flags[i]! & PG_foreign) === 0 || db.mapping[i] !== this.copyDestructorId)
        fail(`local copy ${pfn} lost its destructor`);
      if (db.refcount[i] !== r || r === 0)
        fail(`local copy ${pfn}: count ${db.refcount[i]}, stack refs ${r}`);
    }
    if (this.c.requests !== this.c.responses + (n - this.pendingRing.size))
      fail(
        `${this.c.requests} requests, ${this.c.responses} responses, ${n - this.pendingRing.size} slots in use`,
      );
    if (
      this.mode === "destructor" &&
      this.foreign.destructorCalls(this.poolDestructorId) < this.c.destructorCalls
    )
      fail("destructor calls not counted by the mechanism");
  }
}
