import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadScenario, type ScenarioInput } from "../src/index.js";
import { applyParams, combinations, parseParamSpecs, parseSeeds } from "../src/sweep/params.js";
import { runSweep, sweepTasks } from "../src/sweep/sweep.js";
import { unusableIndex } from "../src/sweep/task.js";
import { sim } from "./helpers.js";

const MINI: ScenarioInput = {
  name: "mini",
  machine: "small",
  sampleEvery: 500,
  steps: [
    { do: "churn", ops: 1500 },
    { do: "fragment", fill: 0.2, keepEvery: 8 },
    { do: "ladder", sizes: [65536, 1048576, 4194304], attempts: 2 },
    { do: "netback", packets: 100 },
  ],
};

describe("parseSeeds", () => {
  it("reads ranges and lists, drops duplicates, and names --seeds on bad input", () => {
    expect(parseSeeds("1..5")).toEqual([1, 2, 3, 4, 5]);
    expect(parseSeeds("3,1,3,7..8")).toEqual([3, 1, 7, 8]);
    for (const bad of ["", "x", "5..1", "1..", "-1", "1.5", "1..2..3"])
      expect(() => parseSeeds(bad), bad).toThrow(/--seeds/);
    expect(() => parseSeeds("0..2000000")).toThrow(/at most/);
  });
});

describe("parseParamSpecs and applyParams", () => {
  const base = loadScenario("fragmentation");

  it("maps boot options and step fields, every combination", () => {
    const params = parseParamSpecs(["cpus=1,2", "fragment.fill=0.1,0.4", "bootAllocator=memblock"]);
    expect(params).toEqual({
      cpus: [1, 2],
      "fragment.fill": [0.1, 0.4],
      bootAllocator: ["memblock"],
    });
    const combos = combinations(params);
    expect(combos).toHaveLength(4);
    expect(combos[1]).toEqual({ cpus: 1, "fragment.fill": 0.4, bootAllocator: "memblock" });
    const a = applyParams(base, {}, combos[3]!);
    expect(a.boot).toEqual({ cpus: 2, bootAllocator: "memblock" });
    expect(a.scenario.steps.find((s) => s.do === "fragment")).toMatchObject({ fill: 0.4 });
    const b = applyParams(base, {}, { "steps.0.ops": 10, sampleEvery: 7 });
    expect(b.scenario.steps[0]).toMatchObject({ do: "pagecache", ops: 10 });
    expect(b.scenario.sampleEvery).toBe(7);
  });

  it("rejects unknown keys and bad values naming the parameter", () => {
    const cases: [Record<string, string | number | boolean>, RegExp][] = [
      [{ nope: 1 }, /--param nope: unknown parameter/],
      [{ cpus: 0 }, /--param cpus: .*(>=|least|too small)/i],
      [{ cpus: 1.5 }, /--param cpus/],
      [{ minFreeKbytes: -1 }, /--param minFreeKbytes/],
      [{ bootAllocator: "slab" }, /--param bootAllocator/],
      [{ machine: "no-such-machine" }, /--param machine/],
      [{ "fragment.fill": 2 }, /--param fragment.fill: .*steps\.1\.fill/],
      [{ "fragment.fil": 0.1 }, /--param fragment.fil: a fragment step has no field "fil"/],
      [
        { "netback.packets": 5 },
        /--param netback.packets: scenario fragmentation has no netback step/,
      ],
      [{ "steps.9.ops": 5 }, /--param steps.9.ops: the scenario has 3 steps/],
    ];
    for (const [combo, re] of cases)
      expect(() => applyParams(base, {}, combo), JSON.stringify(combo)).toThrow(re);
    expect(() => parseParamSpecs(["cpus"])).toThrow(/--param: expected key=v1,v2/);
    expect(() => parseParamSpecs(["cpus=1,,2"])).toThrow(/--param cpus: empty value/);
    expect(() => parseParamSpecs(["cpus=1", "cpus=2"])).toThrow(/given twice/);
  });
});

describe("unusableIndex", () => {
  it("is the share of free pages in blocks smaller than the order, over every zone", () => {
    // zone 0: 4 order-0 pages, 1 order-2 block (4 pages); zone 1: one order-3 block (8 pages).
    expect(
      unusableIndex(
        [
          [4, 0, 1],
          [0, 0, 0, 1],
        ],
        2,
      ),
    ).toBeCloseTo(4 / 16);
    expect(
      unusableIndex(
        [
          [4, 0, 1],
          [0, 0, 0, 1],
        ],
        3,
      ),
    ).toBeCloseTo(8 / 16);
    expect(unusableIndex([], 3)).toBe(0);
  });
});

describe("runSweep", () => {
  it("gives the same records with 1 and 2 workers, in sweep order", async () => {
    const opts = { scenario: MINI, seeds: [1, 2, 3], params: { "fragment.fill": [0.1, 0.4] } };
    expect(sweepTasks(opts)).toHaveLength(6);
    const seen: number[] = [];
    const one = await runSweep({ ...opts, workers: 1 });
    const two = await runSweep({ ...opts, workers: 2, onRecord: (r) => seen.push(r.index) });
    expect(one.workers).toBe(1);
    expect(two.workers).toBe(2);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    const key = (r: { index: number }) => r.index;
    expect([...two.records].sort((a, b) => key(a) - key(b))).toEqual(
      [...one.records].sort((a, b) => key(a) - key(b)),
    );
    expect(one.records.every((r) => r.error === undefined)).toBe(true);
    expect(new Set(one.records.map((r) => r.digest)).size).toBe(6);
    expect(one.records[0]).toMatchObject({
      scenario: "mini",
      seed: 1,
      params: { "fragment.fill": 0.1 },
      netbackPackets: 100,
    });
    expect(Object.keys(one.records[0]!.contigSuccess)).toEqual(["free", "launder", "migrate"]);
    expect(one.groups.map((g) => g.label)).toEqual(["fragment.fill=0.1", "fragment.fill=0.4"]);
    // More fragmentation left behind with a fuller fragment step.
    expect(one.groups[1]!.unusable).toBeGreaterThan(one.groups[0]!.unusable);
  });
});

describe("sim sweep", () => {
  it("writes JSON Lines and a report, prints the summary, and exits 2 naming a bad parameter", () => {
    const dir = mkdtempSync(join(tmpdir(), "sweep-"));
    const file = join(dir, "mini.json");
    writeFileSync(file, JSON.stringify(MINI));
    const out = join(dir, "runs.jsonl");
    const report = join(dir, "sweep.html");
    const r = sim([
      "sweep",
      "--scenario",
      file,
      "--seeds",
      "1..2",
      "--param",
      "churn.ops=500,1000",
      "--out",
      out,
      "--report",
      report,
      "--workers",
      "2",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/sweep mini: 4 runs \(2 parameter sets x 2 seeds\) on 2 workers/);
    expect(r.stdout).toMatch(/^churn\.ops=500\s+2\s+0\s/m);
    const lines = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.seed, l.params["churn.ops"]])).toEqual([
      [1, 500],
      [2, 500],
      [1, 1000],
      [2, 1000],
    ]);
    const html = readFileSync(report, "utf8");
    expect(html).toContain('id="chart-sweep-scatter"');
    expect(html).toContain("churn.ops=1000");
    const bad = sim(["sweep", "--scenario", file, "--seeds", "1", "--param", "cpus=0"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--param cpus/);
  });
});
