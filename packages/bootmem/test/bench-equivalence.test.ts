import { describe, expect, it } from "vitest";
import { booted, fast, type Impl, naive, pageBlocks, smallAllocs } from "../bench/scenarios.js";

function run(make: () => Impl): {
  small: number[];
  blocks: number[];
  calls: number[];
  count: number;
} {
  const r = booted(make, 1 << 16); // 256 MiB: the bench's scenarios, scaled down
  const small = smallAllocs(r, 3000);
  const blocks = pageBlocks(r, 300);
  const calls: number[] = [];
  const count = r.releaseNode(0, (pfn, order) => calls.push(pfn, order));
  return { small, blocks, calls, count };
}

describe("bench reference", () => {
  it("the word-at-a-time allocator and the bit-at-a-time reference give identical results", () => {
    const a = run(fast);
    const b = run(naive);
    expect(a.small).toEqual(b.small);
    expect(a.blocks).toEqual(b.blocks);
    expect(a.calls).toEqual(b.calls);
    expect(a.count).toBe(b.count);
    // The scenarios do what they claim: merging happened, blocks are page aligned.
    expect(new Set(a.small.map((x) => Math.floor(x / 4096))).size).toBeLessThan(a.small.length / 5);
    expect(a.blocks.every((x) => x > 0 && x % 4096 === 0)).toBe(true);
  });
});
