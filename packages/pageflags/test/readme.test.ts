import { createPageFlags } from "@mem/pageflags";
import { describe, expect, it } from "vitest";
import { FakeAllocator, FakeHotplug, FakeSpace } from "./fake-machine.js";

describe("README", () => {
  it("runs the usage example", () => {
    const space = new FakeSpace({
      physAddrBits: 46,
      ranges: [
        [0, 2 ** 20],
        [2 ** 32, 2 ** 32 + 2 ** 15],
      ],
    });
    const allocator = new FakeAllocator();
    const hotplug = new FakeHotplug(space);

    // --- README usage, verbatim ---
    const pageset1 = createPageFlags({ space, allocator, mode: "present" });
    if (pageset1 === null) throw new Error("no memory for the bitmap"); // -ENOMEM, pages given back
    const nosave = createPageFlags({ space, allocator, mode: "sparse" })!;
    pageset1.subscribe(hotplug); // follow sections coming online / going offline

    for (const pfn of [5, 6, 2 ** 32 + 1]) pageset1.set(pfn);
    nosave.set(6);
    pageset1.andNot(nosave); // pageset1 &= ~nosave

    const saved: number[] = [];
    for (let pfn = pageset1.nextSet(0); pfn >= 0; pfn = pageset1.nextSet(pfn + 1)) saved.push(pfn);
    // saved = [5, 4294967297]; pageset1.count() === 2; [...pageset1] gives the same
    expect(saved).toEqual([5, 4294967297]);
    expect(pageset1.count()).toBe(2);
    expect([...pageset1]).toEqual(saved);
    pageset1.free();
    nosave.free();
    // --- end ---
    expect(allocator.outstanding).toBe(0);
    expect(hotplug.subscribers).toBe(0);
  });
});
