/**
 * Fixed rings: a ring of indexes (netback's pending and dealloc rings) and the shared TX/RX
 * request/response rings between netfront and netback, struct-of-arrays.
 *
 * @module
 */
import { KernelPanic } from "@mem/machine";

/** A FIFO of small integers with a power-of-two capacity; free-running producer/consumer. */
export class IndexRing {
  readonly capacity: number;
  private readonly buf: Int32Array;
  private readonly mask: number;
  prod = 0;
  cons = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.buf = new Int32Array(capacity);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.prod - this.cons;
  }

  push(v: number): void {
    if (this.prod - this.cons >= this.capacity)
      throw new KernelPanic("ring-overflow", `index ring of ${this.capacity} overflowed`);
    this.buf[this.prod & this.mask] = v;
    this.prod++;
  }

  pop(): number {
    if (this.prod === this.cons) throw new KernelPanic("ring-underflow", "index ring is empty");
    const v = this.buf[this.cons & this.mask]!;
    this.cons++;
    return v;
  }

  /** The entry at free-running position `pos` (already consumed entries stay readable). */
  atAbsolute(pos: number): number {
    return this.buf[pos & this.mask]!;
  }

  /** The k-th entry from the consumer end. */
  at(k: number): number {
    return this.buf[(this.cons + k) & this.mask]!;
  }
}

/** `NETTXF_more_data`: more slots of the same packet follow. */
export const NETTXF_more_data = 4;

/**
 * What both shared rings of a netfront/netback pair have: free-running producer and consumer
 * indexes for requests and responses, and per-slot request ids, grant references, response ids
 * and statuses.
 */
export class NetRing {
  readonly size: number;
  readonly mask: number;
  reqProd = 0;
  reqCons = 0;
  rspProd = 0;
  rspCons = 0;
  readonly reqId: Int32Array;
  readonly reqGref: Int32Array;
  readonly rspId: Int32Array;
  readonly rspStatus: Int32Array;

  constructor(size: number) {
    this.size = size;
    this.mask = size - 1;
    this.reqId = new Int32Array(size);
    this.reqGref = new Int32Array(size);
    this.rspId = new Int32Array(size);
    this.rspStatus = new Int32Array(size);
  }
}

/** The shared transmit ring (guest to backend requests, backend to guest responses). */
export class NetTxRing extends NetRing {
  readonly reqSize: Int32Array;
  readonly reqFlags: Int32Array;

  constructor(size: number) {
    super(size);
    this.reqSize = new Int32Array(size);
    this.reqFlags = new Int32Array(size);
  }
}

/** The shared receive ring (guest posts buffers, backend copies packets into them). */
export class NetRxRing extends NetRing {}
