// The README's usage example, verbatim (console.log calls kept), with checks after it.
import { BuddyAllocator, GFP_KERNEL } from "@mem/buddy";
import { createMachine, PRESETS } from "@mem/machine";
import { createNetbackPair, ForeignPages } from "@mem/xen-foreign";
import { describe, expect, it } from "vitest";

describe("README", () => {
  it("runs the usage example", () => {
    const logs: unknown[] = [];
    const console = { log: (...a: unknown[]) => logs.push(a) };
    // --- README example start
    const machine = createMachine(PRESETS.small!);
    const buddy = new BuddyAllocator(machine);
    buddy.freeAllRam();

    // The mechanism: a page owned by a custom allocator goes back to it at the last put.
    const foreign = new ForeignPages(machine);
    foreign.attach(buddy);
    const pool: number[] = [];
    const release = foreign.registerDestructor("my_pool_release", (pfn) => {
      pool.push(pfn); // the owner gets the page back; the buddy free lists never see it
    });
    const page = buddy.alloc(GFP_KERNEL, 0);
    foreign.setForeign(page, release);
    buddy.getPage(page); // generic code counts references as usual
    buddy.putPage(page);
    buddy.putPage(page); // the last put runs the destructor, exactly once
    console.log(pool.length); // 1

    // The Xen model: a guest's netfront sends packets through domain 0's netback.
    const pair = createNetbackPair({ buddy, foreign, mode: "destructor" });
    pair.send(1000);
    pair.run({ untilIdle: true });
    pair.checkInvariants();
    const s = pair.stats();
    console.log(s.netback.packets, s.netback.responses === s.netback.requests); // 1000 true
    console.log(s.netback.delayedCopies > 0, s.buddyFree === s.buddyFreeBaseline); // true true
    pair.destroy();
    // --- README example end
    expect(logs).toEqual([[1], [1000, true], [true, true]]);
    expect(pool).toEqual([page]);
  });
});
