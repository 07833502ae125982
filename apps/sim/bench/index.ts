/**
 * Speed targets of the simulator (medians of a few runs, performance.now()): the showcase on the
 * default preset (in process; add the tsx start-up for `pnpm sim`), a 64 GiB boot, bytes per
 * present page after a 64 GiB boot, and a churn of 10^6 operations.
 */
import { writeFileSync } from "node:fs";
import { flatPreset } from "@mem/machine";
import { boot } from "../src/index.js";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(n: number, fn: () => void): number {
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

globalThis.gc?.();
const before = process.memoryUsage();
const k = boot({ machine: flatPreset(64) });
globalThis.gc?.();
const after = process.memoryUsage();
const bytes = after.arrayBuffers + after.heapUsed - before.arrayBuffers - before.heapUsed;
const perPage = bytes / k.machine.totalPages;
const showcase = time(3, () => {
  boot().run("showcase");
});
const boot64 = time(3, () => {
  boot({ machine: flatPreset(64) });
});
const churn = time(3, () => {
  boot().run({ name: "churn", sampleEvery: 0, steps: [{ do: "churn", ops: 1_000_000 }] });
});
const results = [
  { name: "showcase on x86_64-4g (in process, ms)", medianNs: showcase * 1e6 },
  { name: "boot flatPreset(64) (ms)", medianNs: boot64 * 1e6 },
  { name: "churn 1e6 ops incl. boot (ms)", medianNs: churn * 1e6 },
  { name: "host bytes per present page after a 64 GiB boot", medianNs: perPage },
];
console.table(
  results.map((r) => ({
    name: r.name,
    value: r.name.includes("bytes") ? r.medianNs.toFixed(1) : (r.medianNs / 1e6).toFixed(0),
  })),
);
writeFileSync(
  new URL("./results.json", import.meta.url),
  `${JSON.stringify({ package: "@mem/sim", date: new Date().toISOString().slice(0, 10), node: process.version, results }, null, 2)}\n`,
);
