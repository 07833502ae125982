// The runnable example of docs/buddy.md: a split and its merge, and the seed's free hook that
// claims a foreign page before the generic free sees it.
import { BuddyAllocator, buddyinfo, GFP_DMA, GFP_KERNEL } from "@mem/buddy";
import { createMachine, PG_foreign, PRESETS } from "@mem/machine";
import { describe, expect, it } from "vitest";

describe("docs/buddy.md", () => {
  it("splits, merges, and lets a free hook claim a foreign page", () => {
    const machine = createMachine(PRESETS.small!);
    const mm = new BuddyAllocator(machine, { pcp: false });
    mm.freeAllRam();
    const free0 = mm.freePageCount;
    const dmaBefore = buddyinfo(mm).split("\n")[0];

    // Eight pages below 16 MiB: a larger block is split and its upper halves go back on the lists.
    const dma = mm.alloc(GFP_DMA, 3);
    expect(dma).toBeGreaterThanOrEqual(0);
    expect(dma % 8).toBe(0); // naturally aligned
    expect(dma + 8).toBeLessThanOrEqual(4096); // inside ZONE_DMA
    mm.free(dma, 3); // merges back with its buddies
    expect(buddyinfo(mm).split("\n")[0]).toBe(dmaBefore);

    // The 2004 Xen hook: a page marked foreign goes back to its owner, not to the free lists.
    const returned: number[] = [];
    mm.addFreeHook({
      name: "xen-foreign",
      onFree(pfn) {
        const i = machine.pages.indexOf(pfn);
        if ((machine.pages.flags[i]! & PG_foreign) === 0) return false; // not ours: free it
        returned.push(pfn);
        return true; // claimed: the generic free stops here
      },
    });
    const page = mm.alloc(GFP_KERNEL, 0);
    const i = machine.pages.indexOf(page);
    machine.pages.flags[i]! |= PG_foreign;
    mm.getPage(page); // a second user (the network stack)
    mm.putPage(page); // it lets go: still referenced by the owner
    expect(returned).toEqual([]);
    mm.putPage(page); // the last reference: the hook runs and claims it
    expect(returned).toEqual([page]);
    expect(mm.freePageCount).toBe(free0 - 1); // never reached the free lists
    mm.checkInvariants();
  });
});
