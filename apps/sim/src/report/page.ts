/**
 * The report's page shell: styles, the inlined ECharts build, the data element and the script.
 * Everything is in one file, so the page opens offline from disk.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { CLIENT_JS } from "./client.js";
import { escapeHtml, inlineScript, jsonForScript } from "./html.js";

let echartsCache: string | null = null;

/** The minified ECharts build from `node_modules`, read once. */
export function echartsSource(): string {
  if (echartsCache === null) {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve("echarts/package.json");
    echartsCache = readFileSync(join(dirname(pkg), "dist", "echarts.min.js"), "utf8");
  }
  return echartsCache;
}

const STYLE = `
:root { color-scheme: light; --fg: #111827; --muted: #6b7280; --line: #e5e7eb; --bg: #f9fafb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 20px 28px 12px; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { margin: 0 0 4px; font-size: 20px; }
header p { margin: 0; color: var(--muted); }
main { padding: 16px 28px 40px; max-width: 1480px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 18px; margin: 0 0 16px; }
section h2 { margin: 0 0 10px; font-size: 16px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 16px; }
.chart { width: 100%; height: 340px; }
.map-wrap { display: block; }
#pagemap { image-rendering: pixelated; max-width: 100%; border: 1px solid var(--line); cursor: crosshair; }
#map-tip { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; min-height: 18px; margin: 6px 0; color: #1f2937; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; margin-top: 8px; }
.legend .item { display: inline-flex; align-items: center; gap: 5px; white-space: nowrap; }
.legend .sw { width: 13px; height: 13px; border: 1px solid rgba(0,0,0,.15); border-radius: 2px; }
.legend .n { color: var(--muted); font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; font-size: 12.5px; margin: 4px 0 8px; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
td { font-variant-numeric: tabular-nums; }
th { color: var(--muted); font-weight: 600; }
.kv th { width: 1%; white-space: nowrap; }
.tables { display: flex; flex-wrap: wrap; gap: 8px 36px; }
.tables h3 { font-size: 13px; margin: 6px 0 2px; }
pre { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; background: #0f172a; color: #e2e8f0; padding: 12px; border-radius: 6px; overflow: auto; max-height: 480px; margin: 0; }
.muted { color: var(--muted); }
select { font: inherit; }
`;

/** What a page holds. */
export interface PageParts {
  /** Shown in the tab and the heading. */
  readonly title: string;
  /** A line under the heading. */
  readonly subtitle: string;
  /** Body HTML (already escaped by its builder). */
  readonly body: string;
  /** Data the script reads (`kind` says which). */
  readonly data: unknown;
}

/** A whole self-contained HTML page. */
export function renderPage(parts: PageParts): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:">
<title>${escapeHtml(parts.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(parts.title)}</h1><p>${escapeHtml(parts.subtitle)}</p></header>
<main>
${parts.body}
</main>
<script type="application/json" id="report-data">${jsonForScript(parts.data)}</script>
<script>${inlineScript(echartsSource())}</script>
<script>${inlineScript(CLIENT_JS)}</script>
</body>
</html>
`;
}
