import type { PageFlagMap } from "@mem/pageflags";
import { expect } from "vitest";
import type { FakeAllocator, FakeSpace } from "./fake-machine.js";

/**
 * Checks a map after an operation: the pages the allocator gave out are exactly the pages the
 * map holds, the table is consistent, and in present mode every bitmap page covers a present
 * pfn (so no bit can live outside a present bitmap page).
 */
export function checkInvariants(
  map: PageFlagMap,
  allocator: FakeAllocator,
  space: FakeSpace,
): void {
  expect(allocator.outstanding).toBe(map.pagesUsed());
  map.selfCheck();
  if (map.mode === "present") {
    for (const r of map.coveredRanges()) {
      for (let start = r.start; start < r.end; start += map.bitsPerPage) {
        expect(space.pfnValidRange(start, Math.min(start + map.bitsPerPage, r.end))).toBe(true);
      }
    }
  }
  if (map.mode === "all") expect(map.bitmapPages()).toBe(Math.ceil(map.pfnLimit / map.bitsPerPage));
}
