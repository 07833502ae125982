import { describe, expect, it } from "vitest";

describe("README usage example", () => {
  it("runs", async () => {
    // --- copied from README.md ---
    const { createMachine, PRESETS } = await import("@mem/machine");
    const { BuddyAllocator, GFP_KERNEL, GFP_DMA, buddyinfo } = await import("@mem/buddy");

    const machine = createMachine(PRESETS.small!);
    const mm = new BuddyAllocator(machine); // subscribes to hotplug
    mm.freeAllRam(); // or hand pages over from a boot allocator: mm.freePagesBootmem(pfn, order)

    const page = mm.alloc(GFP_KERNEL, 0); // a pfn, or -1
    const dma = mm.alloc(GFP_DMA, 3); // 8 pages below 16 MiB
    mm.getPage(page);
    mm.putPage(page); // still referenced once
    mm.free(page, 0); // last reference: onto this CPU's per-CPU list
    mm.free(dma, 3); // merged back into the buddy lists
    mm.checkInvariants();
    const text = buddyinfo(mm); // "Node 0, zone      DMA      2 ..."
    // --- end of copy ---
    expect(page).toBeGreaterThan(0);
    expect(dma).toBeLessThan(4096);
    expect(text.startsWith("Node 0, zone      DMA ")).toBe(true);
  });
});
