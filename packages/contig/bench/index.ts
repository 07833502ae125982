/**
 * `@mem/contig` benchmarks (`pnpm --filter @mem/contig bench`). On the 4 GiB x86_64 preset after the
 * seeded fragmenting workload (`fragmentMemory`, seed 1, defaults: the kernel's unmovable memory
 * first, then movable page cache and anonymous memory until the allocator refuses, 60% of the
 * allocated pages movable, 30% of those dirty, then 30% of allocations freed at random):
 *
 * 1. success rate and median time of `allocate` for a ladder of sizes (64 KiB to 1 GiB), 8 trials
 *    per size with 2,000 workload operations of churn before each, for each strategy: FreeBSD
 *    4.7's linear scan, the linear scan with laundering, NetBSD's extent mirror, the indexed
 *    search, and the indexed search with migration;
 * 2. the search alone, indexed vs the linear scan (the reference), per size, from address 0 (the
 *    nearly free ZONE_DMA answers small requests at once) and from 16 MiB (the fragmented zones);
 * 3. the cost of a page allocation + free through the buddy allocator with no observer, with the
 *    run-tree index, and with the run-tree index plus NetBSD's extent mirror.
 *
 * Writes bench/results.json.
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import { BuddyAllocator, buddyinfo, extfragIndex, GFP_KERNEL } from "@mem/buddy";
import { createMachine, PRESETS } from "@mem/machine";
import {
  CmaRegion,
  ContigAllocator,
  type ContigReclaim,
  type ContigSearch,
  fragmentMemory,
  mulberry32,
  PageQueues,
} from "../src/index.js";
import { linearReference, pageRequest } from "./reference.js";

const K = 1024;
const M = 1024 * K;
const G = 1024 * M;
const SIZES = [64 * K, 256 * K, M, 4 * M, 16 * M, 64 * M, 256 * M, G];
const TRIALS = Number(process.env.CONTIG_TRIALS ?? 8);
const PRESET = "x86_64-4g";

interface Result {
  name: string;
  medianNs: number;
  baselineName?: string;
  baselineMedianNs?: number;
  successRate?: number;
}
const results: Result[] = [];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return Number.NaN;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

function build(search: ContigSearch, mirror: boolean) {
  const m = createMachine(PRESETS[PRESET]!);
  const b = new BuddyAllocator(m);
  b.freeAllRam();
  const q = new PageQueues(m);
  const c = new ContigAllocator({ buddy: b, queues: q, search, mirror });
  const w = fragmentMemory(b, q, { seed: 1 });
  return { m, b, q, c, w };
}

const strategies: { name: string; search: ContigSearch; reclaim: ContigReclaim }[] = [
  { name: "linear (FreeBSD 4.7)", search: "linear", reclaim: "none" },
  { name: "linear + launder", search: "linear", reclaim: "launder" },
  { name: "extent mirror (NetBSD)", search: "extent", reclaim: "none" },
  { name: "indexed", search: "indexed", reclaim: "none" },
  { name: "indexed + migrate", search: "indexed", reclaim: "migrate" },
];

const table: string[] = [];
const fmtSize = (s: number): string =>
  s >= G ? `${s / G} GiB` : s >= M ? `${s / M} MiB` : `${s / K} KiB`;

console.log(`@mem/contig bench on ${PRESET}, ${TRIALS} trials per size\n`);
let searchEnv: ReturnType<typeof build> | null = null;
for (const st of strategies) {
  const t0 = performance.now();
  const env = build(st.search, st.search === "extent");
  const total = env.b.managedPages;
  const movable = env.w.movablePages();
  const unmovable = env.w.unmovablePages();
  console.log(
    `${st.name}: built in ${((performance.now() - t0) / 1000).toFixed(1)} s; movable ${movable}, unmovable ${unmovable}, free ${env.b.freePageCount} of ${total} pages (movable share of used pages ${(movable / (movable + unmovable)).toFixed(2)})`,
  );
  if (st.search === "indexed" && st.reclaim === "none") {
    console.log(buddyinfo(env.b));
    console.log(extfragIndex(env.b));
  }
  const row: string[] = [st.name];
  for (const size of SIZES) {
    let ok = 0;
    const times: number[] = [];
    for (let t = 0; t < TRIALS; t++) {
      env.w.churn(2000);
      const s = performance.now();
      const h = env.c.allocate({ size, reclaim: st.reclaim });
      times.push((performance.now() - s) * 1e6);
      if (h !== null) {
        ok++;
        env.c.free(h);
      }
    }
    const med = median(times);
    results.push({
      name: `allocate ${fmtSize(size)} ${st.name}`,
      medianNs: med,
      successRate: ok / TRIALS,
    });
    row.push(`${Math.round((100 * ok) / TRIALS)}% / ${(med / 1e6).toFixed(2)} ms`);
  }
  table.push(`| ${row.join(" | ")} |`);
  console.log(`  ${row.slice(1).join("  ")}`);
  if (st.search === "indexed" && st.reclaim === "none") searchEnv = env;
}

{
  // A CMA-like region of 1 GiB reserved right after boot, before the workload fragments memory.
  const t0 = performance.now();
  const m = createMachine(PRESETS[PRESET]!);
  const b = new BuddyAllocator(m);
  b.freeAllRam();
  const q = new PageQueues(m);
  const c = new ContigAllocator({ buddy: b, queues: q });
  const cma = CmaRegion.create(c, { size: G, alignment: G })!;
  const w = fragmentMemory(b, q, { seed: 1 });
  console.log(
    `CMA region (1 GiB reserved at boot): built in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const row: string[] = ["CMA region, 1 GiB reserved"];
  for (const size of SIZES) {
    let ok = 0;
    const times: number[] = [];
    for (let t = 0; t < TRIALS; t++) {
      w.churn(2000);
      const s = performance.now();
      const h = cma.allocate({ size });
      times.push((performance.now() - s) * 1e6);
      if (h !== null) {
        ok++;
        cma.free(h);
      }
    }
    const med = median(times);
    results.push({
      name: `allocate ${fmtSize(size)} CMA region`,
      medianNs: med,
      successRate: ok / TRIALS,
    });
    row.push(`${Math.round((100 * ok) / TRIALS)}% / ${(med / 1e6).toFixed(2)} ms`);
  }
  table.push(`| ${row.join(" | ")} |`);
  console.log(`  ${row.slice(1).join("  ")}`);
}

console.log(`\n| strategy | ${SIZES.map(fmtSize).join(" | ")} |`);
console.log(`| --- | ${SIZES.map(() => "---:").join(" | ")} |`);
for (const r of table) console.log(r);

// 2. Search only: indexed vs linear on the same state.
console.log("\nsearch only (median of 15 samples), indexed vs linear scan:");
const env = searchEnv!;
for (const low of [0, 16 * M])
  for (const size of SIZES) {
    for (const alignment of [4 * K, size]) {
      const r = pageRequest(env.c, size, alignment, low);
      const lin: number[] = [];
      const idx: number[] = [];
      let a = -2;
      let b = -2;
      // Each sample repeats the search until 2 ms have passed (small searches take microseconds).
      const sample = (fn: () => number, out: number[]): number => {
        let v = -2;
        let reps = 0;
        const s = performance.now();
        let e = s;
        do {
          v = fn();
          reps++;
          e = performance.now();
        } while (e - s < 2);
        out.push(((e - s) * 1e6) / reps);
        return v;
      };
      // Warm both up (the JIT), then alternate samples.
      sample(() => linearReference(env.c, r), []);
      sample(() => env.c.indexedFind(r), []);
      for (let k = 0; k < 15; k++) {
        a = sample(() => linearReference(env.c, r), lin);
        b = sample(() => env.c.indexedFind(r), idx);
      }
      if (a !== b) throw new Error(`search mismatch for ${size}: ${a} vs ${b}`);
      const name = `search ${fmtSize(size)} align ${fmtSize(alignment)}${low > 0 ? ` from ${fmtSize(low)}` : ""}`;
      results.push({
        name: `${name} indexed`,
        medianNs: median(idx),
        baselineName: `${name} linear`,
        baselineMedianNs: median(lin),
      });
      console.log(
        `  ${name.padEnd(44)} indexed ${(median(idx) / 1e3).toFixed(2).padStart(9)} µs  linear ${(median(lin) / 1e3).toFixed(1).padStart(9)} µs  x${(median(lin) / median(idx)).toFixed(1)}  (${b >= 0 ? `pfn ${b}` : "none"})`,
      );
    }
  }

// 3. Cost of the mirror per page allocation + free.
console.log("\npage alloc + free (order 0, GFP_KERNEL), per pair:");
const pairNs: Record<string, number> = {};
for (const mode of ["no observer", "run-tree index", "index + extent mirror"]) {
  const m = createMachine(PRESETS[PRESET]!);
  const b = new BuddyAllocator(m);
  b.freeAllRam();
  // Scatter 200,000 single pages so that the free pool has many runs.
  const rnd = mulberry32(5);
  const held: number[] = [];
  for (let k = 0; k < 400_000; k++) held.push(b.alloc(GFP_KERNEL, 0));
  for (let k = 0; k < 200_000; k++) {
    const j = Math.floor(rnd() * held.length);
    b.free(held[j]!, 0);
    held[j] = held[held.length - 1]!;
    held.pop();
  }
  if (mode !== "no observer") new ContigAllocator({ buddy: b, mirror: mode !== "run-tree index" });
  const n = 100_000;
  const samples: number[] = [];
  const pfns: number[] = new Array(64).fill(0);
  for (let rep = 0; rep < 15; rep++) {
    const s = performance.now();
    for (let k = 0; k < n; k += 64) {
      for (let j = 0; j < 64; j++) pfns[j] = b.alloc(GFP_KERNEL, 0);
      for (let j = 0; j < 64; j++) b.free(pfns[j]!, 0);
    }
    samples.push(((performance.now() - s) * 1e6) / n);
  }
  pairNs[mode] = median(samples);
  console.log(`  ${mode.padEnd(24)} ${pairNs[mode]!.toFixed(0)} ns`);
}
results.push({
  name: "page alloc+free with run-tree index",
  medianNs: pairNs["run-tree index"]!,
  baselineName: "page alloc+free, no observer",
  baselineMedianNs: pairNs["no observer"]!,
});
results.push({
  name: "page alloc+free with index + extent mirror",
  medianNs: pairNs["index + extent mirror"]!,
  baselineName: "page alloc+free, no observer",
  baselineMedianNs: pairNs["no observer"]!,
});

writeFileSync(
  new URL("./results.json", import.meta.url),
  `${JSON.stringify(
    {
      package: "@mem/contig",
      date: new Date().toISOString().slice(0, 10),
      node: process.version,
      results,
    },
    null,
    2,
  )}\n`,
);
console.log("\nwrote bench/results.json");
