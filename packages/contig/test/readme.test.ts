import { BuddyAllocator } from "@mem/buddy";
import { ContigAllocator, PageQueues } from "@mem/contig";
import { createContigCompat, M_NOWAIT } from "@mem/contig/compat";
import { createMachine, PRESETS } from "@mem/machine";
import { describe, expect, it, vi } from "vitest";

describe("README", () => {
  it("runs the usage example", () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    // --- copied from README.md ---
    const machine = createMachine(PRESETS.small!);
    const buddy = new BuddyAllocator(machine);
    buddy.freeAllRam();

    // The page cache / anonymous memory lives on the queues, with a pager and an owner per tag.
    const queues = new PageQueues(machine, { pager: { writePage: () => true } });
    const tag = machine.registerOwner("pagecache");
    queues.setOwner(tag, {
      migratePage: (oldPfn, newPfn) => console.log(`moved ${oldPfn} -> ${newPfn}`),
      evictPage: (pfn) => console.log(`dropped cache page ${pfn}`),
    });

    const contig = new ContigAllocator({ buddy, queues });
    // A DMA buffer for an ISA card: 16 KiB, 8 KiB aligned, not crossing 64 KiB, below 16 MiB.
    const dma = contig.allocate({
      size: 16 * 1024,
      high: 16 * 2 ** 20,
      alignment: 8 * 1024,
      boundary: 64 * 1024,
      reclaim: "migrate",
    });
    console.log(dma?.physAddr.toString(16), dma?.kernelAddress); // "2000 0": no kernel mapping
    if (dma) contig.free(dma);
    contig.detach();

    // FreeBSD's and NetBSD's names, over a page array, a page allocator and a kernel map.
    const c = new ContigAllocator({ buddy });
    const api = createContigCompat(machine.pages, buddy, c.kernelMap);
    c.detach();
    const va = api.contigmalloc(8 * 4096, { name: "devbuf" }, M_NOWAIT, 0, 0xffffffff, 4096, 0);
    api.contigfree(va, 8 * 4096, { name: "devbuf" });
    const idx = api.vm_contig_pg_alloc(8 * 4096, 0, 0xffffffff, 4096, 0); // a pfn, no mapping
    api.vm_contig_pg_free(idx, 8 * 4096);
    const rlist: number[] = [];
    api.uvm_pglistalloc(16 * 1024, 0, 16 * 2 ** 20, 8 * 1024, 64 * 1024, rlist, 1, 0); // 0
    api.uvm_pglistfree(rlist);
    // --- end of the example ---
    expect(log).toHaveBeenCalledWith("2000", 0);
    expect(va).toBeGreaterThan(0);
    expect(idx).toBeGreaterThan(0);
    expect(rlist.length).toBe(0);
    expect(buddy.freePageCount).toBe(buddy.managedPages);
    log.mockRestore();
  });
});
