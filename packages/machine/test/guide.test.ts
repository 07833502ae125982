// The runnable example of docs/machine.md.
import { createMachine, type HotplugEvent, PG_reserved, PRESETS } from "@mem/machine";
import { describe, expect, it } from "vitest";

describe("docs/machine.md", () => {
  it("builds a machine, finds its zones, and follows a memory hotplug", () => {
    const machine = createMachine(PRESETS.small!); // 64 MiB, one node
    const zones = machine.zones
      .filter((z) => z.presentPages > 0)
      .map((z) => [z.name, z.startPfn, z.presentPages]);
    expect(zones).toEqual([
      ["DMA", 1, 3998], // page 0 and the firmware ranges below 1 MiB are not RAM
      ["DMA32", 4096, 12288], // 16 MiB - 64 MiB
    ]);

    // Every page starts reserved: the boot allocator frees RAM, not the machine.
    const i = machine.pages.indexOf(0x200);
    expect(machine.pages.flags[i]! & PG_reserved).not.toBe(0);

    // Sparsemem: only present sections have page frames.
    const section = machine.sectionPages;
    const top = machine.presentPfnRanges().at(-1)!.end;
    expect(machine.pfnValid(top - 1)).toBe(true);
    expect(machine.pfnValid(top)).toBe(false);

    // Hot-add one section above the top, then take it away again.
    const events: HotplugEvent["type"][] = [];
    machine.subscribe((e) => {
      events.push(e.type);
      return true;
    });
    machine.addMemory(top, section);
    expect(machine.pfnValidRange(top, top + section)).toBe(true);
    expect(machine.removeMemory(top, section)).toBe(true);
    expect(machine.pfnValid(top)).toBe(false);
    expect(events).toEqual(["online", "going-offline", "offline"]);
  });
});
