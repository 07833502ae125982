import { describe, expect, it } from "vitest";
import { type RunResult, simulate } from "../src/index.js";
import { escapeHtml, inlineScript, jsonForScript } from "../src/report/html.js";
import {
  encodePageMap,
  MAX_MAP_PIXELS,
  NO_STATE,
  rleDecode,
  rleEncode,
} from "../src/report/page-map.js";
import { renderRunReport } from "../src/report/run-report.js";

const XSS = "<script>alert(1)</script>";

function tiny(): RunResult {
  return simulate(
    {
      name: "tiny",
      machine: "small",
      sampleEvery: 200,
      steps: [
        { do: "churn", ops: 1500 },
        { do: "isa" },
        { do: "ladder", sizes: [65536, 1048576], attempts: 1 },
      ],
    },
    { seed: 2 },
  );
}

describe("escapeHtml and jsonForScript", () => {
  it("escape markup in text and keep JSON parseable without any '<' inside", () => {
    expect(escapeHtml(XSS)).toBe("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(escapeHtml(`a"b'c&`)).toBe("a&quot;b&#39;c&amp;");
    const value = { name: XSS, s: "</script><!-- \u2028 & >" };
    const json = jsonForScript(value);
    expect(json).not.toMatch(/[<>&\u2028\u2029]/);
    expect(json).toContain("\\u003cscript\\u003e");
    expect(JSON.parse(json)).toEqual(value);
    expect(inlineScript('x="</script>"')).toBe('x="<\\/script>"');
  });
});

describe("rleEncode", () => {
  it("round-trips long runs, single bytes and lengths above 127 and 16383", () => {
    const bytes = new Uint8Array(40_000);
    bytes.fill(7, 0, 20_000);
    bytes.fill(3, 20_000, 20_130);
    for (let i = 20_130; i < 20_200; i++) bytes[i] = i % 3;
    bytes.fill(255, 20_200);
    const rle = rleEncode(bytes);
    expect(rle.length).toBeLessThan(300);
    expect(rleDecode(rle, bytes.length)).toEqual(bytes);
  });
});

describe("encodePageMap", () => {
  it("draws a 16 Mi-page machine in at most MAX_MAP_PIXELS pixels, each the state most of its block is in", () => {
    const pages = 16 * 2 ** 20;
    const states = new Uint8Array(pages).fill(26); // free-order-10
    states.fill(2, 0, 4096); // kernel
    states.fill(7, 2 ** 22, 2 ** 22 + 2 ** 18); // a contig buffer
    for (let i = 2 ** 23; i < 2 ** 23 + 65536; i++) states[i] = i % 7 === 0 ? 3 : 16; // fragmented
    const snapshot = {
      legend: [
        "hole",
        "reserved",
        "kernel",
        "user",
        ...Array.from({ length: 28 }, (_, i) => `s${i}`),
      ],
      ranges: [{ startPfn: 0, endPfn: pages, offset: 0 }],
      states: Buffer.from(states).toString("base64"),
      counts: {},
    };
    const zone = {
      id: 0,
      label: "Node 0, zone Normal",
      nid: 0,
      name: "Normal",
      startPfn: 0,
      spannedPages: pages,
      presentPages: pages,
      managedPages: pages,
      freePages: 0,
      min: 0,
      low: 0,
      high: 0,
    };
    const map = encodePageMap(snapshot, [zone]);
    expect(map.width * map.height).toBeLessThanOrEqual(MAX_MAP_PIXELS);
    expect(map.pagesPerPixel).toBe(32);
    const px = rleDecode(Buffer.from(map.rle, "base64"), map.width * map.height);
    expect(px[0]).toBe(2);
    expect(px[2 ** 22 / 32]).toBe(7);
    expect(px[2 ** 23 / 32]).toBe(16); // 6 of 7 pages free in the fragmented block
    expect(px[px.length - 1]).toBe(26);
    // Long runs keep the embedded data small.
    expect(map.rle.length).toBeLessThan(20_000);
  });

  it("starts each present range on a row and draws a large hole as a short band", () => {
    const r = tiny();
    const map = encodePageMap(
      {
        ...r.pageMap,
        ranges: [
          { startPfn: 0, endPfn: 8192, offset: 0 },
          {
            startPfn: 1 << 20,
            endPfn: (1 << 20) + r.pageMap.ranges[0]!.endPfn - 8192,
            offset: 8192,
          },
        ],
      },
      r.zones,
    );
    const gap = map.segments.find((s) => s.gap)!;
    expect(gap.startPfn).toBe(8192);
    expect(gap.endPfn).toBe(1 << 20);
    for (const s of map.segments) expect(s.pixel % map.width).toBe(0);
    const px = rleDecode(Buffer.from(map.rle, "base64"), map.width * map.height);
    expect(px[gap.pixel]).toBe(0);
    expect(px.includes(NO_STATE) || map.segments.every((s) => s.pixels % map.width === 0)).toBe(
      true,
    );
  });
});

describe("renderRunReport", () => {
  it("writes one self-contained page with every input string escaped", () => {
    const r = tiny();
    const evil: RunResult = {
      ...r,
      scenario: XSS,
      description: `desc ${XSS}`,
      machine: { ...r.machine, name: XSS },
      bootLog: [...r.bootLog, `device ${XSS}`],
    };
    const html = renderRunReport(evil);
    expect(html.startsWith("<!doctype html>")).toBe(true);
    // Three scripts: the data, ECharts, the report's own.
    expect(html.match(/<script\b/g)?.length).toBe(3);
    expect(html.includes(XSS)).toBe(false);
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    // Nothing loaded from anywhere: no src/href attributes at all.
    const markup = html.replace(/<script\b[\s\S]*?<\/script>/g, "");
    expect(/<(script|link|img|iframe)[^>]+(src|href)=/i.test(markup)).toBe(false);
    expect(/https?:/.test(markup)).toBe(false);
    const data = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(
      html,
    )![1]!;
    expect(data).not.toContain("<");
    expect(JSON.parse(data).kind).toBe("run");
  });
});
