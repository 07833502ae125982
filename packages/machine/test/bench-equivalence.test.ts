import { createMachine, PRESETS } from "@mem/machine";
import { describe, expect, it } from "vitest";
import { buildNaive, naivePresent } from "../bench/naive.js";

describe("the benchmark's naive reference", () => {
  it("gives every pfn the same zone and node as the page frame database", () => {
    const m = createMachine(PRESETS.small!);
    const naive = buildNaive(m);
    expect(naive.size).toBe(m.pages.pageCount);
    for (const [pfn, page] of naive) {
      const i = m.pages.indexOf(pfn);
      expect(i).toBeGreaterThanOrEqual(0);
      expect([m.pages.zoneTypeAt(i), m.pages.nodeAt(i)]).toEqual([page.zone, page.node]);
    }
  });

  it("counts the same present pages per zone", () => {
    for (const name of ["small", "x86_64-2node", "alpha-8k"]) {
      const m = createMachine(PRESETS[name]!);
      expect(naivePresent(m)).toEqual(m.zones.map((z) => z.presentPages));
    }
  });
});
