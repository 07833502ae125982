import { KernelPanic } from "@mem/machine";
import {
  createNetbackPair,
  MAX_PENDING_REQS,
  type NetbackMode,
  type NetbackPair,
} from "@mem/xen-foreign";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bootedSmall } from "./helpers.js";

type Op =
  | { t: "send"; n: number }
  | { t: "receive"; n: number }
  | { t: "tx" }
  | { t: "deliver"; r: number }
  | { t: "clone"; r: number }
  | { t: "tap"; r: number }
  | { t: "hold"; r: number; us: number }
  | { t: "tick"; us: number }
  | { t: "expire" }
  | { t: "copy" }
  | { t: "dealloc" }
  | { t: "rx" }
  | { t: "poll" }
  | { t: "step" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant("send" as const), n: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ t: fc.constant("receive" as const), n: fc.integer({ min: 0, max: 6 }) }),
  fc.constant({ t: "tx" as const }),
  fc.record({
    t: fc.constant("deliver" as const),
    r: fc.double({ min: 0, max: 0.999, noNaN: true }),
  }),
  fc.record({
    t: fc.constant("clone" as const),
    r: fc.double({ min: 0, max: 0.999, noNaN: true }),
  }),
  fc.record({ t: fc.constant("tap" as const), r: fc.double({ min: 0, max: 0.999, noNaN: true }) }),
  fc.record({
    t: fc.constant("hold" as const),
    r: fc.double({ min: 0, max: 0.999, noNaN: true }),
    us: fc.integer({ min: 0, max: 900_000 }),
  }),
  fc.record({ t: fc.constant("tick" as const), us: fc.integer({ min: 0, max: 700_000 }) }),
  fc.constant({ t: "expire" as const }),
  fc.constant({ t: "copy" as const }),
  fc.constant({ t: "dealloc" as const }),
  fc.constant({ t: "rx" as const }),
  fc.constant({ t: "poll" as const }),
  fc.constant({ t: "step" as const }),
);

function apply(pair: NetbackPair, op: Op): void {
  const q = pair.stack.queue;
  const pick = (r: number): number => Math.floor(r * q.length);
  switch (op.t) {
    case "send":
      pair.send(op.n);
      break;
    case "receive":
      pair.receive(op.n);
      break;
    case "tx":
      pair.netfront.push();
      pair.netback.txAction();
      break;
    case "deliver":
      if (q.length > 0) pair.stack.deliver(pick(op.r));
      break;
    case "clone":
      if (q.length > 0) pair.stack.clone(pick(op.r));
      break;
    case "tap":
      if (q.length > 0) pair.stack.tap(pick(op.r));
      break;
    case "hold":
      if (q.length > 0) pair.stack.hold(pick(op.r), pair.clock.nowUs + op.us);
      break;
    case "tick":
      pair.tick(op.us);
      break;
    case "expire":
      pair.stack.expire(pair.clock.nowUs);
      break;
    case "copy":
      pair.netback.delayedCopy();
      break;
    case "dealloc":
      pair.netback.deallocAction();
      break;
    case "rx":
      pair.netback.rxAction();
      pair.netfront.pollRx();
      break;
    case "poll":
      pair.netfront.poll();
      break;
    case "step":
      pair.step();
      break;
  }
}

for (const mode of ["destructor", "callback"] as NetbackMode[]) {
  describe(`netback model (${mode} mode)`, () => {
    it("keeps every invariant after every step of random send/deliver/clone/tap/timeout sequences", () => {
      fc.assert(
        fc.property(
          fc.array(opArb, { minLength: 1, maxLength: 60 }),
          fc.integer({ min: 1, max: 1 << 30 }),
          fc.boolean(),
          (ops, seed, faults) => {
            const { a } = bootedSmall();
            const b0 = a.freePageCount;
            const pair = createNetbackPair({
              buddy: a,
              mode,
              seed,
              guestPages: 320,
              rxBuffers: 8,
              badGrantRate: faults ? 0.1 : 0,
            });
            const b1 = a.freePageCount;
            pair.checkInvariants();
            for (const op of ops) {
              apply(pair, op);
              pair.checkInvariants();
            }
            // Deliver whatever the sequence left held, then drain.
            for (const skb of pair.stack.queue) if (skb.fate === 0) skb.fate = 1;
            pair.run({ untilIdle: true, check: true });
            expect(a.freePageCount).toBe(b1);
            const s = pair.stats();
            expect(s.netback.responses).toBe(s.netback.requests);
            expect(s.netfront.responses).toBe(s.netfront.requests);
            if (mode === "callback") expect(s.netback.destructorCalls).toBe(0);
            pair.destroy();
            expect(a.freePageCount).toBe(b0);
            a.checkInvariants();
          },
        ),
        { numRuns: 60 },
      );
    });

    it("fires the destructor or callback only after the clone and the tap are freed too", () => {
      const { a } = bootedSmall();
      const pair = createNetbackPair({ buddy: a, mode, seed: 3, maxSlots: 2 });
      pair.netfront.queue([1000, 2000]);
      pair.netfront.push();
      pair.netback.txAction();
      const q = pair.stack.queue;
      expect(q.length).toBe(1);
      const pfn = q[0]!.shared.frags[0]!;
      pair.stack.clone(0);
      pair.stack.tap(0);
      expect(a.pageCount(pfn)).toBe(mode === "callback" ? 3 : 2);
      const calls = (): number =>
        mode === "callback"
          ? pair.netback.stats.zerocopyCallbacks
          : pair.netback.stats.destructorCalls;
      pair.stack.deliver(0);
      pair.checkInvariants();
      pair.stack.deliver(0);
      pair.checkInvariants();
      expect(calls()).toBe(0);
      expect(pair.netback.stats.dealloc).toBe(0);
      pair.stack.deliver(0);
      expect(calls()).toBe(mode === "callback" ? 1 : 2);
      expect(pair.netback.stats.dealloc).toBe(2);
      pair.checkInvariants();
      pair.run();
      expect(pair.netfront.stats.responses).toBe(2);
      pair.destroy();
    });

    it("copies out a page held past HZ/2, returns the grant early and frees the copy at the last put", () => {
      const { a } = bootedSmall();
      const pair = createNetbackPair({ buddy: a, mode, seed: 5, maxSlots: 1 });
      const b1 = a.freePageCount;
      pair.netfront.queue([3000]);
      pair.netfront.push();
      pair.netback.txAction();
      pair.stack.hold(0, 10_000_000);
      const pfn = pair.stack.queue[0]!.shared.frags[0]!;
      pair.tick(499_999);
      expect(pair.netback.delayedCopy()).toBe(0);
      pair.tick(1);
      expect(pair.netback.delayedCopy()).toBe(1);
      pair.checkInvariants();
      expect(pair.hv.dom0.mappedForeign).toBe(0);
      pair.netfront.poll();
      expect(pair.netfront.stats.responses).toBe(1); // the guest has its frame back
      expect(pair.netback.copiedPages.has(pfn)).toBe(true);
      expect(pair.netback.poolPfn).not.toContain(pfn);
      expect(a.freePageCount).toBe(b1 - 1);
      pair.stack.deliver(0); // data still intact: the local copy
      expect(pair.netback.stats.localCopyFrees).toBe(1);
      expect(a.freePageCount).toBe(b1);
      pair.checkInvariants();
      expect(pair.stats().netback.delayedCopies).toBe(1);
      pair.destroy();
    });

    it("answers a bad grant with an error, sends the slot straight back and runs no destructor", () => {
      const { a } = bootedSmall();
      const pair = createNetbackPair({
        buddy: a,
        mode,
        seed: 9,
        policy: { hold: 0, clone: 0, tap: 0 },
      });
      pair.netfront.queue([500, 500], true);
      pair.netfront.queue([700]);
      pair.run({ check: true });
      const s = pair.stats();
      expect(s.netback.mapErrors).toBe(1);
      expect(s.netback.responsesError).toBe(1);
      expect(s.netback.responsesOkay).toBe(2);
      expect(s.netback.packetsDropped).toBe(1);
      expect(s.netback.packets).toBe(1);
      expect(s.netfront.errors).toBe(1);
      expect(s.netback.destructorCalls + s.netback.zerocopyCallbacks).toBe(1);
      pair.destroy();
    });

    it("stops taking requests when the pool cannot hold another packet (backpressure)", () => {
      const { a } = bootedSmall();
      const pair = createNetbackPair({ buddy: a, mode, seed: 11, maxSlots: 1, guestPages: 600 });
      for (let k = 0; k < 300; k++) pair.netfront.queue([2000]);
      pair.netfront.push();
      pair.netback.txAction();
      expect(pair.netback.nrPendingReqs).toBe(MAX_PENDING_REQS - 18);
      pair.checkInvariants();
      for (const skb of pair.stack.queue) skb.fate = 1;
      pair.run({ check: true });
      expect(pair.stats().netback.packets).toBe(300);
      pair.destroy();
    });

    it("detects a broken invariant", () => {
      const { a, m } = bootedSmall();
      const pair = createNetbackPair({ buddy: a, mode, seed: 13 });
      pair.send(5);
      pair.step();
      pair.checkInvariants();
      const pfn = pair.netback.poolPfn[0]!;
      const i = m.pages.indexOf(pfn);
      m.pages.refcount[i] = m.pages.refcount[i]! + 1;
      expect(() => pair.checkInvariants()).toThrow(KernelPanic);
      m.pages.refcount[i] = m.pages.refcount[i]! - 1;
      pair.checkInvariants();
      expect(() => pair.destroy()).toThrow(/not idle/);
    });
  });
}
