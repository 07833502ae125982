import { GFP_HIGHUSER_MOVABLE } from "@mem/buddy";
import { PageQueues, PQ_ACTIVE, PQ_CACHE, PQ_INACTIVE, PQ_NONE } from "@mem/contig";
import { InvalidArgumentError, KernelPanic, PG_active, PG_dirty, PG_lru } from "@mem/machine";
import { describe, expect, it } from "vitest";
import { booted } from "./helpers.js";

describe("PageQueues", () => {
  it("adds, moves, removes and counts, keeping PG_lru and PG_active right", () => {
    const { b, m } = booted();
    const q = new PageQueues(m);
    const pfns = [0, 1, 2].map(() => b.alloc(GFP_HIGHUSER_MOVABLE, 0));
    q.add(pfns[0]!, PQ_INACTIVE);
    q.add(pfns[1]!, PQ_ACTIVE);
    q.add(pfns[2]!, PQ_INACTIVE);
    expect(q.count(PQ_INACTIVE)).toBe(2);
    expect(q.count(PQ_ACTIVE)).toBe(1);
    expect([...q.pfns(PQ_INACTIVE)]).toEqual([pfns[0], pfns[2]]);
    const f = (p: number) => m.pages.flags[m.pages.indexOf(p)]!;
    expect(f(pfns[1]!) & (PG_lru | PG_active)).toBe(PG_lru | PG_active);
    q.move(pfns[1]!, PQ_CACHE);
    expect(f(pfns[1]!) & (PG_lru | PG_active)).toBe(PG_lru);
    expect(q.queueOf(pfns[1]!)).toBe(PQ_CACHE);
    expect(q.remove(pfns[0]!)).toBe(PQ_INACTIVE);
    expect(f(pfns[0]!) & PG_lru).toBe(0);
    expect(q.queueOf(pfns[0]!)).toBe(PQ_NONE);
    expect(() => q.remove(pfns[0]!)).toThrow(KernelPanic);
    expect(() => q.add(pfns[2]!, PQ_ACTIVE)).toThrow(/already on a list/);
    expect(() => q.add(pfns[0]!, 7)).toThrow(InvalidArgumentError);
    expect(() => q.add(Number.NaN, PQ_ACTIVE)).toThrow(InvalidArgumentError);
    const freePfn = b.alloc(GFP_HIGHUSER_MOVABLE, 0);
    b.free(freePfn, 0);
    expect(() => q.add(freePfn, PQ_ACTIVE)).toThrow(/not an allocated page/);
    expect(() => q.setOwner(0, {})).toThrow(InvalidArgumentError);
  });

  it("launders: clean pages to the cache, dirty pages through the pager, failures kept", () => {
    const { b, m } = booted();
    const q = new PageQueues(m);
    const written: number[] = [];
    let ok = true;
    q.setPager({
      writePage: (p) => {
        written.push(p);
        return ok;
      },
    });
    const pfns = [0, 1, 2, 3].map(() => b.alloc(GFP_HIGHUSER_MOVABLE, 0));
    for (const p of pfns) q.add(p, PQ_INACTIVE);
    for (const p of [pfns[1]!, pfns[2]!]) {
      const i = m.pages.indexOf(p);
      m.pages.flags[i] = m.pages.flags[i]! | PG_dirty;
    }
    b.getPage(pfns[3]!);
    ok = false;
    const r1 = q.launder(PQ_INACTIVE, 0, pfns[2]!);
    expect(r1).toMatchObject({ cached: 1, failed: 1, pagedOut: 0 });
    ok = true;
    const r2 = q.launder(PQ_INACTIVE);
    expect(r2).toMatchObject({ cached: 2, pagedOut: 2, held: 1 });
    expect(written).toEqual([pfns[1], pfns[1], pfns[2]]);
    expect(m.pages.flags[m.pages.indexOf(pfns[1]!)]! & PG_dirty).toBe(0);
    expect(q.count(PQ_CACHE)).toBe(3);
    expect(() => q.launder(PQ_CACHE)).toThrow(InvalidArgumentError);
  });
});
