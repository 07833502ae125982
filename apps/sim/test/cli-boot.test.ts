import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sim } from "./helpers.js";

describe("sim boot", () => {
  it("prints the default machine's memory map, zones and node ranges in dmesg form", () => {
    const r = sim(["boot"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      "[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable",
    );
    expect(r.stdout).toContain("  DMA32    [mem 0x0000000001000000-0x00000000ffffffff]");
    expect(r.stdout).toContain("Early memory node ranges");
    expect(r.stdout).toContain("On node 0, zone Normal: 32 pages in unavailable ranges");
    expect(r.stdout).toMatch(/Total pages: 1048446\n/);
  });

  it("accepts a dmesg e820 excerpt as the machine", () => {
    const dir = mkdtempSync(join(tmpdir(), "sim-"));
    const file = join(dir, "box.txt");
    writeFileSync(
      file,
      "[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable\n[    0.000000] BIOS-e820: [mem 0x0000000000100000-0x000000003fffffff] usable\n",
    );
    const r = sim(["boot", "--machine", file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("  node   0: [mem 0x0000000000100000-0x000000003fffffff]");
  });

  it("gives JSON with --json", () => {
    const r = sim(["boot", "--machine", "x86_64-2node", "--json"]);
    const data = JSON.parse(r.stdout) as {
      zones: { node: number; zone: string; present: number }[];
    };
    expect(data.zones.filter((z) => z.node === 1 && z.present > 0).map((z) => z.zone)).toEqual([
      "Normal",
    ]);
  });

  it("exits 2 with the field named for a bad machine file", () => {
    const dir = mkdtempSync(join(tmpdir(), "sim-"));
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ memoryMap: [{ start: 0, end: 4096, type: "ram" }] }));
    const r = sim(["boot", "--machine", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/memoryMap\.0\.type/);
  });

  it("exits 2 for an unknown preset", () => {
    const r = sim(["boot", "--machine", "nope"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("neither a preset");
  });
});
