import { BuddyAllocator, GFP_KERNEL } from "@mem/buddy";
import { createMachine, PRESETS } from "@mem/machine";
import { ForeignPages } from "@mem/xen-foreign";
import { describe, expect, it } from "vitest";

describe("ForeignPages hook and memory hotplug", () => {
  it("finds foreign pages in a section that came back in another slot", () => {
    const m = createMachine(PRESETS.small!);
    const a = new BuddyAllocator(m);
    a.freeAllRam();
    const fp = new ForeignPages(m);
    fp.attach(a);
    const got: number[] = [];
    const id = fp.registerDestructor("owner", (pfn) => got.push(pfn));
    const sp = m.sectionPages;
    const A = Math.ceil(m.maxPfn / sp) * sp;
    const B = A + 4 * sp;
    m.addMemory(A, sp);
    // Allocate until a page of section A comes out, free it (the hook caches section A).
    const held: number[] = [];
    let inA = -1;
    while (inA < 0) {
      const p = a.alloc(GFP_KERNEL, 0);
      expect(p).toBeGreaterThanOrEqual(0);
      if (p >= A && p < A + sp) inA = p;
      else held.push(p);
    }
    a.free(inA, 0);
    a.drain();
    expect(m.removeMemory(A, sp)).toBe(true);
    m.addMemory(B, sp); // takes A's old slot
    m.addMemory(A, sp); // A comes back elsewhere
    let p = -1;
    while (p < 0) {
      const q = a.alloc(GFP_KERNEL, 0);
      expect(q).toBeGreaterThanOrEqual(0);
      if (q >= A && q < A + sp) p = q;
      else held.push(q);
    }
    fp.setForeign(p, id);
    a.free(p, 0);
    expect(got).toEqual([p]);
  });
});
