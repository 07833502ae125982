import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sim } from "./helpers.js";

describe("sim run", () => {
  it("runs a scenario file, writes a trace, and sim replay reaches the same digest", () => {
    const dir = mkdtempSync(join(tmpdir(), "sim-"));
    const file = join(dir, "s.json");
    const trace = join(dir, "t.jsonl");
    writeFileSync(
      file,
      JSON.stringify({
        name: "mini",
        machine: "small",
        steps: [{ do: "churn", ops: 2000 }, { do: "isa" }, { do: "pagecache", ops: 500 }],
      }),
    );
    const r = sim(["run", file, "--quiet", "--trace", trace, "--seed", "4"]);
    expect(r.code).toBe(0);
    const digest = /digest ([0-9a-f]{16})/.exec(r.stdout)?.[1];
    expect(digest).toBeDefined();
    const p = sim(["replay", trace]);
    expect(p.code).toBe(0);
    expect(p.stdout).toContain(`digest ${digest} matches the trace`);
  });

  it("exits 2 naming the field for a bad scenario file and an unknown scenario", () => {
    const dir = mkdtempSync(join(tmpdir(), "sim-"));
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ name: "x", steps: [{ do: "churn", ops: -5 }] }));
    const r = sim(["run", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/steps\.0\.ops/);
    const u = sim(["run", "nope", "--machine", "small"]);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain("neither a built-in scenario");
  });

  it("lists the scenarios and prints /proc files parsed back", () => {
    const l = sim(["scenarios"]);
    expect(l.stdout).toMatch(/^showcase\s/m);
    const b = sim(["proc", "buddyinfo", "--machine", "small", "--json"]);
    expect(b.code).toBe(0);
    const text = (JSON.parse(b.stdout) as { text: string }).text;
    expect(text).toMatch(/^Node 0, zone\s+DMA/m);
    const bad = sim(["proc", "meminfo", "--machine", "small"]);
    expect(bad.code).toBe(2);
  });
});
