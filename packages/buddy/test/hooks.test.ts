import { BuddyAllocator, GFP_KERNEL } from "@mem/buddy";
import { KernelPanic, PG_foreign } from "@mem/machine";
import { describe, expect, it } from "vitest";
import { bootedSmall } from "./helpers.js";

describe("BuddyAllocator free hooks", () => {
  it("calls an observing hook on the per-CPU and the buddy path before any statistics", () => {
    const { a } = bootedSmall();
    const seen: [number, number, number][] = [];
    a.addFreeHook({
      name: "uml",
      onFree: (pfn, order) => {
        seen.push([pfn, order, a.stats.pgfree]);
        return false;
      },
    });
    const p = a.alloc(GFP_KERNEL, 0);
    const b = a.alloc(GFP_KERNEL, 4);
    a.free(p, 0); // per-CPU path
    a.free(b, 4); // buddy path
    expect(seen).toEqual([
      [p, 0, 0],
      [b, 4, 1],
    ]);
    expect(a.stats.pgfree).toBe(17);
    a.checkInvariants();
  });

  it("lets a claiming hook take foreign pages back to their owner on both paths", () => {
    const { m, a } = bootedSmall();
    const owner = m.registerOwner("xen-foreign");
    const db = m.pages;
    const returned: number[] = [];
    const remove = a.addFreeHook({
      name: "xen",
      onFree: (pfn) => {
        const i = db.indexOf(pfn);
        if ((db.flags[i]! & PG_foreign) === 0) return false;
        db.owner[i] = owner;
        returned.push(pfn);
        return true;
      },
    });
    const p = a.alloc(GFP_KERNEL, 0);
    const q = a.alloc(GFP_KERNEL, 0);
    db.flags[db.indexOf(p)] = PG_foreign;
    const free0 = a.freePageCount;
    a.getPage(p);
    a.putPage(p); // not the last reference
    a.free(p, 0); // direct __free_pages of a foreign page goes to its owner
    expect(returned).toEqual([p]);
    expect(a.freePageCount).toBe(free0);
    expect(a.stats.hookClaims).toBe(1);
    expect(a.stats.pgfree).toBe(0);
    a.checkInvariants();
    a.free(q, 0); // a normal page is freed normally
    expect(a.freePageCount).toBe(free0 + 1);
    // Without the hook, freeing a foreign page is a bad page and nothing changes.
    remove();
    const r = a.alloc(GFP_KERNEL, 0);
    db.flags[db.indexOf(r)] = PG_foreign;
    const before = a.stateDigest();
    expect(() => a.free(r, 0)).toThrow(KernelPanic);
    expect(a.stateDigest()).toBe(before);
  });

  it("never hands out a foreign page found on the free lists", () => {
    const { m, a } = bootedSmall({ pcp: false });
    const p = a.alloc(GFP_KERNEL, 0);
    a.free(p, 0);
    // The freed page heads an order-0 block at the head of its list: make it foreign.
    const db = m.pages;
    const i = db.indexOf(p);
    expect(db.flags[i]! & 0x10000).not.toBe(0);
    db.flags[i] = db.flags[i]! | PG_foreign;
    const q = a.alloc(GFP_KERNEL, 0);
    expect(q).not.toBe(p);
    expect(q).toBeGreaterThan(0);
    expect(a.stats.badPages).toBe(1);
    a.checkInvariants();
  });

  it("restores the count when a hook throws", () => {
    const { a } = bootedSmall();
    const p = a.alloc(GFP_KERNEL, 0);
    a.addFreeHook({
      name: "broken",
      onFree: () => {
        throw new Error("destructor failed");
      },
    });
    const before = a.stateDigest();
    expect(() => a.free(p, 0)).toThrow("destructor failed");
    expect(a.stateDigest()).toBe(before);
    expect(a.pageCount(p)).toBe(1);
  });

  it("rejects a hook without onFree", () => {
    const { m } = bootedSmall();
    const a = new BuddyAllocator(m, { hotplug: false });
    expect(() => a.addFreeHook({ name: "x" } as never)).toThrow();
  });

  it("skips a hook with a flag mask for every page whose flags miss the mask, on both paths", () => {
    const { m, a } = bootedSmall();
    const db = m.pages;
    const masked: number[] = [];
    const all: number[] = [];
    a.addFreeHook({
      name: "xen",
      flagMask: PG_foreign,
      onFree: (pfn) => {
        masked.push(pfn);
        db.flags[db.indexOf(pfn)] = 0;
        return true;
      },
    });
    // Normal frees through the per-CPU path (order 0) and the buddy path (order 3): not seen.
    const p = a.alloc(GFP_KERNEL, 0);
    const b = a.alloc(GFP_KERNEL, 3);
    a.free(p, 0);
    a.free(b, 3);
    expect(masked).toEqual([]);
    // A foreign page is seen, and claimed, on either path.
    const f0 = a.alloc(GFP_KERNEL, 0);
    db.flags[db.indexOf(f0)] = PG_foreign;
    a.free(f0, 0);
    expect(masked).toEqual([f0]);
    // A hook without a mask sees every free again, after the masked one passes on it.
    const remove = a.addFreeHook({
      name: "uml",
      onFree: (pfn) => {
        all.push(pfn);
        return false;
      },
    });
    const q = a.alloc(GFP_KERNEL, 0);
    a.free(q, 0);
    expect(all).toEqual([q]);
    expect(masked).toEqual([f0]);
    remove();
    const r = a.alloc(GFP_KERNEL, 0);
    a.free(r, 0);
    expect(all).toEqual([q]);
  });

  it("rejects a flag mask that is not a 32-bit mask", () => {
    const { a } = bootedSmall();
    for (const flagMask of [-1, 1.5, Number.NaN, 2 ** 33]) {
      expect(() => a.addFreeHook({ name: "x", flagMask, onFree: () => false })).toThrow(/flagMask/);
    }
  });
});
