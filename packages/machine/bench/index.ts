/**
 * @mem/machine benchmarks: building the page frame database of a large sparse machine, and pfn
 * lookups, against the naive per-page-object reference in ./naive.ts.
 */
import { writeFileSync } from "node:fs";
import { createMachine, flatPreset, PRESETS } from "@mem/machine";
import { bench, do_not_optimize, group, run } from "mitata";
import { buildNaive } from "./naive.js";

const numa = PRESETS["numa-64g"]!;
const small = PRESETS["x86_64-4g"]!;

// Build time and memory of the 64 GiB / 4-node / 1 TiB-span machine, measured directly.
const builds: number[] = [];
let bytes = 0;
let totalPages = 0;
for (let i = 0; i < 7; i++) {
  const t = performance.now();
  const m = createMachine(numa);
  builds.push(performance.now() - t);
  bytes = m.pages.bytes;
  totalPages = m.totalPages;
}
builds.sort((a, b) => a - b);
const buildMedianMs = builds[3]!;
console.log(
  `numa-64g build: median ${buildMedianMs.toFixed(1)} ms over 7 runs; page database ${(bytes / 2 ** 30).toFixed(2)} GiB for ${((totalPages * 4096) / 2 ** 30).toFixed(2)} GiB of RAM (${(bytes / totalPages).toFixed(2)} bytes per present page)`,
);

const m4 = createMachine(small);
const naive = buildNaive(m4);
const ram = m4.ramRanges;
const probes = new Float64Array(4096);
for (let i = 0; i < probes.length; i++) {
  const r = ram[i % ram.length]!;
  probes[i] = r.start + ((i * 7919) % (r.end - r.start));
}

group("build the page frame database (x86_64-4g, 1 Mi pages)", () => {
  bench("SoA per section (ours)", () => do_not_optimize(createMachine(small)));
  bench("Map of page objects (naive)", () => do_not_optimize(buildNaive(m4)));
});

group("pfn -> page entry, 4096 random pfns", () => {
  bench("indexOf (ours)", () => {
    let s = 0;
    for (let i = 0; i < probes.length; i++) s += m4.pages.indexOf(probes[i]!);
    return do_not_optimize(s);
  });
  bench("Map.get (naive)", () => {
    let s = 0;
    for (let i = 0; i < probes.length; i++) s += naive.get(probes[i]!)!.flags;
    return do_not_optimize(s);
  });
});

group("build a flat 64 GiB machine", () => {
  bench("createMachine(flatPreset(64))", () => do_not_optimize(createMachine(flatPreset(64))));
});

const out = await run({ format: "mitata" });
const median = (name: string): number => {
  for (const b of out.benchmarks)
    for (const r of b.runs) if (r.name === name && r.stats) return r.stats.p50;
  return Number.NaN;
};
const results = {
  package: "@mem/machine",
  date: new Date().toISOString().slice(0, 10),
  node: process.version,
  results: [
    {
      name: "build numa-64g (64 GiB, 4 nodes, 1 TiB span)",
      medianNs: buildMedianMs * 1e6,
      target: "< 1 s",
    },
    { name: "page database bytes per present page", value: bytes / totalPages, target: "<= 32" },
    {
      name: "build x86_64-4g page database",
      medianNs: median("SoA per section (ours)"),
      baselineName: "Map of page objects",
      baselineMedianNs: median("Map of page objects (naive)"),
    },
    {
      name: "4096 pfn lookups",
      medianNs: median("indexOf (ours)"),
      baselineName: "Map.get",
      baselineMedianNs: median("Map.get (naive)"),
    },
    { name: "build flat 64 GiB machine", medianNs: median("createMachine(flatPreset(64))") },
  ],
};
writeFileSync(new URL("./results.json", import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
