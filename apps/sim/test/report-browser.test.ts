import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunResult, simulate } from "../src/index.js";
import { renderRunReport } from "../src/report/run-report.js";
import { renderSweepReport } from "../src/report/sweep-report.js";
import { summarise } from "../src/sweep/sweep.js";
import type { SweepRecord } from "../src/sweep/task.js";
import { sim } from "./helpers.js";

// The browser globals the page functions below use (the project compiles without the DOM lib).
interface El {
  id: string;
  getBoundingClientRect(): { top: number; bottom: number };
}
interface Canvas extends El {
  width: number;
  height: number;
  getContext(kind: "2d"): {
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  } | null;
}
declare const document: {
  getElementById(id: string): El | null;
  querySelectorAll(selector: string): Iterable<El>;
};
declare const window: {
  scrollY: number;
  __report?: { ready: boolean };
  echarts: {
    getInstanceByDom(el: El): { getOption(): { series: { data: unknown[] }[] } } | undefined;
  };
};

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(
    `report browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium; .ci/run does this)`,
  );
const XSS = "<script>alert(1)</script>";
const screenshot = fileURLToPath(new URL("../../../docs/report-screenshot.png", import.meta.url));

interface Opened {
  page: Page;
  consoleErrors: string[];
  pageErrors: string[];
  dialogs: string[];
  requests: string[];
}

let browser: Browser | undefined;

async function open(file: string, viewport = { width: 1400, height: 900 }): Promise<Opened> {
  const page = await browser!.newPage({ viewport });
  const o: Opened = { page, consoleErrors: [], pageErrors: [], dialogs: [], requests: [] };
  page.on("console", (m) => {
    if (m.type() === "error") o.consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => o.pageErrors.push(e.message));
  page.on("dialog", (d) => {
    o.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on("request", (r) => {
    if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) o.requests.push(r.url());
  });
  await page.goto(pathToFileURL(file).href);
  await page.waitForFunction(() => window.__report?.ready === true, null, { timeout: 30_000 });
  return o;
}

/** Per chart: its id and the data lengths of its series. */
function chartSeries(page: Page): Promise<{ id: string; series: number[] }[]> {
  return page.evaluate(() => {
    const ec = window.echarts;
    return [...document.querySelectorAll("[data-chart]")].map((el) => ({
      id: el.id,
      series: (ec.getInstanceByDom(el)?.getOption().series ?? []).map((s) => s.data.length),
    }));
  });
}

/** Pixels of the map canvas that are neither white nor transparent, and distinct colours. */
function mapPixels(
  page: Page,
): Promise<{ width: number; height: number; inked: number; colours: number }> {
  return page.evaluate(() => {
    const c = document.getElementById("pagemap") as Canvas;
    const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    let inked = 0;
    const colours = new Set<number>();
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] === 0 || (d[i] === 255 && d[i + 1] === 255 && d[i + 2] === 255)) continue;
      inked++;
      colours.add(d[i]! * 65536 + d[i + 1]! * 256 + d[i + 2]!);
    }
    return { width: c.width, height: c.height, inked, colours: colours.size };
  });
}

function clean(o: Opened): void {
  expect(o.consoleErrors).toEqual([]);
  expect(o.pageErrors).toEqual([]);
  expect(o.dialogs).toEqual([]);
  expect(o.requests).toEqual([]);
}

describe.skipIf(!hasChromium)("the HTML report in headless Chromium", () => {
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it("renders the showcase run with its charts and memory map, hover, and no errors; saves the screenshot", async () => {
    const r: RunResult = simulate("showcase", { seed: 1 });
    const dir = mkdtempSync(join(tmpdir(), "report-"));
    const file = join(dir, "showcase.html");
    writeFileSync(file, renderRunReport(r));
    const o = await open(file);
    clean(o);
    const charts = await chartSeries(o.page);
    expect(charts.map((c) => c.id)).toEqual([
      "chart-free",
      "chart-orders",
      "chart-unusable",
      "chart-extfrag",
      "chart-ladder",
    ]);
    for (const c of charts) {
      expect(c.series.length, c.id).toBeGreaterThan(0);
      for (const n of c.series) expect(n, c.id).toBeGreaterThan(0);
    }
    const map = await mapPixels(o.page);
    expect(map.inked).toBeGreaterThan(map.width * map.height * 0.5);
    expect(map.colours).toBeGreaterThan(8);
    // Hover: the map starts at pfn 0 (a hole, then the firmware's reserved page), 2 pages a pixel.
    const canvas = o.page.locator("#pagemap");
    const box = (await canvas.boundingBox())!;
    const scale = box.width / map.width;
    await canvas.hover({ position: { x: (112 + 0.5) * scale, y: 0.5 } });
    expect(await o.page.locator("#map-tip").textContent()).toBe(
      "pfns 0x0-0x1 (2 pages, mostly hole)",
    );
    await canvas.hover({ position: { x: box.width - 3, y: box.height - 3 } });
    expect(await o.page.locator("#map-tip").textContent()).toMatch(
      /^pfns 0x[0-9a-f]+-0x[0-9a-f]+ \(2 pages, mostly free-order-10\) · Node 0, zone Normal$/,
    );
    expect(await o.page.locator("#boot-log").textContent()).toContain("BIOS-e820");
    // The map and the charts over time, for the README.
    const [y0, y1] = await o.page.evaluate(() => {
      const a = document.getElementById("map")!.getBoundingClientRect();
      const b = document.getElementById("time")!.getBoundingClientRect();
      return [a.top + window.scrollY, b.bottom + window.scrollY];
    });
    mkdirSync(join(screenshot, ".."), { recursive: true });
    await o.page.screenshot({
      path: screenshot,
      fullPage: true,
      clip: { x: 0, y: y0 - 8, width: 1400, height: y1 - y0 + 16 },
    });
    await o.page.close();
  });

  it("shows a machine file named <script>alert(1)</script> as text and runs no script of it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "report-xss-"));
    const machine = join(dir, "machine.json");
    writeFileSync(
      machine,
      JSON.stringify({
        name: XSS,
        memoryMap: [
          { start: 0, end: "0x9fc00", type: "usable" },
          { start: "1M", end: "48M", type: "usable" },
        ],
        devices: [
          { name: XSS, bus: "isa", dma: { limit: "16M", alignment: 8192, boundary: 65536 } },
        ],
      }),
    );
    const scenario = join(dir, "scenario.json");
    writeFileSync(
      scenario,
      JSON.stringify({
        name: XSS,
        description: `a scenario called ${XSS}`,
        sampleEvery: 200,
        steps: [
          { do: "churn", ops: 1000 },
          { do: "isa" },
          { do: "ladder", sizes: [65536, 1048576] },
        ],
      }),
    );
    const file = join(dir, "xss.html");
    const run = sim(["run", scenario, "--machine", machine, "--quiet", "--report", file]);
    expect(run.stderr).toContain(`report written to ${file}`);
    expect(run.code).toBe(0);
    const o = await open(file);
    clean(o);
    expect(await o.page.locator("header h1").textContent()).toBe(`mem sim: ${XSS} on ${XSS}`);
    expect(await o.page.locator("header p").textContent()).toBe(`a scenario called ${XSS}`);
    expect(await o.page.locator("#contig").textContent()).toContain(`ISA DMA: ${XSS}`);
    expect(await o.page.locator("script").count()).toBe(3);
    const charts = await chartSeries(o.page);
    expect(charts.length).toBe(5);
    expect((await mapPixels(o.page)).inked).toBeGreaterThan(0);
    await o.page.close();
  });

  it("draws a 16 Mi-page memory map", async () => {
    const r = simulate(
      { name: "t", machine: "small", steps: [{ do: "churn", ops: 500 }] },
      { seed: 1 },
    );
    const pages = 16 * 2 ** 20;
    const states = new Uint8Array(pages).fill(26);
    for (let i = 0; i < pages; i += 4096) states.fill(2 + ((i / 4096) % 8), i, i + 64 + (i % 977));
    const big: RunResult = {
      ...r,
      zones: [{ ...r.zones.at(-1)!, startPfn: 0, spannedPages: pages, presentPages: pages }],
      pageMap: {
        ...r.pageMap,
        ranges: [{ startPfn: 0, endPfn: pages, offset: 0 }],
        states: Buffer.from(states).toString("base64"),
      },
    };
    const dir = mkdtempSync(join(tmpdir(), "report-big-"));
    const file = join(dir, "big.html");
    const html = renderRunReport(big);
    expect(html.length).toBeLessThan(4 * 2 ** 20);
    writeFileSync(file, html);
    const o = await open(file);
    clean(o);
    const map = await mapPixels(o.page);
    expect(map.height).toBeGreaterThanOrEqual(512);
    expect(map.colours).toBeGreaterThan(8);
    await o.page.close();
  });

  it("renders a sweep's charts: success against fragmentation per strategy, and per parameter set", async () => {
    const records: SweepRecord[] = [];
    for (const fill of [0.2, 0.8])
      for (const seed of [1, 2, 3])
        records.push({
          index: records.length,
          scenario: "fragmentation",
          seed,
          params: { "fragment.fill": fill, label: XSS },
          machine: "small",
          presentPages: 16286,
          managedPages: 14170,
          freePages: 9000 - seed,
          allocFailures: 0,
          contigSuccess: { free: 0.4 - fill / 4, launder: 0.6, migrate: 0.6 + seed / 100 },
          contigAttempts: 5,
          unusable: { 3: fill / 4, 9: fill / 2 + seed / 100, 10: fill },
          netbackPackets: 0,
          hibernationPages: null,
          ops: 1000,
          simTimeUs: 1000,
          digest: `d${records.length}`,
        });
    const { groups, strategies } = summarise(records);
    const dir = mkdtempSync(join(tmpdir(), "report-sweep-"));
    const file = join(dir, "sweep.html");
    writeFileSync(
      file,
      renderSweepReport({
        scenario: "fragmentation",
        seeds: [1, 2, 3],
        params: { "fragment.fill": [0.2, 0.8], label: [XSS] },
        records,
        groups,
        strategies,
        fragOrder: 9,
        workers: 2,
        wallMs: 1,
      }),
    );
    const o = await open(file);
    clean(o);
    const charts = await chartSeries(o.page);
    expect(charts).toEqual([
      { id: "chart-sweep-scatter", series: [6, 6, 6] },
      { id: "chart-sweep-groups", series: [2, 2, 2] },
    ]);
    expect(await o.page.locator("#sweep-summary").textContent()).toContain(`label=${XSS}`);
    await o.page.close();
  });
});
