// The runnable example of docs/pageflags.md: a sparse machine, what each mode costs, and a
// hibernation-style set operation, with the machine written out by hand (any object of the right
// shape will do; @mem/machine's Machine is one).
import { createPageFlags, type PageAllocator, type PfnSpace } from "@mem/pageflags";
import { describe, expect, it } from "vitest";

const SECTION = 2 ** 15; // 128 MiB of 4 KiB pages
const TIB = 2 ** 28; // pfns per TiB

// 128 MiB at 0 and 128 MiB at 1 TiB: a 1 TiB span with 256 MiB of RAM, 52-bit addresses.
const present = [
  { start: 0, end: SECTION },
  { start: TIB, end: TIB + SECTION },
];
const space: PfnSpace = {
  pageSize: 4096,
  physAddrBits: 52,
  pfnValid: (pfn) => present.some((r) => pfn >= r.start && pfn < r.end),
  pfnValidRange: (s, e) => present.some((r) => s < r.end && e > r.start),
  presentPfnRanges: () => present,
};

// Hands out order-0 pages from a pool above the machine's RAM, and counts them.
let nextPfn = 2 * TIB;
let outstanding = 0;
const allocator: PageAllocator = {
  allocPages: (order) => {
    outstanding += 2 ** order;
    const pfn = nextPfn;
    nextPfn += 2 ** order;
    return pfn;
  },
  freePages: (_pfn, order) => {
    outstanding -= 2 ** order;
  },
};

describe("docs/pageflags.md", () => {
  it("pays for present memory, refuses an impossible ALL_PAGES map, and subtracts sets", () => {
    // PRESENT_PAGES_ONLY: one bitmap page per present section, plus the table above them.
    const pageset1 = createPageFlags({ space, allocator, mode: "present" })!;
    expect(pageset1.bitmapPages()).toBe(2);
    expect(pageset1.pagesUsed()).toBe(outstanding);

    // ALL_PAGES over 52 bits would be 2^40 bits = 128 GiB of bitmap: refused, nothing taken.
    const before = outstanding;
    expect(createPageFlags({ space, allocator, mode: "all" })).toBeNull();
    expect(outstanding).toBe(before);

    // A sparse map takes a bitmap page only when a bit is first set.
    const nosave = createPageFlags({ space, allocator, mode: "sparse" })!;
    expect(nosave.pagesUsed()).toBe(0);
    nosave.set(TIB + 7);

    for (const pfn of [3, TIB + 7, TIB + 8]) pageset1.set(pfn);
    pageset1.andNot(nosave); // pageset1 &= ~nosave
    expect([...pageset1]).toEqual([3, TIB + 8]);
    expect(pageset1.test(TIB + 7)).toBe(false);

    pageset1.free();
    nosave.free();
    expect(outstanding).toBe(0); // every bitmap and table page went back
  });
});
