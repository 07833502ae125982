/**
 * The HTML report of a sweep: contig success rate against fragmentation per strategy (one point
 * per run), the mean success per parameter set, the summary table and the records.
 *
 * @module
 */
import type { SweepResult } from "../sweep/sweep.js";
import { escapeHtml, fmt, table } from "./html.js";
import { renderPage } from "./page.js";

/** The most records the report's table lists (the charts show all of them). */
export const SWEEP_TABLE_ROWS = 2000;

/** Renders a sweep as a self-contained HTML page. */
export function renderSweepReport(s: SweepResult): string {
  const pct = (x: number | undefined): string =>
    x === undefined ? "–" : `${(x * 100).toFixed(1)}%`;
  const summary = table(
    [
      "parameters",
      "runs",
      "errors",
      ...s.strategies.map((x) => `contig ${x}`),
      `unusable index, order ${s.fragOrder}`,
      "mean free pages",
      "mean netback packets",
      "distinct digests",
    ],
    s.groups.map((g) => [
      g.label,
      g.runs,
      g.errors,
      ...s.strategies.map((x) => pct(g.contigSuccess[x])),
      g.unusable,
      Math.round(g.meanFreePages),
      Math.round(g.meanNetbackPackets),
      g.digests,
    ]),
  );
  const shown = s.records.slice(0, SWEEP_TABLE_ROWS);
  const records = table(
    [
      "#",
      "seed",
      "parameters",
      ...s.strategies.map((x) => `contig ${x}`),
      `unusable o${s.fragOrder}`,
      "free pages",
      "netback",
      "digest",
      "error",
    ],
    shown.map((r) => [
      r.index,
      r.seed,
      Object.entries(r.params)
        .map(([k, v]) => `${k}=${v}`)
        .join(", "),
      ...s.strategies.map((x) => pct(r.contigSuccess[x])),
      r.unusable[s.fragOrder] ?? 0,
      r.freePages,
      r.netbackPackets,
      r.digest,
      r.error ?? "",
    ]),
  );
  const params = Object.entries(s.params)
    .map(([k, v]) => `${k} = ${v.join(", ")}`)
    .join("; ");
  const body = `
<section id="sweep-summary"><h2>Summary</h2>
<p class="muted">${escapeHtml(`${fmt(s.records.length)} runs: ${s.groups.length} parameter sets (${params || "defaults"}) x ${s.seeds.length} seeds, on ${s.workers} workers.`)}</p>
${summary}</section>
<section id="sweep-charts"><h2>Contiguous allocation and fragmentation</h2>
<div class="grid"><div id="chart-sweep-scatter" class="chart" data-chart></div><div id="chart-sweep-groups" class="chart" data-chart></div></div>
</section>
<section id="sweep-records"><h2>Runs</h2>${s.records.length > shown.length ? `<p class="muted">The first ${shown.length} of ${fmt(s.records.length)}.</p>` : ""}${records}</section>
`;
  return renderPage({
    title: `mem sim sweep: ${s.scenario}`,
    subtitle: `contig success rate against fragmentation (unusable free index at order ${s.fragOrder}) per strategy`,
    body,
    data: {
      kind: "sweep",
      sweep: {
        records: s.records.map((r) => ({
          contigSuccess: r.contigSuccess,
          unusable: r.unusable,
          error: r.error,
        })),
        groups: s.groups.map((g) => ({ label: g.label, contigSuccess: g.contigSuccess })),
        strategies: s.strategies,
        fragOrder: s.fragOrder,
      },
    },
  });
}
