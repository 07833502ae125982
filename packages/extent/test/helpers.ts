import type { extent } from "@mem/extent/compat";
import { expect } from "vitest";

/** Runs of an extent, parsed from its print() text. */
export function runsOf(ex: extent): [number, number][] {
  const out: [number, number][] = [];
  for (const line of ex.print().split("\n").slice(1)) {
    const m = /^ {5}0x([0-9a-f]+) - 0x([0-9a-f]+)$/.exec(line);
    if (m) out.push([Number.parseInt(m[1]!, 16), Number.parseInt(m[2]!, 16)]);
  }
  return out;
}

/**
 * The invariant checker: runs sorted, disjoint, non-empty, at or above the extent start (inside
 * the extent when `inside`), coalesced when coalescing, descriptors all accounted for, and
 * largestFree consistent with the runs.
 */
export function checkInvariants(ex: extent, fixedCount: number | null, inside: boolean): void {
  const runs = runsOf(ex);
  const coalesce = (ex.ex_flags & 0x2) === 0;
  let prevEnd = -1;
  for (const [s, e] of runs) {
    expect(s).toBeLessThanOrEqual(e);
    expect(s).toBeGreaterThanOrEqual(ex.ex_start);
    if (inside) expect(e).toBeLessThanOrEqual(ex.ex_end);
    if (prevEnd >= 0 || runs[0]![0] !== s) {
      expect(s).toBeGreaterThan(prevEnd);
      if (coalesce) expect(s).toBeGreaterThan(prevEnd + 1);
    }
    prevEnd = e;
  }
  const a = ex.audit();
  expect(a.runs).toBe(runs.length);
  if (fixedCount === null) {
    expect(a.fixedInRuns).toBe(0);
    expect(a.fixedFree).toBe(0);
  } else {
    expect(a.fixedInRuns + a.fixedFree).toBe(fixedCount);
  }
  // largestFree against a brute-force walk
  let best = 0;
  let prev = ex.ex_start;
  for (const [s, e] of runs) {
    const top = Math.min(s - 1, ex.ex_end);
    if (top >= prev) best = Math.max(best, top - prev + 1);
    prev = Math.max(prev, e + 1);
  }
  if (ex.ex_end >= prev) best = Math.max(best, ex.ex_end - prev + 1);
  expect(ex.largestFree()).toBe(best);
}
