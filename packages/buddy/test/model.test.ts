import {
  __GFP_RECLAIMABLE,
  GFP_ATOMIC,
  GFP_DMA,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
} from "@mem/buddy";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bootedSmall } from "./helpers.js";

const GFPS = [
  GFP_KERNEL,
  GFP_HIGHUSER_MOVABLE,
  GFP_ATOMIC,
  GFP_DMA,
  GFP_KERNEL | __GFP_RECLAIMABLE,
];

type Op =
  | { t: "alloc"; gfp: number; order: number; cpu: number }
  | { t: "free" | "get" | "put"; k: number; off: number }
  | { t: "drain" };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant("alloc" as const),
      gfp: fc.integer({ min: 0, max: GFPS.length - 1 }).map((k) => GFPS[k]!),
      order: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 10 })),
      cpu: fc.integer({ min: 0, max: 1 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constantFrom("free" as const, "get" as const, "put" as const),
      k: fc.nat(),
      off: fc.nat(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ t: "drain" as const }) },
);

describe("BuddyAllocator (model-based)", () => {
  it("agrees with a naive model of live blocks and reference counts, invariants after every step", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.boolean(), (ops, pcp) => {
        const { a } = bootedSmall({ pcp, checkPages: true });
        const managed = a.managedPages;
        const live: { pfn: number; order: number; refs: number }[] = [];
        for (const o of ops) {
          if (o.t === "alloc") {
            a.setCpu(o.cpu);
            const pfn = a.alloc(o.gfp, o.order);
            if (pfn >= 0) {
              for (const b of live)
                expect(pfn + 2 ** o.order <= b.pfn || b.pfn + 2 ** b.order <= pfn).toBe(true);
              expect(pfn % 2 ** o.order).toBe(0);
              if (o.gfp === GFP_DMA) expect(pfn).toBeLessThan(4096);
              live.push({ pfn, order: o.order, refs: 1 });
            }
          } else if (o.t === "drain") {
            a.drain();
          } else if (live.length > 0) {
            const k = o.k % live.length;
            const b = live[k]!;
            const page = b.pfn + (o.off % 2 ** b.order);
            if (o.t === "get") {
              a.getPage(page);
              b.refs++;
            } else {
              if (o.t === "free") a.free(b.pfn, b.order);
              else a.putPage(page);
              b.refs--;
              if (b.refs === 0) live.splice(k, 1);
            }
          }
          a.checkInvariants();
          let used = 0;
          for (const b of live) {
            expect(a.pageCount(b.pfn)).toBe(b.refs);
            used += 2 ** b.order;
          }
          expect(a.freePageCount + used).toBe(managed);
        }
      }),
      { numRuns: 60 },
    );
  });
});
