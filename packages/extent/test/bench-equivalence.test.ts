import {
  EX_BOUNDZERO,
  EX_FAST,
  EX_MALLOCOK,
  EX_NOCOALESCE,
  EXTENT_FIXED_STORAGE_SIZE,
  type extent,
  extent_alloc_region,
  extent_alloc_subregion1,
  extent_create,
  extent_free,
} from "@mem/extent/compat";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DIRECT_SCAN_MAX, type TreeEngine } from "../src/internal/tree-engine.js";
import { checkInvariants, runsOf } from "./helpers.js";

// Model-based equivalence: the O(log n) run store against the linear list (NetBSD's algorithm,
// also the bench reference), over random operation sequences with every flag, both word sizes,
// fixed storage, DIAGNOSTIC on and off, and extents placed at the top of the word.

interface Config {
  wordBits: 32 | 64;
  coalesce: boolean;
  fixed: number | null;
  diagnostic: boolean;
  place: "low" | "top" | "mid";
  span: number;
  /** Added to the start of a "top" extent so that boundary lines are not multiples of 2^k. */
  shift?: number;
  /** The tree engine's `directScanMax` (its default when absent). */
  directScanMax?: number;
}

type Op =
  | {
      t: "alloc";
      lo: number;
      hi: number;
      size: number;
      alignExp: number;
      skew: number;
      boundExp: number;
      flags: number;
    }
  | { t: "region"; off: number; size: number; flags: number }
  | { t: "free"; pick: number; a: number; b: number; raw: boolean; off: number; size: number };

const configArb: fc.Arbitrary<Config> = fc.record({
  wordBits: fc.constantFrom(32 as const, 64 as const),
  coalesce: fc.boolean(),
  fixed: fc.option(fc.integer({ min: 0, max: 8 }), { nil: null }),
  diagnostic: fc.boolean(),
  place: fc.constantFrom("low" as const, "top" as const, "mid" as const),
  span: fc.constantFrom(0x3f, 0xff, 0x3ff),
  directScanMax: fc.constantFrom(0, 1, 4, DIRECT_SCAN_MAX),
});

const flagArb = fc
  .record({ fast: fc.boolean(), bz: fc.boolean(), mok: fc.boolean() })
  .map((f) => (f.fast ? EX_FAST : 0) | (f.bz ? EX_BOUNDZERO : 0) | (f.mok ? EX_MALLOCOK : 0));

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: allocOp({
      lo: fc.integer({ min: -8, max: 0x400 }),
      hi: fc.integer({ min: -8, max: 0x410 }),
      size: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 0x80 })),
      alignExp: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constantFrom(0, 8, 31, 52)),
      skew: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constantFrom(0x7fffffff, 0xffffffff)),
      boundExp: fc.oneof(
        fc.constant(-1),
        fc.integer({ min: 0, max: 7 }),
        fc.constantFrom(12, 31, 52),
      ),
      flags: flagArb,
    }),
  },
  {
    weight: 2,
    arbitrary: regionOp({
      off: fc.integer({ min: -4, max: 0x404 }),
      size: fc.integer({ min: 1, max: 0x30 }),
      flags: fc.constantFrom(0, EX_MALLOCOK),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant("free" as const),
      pick: fc.nat(),
      a: fc.nat(),
      b: fc.nat(),
      raw: fc.boolean(),
      off: fc.integer({ min: -4, max: 0x404 }),
      size: fc.integer({ min: 1, max: 0x30 }),
    }),
  },
);

function placeOf(c: Config): number {
  const top = c.wordBits === 32 ? 0xffffffff : Number.MAX_SAFE_INTEGER;
  if (c.place === "low") return 0;
  if (c.place === "top") return top - c.span + (c.shift ?? 0);
  return 0x10000;
}

function make(c: Config, engine: "tree" | "linear"): extent {
  const start = placeOf(c);
  const storage = c.fixed === null ? null : {};
  const size = c.fixed === null ? 0 : EXTENT_FIXED_STORAGE_SIZE(c.fixed, c.wordBits);
  const end = Math.min(start + c.span, c.wordBits === 32 ? 0xffffffff : Number.MAX_SAFE_INTEGER);
  const ex = extent_create("eq", start, end, storage, size, c.coalesce ? 0 : EX_NOCOALESCE, {
    wordBits: c.wordBits,
    diagnostic: c.diagnostic,
    engine,
  });
  if (engine === "tree" && c.directScanMax !== undefined)
    (ex.engine as TreeEngine).directScanMax = c.directScanMax;
  return ex;
}

function clampU(v: number, c: Config): number {
  const max = c.wordBits === 32 ? 0xffffffff : Number.MAX_SAFE_INTEGER;
  return Math.max(0, Math.min(max, v));
}

function outcome(fn: () => number | Promise<number>, out?: { value: number }): string {
  try {
    const r = fn();
    if (typeof r !== "number") return "promise";
    return r === 0 && out ? `0@${out.value}` : `${r}`;
  } catch (e) {
    const err = e as { name: string; code: string };
    return `${err.name}:${err.code}`;
  }
}

function apply(ex: extent, c: Config, op: Op): string {
  const base = ex.ex_start;
  const maxExp = c.wordBits === 32 ? 31 : 52;
  if (op.t === "alloc") {
    const out = { value: -1 };
    const a = 2 ** Math.min(op.alignExp, maxExp);
    const b = op.boundExp < 0 ? 0 : 2 ** Math.min(op.boundExp, maxExp);
    const skew = clampU(op.skew, c);
    return outcome(
      () =>
        extent_alloc_subregion1(
          ex,
          clampU(base + op.lo, c),
          clampU(base + op.hi, c),
          op.size,
          a,
          skew,
          b,
          op.flags,
          out,
        ),
      out,
    );
  }
  if (op.t === "region") {
    return outcome(() => extent_alloc_region(ex, clampU(base + op.off, c), op.size, op.flags));
  }
  const runs = runsOf(ex);
  if (op.raw || runs.length === 0) {
    return outcome(() => extent_free(ex, clampU(base + op.off, c), op.size, 0));
  }
  const [s, e] = runs[op.pick % runs.length]!;
  const len = e - s + 1;
  const x = op.a % len;
  const y = op.b % len;
  const lo = s + Math.min(x, y);
  const hi = s + Math.max(x, y);
  return outcome(() => extent_free(ex, lo, hi - lo + 1, 0));
}

function runModel(c: Config, ops: Op[], treeMap?: extent, checkIndex = false): void {
  const tree = treeMap ?? make(c, "tree");
  const lin = make(c, "linear");
  const inside = c.diagnostic;
  for (const op of ops) {
    const r1 = apply(lin, c, op);
    const r2 = apply(tree, c, op);
    if (r1 !== r2 || tree.print() !== lin.print()) {
      throw new Error(
        `divergence on ${JSON.stringify(op)}: linear ${r1}, tree ${r2}\n${lin.print()}\n${tree.print()}`,
      );
    }
    expect(tree.audit()).toEqual(lin.audit());
    checkInvariants(tree, c.fixed, inside);
    checkInvariants(lin, c.fixed, inside);
    if (checkIndex) expect((tree.engine as TreeEngine).checkGapIndex()).toBeNull();
  }
}

/** Field generators of an alloc op. */
type AllocFields = { [K in Exclude<keyof Extract<Op, { t: "alloc" }>, "t">]: fc.Arbitrary<number> };

/** An alloc op from generators of its fields. */
function allocOp(f: AllocFields): fc.Arbitrary<Op> {
  return fc.record({ t: fc.constant("alloc" as const), ...f });
}

/** An `alloc_region` op from generators of its fields. */
function regionOp(f: {
  off: fc.Arbitrary<number>;
  size: fc.Arbitrary<number>;
  flags: fc.Arbitrary<number>;
}): fc.Arbitrary<Op> {
  return fc.record({ t: fc.constant("region" as const), ...f });
}

/** A free of a random run (`pick`), not a raw range. */
const freeAnyRun: fc.Arbitrary<Op> = fc.record({
  t: fc.constant("free" as const),
  pick: fc.nat(),
  a: fc.nat(),
  b: fc.nat(),
  raw: fc.constant(false),
  off: fc.constant(0),
  size: fc.constant(1),
});

/** A free of a random run, often the first one (pick 0). */
const freeOftenFirst: fc.Arbitrary<Op> = fc.record({
  t: fc.constant("free" as const),
  pick: fc.oneof(fc.constant(0), fc.nat()),
  a: fc.nat(),
  b: fc.nat(),
  raw: fc.constant(false),
  off: fc.constant(0),
  size: fc.constant(1),
});

/**
 * Model runs on a low extent of span 0x3ff, either word size, with or without coalescing:
 * `seeds` (min/max count) single regions of size 1 + off % `sizeMod`, then `ops` (min/max count)
 * operations drawn from `op`, checking the gap index after each. Returns how much the two
 * white-box `counters` of the tree engine grew over all runs.
 */
function sumTreeCounters(o: {
  op: fc.Arbitrary<Op>;
  seeds: [number, number];
  ops: [number, number];
  sizeMod: number;
  numRuns: number;
  counters: (eng: TreeEngine) => [number, number];
  directScanMax?: number;
}): [number, number] {
  let a = 0;
  let b = 0;
  fc.assert(
    fc.property(
      fc.constantFrom(32 as const, 64 as const),
      fc.boolean(),
      fc.array(fc.integer({ min: 0, max: 0x3ff }), {
        minLength: o.seeds[0],
        maxLength: o.seeds[1],
      }),
      fc.array(o.op, { minLength: o.ops[0], maxLength: o.ops[1] }),
      (wordBits, coalesce, seeds, ops) => {
        const c: Config = {
          wordBits,
          coalesce,
          fixed: null,
          diagnostic: false,
          place: "low",
          span: 0x3ff,
          ...(o.directScanMax === undefined ? {} : { directScanMax: o.directScanMax }),
        };
        const pre: Op[] = seeds.map((off) => ({
          t: "region",
          off,
          size: 1 + (off % o.sizeMod),
          flags: 0,
        }));
        const tree = make(c, "tree");
        const eng = tree.engine as TreeEngine;
        const [a0, b0] = o.counters(eng);
        runModel(c, [...pre, ...ops], tree, true);
        const [a1, b1] = o.counters(eng);
        a += a1 - a0;
        b += b1 - b0;
      },
    ),
    { numRuns: o.numRuns },
  );
  return [a, b];
}

describe("bench equivalence: indexed run store vs linear reference", () => {
  it("returns what the linear algorithm returns over random operation sequences", () => {
    fc.assert(
      fc.property(configArb, fc.array(opArb, { minLength: 1, maxLength: 60 }), (c, ops) => {
        runModel(c, ops);
      }),
      { numRuns: 600 },
    );
  }, 60_000);

  it("agrees on dense maps with many small runs and best-fit ties", () => {
    const denseOp: fc.Arbitrary<Op> = fc.oneof(
      allocOp({
        lo: fc.constant(0),
        hi: fc.integer({ min: 0x100, max: 0x3ff }),
        size: fc.integer({ min: 1, max: 6 }),
        alignExp: fc.integer({ min: 0, max: 3 }),
        skew: fc.integer({ min: 0, max: 3 }),
        boundExp: fc.oneof(fc.constant(-1), fc.integer({ min: 3, max: 5 })),
        flags: flagArb,
      }),
      freeAnyRun,
    );
    fc.assert(
      fc.property(
        configArb,
        fc.array(fc.integer({ min: 0, max: 0x3ff }), { maxLength: 120 }),
        fc.array(denseOp, { minLength: 1, maxLength: 120 }),
        (c0, seeds, ops) => {
          const c: Config = { ...c0, span: 0x3ff, fixed: null, diagnostic: false };
          const pre: Op[] = seeds.map((off) => ({
            t: "region",
            off,
            size: 1 + (off % 3),
            flags: 0,
          }));
          runModel(c, [...pre, ...ops]);
        },
      ),
      { numRuns: 250 },
    );
  }, 60_000);

  it("agrees where the boundary check gives up at the last line below 2^32", () => {
    const topOp: fc.Arbitrary<Op> = fc.oneof(
      allocOp({
        lo: fc.integer({ min: 0, max: 0x300 }),
        hi: fc.constant(0x3ff),
        size: fc.integer({ min: 1, max: 0x30 }),
        alignExp: fc.integer({ min: 0, max: 4 }),
        skew: fc.integer({ min: 0, max: 3 }),
        boundExp: fc.integer({ min: 6, max: 9 }),
        flags: fc.constantFrom(0, 0, 0, EX_BOUNDZERO, EX_FAST),
      }),
      regionOp({
        off: fc.integer({ min: 0, max: 0x3ff }),
        size: fc.integer({ min: 1, max: 0x20 }),
        flags: fc.constant(0),
      }),
      freeAnyRun,
    );
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 1, max: 0x3f }),
        fc.array(topOp, { minLength: 1, maxLength: 80 }),
        (coalesce, shift, ops) => {
          const c: Config = {
            shift,
            wordBits: 32,
            coalesce,
            fixed: null,
            diagnostic: false,
            place: "top",
            span: 0x3ff,
          };
          runModel(c, ops);
        },
      ),
      { numRuns: 300 },
    );
  }, 60_000);

  it("agrees on constrained best fit over many gaps (class pruning, lazily indexed gaps)", () => {
    // Many gaps of similar lengths and every start class: the best-fit scan switches to
    // pruning by gap-start class (alignment and boundary up to 64), and the gap index is filled
    // lazily between scans, through splits, trims, whole-run frees and three-way merges.
    let pruned = 0;
    const bestOp: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 4,
        arbitrary: allocOp({
          lo: fc.integer({ min: 0, max: 0x80 }),
          hi: fc.integer({ min: 0x300, max: 0x3ff }),
          size: fc.integer({ min: 1, max: 24 }),
          alignExp: fc.integer({ min: 0, max: 6 }),
          skew: fc.integer({ min: 0, max: 9 }),
          boundExp: fc.oneof(fc.constant(-1), fc.integer({ min: 3, max: 6 })),
          flags: fc.constantFrom(0, 0, 0, EX_BOUNDZERO, EX_FAST),
        }),
      },
      {
        weight: 3,
        arbitrary: freeAnyRun,
      },
      {
        weight: 1,
        arbitrary: regionOp({
          off: fc.integer({ min: 0, max: 0x3ff }),
          size: fc.integer({ min: 1, max: 0x10 }),
          flags: fc.constant(0),
        }),
      },
    );
    fc.assert(
      fc.property(
        fc.constantFrom(32 as const, 64 as const),
        fc.boolean(),
        fc.constantFrom("low" as const, "mid" as const),
        fc.array(fc.integer({ min: 0, max: 0x3ff }), { minLength: 20, maxLength: 120 }),
        fc.array(bestOp, { minLength: 1, maxLength: 60 }),
        (wordBits, coalesce, place, seeds, ops) => {
          const c: Config = {
            wordBits,
            coalesce,
            fixed: null,
            diagnostic: false,
            place,
            span: 0x3ff,
          };
          const pre: Op[] = seeds.map((off) => ({
            t: "region",
            off,
            size: 1 + (off % 5),
            flags: 0,
          }));
          const tree = make(c, "tree");
          const before = (tree.engine as TreeEngine).classScans;
          runModel(c, [...pre, ...ops], tree, true);
          pruned += (tree.engine as TreeEngine).classScans - before;
        },
      ),
      { numRuns: 80 },
    );
    // The generator must reach the pruned scan, or this test would prove nothing about it.
    expect(pruned).toBeGreaterThan(50);
  }, 60_000);

  it("agrees when best fits of long sizes leave short gaps unindexed or scan them directly", () => {
    // Crumbs (short gaps) between runs, best fits alternating long sizes (which index only the
    // gaps of their length tier and above) and short ones (which must then index the crumbs
    // left queued), while frees and splits move queued gaps from one tier to another.
    const tierOp: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 4,
        arbitrary: allocOp({
          // Repeated subregions, so that remembered neighbour pairs get reused (or found stale).
          lo: fc.oneof(fc.constantFrom(0, 0x10), fc.integer({ min: 0, max: 0x40 })),
          hi: fc.oneof(fc.constantFrom(0x2ff, 0x3ff), fc.integer({ min: 0x200, max: 0x3ff })),
          size: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 8, max: 40 })),
          alignExp: fc.integer({ min: 0, max: 4 }),
          skew: fc.integer({ min: 0, max: 3 }),
          boundExp: fc.oneof(fc.constant(-1), fc.integer({ min: 6, max: 7 })),
          flags: fc.constantFrom(0, 0, 0, EX_FAST),
        }),
      },
      // Often the first run (next to a remembered neighbour pair).
      { weight: 3, arbitrary: freeOftenFirst },
      {
        weight: 1,
        arbitrary: regionOp({
          off: fc.oneof(fc.integer({ min: 0, max: 0x20 }), fc.integer({ min: 0, max: 0x3ff })),
          size: fc.integer({ min: 1, max: 4 }),
          flags: fc.constant(0),
        }),
      },
    );
    const run = (
      directScanMax: number,
      counters: (eng: TreeEngine) => [number, number],
    ): [number, number] =>
      sumTreeCounters({
        op: tierOp,
        seeds: [30, 150],
        ops: [20, 60],
        sizeMod: 3,
        numRuns: 30,
        counters,
        directScanMax,
      });
    // Index every queued gap (0), so that the deferred flush (not the direct scan) is exercised:
    // the generator must reach both the deferred flush and the tier moves.
    const [deferred, moves] = run(0, (eng) => [eng.deferredScans, eng.tierMoves]);
    expect(deferred).toBeGreaterThan(50);
    expect(moves).toBeGreaterThan(50);
    // The same operations with a few queued gaps evaluated straight from their lists (and the
    // rest indexed once more of them wait): both paths must be reached and agree.
    const [direct, flushed] = run(3, (eng) => [eng.directScans, eng.deferredScans]);
    expect(direct).toBeGreaterThan(50);
    expect(flushed).toBeGreaterThan(10);
  }, 60_000);

  it("agrees when searches reuse remembered neighbours of the subregion ends", () => {
    // Every search looks up the neighbours of its aligned start and of subend + 1 without
    // needing the path; the engine remembers them per slot and checks them before use. Fixed
    // subregions make the pairs reusable; allocations, frees and regions at the low end (and
    // around subend) make them stale.
    const nearOp: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 4,
        arbitrary: allocOp({
          lo: fc.constantFrom(0, 0, 3),
          hi: fc.constantFrom(0x1ff, 0x3ff),
          size: fc.integer({ min: 1, max: 24 }),
          alignExp: fc.integer({ min: 0, max: 3 }),
          skew: fc.constant(0),
          boundExp: fc.oneof(fc.constant(-1), fc.integer({ min: 5, max: 6 })),
          flags: fc.constantFrom(0, EX_FAST),
        }),
      },
      { weight: 2, arbitrary: freeOftenFirst },
      {
        weight: 2,
        arbitrary: regionOp({
          off: fc.oneof(fc.integer({ min: 0, max: 0x10 }), fc.integer({ min: 0x1f0, max: 0x210 })),
          size: fc.integer({ min: 1, max: 4 }),
          flags: fc.constant(0),
        }),
      },
    );
    const [hits, stale] = sumTreeCounters({
      op: nearOp,
      seeds: [5, 60],
      ops: [10, 40],
      sizeMod: 4,
      numRuns: 60,
      counters: (eng) => [eng.locateHits, eng.locateStale],
    });
    // Both outcomes of the check must be reached: a pair reused, and a pair found stale.
    expect(hits).toBeGreaterThan(100);
    expect(stale).toBeGreaterThan(20);
  }, 60_000);

  it("agrees when inserts start from the run the search found (parent links)", () => {
    // After a search, the insert of the new allocation starts from the run whose gap holds it
    // and reaches the predecessor and the ancestors by parent links. Unaligned small requests
    // in a dense map often touch a neighbour on one side or both (coalescing joins), aligned
    // ones mostly make a new run; frees and regions keep the tree changing shape.
    const joinOp: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 4,
        arbitrary: allocOp({
          lo: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0x200 })),
          hi: fc.oneof(fc.constant(0x3ff), fc.integer({ min: 0x200, max: 0x3ff })),
          size: fc.integer({ min: 1, max: 6 }),
          alignExp: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 })),
          skew: fc.integer({ min: 0, max: 1 }),
          boundExp: fc.oneof(fc.constant(-1), fc.integer({ min: 3, max: 6 })),
          flags: fc.constantFrom(0, 0, EX_FAST),
        }),
      },
      { weight: 2, arbitrary: freeOftenFirst },
      {
        weight: 1,
        arbitrary: regionOp({
          off: fc.integer({ min: 0, max: 0x3ff }),
          size: fc.integer({ min: 1, max: 4 }),
          flags: fc.constant(0),
        }),
      },
    );
    const [hits, joins] = sumTreeCounters({
      op: joinOp,
      seeds: [40, 200],
      ops: [20, 60],
      sizeMod: 4,
      numRuns: 40,
      counters: (eng) => [eng.hintHits, eng.hintJoins],
    });
    // Both the plain insert from the found run and the join of two runs must be reached.
    expect(hits).toBeGreaterThan(200);
    expect(joins).toBeGreaterThan(20);
  }, 60_000);
});
