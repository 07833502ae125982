import {
  INIT_MEMBLOCK_REGIONS,
  MEMBLOCK_ALLOC_ANYWHERE,
  Memblock,
  NUMA_NO_NODE,
  Rootmem,
} from "@mem/bootmem";
import { KernelPanic } from "@mem/machine";
import { describe, expect, it } from "vitest";
import { PS } from "./helpers.js";

// Cases translated from Linux's tools/testing/memblock (basic_api.c, alloc_api.c,
// alloc_helpers_api.c, alloc_nid_api.c, alloc_exact_nid_api.c). MEM_SIZE is SZ_32K as there; the
// simulated DRAM starts at 1 MiB instead of a malloc'd buffer. SMP_CACHE_BYTES is 64.
const K = 1024;
const M = 1024 * K;
const G = 1024 * M;
const MEM_SIZE = 32 * K;
const START = M;
const END = START + MEM_SIZE;
const SMP = 64;

function setup(bottomUp = false): Memblock {
  const m = new Memblock({ pageSize: PS, bottomUp });
  m.add(START, MEM_SIZE);
  return m;
}

const regions = (m: Memblock): [number, number][] =>
  m.reservedRegions().map((r) => [r.base, r.size]);

describe("Memblock basic_api", () => {
  it("initialises empty, top-down, with 128-entry arrays and no limit", () => {
    const m = new Memblock({ pageSize: PS });
    expect([m.memoryCount, m.reservedCount]).toEqual([0, 0]);
    expect([m.memoryMax, m.reservedMax]).toEqual([INIT_MEMBLOCK_REGIONS, 128]);
    expect(m.bottomUp).toBe(false);
    expect(m.currentLimit).toBe(MEMBLOCK_ALLOC_ANYWHERE);
  });

  it("memblock_add: simple, disjoint, overlap_top, overlap_bottom, within, twice, between", () => {
    const m = new Memblock({ pageSize: PS });
    m.add(G, 4 * M);
    expect(m.memoryRegions()).toEqual([{ base: G, size: 4 * M, nid: 0 }]);
    m.add(2 * G, 8 * M); // disjoint
    expect(m.memoryCount).toBe(2);
    expect(m.memorySize).toBe(12 * M);

    const top = new Memblock({ pageSize: PS });
    top.add(512 * M, G);
    top.add(256 * M, 512 * M);
    expect(top.memoryRegions()).toEqual([{ base: 256 * M, size: G + 256 * M, nid: 0 }]);

    const bottom = new Memblock({ pageSize: PS });
    bottom.add(128 * M, 512 * M);
    bottom.add(256 * M, G);
    expect(bottom.memoryRegions()).toEqual([{ base: 128 * M, size: G + 128 * M, nid: 0 }]);

    const within = new Memblock({ pageSize: PS });
    within.add(8 * M, 32 * M);
    within.add(16 * M, M);
    within.add(8 * M, 32 * M); // twice
    expect(within.memoryRegions()).toEqual([{ base: 8 * M, size: 32 * M, nid: 0 }]);

    const between = new Memblock({ pageSize: PS });
    between.add(G, 8 * K);
    between.add(G + 16 * K, 8 * K);
    between.add(G + 8 * K, 8 * K);
    expect(between.memoryRegions()).toEqual([{ base: G, size: 24 * K, nid: 0 }]);
  });

  it("memblock_add: adjacent regions of different nodes stay apart; many regions double the array", () => {
    const m = new Memblock({ pageSize: PS });
    m.add(0, 4 * K, 0);
    m.add(4 * K, 4 * K, 1);
    expect(m.memoryCount).toBe(2);
    const many = new Memblock({ pageSize: PS });
    for (let i = 0; i < 129; i++) many.reserve(i * 2 * K, K);
    expect(many.reservedCount).toBe(129);
    expect(many.reservedMax).toBe(256);
    many.checkInvariants();
  });

  it("memblock_reserve: overlap and adjacency merge, byte granular", () => {
    const m = setup();
    m.reserve(START + 100, 28);
    m.reserve(START + 128, 100);
    m.reserve(START + 50, 60);
    expect(regions(m)).toEqual([[START + 50, 178]]);
    m.reserve(START + 1000, 1);
    expect(m.reservedCount).toBe(2);
    expect(m.reservedSize).toBe(179);
  });

  it("memblock_remove: simple, absent, overlap_top, within (split)", () => {
    const m = new Memblock({ pageSize: PS });
    m.add(2 * K, 4 * K);
    m.add(128 * K, 4 * M);
    m.remove(128 * K, 4 * M);
    expect(m.memoryRegions()).toEqual([{ base: 2 * K, size: 4 * K, nid: 0 }]);
    m.remove(512 * K, 4 * M); // absent: no-op
    expect(m.memoryCount).toBe(1);

    const top = new Memblock({ pageSize: PS });
    top.add(32 * M, 32 * M);
    top.remove(16 * M, 32 * M);
    expect(top.memoryRegions()).toEqual([{ base: 48 * M, size: 16 * M, nid: 0 }]);

    const within = new Memblock({ pageSize: PS });
    within.add(M, 32 * M);
    within.remove(16 * M, M);
    expect(within.memoryRegions()).toEqual([
      { base: M, size: 15 * M, nid: 0 },
      { base: 17 * M, size: 16 * M, nid: 0 },
    ]);
  });

  it("memblock_phys_free: cuts reservations; freeing an absent range is a no-op (rootmem: BUG)", () => {
    const m = setup();
    m.reserve(START, 4 * K);
    m.free(START + K, K);
    expect(regions(m)).toEqual([
      [START, K],
      [START + 2 * K, 2 * K],
    ]);
    m.free(START + 16 * K, K);
    expect(m.reservedCount).toBe(2);
    const r = new Rootmem({ pageSize: PS });
    r.registerNode(0, START / PS, END / PS);
    r.setup(0);
    r.free(START, MEM_SIZE);
    expect(() => r.free(START, PS)).toThrow(KernelPanic);
  });
});

describe("Memblock alloc_api (memblock_alloc)", () => {
  it("simple: top-down at end - SMP_CACHE_BYTES, bottom-up at the start", () => {
    const m = setup();
    expect(m.alloc(2, { align: SMP })).toBe(END - SMP);
    expect(regions(m)).toEqual([[END - SMP, 2]]);
    const b = setup(true);
    expect(b.alloc(2, { align: SMP })).toBe(START);
  });

  it("disjoint: a misaligned neighbour gets an aligned new entry", () => {
    const m = setup();
    m.reserve(END - 2 * K, 128);
    expect(m.alloc(16, { align: SMP })).toBe(END - SMP);
    expect(m.reservedCount).toBe(2);
    expect(m.reservedSize).toBe(144);
    // bottom-up: memblock starts right after a 128-byte reservation; rootmem on the next page.
    const b = setup(true);
    b.reserve(START, 128);
    expect(b.alloc(16, { align: SMP })).toBe(START + 128);
    const r = new Rootmem({ pageSize: PS });
    r.registerNode(0, START / PS, END / PS);
    r.setup(0);
    r.free(START, MEM_SIZE);
    r.reserve(START, 128);
    expect(r.allocNode(-1, 16, SMP, 0, 0)).toBe(START + PS);
  });

  it("before / after: a new block next to a reservation merges with it", () => {
    const m = setup();
    m.reserve(END - 512, 512);
    expect(m.alloc(512, { align: SMP })).toBe(END - 1024);
    expect(regions(m)).toEqual([[END - 1024, 1024]]);
    const b = setup(true);
    b.reserve(START, 512);
    expect(b.alloc(512, { align: SMP })).toBe(START + 512);
    expect(regions(b)).toEqual([[START, 1024]]);
  });

  it("second_fit and in_between", () => {
    const m = setup();
    m.reserve(END - 512, 512);
    m.reserve(END - 2 * K, K);
    expect(m.alloc(K, { align: SMP })).toBe(END - 3 * K);
    expect(regions(m)).toEqual([
      [END - 3 * K, 2 * K],
      [END - 512, 512],
    ]);
    const gap = setup();
    gap.reserve(END - K, K);
    gap.reserve(END - 3 * K, K);
    expect(gap.alloc(K, { align: SMP })).toBe(END - 2 * K);
    expect(regions(gap)).toEqual([[END - 3 * K, 3 * K]]);
  });

  it("small_gaps, all_reserved, no_memory: NULL", () => {
    const m = setup();
    for (let a = START; a < END; a += K) m.reserve(a, K - 256);
    expect(m.alloc(512, { align: SMP })).toBeNull();
    const all = setup();
    all.reserve(START, MEM_SIZE);
    expect(all.alloc(SMP, { align: SMP })).toBeNull();
    expect(new Memblock({ pageSize: PS }).alloc(SMP)).toBeNull();
  });

  it("limited_space: an exact fit at the end merges into one region (rootmem: NULL)", () => {
    const m = setup();
    m.reserve(START, MEM_SIZE - 256);
    expect(m.alloc(256, { align: SMP })).toBe(END - 256);
    expect(regions(m)).toEqual([[START, MEM_SIZE]]);
    const r = new Rootmem({ pageSize: PS });
    r.registerNode(0, START / PS, END / PS);
    r.setup(0);
    r.free(START, MEM_SIZE);
    r.reserve(START, MEM_SIZE - 256);
    expect(r.allocNode(-1, 256, SMP, 0, 0)).toBeNull();
  });

  it("never allocates physical page 0", () => {
    const m = new Memblock({ pageSize: PS, bottomUp: true });
    m.add(0, 16 * K);
    expect(m.alloc(64)).toBe(PS);
  });
});

describe("Memblock alloc_helpers_api (memblock_alloc_from)", () => {
  it("simple and misaligned min_addr (bottom-up), top-down ignores a low min", () => {
    const b = setup(true);
    expect(b.allocFrom(16, SMP, START + 8 * K)).toBe(START + 8 * K);
    expect(b.allocFrom(16, SMP, START + 8 * K + SMP + 1)).toBe(START + 8 * K + 2 * SMP);
    const t = setup();
    expect(t.allocFrom(16, SMP, START + 8 * K)).toBe(END - SMP);
  });

  it("high_addr: min_addr too close to the end is dropped", () => {
    const b = setup(true);
    expect(b.allocFrom(128, SMP, END - 64)).toBe(START);
    const t = setup();
    expect(t.allocFrom(128, SMP, END - 64)).toBe(END - 128);
  });

  it("no_space_above: everything above min reserved, the block goes below", () => {
    const t = setup();
    const min = START + 16 * K;
    t.reserve(min, END - min);
    expect(t.allocFrom(64, SMP, min)).toBe(min - 64);
  });

  it("min_addr_cap: a min below DRAM is raised to it", () => {
    const b = setup(true);
    expect(b.allocFrom(64, SMP, 4 * K)).toBe(START);
  });

  it("goal truncation differs: rootmem may start below the goal address", () => {
    const r = new Rootmem({ pageSize: PS });
    r.registerNode(0, START / PS, END / PS);
    r.setup(0);
    r.free(START, MEM_SIZE);
    expect(r.allocNode(-1, 64, SMP, START + 4 * K + 100, 0)).toBe(START + 4 * K);
  });
});

describe("Memblock alloc_nid_api (memblock_alloc_try_nid)", () => {
  it("exact_address, narrow_range (min dropped), low_max (NULL), cap_max, cap_min", () => {
    const t = setup();
    expect(t.allocTryNid(K, SMP, START + 4 * K, START + 5 * K, NUMA_NO_NODE)).toBe(START + 4 * K);
    const n = setup();
    // [min, max) narrower than the block: min dropped, top-down below max.
    expect(n.allocTryNid(K, SMP, START + 4 * K, START + 4 * K + 512, -1)).toBe(START + 3 * K + 512);
    const low = setup();
    expect(low.allocTryNid(K, SMP, 0, START - K, -1)).toBeNull();
    const cap = setup();
    expect(cap.allocTryNid(K, SMP, START, END + G, -1)).toBe(END - K);
    const capMin = setup(true);
    expect(capMin.allocTryNid(K, SMP, 0, END, -1)).toBe(START);
  });

  it("rootmem instead panics when goal + size > limit", () => {
    const r = new Rootmem({ pageSize: PS });
    r.registerNode(0, START / PS, END / PS);
    r.setup(0);
    r.free(START, MEM_SIZE);
    expect(() => r.allocNode(-1, K, SMP, START + 4 * K, START + 4 * K + 512)).toThrow(KernelPanic);
  });

  it("honours the current limit", () => {
    const t = setup();
    t.setCurrentLimit(START + 8 * K);
    expect(t.alloc(K)).toBe(START + 7 * K);
  });
});

describe("Memblock NUMA (alloc_nid_api / alloc_exact_nid_api)", () => {
  // setup_numa_memblock: MEM_SIZE split into 8 nodes by fractions.
  const FRACS = [4, 16, 8, 8, 16, 16, 4, 16];
  function numa(bottomUp = false): { m: Memblock; nodes: [number, number][] } {
    const m = new Memblock({ pageSize: PS, bottomUp });
    const nodes: [number, number][] = [];
    let base = START;
    FRACS.forEach((f, nid) => {
      const size = MEM_SIZE / f;
      m.add(base, size, nid);
      nodes.push([base, base + size]);
      base += size;
    });
    return { m, nodes };
  }

  it("numa_simple: the block lands at the top (bottom) of the requested node", () => {
    const { m, nodes } = numa();
    expect(m.allocTryNid(512, SMP, 0, 0, 3)).toBe(nodes[3]![1] - 512);
    const b = numa(true);
    expect(b.m.allocTryNid(512, SMP, 0, 0, 3)).toBe(b.nodes[3]![0]);
  });

  it("small_node: falls back to any node; exact_nid returns NULL", () => {
    const { m, nodes } = numa();
    const big = 4 * K; // node 1 holds 2 KiB, node 7 too: the topmost fit is node 6's end
    expect(m.allocTryNid(big, SMP, 0, 0, 1)).toBe(nodes[6]![1] - big);
    expect(m.allocTryNid(big, SMP, 0, 0, 1, true)).toBeNull();
    expect(m.allocRange(big, SMP, 0, 0, 1, true)).toBeNull();
  });

  it("node_reserved: a full node falls back; part_reserved uses the rest of the node", () => {
    const { m, nodes } = numa();
    const [s1, e1] = nodes[1]!;
    m.reserve(s1, e1 - s1);
    expect(m.allocTryNid(256, SMP, 0, 0, 1)).toBe(nodes[7]![1] - 256);
    const p = numa();
    const [s2, e2] = p.nodes[2]!;
    p.m.reserve(e2 - K, K);
    expect(p.m.allocTryNid(256, SMP, 0, 0, 2)).toBe(e2 - K - 256);
    expect(p.m.allocTryNid(256, SMP, 0, 0, 2)).toBeGreaterThanOrEqual(s2);
  });

  it("rootmem confines a node's allocation instead (no fallback)", () => {
    const r = new Rootmem({ pageSize: PS });
    r.registerNode(0, START / PS, START / PS + 2);
    r.registerNode(1, START / PS + 2, END / PS);
    r.setup(0);
    r.free(START, MEM_SIZE);
    expect(r.allocNode(0, 3 * PS, PS, 0, 0)).toBeNull();
    // The legacy _node call falls back to any node, where a block may span node boundaries.
    expect(r.allocBootmemPagesNode(0, 3 * PS)).toBe(START);
  });
});

describe("Memblock release", () => {
  it("hands out the largest naturally aligned blocks, whole free pages only", () => {
    const m = new Memblock({ pageSize: PS, maxOrder: 10 });
    m.add(3 * PS, 3000 * PS);
    m.reserve(2048 * PS + 10, 20); // touches one page
    const calls: [number, number][] = [];
    const n = m.releaseNode(0, (p, o) => calls.push([p, o]));
    expect(calls.slice(0, 10)).toEqual([
      [3, 0],
      [4, 2],
      [8, 3],
      [16, 4],
      [32, 5],
      [64, 6],
      [128, 7],
      [256, 8],
      [512, 9],
      [1024, 10],
    ]);
    expect(calls[10]).toEqual([2049, 0]);
    expect(n).toBe(3000 - 1);
    for (const [p, o] of calls) expect(p % 2 ** o).toBe(0);
    expect(m.log).toEqual(["memblock: 2999 pages released on node 0"]);
    expect(m.released).toBe(true);
    expect(() => m.alloc(64)).toThrow(KernelPanic);
  });

  it("releases per node, refuses a node twice, and releaseAll covers the rest", () => {
    const m = new Memblock({ pageSize: PS });
    m.add(0, 64 * PS, 0);
    m.add(64 * PS, 64 * PS, 1);
    expect(m.releaseNode(1, () => {})).toBe(64);
    expect(m.released).toBe(false);
    expect(() => m.releaseNode(1, () => {})).toThrow(KernelPanic);
    expect(() => m.reserve(0, 1)).toThrow(KernelPanic);
    expect(m.releaseAll(() => {})).toBe(64);
    expect(m.released).toBe(true);
  });

  it("dumps the arrays like memblock=debug", () => {
    const m = setup();
    m.reserve(START, 4 * K);
    expect(m.dump()).toEqual([
      "MEMBLOCK configuration:",
      " memory size = 0x0000000000008000 reserved size = 0x0000000000001000",
      " memory.cnt  = 0x1",
      " memory[0x0]\t[0x0000000000100000-0x0000000000107fff], 0x0000000000008000 bytes on node 0 flags: 0x0",
      " reserved.cnt  = 0x1",
      " reserved[0x0]\t[0x0000000000100000-0x0000000000100fff], 0x0000000000001000 bytes flags: 0x0",
    ]);
    expect(m.isReserved(START / PS)).toBe(true);
    expect(m.isReserved(START / PS + 1)).toBe(false);
    expect(m.isReserved(0)).toBe(true);
  });
});
