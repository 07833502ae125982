import { fragmentMemory, PQ_CACHE, PQ_INACTIVE } from "@mem/contig";
import { PG_locked } from "@mem/machine";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkRequest } from "../src/internal/fit.js";
import { booted } from "./helpers.js";

const arbReq = fc.record({
  pages: fc.integer({ min: 1, max: 300 }),
  lowPage: fc.integer({ min: 0, max: 16384 }),
  span: fc.integer({ min: 0, max: 16384 }),
  alignShift: fc.integer({ min: 0, max: 10 }),
  boundaryShift: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 12 })),
});

describe("indexed search vs FreeBSD's linear scan (the bench reference)", () => {
  it("find the same lowest-address range, and so does the extent mirror on free pages", () => {
    const { b, q, c } = booted({ mirror: true });
    fragmentMemory(b, q, { seed: 7, fill: 0.95, release: 0.5 });
    c.checkInvariants();
    const check = (withExtent: boolean) =>
      fc.assert(
        fc.property(arbReq, (x) => {
          const r = checkRequest(
            "t",
            4096,
            x.pages * 4096,
            x.lowPage * 4096,
            (x.lowPage + x.span) * 4096,
            4096 * 2 ** x.alignShift,
            x.boundaryShift < 0 ? 0 : 4096 * 2 ** x.boundaryShift,
            false,
          );
          if (!r.feasible) return;
          const lin = c.linearFind(r, 0);
          const idx = c.indexedFind(r);
          expect(idx).toBe(lin);
          if (withExtent) {
            const ext = c.mirror!;
            const last = Math.min(r.endPfn - 1, ext.end);
            let e = -1;
            if (last - r.lowPfn + 1 >= r.npages) {
              e = ext.alloc({
                size: r.npages,
                alignment: r.alignPages,
                boundary: r.boundaryPages,
                start: r.lowPfn,
                end: last,
                fit: "first",
              });
              if (e >= 0) ext.free(e, r.npages);
            }
            expect(Math.max(e, -1)).toBe(lin);
          }
        }),
        { numRuns: 300, seed: 42 },
      );
    check(true);
    // With cache pages (after laundering) linear and indexed still agree, also when some cache
    // pages are busy (in the index, but not takeable: the word probe hands over to the tree loop).
    q.launder(PQ_INACTIVE);
    c.checkInvariants();
    check(false);
    const db = c.machine.pages;
    let k = 0;
    for (const pfn of q.pfns(PQ_CACHE)) {
      if (k++ % 7 === 0) db.flags[db.indexOf(pfn)] = db.flags[db.indexOf(pfn)]! | PG_locked;
    }
    check(false);
  });

  it("the migration search finds the lowest window of free, stealable and movable pages", () => {
    const { b, q, c, m } = booted();
    const w = fragmentMemory(b, q, { seed: 11, release: 0.4 });
    w.churn(3000);
    q.launder(PQ_INACTIVE);
    const db = m.pages;
    // Pin a scattering of movable pages so that windows break.
    let k = 0;
    for (const pfn of [...q.pfns(PQ_INACTIVE)])
      if (k++ % 5 === 0) db.flags[db.indexOf(pfn)] = db.flags[db.indexOf(pfn)]! | PG_locked;
    const ok = (pfn: number): boolean => {
      const i = db.indexOf(pfn);
      return i >= 0 && (c.isFree(pfn) || q.isStealableAt(i) || q.isMovable(pfn));
    };
    const naive = (r: ReturnType<typeof checkRequest>): number => {
      for (let p = r.lowPfn; p + r.npages <= r.endPfn && p < 2 ** 15; p++) {
        if (p % r.alignPages !== 0) continue;
        const bp = r.boundaryPages;
        if (bp > 0 && Math.floor(p / bp) !== Math.floor((p + r.npages - 1) / bp)) continue;
        let j = 0;
        while (j < r.npages && ok(p + j)) j++;
        if (j === r.npages) return p;
      }
      return -1;
    };
    fc.assert(
      fc.property(arbReq, (x) => {
        const r = checkRequest(
          "t",
          4096,
          x.pages * 4096,
          x.lowPage * 4096,
          (x.lowPage + x.span) * 4096,
          4096 * 2 ** x.alignShift,
          x.boundaryShift < 0 ? 0 : 4096 * 2 ** x.boundaryShift,
          false,
        );
        if (!r.feasible) return;
        expect(c.indexedFind(r, c.reclaimable, true)).toBe(naive(r));
      }),
      { numRuns: 200, seed: 43 },
    );
  });
});
