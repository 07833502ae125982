import { KernelPanic } from "@mem/machine";
import { describe, expect, it } from "vitest";
import { PS, recorder, rootmemWith } from "./helpers.js";

// Each test names the RFC bug (linux.md §1.2) and fails on the seed's behaviour.
describe("Rootmem: the RFC's eight bugs, fixed", () => {
  it("inner-continue: a used page inside the window restarts the search", () => {
    // Seed: window [0,3) hits pfn 1, moves to 2 and allocates [2,5) over reserved pfn 4.
    const r = rootmemWith([[0, 16]], { reserved: [1, 4] });
    expect(r.allocNode(-1, 3 * PS, PS, 0, 0)).toBe(5 * PS);
    expect([5, 6, 7].map((p) => r.isReserved(p))).toEqual([true, true, true]);
    expect(r.isReserved(2)).toBe(false);
  });

  it("inner-continue: the restarted candidate never passes the limit", () => {
    const r = rootmemWith([[0, 16]], { reserved: [1] });
    // Only [2,5) fits below the limit 5 pages; the seed would check nothing after the move.
    expect(r.allocNode(-1, 3 * PS, PS, 0, 5 * PS)).toBe(2 * PS);
    expect(r.allocNode(-1, 3 * PS, PS, 0, 5 * PS)).toBeNull();
  });

  it("merge-without-partial-check: no merge after an allocation that ended on a page boundary", () => {
    const r = rootmemWith([[0, 16]], { reserved: [0] });
    expect(r.allocNode(-1, PS, PS, 0, 0)).toBe(PS); // ends at 0x2000, page aligned
    r.reserve(2 * PS, PS); // someone else owns pfn 2
    // Seed: last_pfn (2) + 1 == 3, "merges" and returns 0x2000 inside pfn 2.
    expect(r.allocNode(-1, 100, 64, 0, 0)).toBe(3 * PS);
    expect(r.isReserved(3)).toBe(true);
  });

  it("merge-cursor-initial-zero: the first allocation at pfn 1 returns 0x1000", () => {
    const r = rootmemWith([[0, 16]], { reserved: [0] });
    // Seed: the cursor starts at 0, PFN_DOWN(0) + 1 == 1 merges into page 0 and returns 0.
    expect(r.allocNode(-1, 64, 64, 0, 0)).toBe(0x1000);
    expect(r.isReserved(1)).toBe(true);
  });

  it("goal-not-checked-against-range-start: a goal in another node is ignored", () => {
    const r = rootmemWith([
      [0, 16],
      [16, 32],
    ]);
    // Seed: goal 4 < node 1's end, so it searches from pfn 4 (node 0).
    expect(r.allocNode(1, PS, PS, 4 * PS, 0)).toBe(16 * PS);
    expect(r.isReserved(4)).toBe(false);
  });

  it("release-lt-instead-of-le: the last whole word of a node is released as one block", () => {
    const r = rootmemWith([[0, 64]]);
    const sink = recorder();
    // Seed: 0 + 64 < 64 is false, so the block went out as 64 single pages.
    r.releaseNode(0, sink.fn);
    expect(sink.calls.filter(([p]) => p < 64)).toEqual([[0, 6]]);
  });

  it("release-unaligned-word-index: an unaligned node releases exactly its free pages", () => {
    const r = rootmemWith([[10, 100]], { reserved: [10, 11, 12, 13, 14, 15, 16, 17, 18, 19] });
    const sink = recorder();
    const count = r.releaseNode(0, sink.fn);
    const pages = sink.calls.flatMap(([p, o]) => Array.from({ length: 2 ** o }, (_, i) => p + i));
    // Seed: bit 0 of map[10 / 64] is pfn 0, read as pfn 10: it released 10..19 and lost 90..99.
    const nodePages = pages.filter((p) => p < 0x7777);
    expect(nodePages).toEqual(Array.from({ length: 80 }, (_, i) => 20 + i));
    expect(count).toBe(80 + r.mapPages());
  });

  it("bitmap-indexed-absolute-but-sized-by-span: a node high up needs a span-sized map", () => {
    const start = 2 ** 20 + 7; // 4 GiB + 7 pages
    const r = rootmemWith([[start, start + 200]], { mapPfn: start });
    expect(r.mapPages()).toBe(1);
    expect(r.mapBytes()).toBeLessThanOrEqual(40);
    r.reserve(start * PS, PS);
    // The top page of the node: the seed's bit index 2^20 + 206 is far past a 1-page map.
    expect(r.allocNode(-1, PS, PS, (start + 199) * PS, 0)).toBe((start + 199) * PS);
    expect(r.isReserved(start + 199)).toBe(true);
    expect(r.releaseNode(0, () => {})).toBe(198 + 1);
  });

  it("no-zero-size-check: an allocation of size 0 is a BUG and changes nothing", () => {
    const r = rootmemWith([[0, 16]]);
    const before = r.digest();
    expect(() => r.allocNode(-1, 0, 64, 0, 0)).toThrow(KernelPanic);
    expect(() => r.allocBootmem(0)).toThrow(/size 0/);
    expect(r.digest()).toBe(before);
  });
});
