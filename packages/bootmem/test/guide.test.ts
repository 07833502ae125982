// The runnable example of docs/bootmem.md: one bitmap over two nodes, where three of the RFC's
// bugs would have shown, and the hand-over to the page allocator.
import { Rootmem } from "@mem/bootmem";
import { describe, expect, it } from "vitest";

const PAGE = 4096;

describe("docs/bootmem.md", () => {
  it("allocates, merges partial pages and releases exact counts over an unaligned node", () => {
    const r = new Rootmem({ pageSize: PAGE, bitsPerLong: 64 });
    r.registerNode(0, 0, 4100); // node 0 ends inside a 64-page word ...
    r.registerNode(1, 4100, 8192); // ... so node 1 starts unaligned
    r.setup(300); // the bitmap lives at pfn 300; every page is now reserved
    r.free(0, 8192 * PAGE); // the firmware says: all RAM
    r.reserve(0, PAGE); // page 0 stays with the firmware
    r.reserve(300 * PAGE, r.mapPages() * PAGE); // and the bitmap with itself

    // The first allocation lands on pfn 1. The RFC returned address 0 here (a "merge" into page 0).
    const a = r.alloc(100, { align: 64 });
    expect(a).toBe(0x1000);
    // The next small allocation shares pfn 1, because the previous one ended inside it.
    expect(r.alloc(100, { align: 64 })).toBe(0x1080);
    // A goal below node 1 does not pull a node-1 allocation into node 0 (the RFC let it).
    const onNode1 = r.allocNode(1, PAGE, PAGE, 0x2000, 0);
    expect(onNode1).toBe(4100 * PAGE);

    // Hand-over: every free page goes to the sink exactly once; node 1's unaligned start is
    // released page by page up to the first aligned word, then 64 pages at a time.
    const got = new Map<number, number>();
    const count = r.releaseAll((pfn, order) => got.set(pfn, order));
    let pages = 0;
    for (const order of got.values()) pages += 2 ** order;
    expect(pages).toBe(count);
    expect(got.get(4101)).toBe(0); // a single page: 4101 is not word-aligned
    expect(got.get(4160)).toBe(6); // 4160 = 65 × 64: a whole word in one block
    // All but page 0, pfn 1 (two allocations) and pfn 4100; the last node also hands over the bitmap.
    expect(count).toBe(8192 - 3);
  });
});
