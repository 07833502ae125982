// The runnable example of docs/contig.md: the PR kern/55081 machine, a 1 GiB buffer for a PCI
// card that needs no kernel mapping, and what happens when one is asked for anyway.
import { BuddyAllocator } from "@mem/buddy";
import { ContigAllocator, PageQueues } from "@mem/contig";
import { createMachine, PRESETS } from "@mem/machine";
import { describe, expect, it } from "vitest";

const M = 2 ** 20;
const G = 2 ** 30;

describe("docs/contig.md", () => {
  it("gives a 1 GiB physical buffer without kernel VA, and refuses a mapped one without leaking", () => {
    const machine = createMachine(PRESETS["i386-4g"]!); // 3.5 GiB of RAM, 1 GiB of kernel VA
    const buddy = new BuddyAllocator(machine);
    buddy.freeAllRam();
    const contig = new ContigAllocator({ buddy, queues: new PageQueues(machine) });
    const free0 = buddy.freePageCount;

    // contigmalloc's old contract: physical pages and a kernel mapping. 1 GiB of kernel VA is
    // already partly used by the kernel, so this cannot succeed; nothing is taken.
    const mapped = contig.allocate({
      size: G,
      high: 0xe0000000,
      alignment: 4 * M,
      kernelMapping: true,
    });
    expect(mapped).toBeNull();
    expect(buddy.freePageCount).toBe(free0);

    // The PR's split: physical pages only. The card maps them for user space itself.
    const buffer = contig.allocate({ size: G, high: 0xe0000000, alignment: 4 * M })!;
    expect(buffer.pages).toBe(262144);
    expect(buffer.kernelAddress).toBe(0);
    expect(buffer.physAddr % (4 * M)).toBe(0);
    expect(buffer.physAddr + buffer.size).toBeLessThanOrEqual(0xe0000000);
    expect(buddy.freePageCount).toBe(free0 - 262144);

    contig.free(buffer);
    expect(buddy.freePageCount).toBe(free0);
    contig.checkInvariants();
  });
});
