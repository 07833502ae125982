import { BuddyAllocator } from "@mem/buddy";
import { createContigCompat, M_NOWAIT } from "@mem/contig/compat";
import { Extent } from "@mem/extent";
import { createMachine, PRESETS } from "@mem/machine";
import { describe, expect, it } from "vitest";

/** The kld test module of PR kern/55081 (vm_contig_test.c), as a test. */
describe("vm_contig_test (the seed's test module)", () => {
  it("contigmalloc and vm_contig_pg_alloc give 8 physically adjacent pages and free them", () => {
    const m = createMachine(PRESETS.small!);
    const b = new BuddyAllocator(m);
    b.freeAllRam();
    const kv = m.kernelVirtual;
    const kernelMap = new Extent({
      name: "kernel_map",
      start: kv.start,
      end: kv.start + 2 ** 30 - 1,
    });
    const api = createContigCompat(m.pages, b, kernelMap);
    const M_DEVBUF = { name: "devbuf" };
    const ntp = 8;
    const psz = m.pageSize;
    const free0 = b.freePageCount;

    const b1 = api.contigmalloc(psz * ntp, M_DEVBUF, M_NOWAIT, 0, 0xffffffff, psz, 0);
    expect(b1).not.toBe(0);
    expect(b.freePageCount).toBe(free0 - ntp);
    for (let p = b1 + psz, n = 1; p < b1 + psz * ntp; p += psz, n++) {
      const span = api.vtophys(p) - api.vtophys(p - psz);
      expect(span, `page ${n}`).toBe(psz);
    }
    api.contigfree(b1, psz * ntp, M_DEVBUF);
    expect(b.freePageCount).toBe(free0);

    const idx = api.vm_contig_pg_alloc(psz * ntp, 0, 0xffffffff, psz, 0);
    expect(idx).toBeGreaterThanOrEqual(0);
    expect(b.freePageCount).toBe(free0 - ntp);
    for (let i = idx + 1; i < idx + ntp; i++) {
      expect(api.VM_PAGE_TO_PHYS(i) - api.VM_PAGE_TO_PHYS(i - 1)).toBe(psz);
    }
    api.vm_contig_pg_free(idx, psz * ntp);

    expect(b.freePageCount).toBe(free0);
    expect(kernelMap.runCount).toBe(0);
    api.allocator.checkInvariants();
    b.checkInvariants();
  });
});
