import { GFP_KERNEL } from "@mem/buddy";
import { InvalidArgumentError, KernelPanic, PG_buddy, PG_foreign } from "@mem/machine";
import { ForeignPages, UmlPhysmem } from "@mem/xen-foreign";
import { describe, expect, it } from "vitest";
import { bootedSmall } from "./helpers.js";

function setup(options: { pcp?: boolean } = {}) {
  const { m, a } = bootedSmall(options);
  const fp = new ForeignPages(m);
  const remove = fp.attach(a);
  const returned: [number, number][] = [];
  const dtor = fp.registerDestructor("test-owner", (pfn, order) => {
    returned.push([pfn, order]);
  });
  return { m, a, fp, dtor, returned, remove };
}

describe("ForeignPages", () => {
  it("returns a foreign page to its owner on the per-CPU path, once, at the last put", () => {
    const { m, a, fp, dtor, returned } = setup();
    const p = a.alloc(GFP_KERNEL, 0);
    fp.setForeign(p, dtor);
    expect(fp.isForeign(p)).toBe(true);
    expect(m.ownerName(m.pages.owner[m.pages.indexOf(p)]!)).toBe("test-owner");
    const free0 = a.freePageCount;
    a.getPage(p);
    a.getPage(p);
    a.putPage(p);
    a.putPage(p);
    expect(returned).toEqual([]);
    a.putPage(p); // count 1 -> 0: the destructor, not the free lists
    expect(returned).toEqual([[p, 0]]);
    expect(fp.destructorCalls(dtor)).toBe(1);
    expect(a.freePageCount).toBe(free0);
    expect(a.stats.pgfree).toBe(0);
    expect(a.stats.hookClaims).toBe(1);
    expect(m.pages.refcount[m.pages.indexOf(p)]).toBe(0);
    expect(m.pages.flags[m.pages.indexOf(p)]! & PG_buddy).toBe(0);
    a.checkInvariants();
  });

  it("takes a foreign page freed through free_hot_cold_page", () => {
    const { a, fp, dtor, returned } = setup();
    const p = a.alloc(GFP_KERNEL, 0);
    fp.setForeign(p, dtor);
    const free0 = a.freePageCount;
    a.freeHotCold(p, true);
    expect(returned).toEqual([[p, 0]]);
    expect(a.freePageCount).toBe(free0);
  });

  it("takes a foreign block freed with __free_pages on the buddy path", () => {
    const { a, fp, dtor, returned } = setup({ pcp: false });
    const p = a.alloc(GFP_KERNEL, 2);
    const q = a.alloc(GFP_KERNEL, 0);
    fp.setForeign(p, dtor);
    fp.setForeign(q, dtor);
    const free0 = a.freePageCount;
    a.free(p, 2);
    a.free(q, 0);
    expect(returned).toEqual([
      [p, 2],
      [q, 0],
    ]);
    expect(a.freePageCount).toBe(free0);
    a.checkInvariants();
  });

  it("lets normal pages free normally with the hook installed", () => {
    const { a, returned } = setup();
    const free0 = a.freePageCount;
    const p = a.alloc(GFP_KERNEL, 0);
    const b = a.alloc(GFP_KERNEL, 3);
    a.free(p, 0);
    a.free(b, 3);
    expect(returned).toEqual([]);
    expect(a.freePageCount).toBe(free0);
    expect(a.stats.hookClaims).toBe(0);
  });

  it("goes back to the buddy allocator after ClearPageForeign", () => {
    const { m, a, fp, dtor, returned } = setup();
    const p = a.alloc(GFP_KERNEL, 0);
    fp.setForeign(p, dtor);
    fp.clearForeign(p);
    expect(fp.isForeign(p)).toBe(false);
    expect(m.pages.mapping[m.pages.indexOf(p)]).toBe(0);
    expect(m.pages.owner[m.pages.indexOf(p)]).toBe(0);
    const free0 = a.freePageCount;
    a.free(p, 0);
    expect(returned).toEqual([]);
    expect(a.freePageCount).toBe(free0 + 1);
  });

  it("is never handed out: the allocator discards a foreign page found on a free list", () => {
    const { m, a } = setup({ pcp: false });
    const p = a.alloc(GFP_KERNEL, 0);
    a.free(p, 0);
    const i = m.pages.indexOf(p);
    m.pages.flags[i] = m.pages.flags[i]! | PG_foreign; // white-box: corrupt a free page
    const q = a.alloc(GFP_KERNEL, 0);
    expect(q).not.toBe(p);
    expect(a.stats.badPages).toBe(1);
  });

  it("never allocates a foreign page when memory runs out", () => {
    const { m, a, fp, dtor } = setup();
    const mine: number[] = [];
    for (let k = 0; k < 64; k++) {
      const p = a.alloc(GFP_KERNEL, 0);
      fp.setForeign(p, dtor);
      a.putPage(p); // owned by the test now, count 0
      mine.push(p);
    }
    const got: number[] = [];
    for (;;) {
      const p = a.alloc(GFP_KERNEL, 0);
      if (p < 0) break;
      expect(m.pages.flags[m.pages.indexOf(p)]! & PG_foreign).toBe(0);
      got.push(p);
    }
    expect(got.length).toBeGreaterThan(1000);
    for (const p of mine) expect(got).not.toContain(p);
  });

  it("refuses to mark free, reserved or absent pages, and bad arguments, changing nothing", () => {
    const { m, a, fp, dtor } = setup();
    const p = a.alloc(GFP_KERNEL, 0);
    a.free(p, 0); // free now (per-CPU list)
    expect(() => fp.setForeign(p, dtor)).toThrow(KernelPanic);
    expect(() => fp.setForeign(0, dtor)).toThrow(/reserved/);
    const q = a.alloc(GFP_KERNEL, 0);
    const before = a.stateDigest();
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])
      expect(() => fp.setForeign(bad, dtor)).toThrow(InvalidArgumentError);
    expect(() => fp.setForeign(2 ** 40, dtor)).toThrow(KernelPanic);
    for (const badId of [0, -1, 99, 1.5, Number.NaN])
      expect(() => fp.setForeign(q, badId)).toThrow(/not registered/);
    expect(() => fp.setForeign(q, () => {})).toThrow(/not registered/);
    expect(() => fp.clearForeign(q)).toThrow(/not a foreign page/);
    expect(() => fp.registerDestructor("x", null as never)).toThrow(InvalidArgumentError);
    expect(a.stateDigest()).toBe(before);
    expect(m.pages.flags[m.pages.indexOf(q)]! & PG_foreign).toBe(0);
  });

  it("keeps the page and its count when a destructor throws, and runs it once on retry", () => {
    const { m, a, fp } = setup();
    let fail = true;
    let runs = 0;
    const id = fp.registerDestructor("flaky", () => {
      if (fail) throw new Error("owner busy");
      runs++;
    });
    const p = a.alloc(GFP_KERNEL, 0);
    fp.setForeign(p, id);
    const before = a.stateDigest();
    const free0 = a.freePageCount;
    expect(() => a.putPage(p)).toThrow("owner busy");
    expect(a.stateDigest()).toBe(before);
    expect(a.pageCount(p)).toBe(1);
    expect(fp.isForeign(p)).toBe(true);
    expect(fp.destructorCalls(id)).toBe(0);
    fail = false;
    a.putPage(p);
    expect(runs).toBe(1);
    expect(fp.destructorCalls(id)).toBe(1);
    expect(a.freePageCount).toBe(free0);
    expect(m.pages.refcount[m.pages.indexOf(p)]).toBe(0);
  });

  it("refuses put_page on a count already zero, changing nothing", () => {
    const { a, fp, dtor, returned } = setup();
    const p = a.alloc(GFP_KERNEL, 0);
    fp.setForeign(p, dtor);
    a.putPage(p);
    expect(returned.length).toBe(1);
    const before = a.stateDigest();
    expect(() => a.putPage(p)).toThrow(KernelPanic);
    expect(() => a.free(p, 0)).toThrow(KernelPanic);
    expect(a.stateDigest()).toBe(before);
    expect(returned.length).toBe(1);
  });

  it("panics when a foreign page reaches only an observing (void) hook, changing nothing", () => {
    const { a, fp, dtor, remove, returned } = setup();
    remove();
    const uml = new UmlPhysmem();
    uml.attach(a);
    const p = a.alloc(GFP_KERNEL, 0);
    fp.setForeign(p, dtor);
    const before = a.stateDigest();
    expect(() => a.free(p, 0)).toThrow(/foreign/);
    expect(a.stateDigest()).toBe(before);
    expect(returned).toEqual([]);
    expect(uml.observed).toBe(1); // it saw the free, could not take the page
  });

  it("sits beside a UML observer that sees only the frees the generic code does", () => {
    const { a, fp, dtor, returned } = setup();
    const uml = new UmlPhysmem();
    uml.attach(a);
    const p = a.alloc(GFP_KERNEL, 0);
    const q = a.alloc(GFP_KERNEL, 1);
    uml.substMapping(q + 1, 3, 8192, true);
    uml.substMapping(p, 4, 0, false);
    fp.setForeign(p, dtor);
    a.free(p, 0);
    expect(returned).toEqual([[p, 0]]);
    expect(uml.observed).toBe(0); // the claim came first
    expect(uml.substitution(p)).not.toBeNull();
    a.free(q, 1);
    expect(uml.observed).toBe(1);
    expect(uml.removed).toBe(1);
    expect(uml.substitution(q + 1)).toBeNull();
    expect(() => uml.substMapping(-1, 0, 0, false)).toThrow(InvalidArgumentError);
  });

  it("reuses the id of a destructor registered twice and names it", () => {
    const { fp } = setup();
    const f = (): void => {};
    const id = fp.registerDestructor("a", f);
    expect(fp.registerDestructor("b", f)).toBe(id);
    expect(fp.destructorName(id)).toBe("a");
    expect(fp.destructorFunction(1)).toBeNull();
  });

  it("refuses to run a destructor while the page is referenced", () => {
    const { m, a, fp, dtor, returned } = setup();
    const p = a.alloc(GFP_KERNEL, 0);
    fp.setForeign(p, dtor);
    expect(() => fp.claim(m.pages.indexOf(p), p, 0)).toThrow(/reference count 1/);
    expect(returned).toEqual([]);
  });
});
