// The runnable example of docs/xen-foreign.md: a page owned by a driver's pool is lent to the
// network stack, and its last free sends it back to the pool through its destructor.
import { BuddyAllocator, GFP_KERNEL } from "@mem/buddy";
import { createMachine, PRESETS } from "@mem/machine";
import { ForeignPages } from "@mem/xen-foreign";
import { describe, expect, it } from "vitest";

describe("docs/xen-foreign.md", () => {
  it("returns a foreign page to its owner at the last put, never to the free lists", () => {
    const machine = createMachine(PRESETS.small!);
    const buddy = new BuddyAllocator(machine);
    buddy.freeAllRam();
    const foreign = new ForeignPages(machine);
    foreign.attach(buddy); // installs the claiming free hook

    const pool: number[] = []; // the driver's own free pages
    const release = foreign.registerDestructor("netback-pool", (pfn) => pool.push(pfn));

    const page = buddy.alloc(GFP_KERNEL, 0);
    foreign.setForeign(page, release); // SetPageForeign(page, netif_page_release)
    const free0 = buddy.freePageCount;

    buddy.getPage(page); // the network stack takes a reference on the page it was handed
    buddy.putPage(page); // and drops it
    buddy.putPage(page); // the driver drops its own: the count reaches 0
    expect(pool).toEqual([page]); // the destructor ran exactly once
    expect(foreign.destructorCalls(release)).toBe(1);
    expect(buddy.freePageCount).toBe(free0); // the buddy allocator never saw it
    expect(foreign.isForeign(page)).toBe(true); // still the pool's page
  });
});
