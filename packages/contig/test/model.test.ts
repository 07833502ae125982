import { GFP_KERNEL } from "@mem/buddy";
import type { ContigHandle } from "@mem/contig";
import fc from "fast-check";
import { describe, it } from "vitest";
import { booted } from "./helpers.js";

type Op =
  | { t: "page"; order: number }
  | { t: "freePage"; k: number }
  | { t: "contig"; pages: number; align: number; boundary: number; low: number }
  | { t: "freeContig"; k: number }
  | { t: "pglist"; pages: number; nsegs: number }
  | { t: "freePglist"; k: number };

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant("page" as const), order: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ t: fc.constant("freePage" as const), k: fc.nat() }),
  fc.record({
    t: fc.constant("contig" as const),
    pages: fc.integer({ min: 1, max: 600 }),
    align: fc.integer({ min: 0, max: 8 }),
    boundary: fc.oneof(fc.constant(0), fc.integer({ min: 9, max: 12 })),
    low: fc.integer({ min: 0, max: 16000 }),
  }),
  fc.record({ t: fc.constant("freeContig" as const), k: fc.nat() }),
  fc.record({
    t: fc.constant("pglist" as const),
    pages: fc.integer({ min: 1, max: 40 }),
    nsegs: fc.integer({ min: 1, max: 64 }),
  }),
  fc.record({ t: fc.constant("freePglist" as const), k: fc.nat() }),
);

describe("ContigAllocator model", () => {
  for (const search of ["extent", "indexed", "linear"] as const) {
    it(`keeps the extent mirror equal to the buddy free pool (${search} search)`, () => {
      fc.assert(
        fc.property(fc.array(arbOp, { minLength: 1, maxLength: 40 }), (ops) => {
          const { b, c } = booted({ search, mirror: true });
          const pages: [number, number][] = [];
          const contigs: ContigHandle[] = [];
          const lists: number[][] = [];
          for (const op of ops) {
            switch (op.t) {
              case "page": {
                const p = b.alloc(GFP_KERNEL, op.order);
                if (p >= 0) pages.push([p, op.order]);
                break;
              }
              case "freePage":
                if (pages.length > 0) {
                  const [p, o] = pages.splice(op.k % pages.length, 1)[0]!;
                  b.free(p, o);
                }
                break;
              case "contig": {
                const h = c.allocate({
                  size: op.pages * 4096,
                  alignment: 4096 * 2 ** op.align,
                  boundary: op.boundary === 0 ? 0 : 4096 * 2 ** op.boundary,
                  low: op.low * 4096,
                });
                if (h) contigs.push(h);
                break;
              }
              case "freeContig":
                if (contigs.length > 0) c.free(contigs.splice(op.k % contigs.length, 1)[0]!);
                break;
              case "pglist": {
                const r: number[] = [];
                if (c.pglistAlloc(op.pages * 4096, 0, 2 ** 32, 4096, 0, r, op.nsegs) === 0)
                  lists.push(r);
                break;
              }
              case "freePglist":
                if (lists.length > 0) c.pglistFree(lists.splice(op.k % lists.length, 1)[0]!);
                break;
            }
            c.checkInvariants();
          }
          b.checkInvariants();
        }),
        { numRuns: 12, seed: 7 },
      );
    });
  }
});
