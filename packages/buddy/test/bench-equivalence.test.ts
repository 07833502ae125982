import { __GFP_MEMALLOC, BuddyAllocator, GFP_HIGHUSER_MOVABLE } from "@mem/buddy";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ReferenceBuddy } from "../bench/reference.js";
import { blockStrings, smallMachine } from "./helpers.js";

describe("ReferenceBuddy vs BuddyAllocator", () => {
  it("give the same free blocks for the same operation sequences (no per-CPU lists)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 10 }), fc.nat()), {
          maxLength: 120,
        }),
        (ops) => {
          const m = smallMachine();
          const a = new BuddyAllocator(m, { pcp: false });
          const ref = new ReferenceBuddy();
          a.freeBootmemRange(4096, 16384); // one zone: DMA32
          for (let p = 4096; p < 16384; p += 1024) ref.freeBlock(p, 10);
          expect(blockStrings(a)).toEqual(ref.blocks());
          const live: [number, number][] = [];
          for (const [isAlloc, order, k] of ops) {
            if (isAlloc || live.length === 0) {
              const pfn = a.alloc(GFP_HIGHUSER_MOVABLE | __GFP_MEMALLOC, order);
              if (pfn < 0) {
                expect(ref.alloc(order)).toBe(-1);
                continue;
              }
              expect(ref.allocAt(pfn, order)).toBe(true);
              live.push([pfn, order]);
            } else {
              const [pfn, order] = live.splice(k % live.length, 1)[0]!;
              a.free(pfn, order);
              ref.freeBlock(pfn, order);
            }
            expect(blockStrings(a)).toEqual(ref.blocks());
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
