import { PQ_CACHE, PQ_INACTIVE } from "@mem/contig";
import { PG_dirty, PG_foreign, PG_pinned } from "@mem/machine";
import { describe, expect, it } from "vitest";
import { boot, type Kernel, simulate } from "../src/index.js";

/** Every page of `[pfn, pfn + pages)` is one physically contiguous run of present pages. */
function contiguous(k: Kernel, pfn: number, pages: number): boolean {
  return k.machine.presentPfnRanges().some((r) => pfn >= r.start && pfn + pages <= r.end);
}

describe("ISA sound card (uvm_pglistalloc over the extent mirror)", () => {
  it("gets 16 KiB, 8 KiB aligned, not crossing 64 KiB, below 16 MiB, from a mirror it detaches", () => {
    const k = boot({ machine: "small", seed: 3 });
    k.run({
      name: "isa",
      steps: [
        { do: "churn", ops: 500 },
        { do: "fragment", fill: 0.05, keepEvery: 4 },
        { do: "isa" },
      ],
    });
    k.checkInvariants();
    const r = k.isa.result!;
    expect(r.ok).toBe(true);
    expect(r.error).toBe(0);
    expect(r.mirrorRuns).toBeGreaterThan(0);
    const b = k.isa.buffer!;
    const ps = k.machine.pageSize;
    const phys = b.pfn * ps;
    expect(phys).toBe(r.phys);
    expect(b.pages * ps).toBe(16 * 1024);
    expect(phys % (8 * 1024)).toBe(0);
    expect(Math.floor(phys / 65536)).toBe(Math.floor((phys + 16 * 1024 - 1) / 65536));
    expect(phys + 16 * 1024).toBeLessThanOrEqual(16 * 2 ** 20);
    expect(b.rlist).toEqual(Array.from({ length: b.pages }, (_, j) => b.pfn + j));
    expect(contiguous(k, b.pfn, b.pages)).toBe(true);
    const db = k.machine.pages;
    for (const p of b.rlist!) {
      const i = db.indexOf(p);
      expect(db.flags[i]! & PG_pinned).not.toBe(0);
      expect(db.owner[i]).toBe(k.contig.ownerTag);
    }
    // Only the kernel's allocator keeps observing the free pool after the attach.
    expect(k.contigDriver.slots.attached).toBe(1);
    expect(k.contig.mirror).toBeNull();
    k.isa.detach();
    k.checkInvariants();
  });
});

describe("PCI capture card (vm_contig_pg_alloc, no kernel mapping)", () => {
  it("holds a physically contiguous buffer below 4 GiB with no kernel mapping, mapped into a process", () => {
    const k = boot({ machine: "x86_64-4g", seed: 2 });
    const kvaBefore = k.contigDriver.kernelMap.largestFree();
    k.run({
      name: "cap",
      steps: [
        { do: "pagecache", ops: 3000 },
        { do: "capture", legacy: false },
      ],
    });
    const b = k.capture.buffer!;
    const ps = k.machine.pageSize;
    expect(b.pages * ps).toBe(2 ** 30);
    expect(b.handle?.kernelAddress).toBe(0);
    expect(k.contig.handleAt(b.pfn)?.kernelAddress).toBe(0);
    expect(k.contigDriver.kernelMap.largestFree()).toBe(kvaBefore);
    expect((b.pfn + b.pages) * ps).toBeLessThanOrEqual(2 ** 32);
    expect(contiguous(k, b.pfn, b.pages)).toBe(true);
    const db = k.machine.pages;
    const i0 = db.indexOf(b.pfn);
    let bad = 0;
    for (let j = 0; j < b.pages; j++)
      if (db.pfnOf(i0 + j) !== b.pfn + j || db.mapcount[i0 + j] !== 1) bad++;
    expect(bad).toBe(0);
    expect(b.userPid).toBe(1000);
    k.checkInvariants();
    const free = k.buddy.freePageCount;
    k.capture.detach();
    expect(k.buddy.freePageCount).toBe(free + b.pages);
    k.checkInvariants();
  });

  it("on i386-4g: legacy contigmalloc fails for kernel VA and leaks, then the split API succeeds", () => {
    const r = simulate(
      {
        name: "i386",
        machine: "i386-4g",
        steps: [
          { do: "pagecache", ops: 2000 },
          { do: "capture", bytes: 2 ** 30 },
        ],
      },
      { seed: 4 },
    );
    const c = r.contig.capture!;
    expect(r.machine.name).toBe("i386-4g");
    expect(c.legacy).toBe("no-kva");
    expect(c.leakedPages).toBe(2 ** 30 / 4096);
    expect(c.ok).toBe(true);
    expect(c.kernelAddress).toBe(0);
    expect(c.phys + c.bytes).toBeLessThanOrEqual(2 ** 32);
    expect(r.contig.stats.leakedPages).toBe(2 ** 18);
    expect(r.contig.stats.kvaFailures).toBe(1);
    const log = r.log.join("\n");
    expect(log).toMatch(/contigmalloc\(1024M.*kernel map full/);
    expect(log).toMatch(/contigmalloc1 \(FreeBSD 4\.7\): the 262144 wired pages .* leaked/);
    expect(log).toMatch(/vm_contig_pg_alloc\(1024M.*no kernel mapping.*mapped into pid 1000/);
    expect(log.indexOf("kernel map full")).toBeLessThan(log.indexOf("vm_contig_pg_alloc"));
  });

  it("on i386-4g with the fixed contigmalloc, the pages are given back", () => {
    const k = boot({ machine: "i386-4g", seed: 4, legacyContigmalloc: false });
    const r = k.run({ name: "fixed", steps: [{ do: "capture", bytes: 2 ** 30 }] });
    expect(r.contig.capture?.legacy).toBe("no-kva");
    expect(r.contig.capture?.leakedPages).toBe(0);
    expect(r.contig.capture?.ok).toBe(true);
    expect(r.log.join("\n")).toContain("the pages were freed again");
    k.checkInvariants();
  });
});

describe("Xen netback pair (@mem/xen-foreign)", () => {
  for (const mode of ["destructor", "callback"] as const) {
    it(`keeps its invariants and the buddy free count in ${mode} mode`, () => {
      const k = boot({ machine: "small", seed: 5, debug: true });
      const r = k.run({
        name: "nb",
        steps: [
          { do: "churn", ops: 100 },
          { do: "netback", packets: 600, mode },
        ],
      });
      expect(r.invariants.ok).toBe(true);
      const nb = r.netback!;
      expect(nb.mode).toBe(mode);
      expect(nb.packetsSent).toBe(600);
      expect(nb.responses).toBe(nb.requests);
      expect(nb.freeAfter).toBe(nb.freeBefore);
      const pair = k.xen!;
      pair.checkInvariants();
      const s = pair.stats();
      expect(s.buddyFree).toBe(s.buddyFreeBaseline);
      if (mode === "destructor") {
        expect(nb.destructorCalls).toBeGreaterThan(0);
        expect(nb.callbacks).toBe(0);
      } else {
        expect(nb.destructorCalls).toBe(0);
        expect(nb.callbacks).toBeGreaterThan(0);
      }
      // The compat names are bound to this pair.
      const xen = k.compat.xen as { PageForeign(pfn: number): number };
      const pool = pair.netback.poolPfn[0]!;
      expect(xen.PageForeign(pool)).toBe(1);
      expect(k.machine.pages.flags[k.machine.pages.indexOf(pool)]! & PG_foreign).not.toBe(0);
    });
  }
});

describe("page cache on contig's page queues", () => {
  it("laundering writes dirty page-cache pages to the disk through the pager", () => {
    const k = boot({ machine: "small", seed: 6 });
    k.run({
      name: "pc",
      steps: [{ do: "pagecache", ops: 3000, writeRatio: 1, writebackEvery: 0, maxFraction: 0.6 }],
    });
    const pc = k.pageCache;
    const dirty = pc.dirty;
    const writes = pc.disk.writes;
    expect(dirty).toBeGreaterThan(0);
    // No free run of the whole machine exists: the allocator launders between its passes.
    const h = k.contig.allocate({ size: 60 * 2 ** 20, reclaim: "launder" });
    expect(h).toBeNull();
    expect(k.contig.stats.pageouts).toBeGreaterThan(0);
    expect(pc.stats.laundered).toBe(k.contig.stats.pageouts);
    expect(pc.disk.writes - writes).toBe(k.contig.stats.pageouts);
    expect(pc.dirty).toBe(dirty - k.contig.stats.pageouts);
    expect(pc.count(PQ_CACHE)).toBeGreaterThan(0);
    const db = k.machine.pages;
    for (const pfn of k.queues.pfns(PQ_CACHE))
      expect(db.flags[db.indexOf(pfn)]! & PG_dirty).toBe(0);
    k.checkInvariants();
    // A later read finds a cached page again and puts it back on the inactive queue.
    let again = -1;
    pc.forEachPage((pfn) => {
      if (again < 0 && k.queues.queueOf(pfn) === PQ_CACHE) again = pfn;
    });
    const i = db.indexOf(again);
    expect(pc.read(db.mapping[i]! - 1, db.private[i]!)).toBe(again);
    expect(k.queues.queueOf(again)).toBe(PQ_INACTIVE);
    k.checkInvariants();
  });

  it("migration moves page-cache and anonymous pages and tells their owners", () => {
    const k = boot({ machine: "small", seed: 8 });
    const r = k.run({
      name: "mig",
      steps: [
        { do: "pagecache", ops: 2000, maxFraction: 0.3 },
        { do: "fragment", fill: 0.95, keepEvery: 8, unmovable: 0 },
        { do: "ladder", sizes: [4 * 2 ** 20], strategies: ["indexed", "migrate"], attempts: 1 },
      ],
    });
    const [indexed, migrate] = r.contig.ladder;
    expect(indexed?.successes).toBe(0);
    expect(migrate?.successes).toBe(1);
    expect(migrate?.moved).toBeGreaterThan(0);
    expect(k.contig.stats.migrated).toBeGreaterThan(0);
    expect(k.migratedPages).toBe(k.contig.stats.migrated);
    k.checkInvariants();
  });
});
