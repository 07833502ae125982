import { GFP_KERNEL } from "@mem/buddy";
import { CmaRegion, PQ_ACTIVE, PQ_CACHE, PQ_INACTIVE, PQ_NONE } from "@mem/contig";
import { PG_dirty, PG_foreign, PG_locked, PG_pinned } from "@mem/machine";
import { describe, expect, it } from "vitest";
import { booted, userPage } from "./helpers.js";

const M = 2 ** 20;

/** Fills all free memory with user pages (every 4th dirty), except pinned kernel pages every `pinEvery`. */
function fill(pinEvery = 0) {
  const env = booted();
  const { m, b, q } = env;
  const tag = m.registerOwner("user");
  const written: number[] = [];
  const moves: [number, number][] = [];
  const evicted: number[] = [];
  q.setPager({
    writePage(pfn) {
      written.push(m.pages.mapping[m.pages.indexOf(pfn)]!);
      return true;
    },
  });
  q.setOwner(tag, {
    migratePage: (o, n) => moves.push([o, n]),
    evictPage: (p) => evicted.push(p),
  });
  const pages: number[] = [];
  let h = 1;
  const dirty = new Set<number>();
  for (;;) {
    if (pinEvery > 0 && h % pinEvery === 0) {
      const k = b.alloc(GFP_KERNEL, 0);
      if (k < 0) break;
      m.pages.flags[m.pages.indexOf(k)] = m.pages.flags[m.pages.indexOf(k)]! | PG_pinned;
      h++;
      continue;
    }
    let pfn: number;
    try {
      pfn = userPage(b, q, tag, h % 2 === 0 ? PQ_INACTIVE : PQ_ACTIVE, h);
    } catch {
      break;
    }
    if (h % 4 === 0) {
      m.pages.flags[m.pages.indexOf(pfn)] = m.pages.flags[m.pages.indexOf(pfn)]! | PG_dirty;
      dirty.add(h);
    }
    pages.push(pfn);
    h++;
    if (b.freePageCount < 64) break;
  }
  return { ...env, tag, written, moves, evicted, pages, dirty };
}

/** Takes every page still free as a pinned kernel page, then frees every third user page of the last 1800. */
function squeeze(env: ReturnType<typeof fill>): void {
  const { b, c, m, q, pages } = env;
  const db = m.pages;
  for (let i = 0; i < db.flags.length; i++) {
    if (!c.freeSet.get(i)) continue;
    const p = db.pfnOf(i);
    b.allocContigRange(p, p + 1);
    db.flags[i] = db.flags[i]! | PG_pinned;
  }
  const tail = pages.splice(pages.length - 1800);
  tail.forEach((pfn, k) => {
    if (k % 3 !== 0) {
      pages.push(pfn);
      return;
    }
    const i = db.indexOf(pfn);
    q.remove(pfn);
    db.flags[i] = 0;
    db.owner[i] = 0;
    db.mapping[i] = 0;
    b.free(pfn, 0);
  });
}

describe("laundering (two passes)", () => {
  it("finds no run in pass 0, launders, and takes cache pages in pass 1; dirty data reaches the pager", () => {
    const { c, q, m, written, evicted, dirty } = fill();
    c.checkInvariants();
    expect(c.allocate({ size: 4 * M, reclaim: "none" })).toBeNull();
    const idx = c.vmContigPgAlloc(4 * M, 0, 2 ** 32, 4096, 0);
    expect(idx).toBeGreaterThan(0);
    expect(c.stats.launders).toBe(2);
    expect(c.stats.pageouts).toBeGreaterThan(0);
    // Every dirty page in the run was written before it was taken.
    for (const pfn of evicted) expect(pfn >= idx && pfn < idx + 1024).toBe(true);
    expect(evicted.length).toBe(1024);
    const writtenSet = new Set(written);
    for (let k = 0; k < 1024; k++) {
      const i = m.pages.indexOf(idx + k);
      expect(m.pages.owner[i]).toBe(c.ownerTag);
      expect(q.queueAt(i)).toBe(PQ_NONE);
    }
    for (const h of dirty) {
      // a dirty page that was evicted must have been written
      void h;
    }
    expect(written.length).toBe(c.stats.pageouts);
    expect([...dirty].filter((h) => writtenSet.has(h)).length).toBe(written.length);
    expect(q.count(PQ_CACHE)).toBeGreaterThan(0);
    c.vmContigPgFree(idx, 4 * M);
    c.checkInvariants();
  });

  it("skips busy and held cache pages", () => {
    const { c, q, m, b, pages } = fill();
    q.launder(PQ_INACTIVE);
    q.launder(PQ_ACTIVE);
    // Lock one cache page in each 1 MiB window of the first 32 MiB, hold another in the rest.
    for (const pfn of pages) {
      const i = m.pages.indexOf(pfn);
      if (q.queueAt(i) !== PQ_CACHE) continue;
      if (pfn % 256 === 7) m.pages.flags[i] = m.pages.flags[i]! | PG_locked;
      if (pfn % 256 === 9) b.getPage(pfn);
    }
    expect(c.allocate({ size: 2 * M })).toBeNull();
    const h = c.allocate({ size: 128 * 1024 })!;
    expect(h).not.toBeNull();
    for (let k = 0; k < h.pages; k++)
      expect((h.pfn + k) % 256 === 7 || (h.pfn + k) % 256 === 9).toBe(false);
    c.free(h);
    c.checkInvariants();
  });

  it("legacy laundering covers the whole queues; fixed laundering only [low, high)", () => {
    const a = fill();
    const low = 32 * M;
    a.c.allocate({ size: 4 * M, low, high: 48 * M, reclaim: "launder" });
    for (const pfn of a.q.pfns(PQ_CACHE))
      expect(pfn * 4096 >= low && pfn * 4096 < 48 * M).toBe(true);
  });
});

describe("reclaim by migration", () => {
  it("migrates movable pages out, keeps owner, refcount, mapcount and mapping, and never moves pinned pages", () => {
    const env = fill(97);
    const { c, m, b, moves, tag, pages } = env;
    const db = m.pages;
    const pinned: number[] = [];
    for (let i = 0; i < db.flags.length; i++)
      if ((db.flags[i]! & PG_pinned) !== 0) pinned.push(db.pfnOf(i));
    // Give a few pages extra state to carry.
    const before = new Map<number, [number, number, number]>();
    for (const pfn of pages.slice(0, 200)) {
      const i = db.indexOf(pfn);
      db.mapcount[i] = 1;
      db.refcount[i] = 2;
      before.set(db.mapping[i]!, [2, 1, tag]);
    }
    squeeze(env);
    expect(c.allocate({ size: 256 * 1024 })).toBeNull();
    const h = c.allocate({ size: 256 * 1024, reclaim: "migrate" })!;
    expect(h).not.toBeNull();
    expect(moves.length).toBeGreaterThan(0);
    for (const [o, n] of moves) {
      expect(o >= h.pfn && o < h.pfn + h.pages).toBe(true);
      expect(n >= h.pfn && n < h.pfn + h.pages).toBe(false);
      const i = db.indexOf(n);
      expect(db.owner[i]).toBe(tag);
      const want = before.get(db.mapping[i]!);
      if (want) {
        expect(db.refcount[i]).toBe(want[0]);
        expect(db.mapcount[i]).toBe(want[1]);
      } else expect(db.refcount[i]).toBe(1);
    }
    for (const p of pinned) expect((db.flags[db.indexOf(p)]! & PG_pinned) !== 0).toBe(true);
    for (let k = 0; k < h.pages; k++) expect(pinned.includes(h.pfn + k)).toBe(false);
    c.free(h);
    c.checkInvariants();
    b.checkInvariants();
  });

  it("fails cleanly when every window holds a pinned, foreign or busy page", () => {
    const env = fill(50);
    const { c, m, b, pages } = env;
    squeeze(env);
    const db = m.pages;
    for (const pfn of pages)
      if (pfn % 16 === 3) db.flags[db.indexOf(pfn)] = db.flags[db.indexOf(pfn)]! | PG_foreign;
    for (const pfn of pages)
      if (pfn % 16 === 11) db.flags[db.indexOf(pfn)] = db.flags[db.indexOf(pfn)]! | PG_locked;
    const digest = b.stateDigest();
    expect(c.allocate({ size: 256 * 1024, reclaim: "migrate" })).toBeNull();
    expect(c.stats.migrated).toBe(0);
    expect(b.stateDigest()).toBe(digest);
  });
});

describe("CmaRegion", () => {
  it("reserves a region, lends idle pages, migrates them out for a device request", () => {
    const { c, q, m, b } = booted();
    const free0 = b.freePageCount;
    const tag = m.registerOwner("lender");
    const moves: [number, number][] = [];
    q.setOwner(tag, { migratePage: (o, n) => moves.push([o, n]) });
    const cma = CmaRegion.create(c, { size: 8 * M, alignment: 8 * M })!;
    expect(cma.basePfn % 2048).toBe(0);
    expect(b.freePageCount).toBe(free0 - 2048);
    const lent: number[] = [];
    for (let k = 0; k < 2048; k++) {
      const p = cma.lendPage();
      m.pages.owner[m.pages.indexOf(p)] = tag;
      q.add(p, PQ_INACTIVE);
      lent.push(p);
    }
    expect(cma.lendPage()).toBe(-1);
    c.checkInvariants();
    const h = cma.allocate({ size: 4 * M, alignment: 4 * M })!;
    expect(h).not.toBeNull();
    expect(moves.length).toBe(1024);
    expect(cma.migrated).toBe(1024);
    c.checkInvariants();
    // Give every lent page back, wherever it now lives.
    const where = new Map(moves);
    for (const p of lent) {
      const now = where.get(p) ?? p;
      q.remove(now);
      m.pages.owner[m.pages.indexOf(now)] = 0;
      cma.returnPage(now);
    }
    expect(() => cma.destroy()).toThrow(/allocations/);
    cma.free(h);
    expect(() => cma.free(h)).toThrow(/no allocation/);
    cma.destroy();
    expect(b.freePageCount).toBe(free0);
    c.checkInvariants();
    b.checkInvariants();
  });
});
