/**
 * A simple generic network stack: socket buffers whose data lives in page fragments, a receive
 * queue, clones that share the fragments (`skb_clone`), taps that take their own page references
 * (`get_page` per fragment), sockets that hold packets for a while, delivery that checks the data,
 * and the final `kfree_skb` that calls `put_page` on each fragment. It knows nothing about Xen:
 * foreign pages go back to their owner only through the page allocator's free hooks, and a
 * zero-copy owner is told through the buffer's completion callback (`ubuf_info`).
 *
 * @module
 */
import { type BuddyAllocator, GFP_ATOMIC } from "@mem/buddy";
import { describeValue, InvalidArgumentError, KernelPanic } from "@mem/machine";
import type { Hypervisor } from "./xen.js";

/** A zero-copy completion (Linux's `ubuf_info`): called once when its last user is freed. */
export interface ZeroCopyCompletion {
  /** Users (socket buffers sharing it). */
  refcnt: number;
  /** Called when `refcnt` reaches 0; `success` false when the data had to be copied. */
  complete(success: boolean): void;
}

/** Shared data of socket buffers (`skb_shared_info`). */
export interface SkbShared {
  /** Page fragments (pfns); each holds one page reference. */
  readonly frags: number[];
  /** Expected contents of each fragment, checked on delivery. */
  readonly stamps: number[];
  /** Contents copied into the linear area, or -1. */
  readonly linear: number;
  /** Socket buffers sharing this data (`dataref`). */
  dataref: number;
  /** The zero-copy completion, or null. */
  readonly zc: ZeroCopyCompletion | null;
}

/** A socket buffer. */
export interface Skb {
  /** Unique id. */
  readonly id: number;
  /** Its data. */
  readonly shared: SkbShared;
  /** 0 new, 1 to be delivered, 2 held on a socket until `until`. */
  fate: number;
  /** When a held buffer is released (simulated microseconds). */
  until: number;
}

/** Counters of the stack. */
export interface NetStackStats {
  /** Packets received from drivers. */
  readonly received: number;
  /** Buffers delivered (checked and freed). */
  readonly delivered: number;
  /** Clones made. */
  readonly clones: number;
  /** Taps made. */
  readonly taps: number;
  /** Buffers held on a socket. */
  readonly held: number;
  /** `put_page` calls that dropped a count from 1 to 0. */
  readonly finalPuts: number;
  /** Local pages freed back (count reached 0 on a page this stack allocated). */
  readonly localFrees: number;
  /** Buffers live. */
  readonly live: number;
}

/** The generic network stack over one page allocator. */
export class NetStack {
  /** The page allocator (`get_page`/`put_page`). */
  readonly buddy: BuddyAllocator;
  /** The hypervisor, to read frames as domain 0 sees them. */
  readonly hv: Hypervisor;
  /** Live buffers on the receive side, oldest first. */
  readonly queue: Skb[] = [];
  /** Buffers waiting for the driver's transmit (to a guest). */
  readonly outgoing: Skb[] = [];
  /** Pages this stack allocated and still holds. */
  readonly localPages: Set<number> = new Set();
  private nextId = 1;
  private c = {
    received: 0,
    delivered: 0,
    clones: 0,
    taps: 0,
    held: 0,
    finalPuts: 0,
    localFrees: 0,
  };

  /**
   * @param buddy - the page allocator.
   * @param hv - the hypervisor (domain 0's view of frames).
   */
  constructor(buddy: BuddyAllocator, hv: Hypervisor) {
    this.buddy = buddy;
    this.hv = hv;
  }

  /** Counters. */
  get stats(): NetStackStats {
    return { ...this.c, live: this.queue.length + this.outgoing.length };
  }

  /** `netif_rx`: takes a packet from a driver; the stack now owns its fragment references. */
  netifRx(frags: number[], stamps: number[], linear: number, zc: ZeroCopyCompletion | null): Skb {
    const skb: Skb = {
      id: this.nextId++,
      shared: { frags, stamps, linear, dataref: 1, zc },
      fate: 0,
      until: 0,
    };
    this.queue.push(skb);
    this.c.received++;
    return skb;
  }

  private at(k: number, what: string): Skb {
    const skb = Number.isInteger(k) && k >= 0 ? this.queue[k] : undefined;
    if (skb === undefined)
      throw new InvalidArgumentError(
        `${what}: no buffer at queue position ${describeValue(k)} (${this.queue.length} queued)`,
        "EINVAL",
        "k",
      );
    return skb;
  }

  /** Delivers the buffer at queue position `k`: checks its data, then frees it. */
  deliver(k: number): void {
    const skb = this.at(k, "deliver");
    const s = skb.shared;
    for (let j = 0; j < s.frags.length; j++) {
      const got = this.hv.read(this.hv.dom0, s.frags[j]!);
      if (got !== s.stamps[j])
        throw new KernelPanic(
          "skb-data-corrupt",
          `skb ${skb.id}: fragment ${j} (pfn ${s.frags[j]}) holds ${got}, expected ${s.stamps[j]}`,
        );
    }
    this.kfreeSkb(skb);
    this.queue.splice(this.queue.indexOf(skb), 1);
    this.c.delivered++;
  }

  /** `skb_clone`: a second buffer sharing the data (fragments are not referenced again). */
  clone(k: number): Skb {
    const skb = this.at(k, "clone");
    skb.shared.dataref++;
    const c: Skb = { id: this.nextId++, shared: skb.shared, fate: 1, until: 0 };
    this.queue.push(c);
    this.c.clones++;
    return c;
  }

  /**
   * A tap (a packet socket keeping the fragments): a buffer with its own shared info and its own
   * reference on every fragment page (`get_page`), and a user of the zero-copy completion.
   */
  tap(k: number): Skb {
    const skb = this.at(k, "tap");
    const s = skb.shared;
    for (let j = 0; j < s.frags.length; j++) this.buddy.getPage(s.frags[j]!);
    if (s.zc !== null) s.zc.refcnt++;
    const t: Skb = {
      id: this.nextId++,
      shared: {
        frags: s.frags.slice(),
        stamps: s.stamps.slice(),
        linear: s.linear,
        dataref: 1,
        zc: s.zc,
      },
      fate: 1,
      until: 0,
    };
    this.queue.push(t);
    this.c.taps++;
    return t;
  }

  /** Holds the buffer at position `k` on a socket until `untilUs`. */
  hold(k: number, untilUs: number): void {
    const skb = this.at(k, "hold");
    if (skb.fate !== 2) this.c.held++;
    skb.fate = 2;
    skb.until = untilUs;
  }

  /**
   * `kfree_skb`: drops one user of the data; the last puts every fragment page, then completes the
   * zero-copy owner. If a `put_page` throws (a failing destructor), the buffer keeps the fragments
   * not yet put and its user, so nothing is lost and freeing it again resumes.
   */
  kfreeSkb(skb: Skb): void {
    const s = skb.shared;
    if (s.dataref > 1) {
      s.dataref--;
      return;
    }
    const db = this.buddy.machine.pages;
    while (s.frags.length > 0) {
      const pfn = s.frags[s.frags.length - 1]!;
      const before = db.refcount[db.indexOrPanic(pfn)]!;
      this.buddy.putPage(pfn);
      s.frags.pop();
      s.stamps.pop();
      if (before === 1) {
        this.c.finalPuts++;
        if (this.localPages.delete(pfn)) this.c.localFrees++;
      }
    }
    s.dataref = 0;
    if (s.zc !== null) {
      s.zc.refcnt--;
      if (s.zc.refcnt === 0) s.zc.complete(true);
    }
  }

  /** Releases held buffers whose time has come; returns how many were delivered. */
  expire(nowUs: number): number {
    let n = 0;
    for (let k = 0; k < this.queue.length; ) {
      const skb = this.queue[k]!;
      if (skb.fate === 2 && skb.until <= nowUs) {
        this.deliver(k);
        n++;
      } else k++;
    }
    return n;
  }

  /** The earliest time a held buffer is released, or Infinity. */
  nextRelease(): number {
    let t = Number.POSITIVE_INFINITY;
    for (const skb of this.queue) if (skb.fate === 2 && skb.until < t) t = skb.until;
    return t;
  }

  /**
   * Builds an outgoing packet to a guest in a freshly allocated local page holding `stamp`.
   * Returns null when no page is free.
   */
  sendToGuest(stamp: number): Skb | null {
    const pfn = this.buddy.alloc(GFP_ATOMIC, 0);
    if (pfn < 0) return null;
    this.hv.writeFrame(this.hv.dom0, pfn, stamp);
    this.localPages.add(pfn);
    const skb: Skb = {
      id: this.nextId++,
      shared: { frags: [pfn], stamps: [stamp], linear: -1, dataref: 1, zc: null },
      fate: 1,
      until: 0,
    };
    this.outgoing.push(skb);
    return skb;
  }

  /** Page references held by live buffers, per pfn (each shared info counts once). */
  pageRefs(): Map<number, number> {
    const refs = new Map<number, number>();
    const seen = new Set<SkbShared>();
    for (const list of [this.queue, this.outgoing]) {
      for (const skb of list) {
        if (seen.has(skb.shared)) continue;
        seen.add(skb.shared);
        for (const pfn of skb.shared.frags) refs.set(pfn, (refs.get(pfn) ?? 0) + 1);
      }
    }
    return refs;
  }
}
