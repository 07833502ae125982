/**
 * A guest domain's netfront sending packets through domain 0's netback, wired up with a network
 * stack, a grant table each and the foreign-page hook: the high-level API the simulator drives.
 *
 * ```ts
 * const pair = createNetbackPair({ buddy, mode: "destructor" });
 * pair.send(1000);
 * pair.run({ untilIdle: true });
 * pair.checkInvariants();
 * console.log(pair.stats());
 * pair.destroy();
 * ```
 *
 * @module
 */
import type { BuddyAllocator } from "@mem/buddy";
import {
  assertUint,
  describeValue,
  InvalidArgumentError,
  KernelPanic,
  type Machine,
  PG_buddy,
  PG_foreign,
  PG_pcp,
} from "@mem/machine";
import { SimClock } from "./clock.js";
import { ForeignPages } from "./foreign-pages.js";
import { Prng } from "./internal/prng.js";
import { NetRxRing, NetTxRing } from "./internal/rings.js";
import { NetStack, type NetStackStats } from "./net-stack.js";
import { DELAYED_COPY_US, Netback, type NetbackMode, type NetbackStats } from "./netback.js";
import { Netfront, type NetfrontStats } from "./netfront.js";
import { type Domain, type GrantOpStats, Hypervisor } from "./xen.js";

/** What the stack does with each new packet: probabilities (the rest is delivered at once). */
export interface StackPolicy {
  /** Clone it (`skb_clone`) and deliver both later. */
  readonly clone: number;
  /** Tap it (a second buffer with its own page references) and deliver both later. */
  readonly tap: number;
  /** Hold it on a socket for `holdUs`. */
  readonly hold: number;
  /** How long a held packet stays, in microseconds (default 600 ms: past the copy timeout). */
  readonly holdUs: number;
}

/** Options of {@link createNetbackPair}. */
export interface NetbackPairOptions {
  /** The page allocator (its machine is the host). */
  readonly buddy: BuddyAllocator;
  /** The machine (must be the allocator's; optional). */
  readonly machine?: Machine;
  /** Release mode (default `"destructor"`). */
  readonly mode?: NetbackMode;
  /** A clock to share (default: a new one at 0). */
  readonly clock?: SimClock;
  /** A foreign-page mechanism already attached to the allocator (default: a new one, attached). */
  readonly foreign?: ForeignPages;
  /** Seed of the packet shapes and the stack's choices (default 1). */
  readonly seed?: number;
  /** Guest frames (default 512). */
  readonly guestPages?: number;
  /** Guest receive buffers (default 32). */
  readonly rxBuffers?: number;
  /** The stack's policy (default: 25% held, 12.5% cloned, 12.5% tapped, 50% delivered). */
  readonly policy?: Partial<StackPolicy>;
  /** Delayed copy timeout (default HZ/2 = 500 ms; 0 disables). */
  readonly delayedCopyUs?: number;
  /** Fraction of packets the guest sends with a bad grant reference (default 0). */
  readonly badGrantRate?: number;
  /** Simulated time per {@link NetbackPair.step} (default 1000 us). */
  readonly stepUs?: number;
  /** Largest slots per packet (default 3). */
  readonly maxSlots?: number;
}

/** Options of {@link NetbackPair.run}. */
export interface RunOptions {
  /** Stop when everything is idle (default true). */
  readonly untilIdle?: boolean;
  /** Most steps (default 1,000,000). */
  readonly maxSteps?: number;
  /** Check the invariants after every step (default false). */
  readonly check?: boolean;
}

/** Everything the simulator reports. */
export interface NetbackPairStats {
  /** Release mode. */
  readonly mode: NetbackMode;
  /** Simulated time, microseconds. */
  readonly nowUs: number;
  /** Steps run. */
  readonly steps: number;
  /** Packets the guest queued. */
  readonly packetsSent: number;
  /** Packets the stack delivered (clones and taps included). */
  readonly packetsDelivered: number;
  /** Packets received by the guest. */
  readonly packetsReceived: number;
  /** Backend counters. */
  readonly netback: NetbackStats;
  /** Frontend counters. */
  readonly netfront: NetfrontStats;
  /** Stack counters. */
  readonly stack: NetStackStats;
  /** Grant operations. */
  readonly grantOps: GrantOpStats;
  /** Destructor runs of the foreign-page mechanism (all destructors). */
  readonly foreignDestructorCalls: number;
  /** Buddy free pages now, and at creation (after the pool was taken). */
  readonly buddyFree: number;
  /** Buddy free pages right after the pair was built. */
  readonly buddyFreeBaseline: number;
}

/** A netfront/netback pair with its stack and domains. */
export class NetbackPair {
  /** The hypervisor. */
  readonly hv: Hypervisor;
  /** The foreign-page mechanism. */
  readonly foreign: ForeignPages;
  /** The guest domain. */
  readonly guest: Domain;
  /** The backend. */
  readonly netback: Netback;
  /** The frontend. */
  readonly netfront: Netfront;
  /** The network stack of domain 0. */
  readonly stack: NetStack;
  /** Simulated time. */
  readonly clock: SimClock;
  /** The page allocator. */
  readonly buddy: BuddyAllocator;
  /** Buddy free pages before the pair existed. */
  readonly buddyFreeBefore: number;
  /** Buddy free pages right after the pair was built. */
  readonly buddyFreeBaseline: number;
  private readonly policy: StackPolicy;
  private readonly rng: Prng;
  private readonly badGrantRate: number;
  private readonly stepUs: number;
  private readonly maxSlots: number;
  private readonly detachHook: (() => void) | null;
  private readonly rxExpected: number[] = [];
  private rxStamp = 1_000_000_000;
  private steps = 0;
  private destroyed = false;

  /** @internal use {@link createNetbackPair}. */
  constructor(options: NetbackPairOptions) {
    const buddy = options.buddy;
    if (options.machine !== undefined && options.machine !== buddy.machine)
      throw new InvalidArgumentError("machine is not the allocator's machine", "EINVAL", "machine");
    const mode = options.mode ?? "destructor";
    if (mode !== "destructor" && mode !== "callback")
      throw new InvalidArgumentError(
        `mode must be "destructor" or "callback", got ${describeValue(mode)}`,
        "EINVAL",
        "mode",
      );
    const p = options.policy ?? {};
    const policy: StackPolicy = {
      clone: p.clone ?? 0.125,
      tap: p.tap ?? 0.125,
      hold: p.hold ?? 0.25,
      holdUs: p.holdUs ?? 600_000,
    };
    for (const k of ["clone", "tap", "hold"] as const)
      if (!(policy[k] >= 0 && policy[k] <= 1))
        throw new InvalidArgumentError(
          `policy.${k} must be in [0, 1], got ${describeValue(policy[k])}`,
          "EINVAL",
          `policy.${k}`,
        );
    if (policy.clone + policy.tap + policy.hold > 1)
      throw new InvalidArgumentError(
        "policy probabilities add up to more than 1",
        "EINVAL",
        "policy",
      );
    assertUint("policy.holdUs", policy.holdUs);
    this.policy = policy;
    const badGrantRate = options.badGrantRate ?? 0;
    if (!(badGrantRate >= 0 && badGrantRate <= 1))
      throw new InvalidArgumentError(
        `badGrantRate must be in [0, 1], got ${describeValue(badGrantRate)}`,
        "EINVAL",
        "badGrantRate",
      );
    this.badGrantRate = badGrantRate;
    this.stepUs = options.stepUs ?? 1000;
    assertUint("stepUs", this.stepUs);
    this.maxSlots = options.maxSlots ?? 3;
    if (!Number.isInteger(this.maxSlots) || this.maxSlots < 1 || this.maxSlots > 19)
      throw new InvalidArgumentError(
        `maxSlots must be in [1, 19], got ${describeValue(this.maxSlots)}`,
        "EINVAL",
        "maxSlots",
      );
    const seed = options.seed ?? 1;
    assertUint("seed", seed);
    this.rng = new Prng(seed);
    const guestPages = options.guestPages ?? 512;
    const rxBuffers = options.rxBuffers ?? 32;
    assertUint("guestPages", guestPages);
    if (guestPages < rxBuffers + 19)
      throw new InvalidArgumentError(
        `guestPages must be at least rxBuffers + 19, got ${describeValue(guestPages)}`,
        "EINVAL",
        "guestPages",
      );

    this.buddy = buddy;
    this.clock = options.clock ?? new SimClock();
    this.buddyFreeBefore = buddy.freePageCount;
    if (options.foreign !== undefined) {
      this.foreign = options.foreign;
      this.detachHook = null;
    } else {
      this.foreign = new ForeignPages(buddy.machine);
      this.detachHook = this.foreign.attach(buddy);
    }
    this.hv = new Hypervisor(buddy);
    const guest = this.hv.createDomain("netfront-guest", guestPages);
    if (guest === null) {
      this.detachHook?.();
      throw new KernelPanic("enomem", `no memory for a guest of ${guestPages} pages`);
    }
    this.guest = guest;
    const tx = new NetTxRing(256);
    const rx = new NetRxRing(256);
    this.stack = new NetStack(buddy, this.hv);
    try {
      this.netback = new Netback({
        hv: this.hv,
        foreign: this.foreign,
        stack: this.stack,
        guest,
        tx,
        rx,
        clock: this.clock,
        mode,
        delayedCopyUs: options.delayedCopyUs ?? DELAYED_COPY_US,
      });
    } catch (e) {
      this.hv.destroyDomain(guest);
      this.detachHook?.();
      throw e;
    }
    this.netfront = new Netfront(this.hv, guest, 0, tx, rx, rxBuffers);
    this.netfront.onReceive = (v) => {
      const want = this.rxExpected.shift();
      if (v !== want)
        throw new KernelPanic("rx-data-corrupt", `guest received ${v}, expected ${want}`);
    };
    this.buddyFreeBaseline = buddy.freePageCount;
  }

  /** Release mode. */
  get mode(): NetbackMode {
    return this.netback.mode;
  }

  /**
   * The guest queues `n` packets of 1..maxSlots slots (shapes from the seeded generator; about one
   * in six is a single small slot copied whole) and pushes what fits on the ring. Returns `n`.
   */
  send(n: number): number {
    this.alive();
    assertUint("n", n);
    const ps = this.buddy.machine.pageSize;
    for (let k = 0; k < n; k++) {
      const slots = this.rng.next() < 1 / 6 ? 1 : this.rng.int(1, this.maxSlots);
      const sizes: number[] = [];
      for (let j = 0; j < slots; j++)
        sizes.push(
          slots === 1 && j === 0 && this.rng.next() < 0.2
            ? this.rng.int(1, 64)
            : this.rng.int(65, ps),
        );
      this.netfront.queue(sizes, this.badGrantRate > 0 && this.rng.next() < this.badGrantRate);
    }
    this.netfront.push();
    return n;
  }

  /**
   * Domain 0's stack sends `n` packets to the guest (the copying receive path). Returns the
   * packets queued (fewer when pages run out).
   */
  receive(n: number): number {
    this.alive();
    assertUint("n", n);
    let k = 0;
    for (; k < n; k++) {
      const stamp = this.rxStamp++;
      if (this.stack.sendToGuest(stamp) === null) break;
      this.rxExpected.push(stamp);
    }
    return k;
  }

  /** Advances simulated time by `us` (no work is done). */
  tick(us: number): void {
    this.clock.tick(us);
  }

  /**
   * One round: the guest pushes and polls, netback transmits, the stack handles new packets by its
   * policy and delivers what is due, delayed copies, dealloc, receive. Then the clock advances by
   * `stepUs`. Returns the work done (0 when nothing moved).
   */
  step(): number {
    this.alive();
    let work = 0;
    work += this.netfront.push();
    work += this.netback.txAction();
    work += this.stackRound();
    work += this.stack.expire(this.clock.nowUs);
    work += this.netback.delayedCopy();
    work += this.netback.deallocAction();
    work += this.netback.rxAction();
    work += this.netfront.poll();
    work += this.netfront.pollRx();
    this.steps++;
    this.clock.tick(this.stepUs);
    return work;
  }

  /** The stack's turn: decides each new packet's fate and delivers those marked for delivery. */
  private stackRound(): number {
    const q = this.stack.queue;
    const now = this.clock.nowUs;
    let work = 0;
    const count = q.length;
    let k = 0;
    for (let seen = 0; seen < count && k < q.length; seen++) {
      const skb = q[k]!;
      if (skb.fate === 2) {
        k++;
        continue;
      }
      if (skb.fate === 1) {
        this.stack.deliver(k);
        work++;
        continue;
      }
      const r = this.rng.next();
      const p = this.policy;
      work++;
      if (r < p.hold) {
        this.stack.hold(k, now + p.holdUs);
        k++;
      } else if (r < p.hold + p.clone) {
        this.stack.clone(k);
        skb.fate = 1;
        k++;
      } else if (r < p.hold + p.clone + p.tap) {
        this.stack.tap(k);
        skb.fate = 1;
        k++;
      } else this.stack.deliver(k);
    }
    return work;
  }

  /** True when nothing is queued, in flight, held or waiting for a response. */
  isIdle(): boolean {
    const nf = this.netfront;
    return (
      nf.backlogLength === 0 &&
      this.netback.idle &&
      this.stack.queue.length === 0 &&
      this.stack.outgoing.length === 0 &&
      nf.stats.outstanding === 0 &&
      this.rxExpected.length === 0
    );
  }

  /**
   * Runs steps until idle (or `maxSteps`). When a step does nothing, the clock jumps to the next
   * deadline (a held packet's release or a delayed copy). Returns the steps run.
   */
  run(options: RunOptions = {}): number {
    this.alive();
    const maxSteps = options.maxSteps ?? 1_000_000;
    const untilIdle = options.untilIdle ?? true;
    let n = 0;
    while (n < maxSteps) {
      if (untilIdle && this.isIdle()) break;
      const work = this.step();
      n++;
      if (options.check) this.checkInvariants();
      if (work === 0) {
        const next = Math.min(this.stack.nextRelease(), this.netback.nextCopyDeadline());
        if (next === Number.POSITIVE_INFINITY) {
          if (untilIdle && !this.isIdle())
            throw new KernelPanic("stalled", "netback pair made no progress and has no deadline");
          break;
        }
        if (next > this.clock.nowUs) this.clock.nowUs = next;
      }
    }
    return n;
  }

  /** Counters for reports. */
  stats(): NetbackPairStats {
    return {
      mode: this.netback.mode,
      nowUs: this.clock.nowUs,
      steps: this.steps,
      packetsSent: this.netfront.stats.queued,
      packetsDelivered: this.stack.stats.delivered,
      packetsReceived: this.netfront.stats.received,
      netback: this.netback.stats,
      netfront: this.netfront.stats,
      stack: this.stack.stats,
      grantOps: this.hv.grantStats,
      foreignDestructorCalls: this.foreign.destructorCalls(),
      buddyFree: this.buddy.freePageCount,
      buddyFreeBaseline: this.buddyFreeBaseline,
    };
  }

  /**
   * Checks every invariant of the pair; throws a {@link @mem/machine!index.KernelPanic} (`"invariant"`) naming the
   * first violation. See the package README for the list.
   */
  checkInvariants(): void {
    if (this.destroyed) return;
    const fail = (msg: string): never => {
      throw new KernelPanic("invariant", `netback pair: ${msg}`);
    };
    const refs = this.stack.pageRefs();
    this.netback.checkInvariants(refs);
    this.netfront.checkInvariants();
    const nb = this.netback.stats;
    const st = this.stack.stats;
    // Buddy accounting: only local copies and the stack's own pages are missing from the baseline.
    const free = this.buddy.freePageCount;
    if (
      free + this.netback.copiedPages.size + this.stack.localPages.size !==
      this.buddyFreeBaseline
    )
      fail(
        `buddy free ${free} + local copies ${this.netback.copiedPages.size} + stack pages ${this.stack.localPages.size} != baseline ${this.buddyFreeBaseline}`,
      );
    // Each count reaching zero ran exactly one destructor (or freed a local page).
    if (st.finalPuts !== nb.destructorCalls + nb.localCopyFrees + st.localFrees)
      fail(
        `${st.finalPuts} puts reached zero, but ${nb.destructorCalls} pool destructors + ${nb.localCopyFrees} copy frees + ${st.localFrees} local frees ran`,
      );
    if (this.foreign.destructorCalls(this.netback.poolDestructorId) !== nb.destructorCalls)
      fail("pool destructor runs differ between the mechanism and netback");
    if (this.mode === "callback" && nb.destructorCalls !== 0)
      fail("a pool destructor ran in callback mode");
    // No foreign page on a free list; stack pages are ordinary pages it holds.
    const db = this.buddy.machine.pages;
    for (const pfn of this.stack.localPages) {
      const i = db.indexOf(pfn);
      if (
        (db.flags[i]! & (PG_foreign | PG_buddy | PG_pcp)) !== 0 ||
        db.refcount[i] !== (refs.get(pfn) ?? 0)
      )
        fail(`stack page ${pfn} is foreign, free, or miscounted`);
    }
    // Grants: the guest's mapped grants are exactly dom0's mappings.
    if (this.hv.dom0.mappedForeign !== this.netback.nrPendingReqs)
      fail(
        `${this.hv.dom0.mappedForeign} foreign frames mapped, ${this.netback.nrPendingReqs} slots in use`,
      );
    const nf = this.netfront.stats;
    if (nb.responses > nf.requests || nf.responses > nb.responses)
      fail(`${nf.requests} requests, ${nb.responses} responses sent, ${nf.responses} taken`);
  }

  /**
   * Tears the pair down once idle: the pool, the guest's grants and frames go back; the buddy free
   * count returns to what it was before the pair. The foreign hook is removed if the pair
   * installed it.
   *
   * @throws {@link @mem/machine!index.KernelPanic} (`"netback-busy"`) when not idle; nothing changes then.
   */
  destroy(): void {
    this.alive();
    if (!this.isIdle()) throw new KernelPanic("netback-busy", "netback pair is not idle");
    this.netfront.close();
    this.netback.release();
    this.hv.destroyDomain(this.guest);
    this.detachHook?.();
    this.destroyed = true;
  }

  private alive(): void {
    if (this.destroyed) throw new KernelPanic("destroyed", "the netback pair was destroyed");
  }
}

/**
 * Builds a guest domain with a netfront, domain 0's netback (256 pool pages taken from `buddy`)
 * and a network stack, in `"destructor"` (XenLinux) or `"callback"` (mainline) mode.
 *
 * @throws {@link @mem/machine!index.InvalidArgumentError} for bad options; {@link @mem/machine!index.KernelPanic} (`"enomem"`) when
 * the guest or the pool does not fit (nothing is kept then).
 */
export function createNetbackPair(options: NetbackPairOptions): NetbackPair {
  return new NetbackPair(options);
}
