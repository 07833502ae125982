import { GFP_KERNEL } from "@mem/buddy";
import { ForeignPages } from "@mem/xen-foreign";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NaiveForeignPages } from "../bench/reference.js";
import { bootedSmall } from "./helpers.js";

type Op =
  | { t: "alloc"; order: number }
  | { t: "mark"; r: number; owner: number }
  | { t: "unmark"; r: number }
  | { t: "get"; r: number }
  | { t: "put"; r: number }
  | { t: "free"; r: number };

const r = fc.double({ min: 0, max: 0.999, noNaN: true });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant("alloc" as const), order: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ t: fc.constant("mark" as const), r, owner: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ t: fc.constant("unmark" as const), r }),
  fc.record({ t: fc.constant("get" as const), r }),
  fc.record({ t: fc.constant("put" as const), r }),
  fc.record({ t: fc.constant("free" as const), r }),
);

/** Runs the ops against one allocator; returns the destructor log and the free state. */
function runWith(kind: "ours" | "naive", ops: Op[]): unknown {
  const { m, a } = bootedSmall();
  const log: string[] = [];
  const live: { pfn: number; order: number }[] = [];
  const marked = new Set<number>();
  const owners = [0, 1, 2].map((o) => (pfn: number, order: number): void => {
    log.push(`${o}:${pfn}/${order}`);
    // The owner gets the block: a single page is re-armed (count 1) and stays live; a larger
    // block (no longer compound) is kept by the owner.
    if (order === 0) m.pages.refcount[m.pages.indexOf(pfn)] = 1;
  });
  const ours = kind === "ours" ? new ForeignPages(m) : null;
  const naive = kind === "naive" ? new NaiveForeignPages(m) : null;
  ours?.attach(a);
  naive?.attach(a);
  const ids = owners.map((f, k) => ours?.registerDestructor(`owner${k}`, f) ?? 0);
  const pick = (x: number): { pfn: number; order: number } | undefined =>
    live[Math.floor(x * live.length)];
  for (const op of ops) {
    if (op.t === "alloc") {
      const pfn = a.alloc(GFP_KERNEL, op.order);
      if (pfn >= 0) live.push({ pfn, order: op.order });
      continue;
    }
    const b = pick(op.r);
    if (b === undefined) continue;
    if (op.t === "mark") {
      if (ours !== null) ours.setForeign(b.pfn, ids[op.owner]!);
      else naive!.setForeign(b.pfn, owners[op.owner]!);
      marked.add(b.pfn);
    } else if (op.t === "unmark") {
      if (!marked.has(b.pfn)) continue;
      if (ours !== null) ours.clearForeign(b.pfn);
      else naive!.clearForeign(b.pfn);
      marked.delete(b.pfn);
    } else if (op.t === "get") a.getPage(b.pfn);
    else {
      const before = a.pageCount(b.pfn);
      if (op.t === "put") a.putPage(b.pfn);
      else a.free(b.pfn, b.order);
      if (before === 1 && (!marked.has(b.pfn) || b.order > 0)) live.splice(live.indexOf(b), 1);
    }
  }
  return { log, free: a.freePageCount, blocks: a.freeBlocks().map((x) => `${x.pfn}/${x.order}`) };
}

describe("bench reference equivalence", () => {
  it("the destructor table and the naive Map-of-closures give the same frees and destructor calls", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
        expect(runWith("ours", ops)).toEqual(runWith("naive", ops));
      }),
      { numRuns: 25 },
    );
  });
});
