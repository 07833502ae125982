import { EBUSY, Rootmem } from "@mem/bootmem";
import { KernelPanic } from "@mem/machine";
import { describe, expect, it } from "vitest";
import { PS, recorder, rootmemWith } from "./helpers.js";

describe("Rootmem setup", () => {
  it("sizes the bitmap at one bit per page, rounded up to a long and to pages", () => {
    const one = new Rootmem({ pageSize: PS });
    one.registerNode(0, 0, 32768);
    expect(one.mapBytes()).toBe(4096);
    expect(one.mapPages()).toBe(1);
    const two = new Rootmem({ pageSize: PS });
    two.registerNode(0, 0, 32769);
    expect(two.mapPages()).toBe(2);
    const small = new Rootmem({ pageSize: PS, bitsPerLong: 32 });
    small.registerNode(0, 64, 65);
    expect(small.mapBytes()).toBe(4);
  });

  it("reserves every page at setup and prints the seed's line", () => {
    const lines: string[] = [];
    const r = new Rootmem({ pageSize: PS, printk: (l) => lines.push(l) });
    r.registerNode(0, 0, 100);
    r.registerNode(1, 200, 300);
    r.setup(0x1f);
    for (const p of [0, 50, 99, 150, 200, 299]) expect(r.isReserved(p)).toBe(true);
    expect(lines).toEqual(["rootmem: 300 pages on 2 node(s) - map @ pfn 1f"]);
    expect(r.log).toEqual(lines);
  });

  it("refuses nodes after setup, twice, or overlapping", () => {
    const r = new Rootmem({ pageSize: PS });
    r.registerNode(0, 0, 100);
    expect(() => r.registerNode(0, 200, 300)).toThrow(KernelPanic);
    expect(() => r.registerNode(1, 50, 150)).toThrow(/overlaps/);
    r.setup(0);
    expect(() => r.registerNode(1, 200, 300)).toThrow(KernelPanic);
    expect(() => r.setup(0)).toThrow(KernelPanic);
  });

  it("panics on mapPages with no memory registered", () => {
    const r = new Rootmem({ pageSize: PS });
    r.registerNode(0, 0, 0);
    expect(() => r.mapPages()).toThrow(KernelPanic);
  });
});

describe("Rootmem.free", () => {
  it("frees only pages wholly inside the range", () => {
    const r = rootmemWith([[0, 16]], { reserved: Array.from({ length: 16 }, (_, i) => i) });
    r.free(0x1800, 0x2000); // [0x1800, 0x3800): only pfn 2
    expect([1, 2, 3].map((p) => r.isReserved(p))).toEqual([true, false, true]);
    r.free(0x5000, 0x800); // less than a page: nothing
    expect(r.isReserved(5)).toBe(true);
  });

  it("panics on a double free and changes nothing", () => {
    const r = rootmemWith([[0, 16]], { reserved: [3] });
    const before = r.digest();
    expect(() => r.free(2 * PS, 3 * PS)).toThrow(/double free of pfn 2/);
    expect(r.digest()).toBe(before);
    expect(r.isReserved(3)).toBe(true);
  });

  it("panics on a range outside the registered nodes, including the gap between nodes", () => {
    const r = rootmemWith([
      [0, 16],
      [32, 48],
    ]);
    r.reserve(0, 16 * PS);
    for (const [a, s] of [
      [16 * PS, PS],
      [14 * PS, 4 * PS],
      [48 * PS, PS],
    ] as const) {
      const before = r.digest();
      expect(() => r.free(a, s)).toThrow(expect.objectContaining({ code: "out-of-range" }));
      expect(r.digest()).toBe(before);
    }
  });
});

describe("Rootmem.reserve", () => {
  it("reserves every page the range touches", () => {
    const r = rootmemWith([[0, 16]]);
    expect(r.reserve(0x1800, 0x1000)).toBe(0);
    expect([0, 1, 2, 3].map((p) => r.isReserved(p))).toEqual([false, true, true, false]);
    expect(r.reserve(0x1800, 0x1000)).toBe(0); // non-exclusive: again is fine
  });

  it("returns -EBUSY in exclusive mode and leaves the pages it marked unmarked", () => {
    const r = rootmemWith([[0, 16]], { reserved: [3] });
    const before = r.digest();
    expect(r.reserve(PS, 4 * PS, true)).toBe(-EBUSY);
    expect(EBUSY).toBe(16);
    expect([1, 2, 3, 4].map((p) => r.isReserved(p))).toEqual([false, false, true, false]);
    expect(r.digest()).toBe(before);
    expect(r.reserve(4 * PS, 2 * PS, true)).toBe(0);
  });

  it("reserves across a node boundary in one call", () => {
    const r = rootmemWith([
      [0, 16],
      [16, 32],
    ]);
    expect(r.reserve(14 * PS, 4 * PS, true)).toBe(0);
    expect(r.reservedPfnRanges()).toEqual([{ start: 14, end: 18 }]);
    expect(r.reservedRanges()).toEqual([{ start: 14 * PS, end: 18 * PS }]);
  });
});

describe("Rootmem.allocNode", () => {
  it("is first fit, bottom up, from the start of memory", () => {
    const r = rootmemWith([[0, 64]], { reserved: [0, 1, 5] });
    expect(r.allocNode(-1, 3 * PS, PS, 0, 0)).toBe(2 * PS);
    expect(r.allocNode(-1, 2 * PS, PS, 0, 0)).toBe(6 * PS);
  });

  it("starts at the goal's page and falls back to the start", () => {
    const r = rootmemWith([[0, 64]]);
    expect(r.allocNode(-1, PS, PS, 40 * PS + 123, 0)).toBe(40 * PS);
    expect(r.allocNode(-1, 30 * PS, PS, 40 * PS, 0)).toBe(0);
    expect(r.allocNode(-1, PS, PS, 1000 * PS, 0)).toBe(30 * PS); // goal outside: ignored
  });

  it("applies the alignment to the absolute pfn", () => {
    const r = rootmemWith([[3, 100]]);
    expect(r.allocNode(-1, PS, 8 * PS, 0, 0)).toBe(8 * PS);
    expect(r.allocNode(-1, 100, 16 * PS, 0, 0)).toBe(16 * PS);
    expect(r.allocNode(-1, PS, PS, 0, 0)).toBe(3 * PS);
  });

  it("treats the limit as exclusive", () => {
    const r = rootmemWith([[0, 64]], { reserved: [0] });
    expect(r.allocNode(-1, 2 * PS, PS, 0, 3 * PS)).toBe(PS); // ends exactly at the limit
    expect(r.allocNode(-1, PS, PS, 0, 3 * PS)).toBeNull();
  });

  it("confines a node's allocation to the node, and any node may serve -1", () => {
    const r = rootmemWith(
      [
        [0, 4],
        [4, 64],
      ],
      { reserved: [0, 1, 2, 3] },
    );
    expect(r.allocNode(0, PS, PS, 0, 0)).toBeNull();
    expect(r.allocNode(-1, PS, PS, 0, 0)).toBe(4 * PS);
    expect(r.allocNode(1, PS, PS, 0, 0)).toBe(5 * PS);
  });

  it("merges consecutive partial-page allocations into the shared page", () => {
    const r = rootmemWith([[0, 64]], { reserved: [0] });
    expect(r.allocNode(-1, 100, 64, 0, 0)).toBe(0x1000);
    expect(r.allocNode(-1, 100, 64, 0, 0)).toBe(0x1080);
    expect(r.isReserved(2)).toBe(false);
    expect(r.allocNode(-1, PS, 64, 0, 0)).toBe(0x1100); // spills into pfn 2
    expect(r.isReserved(2)).toBe(true);
    expect(r.allocNode(-1, 8, 8, 0, 0)).toBe(0x2100);
  });

  it("does not merge into a page freed since", () => {
    const r = rootmemWith([[0, 64]], { reserved: [0] });
    expect(r.allocNode(-1, 100, 64, 0, 0)).toBe(0x1000);
    r.free(PS, PS);
    r.reserve(PS, PS); // someone else's now
    expect(r.allocNode(-1, 100, 64, 0, 0)).toBe(0x2000);
  });

  it("panics on size 0, a bad alignment, goal + size > limit, an unknown node", () => {
    const r = rootmemWith([[0, 64]]);
    const before = r.digest();
    const cases: [string, () => unknown][] = [
      ["zero-size", () => r.allocNode(-1, 0, 64, 0, 0)],
      ["bad-align", () => r.allocNode(-1, 10, 48, 0, 0)],
      ["bad-align", () => r.allocNode(-1, 10, 0, 0, 0)],
      ["goal-beyond-limit", () => r.allocNode(-1, 2 * PS, PS, 10 * PS, 11 * PS)],
      ["bad-nid", () => r.allocNode(3, PS, PS, 0, 0)],
    ];
    for (const [code, f] of cases) {
      expect(f).toThrow(expect.objectContaining({ code }));
      expect(r.digest()).toBe(before);
    }
  });

  it("returns addresses above 4 GiB exactly", () => {
    const base = 2 ** 22; // 16 GiB
    const r = rootmemWith([[base, base + 300]], { mapPfn: base });
    r.reserve(base * PS, PS);
    const a = r.allocNode(-1, 5000, 4096, 0, 0)!;
    expect(a).toBe((base + 1) * PS);
    expect(a).toBeGreaterThan(2 ** 32);
    expect(r.allocNode(-1, 100, 64, 0, 0)).toBe(a + 5056);
    const far = 2 ** 36; // pfn 2^36: 256 TiB
    const f = rootmemWith([[far + 3, far + 99]], { mapPfn: 0 });
    expect(f.allocNode(-1, PS, 4 * PS, 0, 0)).toBe((far + 4) * PS);
    expect(f.releaseNode(0, () => {})).toBe(95 + 1);
  });
});

describe("Rootmem.releaseNode", () => {
  it("releases aligned free words as one block and the rest page by page", () => {
    const r = rootmemWith([[5, 133]], { mapPfn: 500 });
    const sink = recorder();
    expect(r.releaseNode(0, sink.fn)).toBe(128 + 1);
    const singles = sink.calls.filter(([, o]) => o === 0).map(([p]) => p);
    expect(sink.calls.filter(([, o]) => o !== 0)).toEqual([[64, 6]]);
    expect(singles).toEqual([
      ...Array.from({ length: 59 }, (_, i) => 5 + i),
      128,
      129,
      130,
      131,
      132,
      500,
    ]);
    expect(r.log.at(-1)).toBe("rootmem: 129 pages released on node 0");
  });

  it("uses order 5 words on 32-bit", () => {
    const r = rootmemWith([[0, 96]], { bitsPerLong: 32, reserved: [40], mapPfn: 200 });
    const sink = recorder();
    r.releaseNode(0, sink.fn);
    expect(sink.calls.filter(([, o]) => o > 0)).toEqual([
      [0, 5],
      [64, 5],
    ]);
    expect(sink.calls.filter(([, o]) => o === 0)).toHaveLength(31 + 1);
  });

  it("releases the bitmap with the last node only, and tears the allocator down", () => {
    const r = rootmemWith(
      [
        [0, 64],
        [64, 128],
      ],
      { mapPfn: 10 },
    );
    r.reserve(10 * PS, PS);
    const sink = recorder();
    expect(r.releaseNode(1, sink.fn)).toBe(64);
    expect(r.functional).toBe(false);
    expect(() => r.allocNode(-1, 64, 64, 0, 0)).toThrow(
      expect.objectContaining({ code: "torn-down" }),
    );
    expect(() => r.free(0, PS)).toThrow(KernelPanic);
    expect(() => r.reserve(0, PS)).toThrow(KernelPanic);
    expect(() => r.releaseNode(1, sink.fn)).toThrow(
      expect.objectContaining({ code: "double-release" }),
    );
    expect(r.releaseNode(0, sink.fn)).toBe(63 + 1);
    expect(sink.calls.at(-1)).toEqual([10, 0]);
    expect(r.released).toBe(true);
    expect(() => r.releaseNode(0, sink.fn)).toThrow(expect.objectContaining({ code: "released" }));
    expect(r.log).toEqual([
      "rootmem: 128 pages on 2 node(s) - map @ pfn a",
      "rootmem: 64 pages released on node 1",
      "rootmem: 64 pages released on node 0",
    ]);
  });

  it("accepts a FreePageSink and the constructor's default sink", () => {
    let n = 0;
    const r = new Rootmem({ pageSize: PS, sink: { freePagesBootmem: (_p, o) => (n += 2 ** o) } });
    r.registerNode(0, 0, 128);
    r.setup(0);
    r.free(0, 128 * PS);
    r.reserve(0, PS);
    expect(r.releaseAll()).toBe(128);
    expect(n).toBe(128);
  });

  it("panics before setup and for an unknown node", () => {
    const r = new Rootmem({ pageSize: PS });
    r.registerNode(0, 0, 64);
    expect(() => r.releaseNode(0, () => {})).toThrow(
      expect.objectContaining({ code: "not-set-up" }),
    );
    r.setup(0);
    expect(() => r.releaseNode(4, () => {})).toThrow(expect.objectContaining({ code: "bad-nid" }));
    expect(() => r.releaseNode(0)).toThrow(/sink/);
  });
});
