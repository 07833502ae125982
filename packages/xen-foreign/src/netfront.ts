/**
 * A guest's network frontend: it writes packets into its own frames, grants them read-only to the
 * backend, puts one request per slot on the transmit ring, and on each response ends the grant
 * and takes the frame back. It also posts receive buffers (frames granted writable) and checks
 * what the backend copies into them.
 *
 * @module
 */
import { describeValue, InvalidArgumentError, KernelPanic } from "@mem/machine";
import { NETTXF_more_data, type NetRxRing, type NetTxRing } from "./internal/rings.js";
import { NETIF_RSP_OKAY } from "./netback.js";
import type { Domain, Hypervisor } from "./xen.js";
import { GNTTAB_NR_RESERVED_ENTRIES } from "./xen.js";

/** Counters of a frontend. */
export interface NetfrontStats {
  /** Packets queued by the guest. */
  readonly queued: number;
  /** Packets waiting for ring space or frames. */
  readonly backlog: number;
  /** Requests put on the ring. */
  readonly requests: number;
  /** Responses received. */
  readonly responses: number;
  /** Responses with an error status. */
  readonly errors: number;
  /** Requests without a response yet. */
  readonly outstanding: number;
  /** Packets received (copied in by the backend). */
  readonly received: number;
}

/** The frontend of one guest network interface. */
export class Netfront {
  /** The guest. */
  readonly dom: Domain;
  private readonly hv: Hypervisor;
  private readonly backendId: number;
  private readonly tx: NetTxRing;
  private readonly rx: NetRxRing;
  private readonly freeFrames: Int32Array;
  private nFree = 0;
  private readonly freeIds: Int32Array;
  private nFreeIds = 0;
  /** @internal frame per request id, -1 when unused. */
  readonly idFrame: Int32Array;
  /** @internal grant per request id (-1: a deliberately bad reference was sent). */
  readonly idGref: Int32Array;
  /** @internal 1 while the request has no response. */
  readonly idOut: Uint8Array;
  private readonly backlog: number[][] = [];
  private readonly badPackets: boolean[] = [];
  /** Receive buffers: frame and grant per receive id. */
  private readonly rxFrame: Int32Array;
  private readonly rxGref: Int32Array;
  private stamp = 1;
  private readonly c = { queued: 0, requests: 0, responses: 0, errors: 0, received: 0 };
  /** Called with each received stamp (for checks). */
  onReceive: ((stamp: number) => void) | null = null;

  /**
   * @param hv - the hypervisor.
   * @param dom - the guest domain (its frames are the buffers).
   * @param backendId - the backend's domain id.
   * @param tx - shared transmit ring.
   * @param rx - shared receive ring.
   * @param rxBuffers - receive buffers to post (frames granted writable to the backend).
   */
  constructor(
    hv: Hypervisor,
    dom: Domain,
    backendId: number,
    tx: NetTxRing,
    rx: NetRxRing,
    rxBuffers: number,
  ) {
    this.hv = hv;
    this.dom = dom;
    this.backendId = backendId;
    this.tx = tx;
    this.rx = rx;
    if (
      !Number.isInteger(rxBuffers) ||
      rxBuffers < 0 ||
      rxBuffers > rx.size ||
      rxBuffers >= dom.nrPages
    )
      throw new InvalidArgumentError(
        `rxBuffers must be an integer in [0, ${Math.min(rx.size, dom.nrPages - 1)}], got ${describeValue(rxBuffers)}`,
        "EINVAL",
        "rxBuffers",
      );
    this.freeFrames = new Int32Array(dom.nrPages);
    for (let g = dom.nrPages - 1; g >= rxBuffers; g--) this.freeFrames[this.nFree++] = g;
    this.freeIds = new Int32Array(tx.size);
    for (let id = tx.size - 1; id >= 0; id--) this.freeIds[this.nFreeIds++] = id;
    this.idFrame = new Int32Array(tx.size).fill(-1);
    this.idGref = new Int32Array(tx.size).fill(-1);
    this.idOut = new Uint8Array(tx.size);
    this.rxFrame = new Int32Array(rxBuffers);
    this.rxGref = new Int32Array(rxBuffers);
    for (let id = 0; id < rxBuffers; id++) {
      const ref = dom.grantAccess(backendId, id, false);
      if (ref < 0)
        throw new KernelPanic("enospc", "netfront: no grant reference for a receive buffer");
      this.rxFrame[id] = id;
      this.rxGref[id] = ref;
      this.postRx(id);
    }
  }

  /** Counters. */
  get stats(): NetfrontStats {
    let out = 0;
    for (let id = 0; id < this.idOut.length; id++) out += this.idOut[id]!;
    return { ...this.c, backlog: this.backlog.length, outstanding: out };
  }

  /** Frames free for transmit buffers. */
  get freeFrameCount(): number {
    return this.nFree;
  }

  /** Packets waiting to go on the ring. */
  get backlogLength(): number {
    return this.backlog.length;
  }

  /**
   * Queues a packet of `sizes.length` slots (bytes per slot, 1..page size). With `badGrant`, its
   * first slot carries a reserved grant reference (a guest bug the backend must answer with an
   * error).
   *
   * @throws {@link @mem/machine!index.InvalidArgumentError} for no slots, too many, or a bad size.
   */
  queue(sizes: readonly number[], badGrant = false): void {
    const ps = this.hv.buddy.machine.pageSize;
    if (!Array.isArray(sizes) || sizes.length < 1 || sizes.length > 19)
      throw new InvalidArgumentError(
        `a packet needs 1..19 slots, got ${describeValue(sizes)}`,
        "EINVAL",
        "sizes",
      );
    for (const s of sizes)
      if (!Number.isInteger(s) || s < 1 || s > ps)
        throw new InvalidArgumentError(
          `a slot size must be an integer in [1, ${ps}], got ${describeValue(s)}`,
          "EINVAL",
          "sizes",
        );
    this.backlog.push(sizes.slice());
    this.badPackets.push(Boolean(badGrant));
    this.c.queued++;
  }

  /** Puts backlog packets on the ring while it, the ids and the frames allow. Returns packets. */
  push(): number {
    const tx = this.tx;
    let pushed = 0;
    while (this.backlog.length > 0) {
      const sizes = this.backlog[0]!;
      const n = sizes.length;
      const space = tx.size - (tx.reqProd - tx.rspCons);
      if (space < n || this.nFreeIds < n || this.nFree < n) break;
      const bad = this.badPackets[0]!;
      this.backlog.shift();
      this.badPackets.shift();
      for (let k = 0; k < n; k++) {
        const id = this.freeIds[--this.nFreeIds]!;
        const gfn = this.freeFrames[--this.nFree]!;
        this.hv.writeFrame(this.dom, gfn, this.stamp++);
        let ref: number;
        if (bad && k === 0) ref = this.stamp % GNTTAB_NR_RESERVED_ENTRIES;
        else {
          ref = this.dom.grantAccess(this.backendId, gfn, true);
          if (ref < 0) throw new KernelPanic("enospc", "netfront: grant table full");
        }
        this.idFrame[id] = gfn;
        this.idGref[id] = bad && k === 0 ? -1 : ref;
        this.idOut[id] = 1;
        const r = tx.reqProd & tx.mask;
        tx.reqId[r] = id;
        tx.reqGref[r] = ref;
        tx.reqSize[r] = sizes[k]!;
        tx.reqFlags[r] = k < n - 1 ? NETTXF_more_data : 0;
        tx.reqProd++;
        this.c.requests++;
      }
      pushed++;
    }
    return pushed;
  }

  /**
   * Takes the transmit responses: ends each grant (which must no longer be mapped) and frees the
   * frame. Returns the responses taken.
   *
   * @throws {@link @mem/machine!index.KernelPanic} on a response for a request without one outstanding.
   */
  poll(): number {
    const tx = this.tx;
    let n = 0;
    while (tx.rspCons !== tx.rspProd) {
      const r = tx.rspCons & tx.mask;
      const id = tx.rspId[r]!;
      if (id < 0 || id >= this.idOut.length || this.idOut[id] !== 1)
        throw new KernelPanic(
          "netfront-response",
          `netfront: response for request id ${id}, which has none outstanding (a second response?)`,
        );
      const ref = this.idGref[id]!;
      if (ref >= 0) this.dom.endAccess(ref);
      if (tx.rspStatus[r] !== NETIF_RSP_OKAY) this.c.errors++;
      this.freeFrames[this.nFree++] = this.idFrame[id]!;
      this.idFrame[id] = -1;
      this.idGref[id] = -1;
      this.idOut[id] = 0;
      this.freeIds[this.nFreeIds++] = id;
      tx.rspCons++;
      this.c.responses++;
      n++;
    }
    return n;
  }

  private postRx(id: number): void {
    const rx = this.rx;
    const r = rx.reqProd & rx.mask;
    rx.reqId[r] = id;
    rx.reqGref[r] = this.rxGref[id]!;
    rx.reqProd++;
  }

  /** Takes the receive responses, reads each buffer and posts it again. Returns packets. */
  pollRx(): number {
    const rx = this.rx;
    let n = 0;
    while (rx.rspCons !== rx.rspProd) {
      const r = rx.rspCons & rx.mask;
      const id = rx.rspId[r]!;
      rx.rspCons++;
      if (rx.rspStatus[r] === NETIF_RSP_OKAY) {
        const v = this.hv.read(this.dom, this.rxFrame[id]!);
        this.c.received++;
        this.onReceive?.(v);
      } else this.c.errors++;
      this.postRx(id);
      n++;
    }
    return n;
  }

  /** Ends the receive grants (teardown). Every transmit request must have its response. */
  close(): void {
    for (let id = 0; id < this.idOut.length; id++)
      if (this.idOut[id] !== 0)
        throw new KernelPanic("netfront-busy", `netfront: request ${id} has no response yet`);
    for (let id = 0; id < this.rxGref.length; id++) this.dom.endAccess(this.rxGref[id]!);
  }

  /**
   * Checks the frontend: every frame is in exactly one place (free, a transmit buffer, a receive
   * buffer) and outstanding requests equal requests minus responses.
   */
  checkInvariants(): void {
    const where = new Uint8Array(this.dom.nrPages);
    const fail = (msg: string): never => {
      throw new KernelPanic("invariant", `netfront: ${msg}`);
    };
    for (let k = 0; k < this.nFree; k++) {
      const g = this.freeFrames[k]!;
      if (where[g] !== 0) fail(`frame ${g} is free twice`);
      where[g] = 1;
    }
    let out = 0;
    for (let id = 0; id < this.idOut.length; id++) {
      if (this.idOut[id] === 0) continue;
      out++;
      const g = this.idFrame[id]!;
      if (where[g] !== 0) fail(`frame ${g} is in two places`);
      where[g] = 2;
    }
    for (let id = 0; id < this.rxFrame.length; id++) {
      const g = this.rxFrame[id]!;
      if (where[g] !== 0) fail(`receive frame ${g} is in two places`);
      where[g] = 3;
    }
    for (let g = 0; g < where.length; g++) if (where[g] === 0) fail(`frame ${g} is lost`);
    if (out !== this.c.requests - this.c.responses)
      fail(`${out} outstanding, ${this.c.requests} requests, ${this.c.responses} responses`);
  }
}
