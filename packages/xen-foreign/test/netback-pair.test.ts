import { createNetbackPair, type NetbackMode } from "@mem/xen-foreign";
import { describe, expect, it } from "vitest";
import { bootedSmall } from "./helpers.js";

describe("createNetbackPair", () => {
  for (const mode of ["destructor", "callback"] as NetbackMode[]) {
    it(`runs 1000 packets to idle in ${mode} mode with invariants after every step`, () => {
      const { a } = bootedSmall();
      const b0 = a.freePageCount;
      const pair = createNetbackPair({ buddy: a, mode, seed: 7 });
      const b1 = a.freePageCount;
      expect(b0 - b1).toBe(512 + 256);
      pair.send(1000);
      pair.receive(50);
      pair.run({ untilIdle: true, check: true });
      pair.checkInvariants();
      const s = pair.stats();
      expect(s.netback.requests).toBe(s.netback.responses);
      expect(s.netfront.outstanding).toBe(0);
      expect(s.packetsReceived).toBe(50);
      expect(s.netback.delayedCopies).toBeGreaterThan(0);
      expect(a.freePageCount).toBe(b1);
      if (mode === "destructor") expect(s.netback.destructorCalls).toBeGreaterThan(0);
      else expect(s.netback.zerocopyCallbacks).toBeGreaterThan(0);
      pair.destroy();
      expect(a.freePageCount).toBe(b0);
      a.checkInvariants();
    });
  }
});
