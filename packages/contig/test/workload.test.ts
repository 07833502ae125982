import { fragmentMemory } from "@mem/contig";
import { describe, expect, it } from "vitest";
import { booted } from "./helpers.js";

const M = 2 ** 20;

/** Longest run of pages (dense indexes) that are free or on a queue: no kernel block inside. */
function longestKernelFreeRun(env: ReturnType<typeof booted>): number {
  const { c, m } = env;
  let best = 0;
  let run = 0;
  for (let i = 0; i < m.pages.flags.length; i++) {
    if (c.reclaimable.get(i)) {
      run++;
      if (run > best) best = run;
    } else run = 0;
  }
  return best;
}

describe("fragmentMemory", () => {
  it("is reproducible, keeps the movable share, fragments free memory and groups kernel blocks by pageblock", () => {
    const a = booted();
    const wa = fragmentMemory(a.b, a.q, { seed: 3 });
    const b = booted();
    fragmentMemory(b.b, b.q, { seed: 3 });
    expect(a.b.stateDigest()).toBe(b.b.stateDigest());
    a.c.checkInvariants();
    a.b.checkInvariants();
    const mov = wa.movablePages();
    const unmov = wa.unmovablePages();
    expect(mov / (mov + unmov)).toBeGreaterThanOrEqual(0.5);
    expect(mov / (mov + unmov)).toBeLessThan(0.7);
    // About 30% of the allocations freed: free memory is a fifth of RAM or more, in small blocks.
    const free = a.b.freePageCount;
    expect(free).toBeGreaterThan(0.2 * a.b.managedPages);
    let large = 0;
    a.b.forEachFreeBlock((_pfn, order) => {
      if (order >= 6) large += 2 ** order;
    });
    expect(large).toBeLessThan(0.1 * free);
    a.c.checkInvariants();
  });

  it("groups kernel blocks by mobility on 4 GiB: a quarter of RAM stays free of them, and migration takes 1 GiB there", () => {
    const env = booted({}, "x86_64-4g");
    const w = fragmentMemory(env.b, env.q, { seed: 1 });
    const quarter = env.b.managedPages / 4;
    // The first version of the workload interleaved kernel blocks with the page cache as memory
    // filled: no window of even 64 MiB was free of them.
    expect(longestKernelFreeRun(env)).toBeGreaterThan(quarter);
    w.churn(2000);
    expect(env.c.allocate({ size: 2 ** 30 })).toBeNull();
    const h = env.c.allocate({ size: 2 ** 30, reclaim: "migrate" });
    expect(h).not.toBeNull();
    env.c.free(h!);
    env.c.checkInvariants();
  }, 60_000);

  it("lets migration take a quarter of RAM, telling the owner of every move, where the plain search fails", () => {
    const env = booted();
    const { c, b, m } = env;
    const w = fragmentMemory(b, env.q, { seed: 5 });
    w.churn(2000);
    expect(c.allocate({ size: 16 * M })).toBeNull();
    expect(c.allocate({ size: 16 * M, reclaim: "launder" })).toBeNull();
    const h = c.allocate({ size: 16 * M, reclaim: "migrate" });
    expect(h).not.toBeNull();
    expect(w.migrations.count).toBeGreaterThan(0);
    expect(w.migrations.count).toBe(c.stats.migrated);
    const db = m.pages;
    // Every live movable page is where its owner thinks, outside the allocation.
    for (let handle = 1; handle < 1 << 16; handle++) {
      const pfn = w.whereIs(handle);
      if (pfn < 0) continue;
      const i = db.indexOf(pfn);
      expect(db.mapping[i]).toBe(handle);
      expect(db.owner[i]).toBe(w.ownerTag);
      expect(pfn >= h!.pfn && pfn < h!.pfn + h!.pages).toBe(false);
    }
    c.checkInvariants();
    b.checkInvariants();
    c.free(h!);
    c.checkInvariants();
  });

  it("gives the window's isolated free pages back when migration runs out of targets", () => {
    const env = booted();
    const { c, b } = env;
    fragmentMemory(b, env.q, { seed: 5, release: 0.05 });
    const free = b.freePageCount;
    expect(free).toBeLessThan(4096);
    expect(c.allocate({ size: 16 * M, reclaim: "migrate" })).toBeNull();
    expect(c.stats.migrateFailures).toBeGreaterThan(0);
    // Each move took one page and gave one back; the isolated pages are free again.
    expect(b.freePageCount).toBe(free);
    c.checkInvariants();
    b.checkInvariants();
  });
});
