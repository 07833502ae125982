/**
 * The HTML report of one run: the memory map, free pages and fragmentation over time, the contig
 * ladder, the devices' figures, and the boot log, in one self-contained page.
 *
 * @module
 */
import type { RunResult } from "../internal/run.js";
import { bytesLabel, escapeHtml, fmt, table } from "./html.js";
import { renderPage } from "./page.js";
import { encodePageMap } from "./page-map.js";

function kv(rows: readonly (readonly [string, unknown])[]): string {
  return `<table class="kv"><tbody>${rows
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(fmt(v))}</td></tr>`)
    .join("")}</tbody></table>`;
}

function small(title: string, html: string): string {
  return `<div><h3>${escapeHtml(title)}</h3>${html}</div>`;
}

/** Line colours of the free-by-order series, one hue per order. */
function orderColors(): string[] {
  const out: string[] = [];
  for (let o = 0; o < 16; o++) out.push(`hsl(${(20 + o * 22) % 360}, 75%, 45%)`);
  return out;
}

/** Renders `r` as a self-contained HTML page. */
export function renderRunReport(r: RunResult): string {
  const map = encodePageMap(r.pageMap, r.zones);
  const m = r.machine;
  const ps = m.pageSize;
  const legendRows = map.legend
    .map((name, i) => ({ name, i, n: r.pageMap.counts[name] ?? 0 }))
    .filter((x) => x.name !== "" && (x.n > 0 || !x.name.startsWith("free-order-")))
    .map(
      (x) =>
        `<span class="item"><span class="sw" style="background:${map.colors[x.i]}"></span>${escapeHtml(x.name)} <span class="n">${escapeHtml(fmt(x.n))}</span></span>`,
    )
    .join("");
  const zoneOptions = [
    `<option value="-1">all zones</option>`,
    ...r.series.zones.map((z, k) => `<option value="${k}">${escapeHtml(z)}</option>`),
  ].join("");
  const sizeLabels: Record<number, string> = {};
  for (const g of r.contig.ladder) sizeLabels[g.bytes] = bytesLabel(g.bytes);

  const overview = kv([
    ["scenario", r.scenario],
    ["machine", m.name],
    ["page size", `${m.pageSize} bytes`],
    ["present pages", m.presentPages],
    ["CPUs", m.cpus],
    ["boot allocator", m.bootAllocator],
    ["seed", r.seed],
    ["operations", r.ops],
    ["simulated time", `${(r.simTimeUs / 1e6).toFixed(3)} s`],
    ["free pages", `${fmt(r.buddy.freePages)} of ${fmt(r.buddy.managedPages)} managed`],
    ["invariants", r.invariants.checks > 0 ? (r.invariants.ok ? "ok" : "BROKEN") : "not checked"],
    ["digest", r.digest],
  ]);
  const zonesTable = table(
    ["zone", "start pfn", "spanned", "present", "managed", "free", "min/low/high"],
    r.zones.map((z) => [
      z.label,
      `0x${z.startPfn.toString(16)}`,
      z.spannedPages,
      z.presentPages,
      z.managedPages,
      z.freePages,
      `${z.min}/${z.low}/${z.high}`,
    ]),
  );
  const stepsTable = table(
    ["step", "operations", "simulated ms", "wall ms"],
    r.steps.map((s) => [s.do, s.ops, (s.simUs / 1000).toFixed(1), s.wallMs.toFixed(0)]),
  );
  const ladderTable =
    r.contig.ladder.length > 0
      ? table(
          ["strategy", "size", "successes", "attempts", "mean µs", "pages moved"],
          r.contig.ladder.map((g) => [
            g.strategy,
            bytesLabel(g.bytes),
            g.successes,
            g.attempts,
            g.meanUs,
            g.moved,
          ]),
        )
      : `<p class="muted">This scenario has no ladder step.</p>`;
  const isa = r.contig.isa;
  const cap = r.contig.capture;
  const devices = [
    isa
      ? small(
          `ISA DMA: ${isa.device}`,
          kv([
            [
              "buffer",
              isa.ok ? `${bytesLabel(isa.bytes)} at 0x${isa.phys.toString(16)}` : "failed",
            ],
            ["free runs in the mirror", isa.mirrorRuns],
          ]),
        )
      : "",
    cap
      ? small(
          `PCI capture: ${cap.device}`,
          kv([
            ["buffer", `${bytesLabel(cap.bytes)}${cap.ok ? ` at 0x${cap.phys.toString(16)}` : ""}`],
            ["split API (physical pages)", cap.ok ? `ok (${cap.strategy ?? "?"})` : "failed"],
            ["legacy contigmalloc", cap.legacy],
            ["mapped into pid", cap.pid],
          ]),
        )
      : "",
    small("contig counters", kv(Object.entries(r.contig.stats))),
  ].join("");
  const nb = r.netback;
  const netback = nb
    ? kv([
        ["mode", nb.mode],
        ["requests", nb.requests],
        ["responses", nb.responses],
        ["delivered", nb.delivered],
        [
          "grants issued / mapped / unmapped",
          `${nb.grantsIssued} / ${nb.grantsMapped} / ${nb.grantsUnmapped}`,
        ],
        ["unmap batches", nb.unmapBatches],
        ["clones", nb.clones],
        ["destructor calls", nb.destructorCalls],
        ["callbacks", nb.callbacks],
        ["delayed copies", nb.delayedCopies],
        ["ring full", nb.ringFull],
        ["pending / inflight / dealloc", `${nb.pending} / ${nb.inflight} / ${nb.dealloc}`],
        ["free pages before / after", `${fmt(nb.freeBefore)} / ${fmt(nb.freeAfter)}`],
      ])
    : `<p class="muted">Netback did not run.</p>`;
  const h = r.hibernation;
  const hib = h
    ? kv([
        ["image", `${fmt(h.imagePages)} pages (${(h.imageBytes / 2 ** 20).toFixed(1)} MiB)`],
        ["pageset1 (atomic copy)", h.pageset1],
        ["pageset2 (page cache, written first)", h.pageset2],
        ["nosave", h.nosave],
        ["metadata pages", h.metadataPages],
        ["extra pages needed", h.extraPagesNeeded],
        ["reclaimed", h.reclaimed],
        ["result", h.ok ? "ok" : "failed"],
      ])
    : `<p class="muted">No hibernation in this run.</p>`;
  const hot =
    r.hotplug.length > 0
      ? table(
          ["time (s)", "event", "pfns", "size", "pages migrated"],
          r.hotplug.map((e) => [
            (e.t / 1e6).toFixed(3),
            e.type,
            `0x${e.startPfn.toString(16)}-0x${(e.endPfn - 1).toString(16)}`,
            bytesLabel((e.endPfn - e.startPfn) * ps),
            e.migrated,
          ]),
        )
      : `<p class="muted">No hotplug events.</p>`;
  const body = `
<section id="overview"><h2>Run</h2><div class="tables">${small("summary", overview)}${small("zones", zonesTable)}${small("steps", stepsTable)}</div></section>
<section id="map"><h2>Physical memory map</h2>
<p class="muted">Every present pfn in order, ${map.pagesPerPixel === 1 ? "one page per pixel" : `${map.pagesPerPixel} pages per pixel (the state most of them are in)`}, ${map.width} pixels a row. Thick lines start a node, dashed lines a zone.</p>
<div id="map-tip">Hover over the map for a page's pfn and state.</div>
<div class="map-wrap"><canvas id="pagemap" width="${map.width}" height="${map.height}"></canvas><div class="legend">${legendRows}</div></div>
</section>
<section id="time"><h2>Over simulated time</h2>
<div class="grid"><div id="chart-free" class="chart" data-chart></div><div><label>Zone <select id="order-zone">${zoneOptions}</select></label><div id="chart-orders" class="chart" data-chart></div></div>
<div id="chart-unusable" class="chart" data-chart></div><div id="chart-extfrag" class="chart" data-chart></div></div>
</section>
<section id="contig"><h2>Contiguous allocation</h2>
<div class="grid">${r.contig.ladder.length > 0 ? `<div id="chart-ladder" class="chart" data-chart></div>` : ""}<div class="tables">${small("ladder", ladderTable)}${devices}</div></div>
</section>
<section id="devices"><h2>Netback, hibernation, hotplug</h2>
<div class="tables">${small("Xen netback", netback)}${small("hibernation", hib)}${small("hotplug events", hot)}${small("page cache", kv(Object.entries(r.pageCache)))}</div>
</section>
<section id="bootlog"><h2>Boot log</h2><pre id="boot-log">${escapeHtml(r.bootLog.join("\n"))}</pre></section>
<section id="runlog"><h2>Run log</h2><pre id="run-log">${escapeHtml(r.log.join("\n"))}</pre></section>
`;
  return renderPage({
    title: `mem sim: ${r.scenario} on ${m.name}`,
    subtitle: r.description,
    body,
    data: {
      kind: "run",
      map,
      orderColors: orderColors(),
      sizeLabels,
      run: { series: r.series, contig: { ladder: r.contig.ladder } },
    },
  });
}
