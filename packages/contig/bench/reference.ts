/**
 * The naive reference of the benchmarks: FreeBSD 4.7's linear scan of the page array
 * (`ContigAllocator.linearFind`, the `"linear"` search). `test/bench-equivalence.test.ts` proves
 * that the indexed search and the extent mirror find the same lowest-address range.
 *
 * @module
 */
import type { ContigAllocator } from "../src/index.js";
import { checkRequest, type PageRequest } from "../src/internal/fit.js";

/** A request in pages for the searches. */
export function pageRequest(
  c: ContigAllocator,
  size: number,
  alignment: number,
  low: number = 0,
  high: number = Number.MAX_SAFE_INTEGER,
): PageRequest {
  return checkRequest("bench", c.machine.pageSize, size, low, high, alignment, 0, false);
}

/** The reference search: a linear scan from the first page. */
export function linearReference(c: ContigAllocator, r: PageRequest): number {
  return c.linearFind(r, 0);
}
