// The runnable example of docs/extent.md: the seed's extent that mirrors the page free list, and
// its constrained request, in page numbers.
import { Extent } from "@mem/extent";
import { describe, expect, it } from "vitest";

describe("docs/extent.md", () => {
  it("mirrors a free list and serves the seed's DMA request", () => {
    const pages = 32 * 1024; // 128 MiB of 4 KiB pages
    // Fixed storage for the worst case: every other page taken needs pages / 2 + 1 runs.
    const free = new Extent({
      name: "vm_page",
      start: 0,
      end: pages - 1,
      fixedDescriptors: pages / 2 + 1,
    });
    free.allocRegion(0, pages); // all taken, then the free pages are given back
    free.free(256, pages - 256); // everything above the first MiB is free
    for (let p = 256; p < 4096; p += 2) free.allocRegion(p, 1); // fragment the low 16 MiB

    // 16 KiB contiguous, aligned to 8 KiB, not crossing a 64 KiB line, below 16 MiB:
    // 4 pages, alignment 2, boundary 16, inside [0, 4095].
    const first = free.alloc({ size: 4, alignment: 2, boundary: 16, end: 4095 });
    expect(first).toBe(Extent.NO_SPACE); // no 4 free pages in a row below 16 MiB

    for (let p = 1024; p < 1040; p += 2) free.free(p, 1); // pages 1024-1039 become free
    const dma = free.alloc({ size: 4, alignment: 2, boundary: 16, end: 4095 });
    expect(dma).toBe(1024);
    expect(Math.floor(dma / 16)).toBe(Math.floor((dma + 3) / 16)); // no 64 KiB line crossed
    expect(free.largestFree()).toBe(pages - 4095); // page 4095 and everything above it
  });
});
