import { bootLines, loadMachine, PG_reserved } from "@mem/machine";
import { describe, expect, it } from "vitest";

describe("the README example", () => {
  it("runs and prints what the README says", () => {
    const machine = loadMachine("x86_64-4g");
    expect(bootLines(machine).length).toBeGreaterThan(10);
    const dma32 = machine.zones[1]!;
    expect([dma32.name, dma32.startPfn, dma32.spannedPages, dma32.presentPages]).toEqual([
      "DMA32",
      4096,
      1044480,
      782304,
    ]);
    const i = machine.pages.indexOf(0x100);
    expect((machine.pages.flags[i]! & PG_reserved) !== 0).toBe(true);
  });
});
