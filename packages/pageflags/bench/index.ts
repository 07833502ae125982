/**
 * @mem/pageflags benchmarks: the page flag map against a flat Uint32Array over the whole span
 * (bench/naive.ts), roaring (RoaringBitmap32, CRoaring) and sparse-bitfield, on
 * (a) a dense 64 GiB machine, (b) a 1 TiB span with 64 GiB present in 4 nodes, (c) random sparse
 * sets. Every benched pfn is below 2^28, so RoaringBitmap32 (32-bit values only) holds them as is.
 * Prints mitata's table and writes bench/results.json.
 */
import { writeFileSync } from "node:fs";
import { createPageFlags, type PageFlagMap } from "@mem/pageflags";
import { bench, do_not_optimize, group, run, summary } from "mitata";
import roaring from "roaring";
import bitfield from "sparse-bitfield";
import { FakeAllocator, FakeSpace, GIB } from "../test/fake-machine.js";
import { FlatBitmap, rng } from "./naive.js";

const { RoaringBitmap32 } = roaring;
const OPS = 4096;

interface Subjects {
  readonly label: string;
  readonly map: PageFlagMap;
  readonly flat: FlatBitmap;
  readonly roar: InstanceType<typeof RoaringBitmap32>;
  readonly sbf: ReturnType<typeof bitfield>;
  /** pfns the ops use (all inside the map). */
  readonly probes: Float64Array;
  readonly presentPages: number;
}

function makeSubjects(
  label: string,
  space: FakeSpace,
  mode: "present" | "sparse",
  span: number,
  fill: readonly number[],
  probes: Float64Array,
): Subjects {
  const map = createPageFlags({ space, allocator: new FakeAllocator(), mode });
  if (map === null) throw new Error("bench: allocation failed");
  const flat = new FlatBitmap(span);
  const roar = new RoaringBitmap32();
  const sbf = bitfield();
  for (const pfn of fill) {
    map.set(pfn);
    flat.set(pfn);
    roar.add(pfn);
    sbf.set(pfn, true);
  }
  return { label, map, flat, roar, sbf, probes, presentPages: space.presentPages() };
}

function randomPfns(
  next: () => number,
  ranges: readonly (readonly [number, number])[],
  n: number,
): number[] {
  const total = ranges.reduce((s, [a, b]) => s + b - a, 0);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let k = Math.floor(next() * total);
    for (const [a, b] of ranges) {
      if (k < b - a) {
        out.push(a + k);
        break;
      }
      k -= b - a;
    }
  }
  return out;
}

// (a) dense 64 GiB machine: 16 Mi pfns, all present.
const rA = rng(1);
const rangesA: [number, number][] = [[0, 64 * GIB]];
const spaceA = new FakeSpace({ physAddrBits: 46, ranges: rangesA });
const a = makeSubjects(
  "(a) dense 64 GiB",
  spaceA,
  "present",
  64 * GIB,
  randomPfns(rA, rangesA, (64 * GIB) / 1024),
  Float64Array.from(randomPfns(rA, rangesA, OPS)),
);

// (b) 1 TiB span, 64 GiB present in 4 nodes of 16 GiB at 0, 256, 512, 768 GiB.
const rB = rng(2);
const rangesB: [number, number][] = [0, 256, 512, 768].map((g) => [g * GIB, (g + 16) * GIB]);
const spaceB = new FakeSpace({ physAddrBits: 46, ranges: rangesB });
const b = makeSubjects(
  "(b) 1 TiB span, 4 nodes",
  spaceB,
  "present",
  1024 * GIB,
  randomPfns(rB, rangesB, (64 * GIB) / 1024),
  Float64Array.from(randomPfns(rB, rangesB, OPS)),
);

// (c) random sparse sets: 16 Ki random pfns over a 1 TiB span, sparse mode.
const rC = rng(3);
const rangesC: [number, number][] = [[0, 1024 * GIB]];
const spaceC = new FakeSpace({ physAddrBits: 46, ranges: rangesC });
const fillC = randomPfns(rC, rangesC, 16384);
const c = makeSubjects(
  "(c) 16 Ki random pfns in 1 TiB, sparse",
  spaceC,
  "sparse",
  1024 * GIB,
  fillC,
  // half hits, half random probes
  Float64Array.from([...fillC.slice(0, OPS / 2), ...randomPfns(rC, rangesC, OPS / 2)]),
);

interface Row {
  name: string;
  medianNs: number;
  baselineName: string;
  baselineMedianNs: number;
}
const pairs: { name: string; baseline: string; perOp: number }[] = [];

for (const s of [a, b, c]) {
  const { map, flat, roar, sbf, probes } = s;
  // set: writes bits already set in the fill, or new ones; same work for all subjects
  group(`${s.label}: test (${OPS} random pfns)`, () => {
    summary(() => {
      bench(`${s.label} test: flat Uint32Array`, () => {
        let n = 0;
        for (let i = 0; i < probes.length; i++) if (flat.test(probes[i]!)) n++;
        do_not_optimize(n);
      }).baseline(true);
      bench(`${s.label} test: pageflags`, () => {
        let n = 0;
        for (let i = 0; i < probes.length; i++) if (map.test(probes[i]!)) n++;
        do_not_optimize(n);
      });
      bench(`${s.label} test: roaring`, () => {
        let n = 0;
        for (let i = 0; i < probes.length; i++) if (roar.has(probes[i]!)) n++;
        do_not_optimize(n);
      });
      bench(`${s.label} test: sparse-bitfield`, () => {
        let n = 0;
        for (let i = 0; i < probes.length; i++) if (sbf.get(probes[i]!)) n++;
        do_not_optimize(n);
      });
    });
  });
  group(`${s.label}: set (${OPS} random pfns)`, () => {
    summary(() => {
      bench(`${s.label} set: flat Uint32Array`, () => {
        for (let i = 0; i < probes.length; i++) flat.set(probes[i]!);
      }).baseline(true);
      bench(`${s.label} set: pageflags`, () => {
        for (let i = 0; i < probes.length; i++) map.set(probes[i]!);
      });
      bench(`${s.label} set: roaring`, () => {
        for (let i = 0; i < probes.length; i++) roar.add(probes[i]!);
      });
      bench(`${s.label} set: sparse-bitfield`, () => {
        for (let i = 0; i < probes.length; i++) sbf.set(probes[i]!, true);
      });
    });
  });
  for (const op of ["test", "set"]) {
    for (const other of ["pageflags", "roaring", "sparse-bitfield"]) {
      pairs.push({
        name: `${s.label} ${op}: ${other}`,
        baseline: `${s.label} ${op}: flat Uint32Array`,
        perOp: OPS,
      });
    }
  }
}

// Next-set-bit scans over the 64 GiB map (2 MiB of bitmap): walk every set bit.
group("(a) scan: every set bit of a 64 GiB map (1 in 1024 set)", () => {
  summary(() => {
    bench("(a) scan nextSet: flat Uint32Array", () => {
      let n = 0;
      for (let p = a.flat.nextSet(0); p >= 0; p = a.flat.nextSet(p + 1)) n++;
      do_not_optimize(n);
    }).baseline(true);
    bench("(a) scan nextSet: pageflags", () => {
      let n = 0;
      for (let p = a.map.nextSet(0); p >= 0; p = a.map.nextSet(p + 1)) n++;
      do_not_optimize(n);
    });
    bench("(a) scan iterator: pageflags", () => {
      let n = 0;
      for (const _ of a.map) n++;
      do_not_optimize(n);
    });
    bench("(a) scan iterator: roaring", () => {
      let n = 0;
      for (const _ of a.roar) n++;
      do_not_optimize(n);
    });
  });
});
const emptyA = createPageFlags({ space: spaceA, allocator: new FakeAllocator(), mode: "present" })!;
const emptyFlat = new FlatBitmap(64 * GIB);
group("(a) scan: nextSet(0) over an empty 64 GiB map", () => {
  summary(() => {
    bench("(a) scan empty: flat Uint32Array", () => do_not_optimize(emptyFlat.nextSet(0))).baseline(
      true,
    );
    bench("(a) scan empty: pageflags", () => do_not_optimize(emptyA.nextSet(0)));
  });
});
group("(a) count: population count of a 64 GiB map", () => {
  summary(() => {
    bench("(a) count: flat Uint32Array", () => do_not_optimize(a.flat.count())).baseline(true);
    bench("(a) count: pageflags", () => do_not_optimize(a.map.count()));
    bench("(a) count: roaring", () => do_not_optimize(a.roar.size));
  });
});
pairs.push(
  { name: "(a) scan nextSet: pageflags", baseline: "(a) scan nextSet: flat Uint32Array", perOp: 1 },
  {
    name: "(a) scan iterator: pageflags",
    baseline: "(a) scan nextSet: flat Uint32Array",
    perOp: 1,
  },
  { name: "(a) scan iterator: roaring", baseline: "(a) scan nextSet: flat Uint32Array", perOp: 1 },
  { name: "(a) scan empty: pageflags", baseline: "(a) scan empty: flat Uint32Array", perOp: 1 },
  { name: "(a) count: pageflags", baseline: "(a) count: flat Uint32Array", perOp: 1 },
);

const out = await run();
const median = new Map<string, number>();
for (const t of out.benchmarks) {
  for (const r of t.runs) if (r.stats !== undefined) median.set(r.name, r.stats.p50);
}
const results: Row[] = pairs.map((p) => ({
  name: p.perOp > 1 ? `${p.name} (per op)` : p.name,
  medianNs: round((median.get(p.name) ?? Number.NaN) / p.perOp),
  baselineName: p.perOp > 1 ? `${p.baseline} (per op)` : p.baseline,
  baselineMedianNs: round((median.get(p.baseline) ?? Number.NaN) / p.perOp),
}));

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

// Memory, in bytes, and scan throughput.
function sbfBytes(sbf: ReturnType<typeof bitfield>): number {
  let pages = 0;
  for (let i = 0; i < sbf.pages.length; i++) if (sbf.pages.get(i, true) !== undefined) pages++;
  return pages * sbf.pageSize;
}
const memory = [a, b, c].map((s) => ({
  scenario: s.label,
  presentOver8: s.presentPages / 8,
  pageflags: s.map.bytesUsed(),
  // the direct leaf table test/set go through (JS heap, not machine pages), counted in the ratio
  pageflagsDirectTable: s.map.directTableBytes(),
  pageflagsRatio: round((s.map.bytesUsed() + s.map.directTableBytes()) / (s.presentPages / 8)),
  flat: s.flat.bytes(),
  roaring: s.roar.getSerializationSizeInBytes("croaring"),
  sparseBitfield: sbfBytes(s.sbf),
}));
const bitmapBytes = (64 * GIB) / 8;
const scanNs = median.get("(a) scan nextSet: pageflags") ?? Number.NaN;
const emptyNs = median.get("(a) scan empty: pageflags") ?? Number.NaN;
const throughput = {
  bitmapBytes,
  nextSetScanGBps: round(bitmapBytes / scanNs),
  emptyScanGBps: round(bitmapBytes / emptyNs),
};
console.log("\nmemory (bytes):");
console.table(memory);
console.log("scan throughput (GB/s of bitmap):", throughput);

writeFileSync(
  new URL("./results.json", import.meta.url),
  `${JSON.stringify(
    {
      package: "@mem/pageflags",
      date: new Date().toISOString().slice(0, 10),
      node: process.version,
      results,
      memory,
      throughput,
    },
    null,
    2,
  )}\n`,
);
