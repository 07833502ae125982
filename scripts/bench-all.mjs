// `pnpm bench`: runs every package's bench/ (mitata) one at a time, then collects each
// bench/results.json into docs/benchmarks.md with the machine, date, Node version, the median per
// operation and the ratio to the package's baseline. Benchmarks are never a CI gate.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";

// `--collect` only rebuilds docs/benchmarks.md from the results.json files already there.
const collectOnly = process.argv.includes("--collect");
const only = process.argv.slice(2).filter((a) => a !== "--collect");
const dirs = ["packages", "apps"].flatMap((top) =>
  readdirSync(top, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(top, d.name, "bench", "index.ts")))
    .map((d) => join(top, d.name)),
);

for (const dir of dirs) {
  if (collectOnly || (only.length && !only.some((o) => dir.endsWith(o)))) continue;
  console.log(`\n=== ${dir} ===`);
  try {
    execFileSync("npx", ["tsx", "--conditions=@mem/source", "bench/index.ts"], {
      cwd: dir,
      stdio: "inherit",
    });
  } catch {
    console.error(`bench failed in ${dir}; keeping its previous results`);
  }
}

const fmt = (ns) => {
  if (ns === undefined || ns === null || Number.isNaN(ns)) return "–";
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(1)} ns`;
};

const cpu = cpus();
const lines = [
  "# Benchmarks",
  "",
  "Written by `pnpm bench` (scripts/bench-all.mjs) from each package's `bench/results.json`.",
  "Medians per operation; the ratio is baseline median / our median (higher is better).",
  "",
  `- Machine: ${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
  `- Node: ${process.version}`,
  `- Collected: ${new Date().toISOString().slice(0, 10)}`,
  "",
];
for (const dir of dirs) {
  const file = join(dir, "bench", "results.json");
  if (!existsSync(file)) continue;
  const r = JSON.parse(readFileSync(file, "utf8"));
  lines.push(`## ${r.package}`, "", `Measured ${r.date} on Node ${r.node}.`, "");
  // A results file written by hand from several runs says how (for example "median of five runs").
  if (r.note) lines.push(`${r.note[0].toUpperCase()}${r.note.slice(1)}.`, "");
  lines.push(
    "| operation | median | baseline | baseline median | ratio | target |",
    "|---|---|---|---|---|---|",
  );
  for (const x of r.results) {
    const value =
      x.medianNs !== undefined
        ? fmt(x.medianNs)
        : `${Number(x.value).toFixed(2)}${x.unit ? ` ${x.unit}` : ""}`;
    const ratio =
      x.baselineMedianNs && x.medianNs ? `${(x.baselineMedianNs / x.medianNs).toFixed(1)}×` : "–";
    lines.push(
      `| ${x.name} | ${value} | ${x.baselineName ?? "–"} | ${fmt(x.baselineMedianNs)} | ${ratio} | ${x.target ?? "–"} |`,
    );
  }
  lines.push("");
}
writeFileSync("docs/benchmarks.md", `${lines.join("\n")}\n`);
console.log("\nwrote docs/benchmarks.md");
