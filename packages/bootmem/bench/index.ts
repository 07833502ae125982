/**
 * Benchmarks of @mem/bootmem on a 64 GiB machine (16 Mi pages of 4 KiB), against the
 * bit-at-a-time reference: 10^5 small allocations with merging, 10^3 page-aligned blocks, and
 * the release of all 16 Mi pages into a counting sink. Prints a table and writes
 * bench/results.json. Medians come from a performance.now() loop (per batch of operations).
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { booted, fast, type Impl, naive, pageBlocks, smallSize } from "./scenarios.js";

const PAGES = 16 * 1024 * 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Per-operation median over batches of `batch` operations. */
function perOp(r: Impl, total: number, batch: number, op: (r: Impl, i: number) => void): number {
  const samples: number[] = [];
  for (let i = 0; i < total; i += batch) {
    const t = performance.now();
    for (let j = i; j < i + batch; j++) op(r, j);
    samples.push(((performance.now() - t) * 1e6) / batch);
  }
  return median(samples);
}

function small(make: () => Impl, total: number): number {
  const r = booted(make, PAGES);
  return perOp(r, total, 100, (x, i) => x.allocNode(-1, smallSize(i), 8, 0, 0));
}

function blocks(make: () => Impl, total: number): number {
  const r = booted(make, PAGES);
  return perOp(r, total, 10, (x, i) => pageBlocks(x, 1, [], i));
}

function release(make: () => Impl, runs: number): number {
  const samples: number[] = [];
  for (let k = 0; k < runs; k++) {
    const r = booted(make, PAGES);
    let count = 0;
    const t = performance.now();
    r.releaseNode(0, (_pfn, order) => {
      count += 2 ** order;
    });
    samples.push((performance.now() - t) * 1e6);
    if (count < PAGES - 4000) throw new Error(`released only ${count}`);
  }
  return median(samples);
}

const results = [
  {
    name: "alloc small (merging), 1e5 on 16 Mi pages, per allocation",
    medianNs: small(fast, 100_000),
    baselineName: "bit-at-a-time reference, 1e4",
    baselineMedianNs: small(naive, 10_000),
  },
  {
    name: "alloc page-aligned block (1-16 pages), 1e3, per allocation",
    medianNs: blocks(fast, 1000),
    baselineName: "bit-at-a-time reference",
    baselineMedianNs: blocks(naive, 1000),
  },
  {
    name: "release all 16 Mi pages into a counting sink",
    medianNs: release(fast, 7),
    baselineName: "bit-at-a-time reference",
    baselineMedianNs: release(naive, 3),
  },
];

const fmt = (ns: number): string =>
  ns >= 1e6
    ? `${(ns / 1e6).toFixed(2)} ms`
    : ns >= 1e3
      ? `${(ns / 1e3).toFixed(2)} µs`
      : `${ns.toFixed(1)} ns`;
console.log(`${"benchmark".padEnd(62)} ${"median".padStart(12)} ${"reference".padStart(12)}`);
for (const r of results) {
  console.log(
    `${r.name.padEnd(62)} ${fmt(r.medianNs).padStart(12)} ${fmt(r.baselineMedianNs).padStart(12)}`,
  );
}
const out = {
  package: "@mem/bootmem",
  date: new Date().toISOString().slice(0, 10),
  node: process.version,
  results,
};
const here = dirname(fileURLToPath(import.meta.url));
writeFileSync(join(here, "results.json"), `${JSON.stringify(out, null, 2)}\n`);
