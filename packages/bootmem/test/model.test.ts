import { Rootmem } from "@mem/bootmem";
import { KernelPanic } from "@mem/machine";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ReferenceRootmem } from "../bench/reference.js";

const PS = 4096;

type Op =
  | { t: "free"; addr: number; size: number }
  | { t: "reserve"; addr: number; size: number; exclusive: boolean }
  | {
      t: "alloc";
      nid: number;
      size: number;
      align: number;
      goal: number;
      limit: number;
    }
  | { t: "release"; nid: number };

interface Config {
  bitsPerLong: 32 | 64;
  base: number;
  nodes: { nid: number; start: number; end: number }[];
  mapOffset: number;
  holes: { at: number; len: number }[];
  ops: Op[];
}

/** Runs `f` and returns its value or the KernelPanic code. */
function outcome<T>(f: () => T): { ok: T } | { panic: string } {
  try {
    return { ok: f() };
  } catch (e) {
    if (e instanceof KernelPanic) return { panic: e.code };
    throw e;
  }
}

const configArb: fc.Arbitrary<Config> = fc
  .record({
    bitsPerLong: fc.constantFrom(32 as const, 64 as const),
    // Spans below and far above 4 GiB (pfn 2^20 = 4 GiB with 4 KiB pages).
    base: fc.constantFrom(0, 1, 37, 2 ** 20 + 5, 2 ** 21 - 3, 3 * 2 ** 30 + 64),
    sizes: fc.array(fc.integer({ min: 0, max: 220 }), { minLength: 1, maxLength: 3 }),
    gaps: fc.array(fc.integer({ min: 0, max: 70 }), { minLength: 3, maxLength: 3 }),
    mapOffset: fc.nat(),
    holes: fc.array(fc.record({ at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }), {
      maxLength: 3,
    }),
  })
  .chain((c) => {
    const nodes: { nid: number; start: number; end: number }[] = [];
    let pfn = c.base;
    c.sizes.forEach((sz, i) => {
      pfn += i === 0 ? 0 : c.gaps[i]!;
      nodes.push({ nid: i, start: pfn, end: pfn + sz });
      pfn += sz;
    });
    const lo = c.base;
    const hi = pfn;
    const addr = fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: lo * PS, max: hi * PS + PS - 1 }) },
      { weight: 1, arbitrary: fc.integer({ min: Math.max(0, lo - 5) * PS, max: (hi + 5) * PS }) },
    );
    const size = fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 1, max: 300 }) },
      { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 * PS }) },
      { weight: 1, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 * PS }) },
    );
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 2, arbitrary: fc.record({ t: fc.constant("free" as const), addr, size }) },
      {
        weight: 2,
        arbitrary: fc.record({
          t: fc.constant("reserve" as const),
          addr,
          size,
          exclusive: fc.boolean(),
        }),
      },
      {
        weight: 6,
        arbitrary: fc.record({
          t: fc.constant("alloc" as const),
          nid: fc.constantFrom(-1, -1, 0, 1, 2, 5),
          size,
          align: fc.constantFrom(1, 8, 64, 64, 512, PS, 2 * PS, 8 * PS, 3, 0),
          goal: fc.oneof(fc.constant(0), addr),
          limit: fc.oneof(fc.constant(0), fc.constant(0), addr),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({ t: fc.constant("release" as const), nid: fc.constantFrom(0, 1, 2) }),
      },
    );
    return fc.record({
      bitsPerLong: fc.constant(c.bitsPerLong),
      base: fc.constant(c.base),
      nodes: fc.constant(nodes),
      mapOffset: fc.constant(c.mapOffset),
      holes: fc.constant(c.holes),
      ops: fc.array(op, { maxLength: 60 }),
    });
  });

function compareState(real: Rootmem, model: ReferenceRootmem, cfg: Config): void {
  const lo = Math.max(0, cfg.base - 3);
  const hi = (cfg.nodes[cfg.nodes.length - 1]?.end ?? 0) + 3;
  for (let p = lo; p < hi; p++) {
    if (real.isReserved(p) !== model.isReserved(p)) {
      throw new Error(`pfn ${p}: real ${real.isReserved(p)}, model ${model.isReserved(p)}`);
    }
  }
  real.checkInvariants();
}

describe("Rootmem (model-based)", () => {
  it("matches the bit-at-a-time model on random register/free/reserve/alloc/release sequences", () => {
    const seen = { allocs: 0, merged: 0, panics: 0, releases: 0 };
    fc.assert(
      fc.property(configArb, (cfg) => {
        const real = new Rootmem({ pageSize: PS, bitsPerLong: cfg.bitsPerLong });
        const model = new ReferenceRootmem(PS, cfg.bitsPerLong);
        for (const n of cfg.nodes) {
          real.registerNode(n.nid, n.start, n.end);
          model.registerNode(n.nid, n.start, n.end);
        }
        const withMem = cfg.nodes.filter((n) => n.end > n.start);
        if (withMem.length === 0) {
          expect(outcome(() => real.mapPages())).toEqual({ panic: "no-memory" });
          return;
        }
        expect(real.mapPages()).toBe(model.mapPages());
        const n0 = withMem[0]!;
        const mapPfn = n0.start + (cfg.mapOffset % (n0.end - n0.start));
        real.setup(mapPfn);
        model.setup(mapPfn);
        // Usable RAM: every node minus a few holes; the bitmap reserved again.
        for (const n of withMem) {
          real.free(n.start * PS, (n.end - n.start) * PS);
          model.free(n.start * PS, (n.end - n.start) * PS);
        }
        for (const h of cfg.holes) {
          const at = cfg.base + (h.at % 300);
          const a = outcome(() => real.reserve(at * PS, h.len * PS));
          expect(outcome(() => model.reserve(at * PS, h.len * PS))).toEqual(a);
        }
        const mp = Math.min(real.mapPages(), n0.end - mapPfn);
        real.reserve(mapPfn * PS, mp * PS);
        model.reserve(mapPfn * PS, mp * PS);
        compareState(real, model, cfg);
        const realSink: number[] = [];
        const modelSink: number[] = [];
        for (const op of cfg.ops) {
          const before = real.digest();
          let a: unknown;
          let b: unknown;
          switch (op.t) {
            case "free":
              a = outcome(() => real.free(op.addr, op.size));
              b = outcome(() => model.free(op.addr, op.size));
              break;
            case "reserve":
              a = outcome(() => real.reserve(op.addr, op.size, op.exclusive));
              b = outcome(() => model.reserve(op.addr, op.size, op.exclusive));
              break;
            case "alloc":
              a = outcome(() => real.allocNode(op.nid, op.size, op.align, op.goal, op.limit));
              b = outcome(() => model.allocNode(op.nid, op.size, op.align, op.goal, op.limit));
              break;
            case "release":
              a = outcome(() => real.releaseNode(op.nid, (p, o) => realSink.push(p, o)));
              b = outcome(() => model.releaseNode(op.nid, (p, o) => modelSink.push(p, o)));
              break;
          }
          expect(a, JSON.stringify(op)).toEqual(b);
          if (typeof a === "object" && a !== null && "panic" in a) seen.panics++;
          else if (op.t === "release") seen.releases++;
          else if (op.t === "alloc" && typeof a === "object" && a !== null && "ok" in a) {
            const addr = (a as { ok: number | null }).ok;
            if (addr !== null) seen.allocs++;
            if (addr !== null && addr % PS !== 0) seen.merged++;
          }
          if (typeof a === "object" && a !== null && "panic" in a) {
            expect(real.digest()).toBe(before);
          }
          compareState(real, model, cfg);
          expect(realSink).toEqual(modelSink);
        }
        expect(real.log).toEqual(model.log);
      }),
      { numRuns: 400 },
    );
    // The generator reaches every kind of outcome (the test is not vacuous).
    expect(seen.allocs).toBeGreaterThan(150);
    expect(seen.merged).toBeGreaterThan(5);
    expect(seen.panics).toBeGreaterThan(100);
    expect(seen.releases).toBeGreaterThan(20);
  });

  it("releases every page exactly once over all nodes", () => {
    fc.assert(
      fc.property(configArb, (cfg) => {
        const withMem = cfg.nodes.filter((n) => n.end > n.start);
        fc.pre(withMem.length > 0);
        const real = new Rootmem({ pageSize: PS, bitsPerLong: cfg.bitsPerLong });
        for (const n of cfg.nodes) real.registerNode(n.nid, n.start, n.end);
        const n0 = withMem[0]!;
        const mapPfn = n0.start + (cfg.mapOffset % (n0.end - n0.start));
        real.setup(mapPfn);
        for (const n of withMem) real.free(n.start * PS, (n.end - n.start) * PS);
        const mp = Math.min(real.mapPages(), n0.end - mapPfn);
        real.reserve(mapPfn * PS, mp * PS);
        for (const op of cfg.ops) {
          if (op.t === "alloc")
            outcome(() => real.allocNode(op.nid, op.size, op.align, op.goal, op.limit));
          if (op.t === "reserve") outcome(() => real.reserve(op.addr, op.size, op.exclusive));
        }
        const freeBefore = real.freePages();
        const seen = new Set<number>();
        let total = 0;
        for (const n of cfg.nodes) {
          total += real.releaseNode(n.nid, (pfn, order) => {
            expect(pfn % 2 ** order).toBe(0);
            for (let p = pfn; p < pfn + 2 ** order; p++) {
              expect(seen.has(p)).toBe(false);
              seen.add(p);
            }
          });
        }
        expect(total).toBe(seen.size);
        // Free pages plus the bitmap's own pages, each once.
        expect(total).toBe(freeBefore + real.mapPages());
        for (let p = mapPfn; p < mapPfn + real.mapPages(); p++) expect(seen.has(p)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
