import {
  __GFP_DMA32,
  __GFP_RECLAIMABLE,
  __GFP_THISNODE,
  __GFP_ZERO,
  BuddyAllocator,
  GFP_ATOMIC,
  GFP_DMA,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
} from "@mem/buddy";
import { createMachine, KernelPanic, PRESETS } from "@mem/machine";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { fastPaths } from "../src/internal/fast-paths.js";
import { SectionCache } from "../src/internal/section-cache.js";
import { blockStrings, smallMachine } from "./helpers.js";

const GFPS = [
  GFP_KERNEL,
  GFP_HIGHUSER_MOVABLE,
  GFP_ATOMIC,
  GFP_DMA,
  GFP_KERNEL | __GFP_RECLAIMABLE,
  GFP_KERNEL | __GFP_ZERO,
];

type Op =
  | { t: "alloc"; gfp: number; order: number; cpu: number }
  | { t: "free" | "put" | "get" | "cold" | "double" | "wrong"; k: number; off: number }
  | { t: "bad"; pfn: number }
  | { t: "drain" | "hook" | "observer" };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant("alloc" as const),
      gfp: fc.constantFrom(...GFPS),
      order: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 10 })),
      cpu: fc.integer({ min: 0, max: 1 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constantFrom(
        "free" as const,
        "free" as const,
        "put" as const,
        "get" as const,
        "cold" as const,
        "double" as const,
        "wrong" as const,
      ),
      k: fc.nat(),
      off: fc.nat(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant("bad" as const),
      pfn: fc.constantFrom(-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, 0, 200, 20000),
    }),
  },
  { weight: 1, arbitrary: fc.constantFrom({ t: "drain" as const }, { t: "hook" as const }) },
  { weight: 1, arbitrary: fc.constant({ t: "observer" as const }) },
);

/** One allocator on its own small machine, with fast paths on or off, and a log of what it did. */
function side(fast: boolean, pcp: boolean) {
  fastPaths.enabled = fast;
  const m = smallMachine();
  const a = new BuddyAllocator(m, { pcp });
  fastPaths.enabled = true;
  a.freeAllRam();
  const log: string[] = [];
  let remove: (() => void) | null = null;
  const run = (o: Op, live: { pfn: number; order: number; refs: number }[]): string => {
    try {
      switch (o.t) {
        case "alloc":
          a.setCpu(o.cpu);
          return `alloc ${a.alloc(o.gfp, o.order)}`;
        case "drain":
          a.drain();
          return "drain";
        case "hook":
          if (remove === null) {
            // An observer, or a claimer that takes back every fifth pfn for its owner.
            const claims = log.length % 2 === 1;
            remove = a.addFreeHook({
              name: claims ? "claimer" : "observer",
              onFree: (pfn, order) => {
                log.push(`hook ${pfn}/${order}`);
                if (!claims || pfn % 5 !== 0) return false;
                m.pages.owner[m.pages.indexOf(pfn)] = 1;
                return true;
              },
            });
          } else {
            remove();
            remove = null;
          }
          return "hook";
        case "observer":
          a.setFreePoolObserver(
            log.length % 2 === 0
              ? {
                  pagesFreed: (pfn, n) => log.push(`freed ${pfn}+${n}`),
                  pagesTaken: (pfn, n) => log.push(`taken ${pfn}+${n}`),
                }
              : null,
          );
          return "observer";
        case "bad":
          a.free(o.pfn, 0);
          return "bad freed";
        default: {
          if (live.length === 0) return "none";
          const b = live[o.k % live.length]!;
          const page = b.pfn + (o.off % 2 ** b.order);
          if (o.t === "free") a.free(b.pfn, b.order);
          else if (o.t === "put") a.putPage(page);
          else if (o.t === "get") a.getPage(page);
          else if (o.t === "cold") a.freeHotCold(b.pfn, o.off % 2 === 0);
          else if (o.t === "wrong") a.free(b.pfn, b.order === 0 ? 1 : 0);
          else a.free(b.pfn + 2 ** b.order, 0); // next block: often free or a tail
          return `${o.t} ok`;
        }
      }
    } catch (e) {
      return `${(e as Error).name} ${(e as { code?: string }).code} ${(e as Error).message}`;
    }
  };
  return { m, a, log, run };
}

afterEach(() => {
  fastPaths.enabled = true;
});

describe("BuddyAllocator fast paths", () => {
  it("give the same results, errors, hook and observer calls and state as the generic paths", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.boolean(), (ops, pcp) => {
        const fast = side(true, pcp);
        const slow = side(false, pcp);
        // The model of live blocks follows the fast side; both sides must agree on every step.
        const live: { pfn: number; order: number; refs: number }[] = [];
        for (const o of ops) {
          const r1 = fast.run(o, live);
          const r2 = slow.run(o, live);
          expect(r1).toBe(r2);
          expect(fast.a.stateDigest()).toBe(slow.a.stateDigest());
          expect(fast.log).toEqual(slow.log);
          if (o.t === "alloc" && !r1.startsWith("alloc -1") && r1.startsWith("alloc ")) {
            live.push({ pfn: Number(r1.slice(6)), order: o.order, refs: 1 });
          } else if (o.t !== "alloc" && r1.endsWith(" ok") && live.length > 0) {
            const k = (o as { k: number }).k % live.length;
            const b = live[k]!;
            if (o.t === "get") b.refs++;
            else if (o.t === "free" || o.t === "put" || o.t === "cold") {
              b.refs--;
              if (b.refs === 0) live.splice(k, 1);
            }
          }
        }
        fast.a.checkInvariants();
        fast.a.drain();
        slow.a.drain();
        expect(blockStrings(fast.a)).toEqual(blockStrings(slow.a));
        expect(fast.a.stateDigest()).toBe(slow.a.stateDigest());
        expect(fast.a.stats).toEqual(slow.a.stats);
        fast.a.checkInvariants();
      }),
      { numRuns: 40 },
    );
  });

  it("takes order-0 pairs through the per-CPU lists exactly as the generic path does", () => {
    const fast = side(true, true);
    const slow = side(false, true);
    for (const s of [fast, slow]) {
      const held: number[] = [];
      for (let k = 0; k < 3000; k++) {
        s.a.setCpu(k % 2);
        const p = s.a.alloc(k % 3 === 0 ? GFP_HIGHUSER_MOVABLE : GFP_KERNEL, 0);
        if (k % 5 === 0) held.push(p);
        else s.a.free(p, 0);
        if (k % 7 === 0 && held.length > 0) s.a.free(held.pop()!, 0);
      }
      for (const p of held) s.a.free(p, 0);
    }
    expect(fast.a.stateDigest()).toBe(slow.a.stateDigest());
    fast.a.drain();
    slow.a.drain();
    expect(blockStrings(fast.a)).toEqual(blockStrings(slow.a));
    expect(fast.a.stateDigest()).toBe(slow.a.stateDigest());
    fast.a.checkInvariants();
  });

  it("runs observing and claiming hooks on the order-0 fast path exactly as the generic path does", () => {
    const sides = [side(true, true), side(false, true)].map((s) => {
      const claimed: number[] = [];
      s.a.addFreeHook({ name: "observer", onFree: () => false });
      s.a.addFreeHook({
        name: "claimer",
        onFree: (pfn) => {
          if (pfn % 3 !== 0) return false;
          s.m.pages.owner[s.m.pages.indexOf(pfn)] = 1;
          claimed.push(pfn);
          return true;
        },
      });
      const held: number[] = [];
      for (let k = 0; k < 600; k++) {
        const p = s.a.alloc(GFP_KERNEL, 0);
        if (k % 4 === 0) held.push(p);
        else s.a.free(p, 0);
      }
      for (const p of held) s.a.free(p, 0);
      s.a.checkInvariants();
      return { s, claimed };
    });
    const [fast, slow] = sides as [(typeof sides)[0], (typeof sides)[0]];
    expect(fast.claimed.length).toBeGreaterThan(0);
    expect(fast.claimed).toEqual(slow.claimed);
    expect(fast.s.a.stats).toEqual(slow.s.a.stats);
    expect(fast.s.a.stateDigest()).toBe(slow.s.a.stateDigest());
  });

  it("takes mixed orders through the buddy lists exactly as the generic path does", () => {
    for (const pcp of [false, true]) {
      const fast = side(true, pcp);
      const slow = side(false, pcp);
      for (const s of [fast, slow]) {
        const live: [number, number][] = [];
        let seed = 12345;
        for (let k = 0; k < 4000; k++) {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          const order = (seed >>> 16) % 8;
          if (live.length >= 48 || (live.length > 0 && seed % 3 === 0)) {
            const [p, o] = live.splice(seed % live.length, 1)[0]!;
            s.a.free(p, o);
          }
          const p = s.a.alloc(seed % 5 === 0 ? GFP_HIGHUSER_MOVABLE : GFP_KERNEL, order);
          if (p >= 0) live.push([p, order]);
        }
        for (const [p, o] of live) s.a.free(p, o);
      }
      expect(fast.a.stateDigest()).toBe(slow.a.stateDigest());
      expect(fast.a.stats).toEqual(slow.a.stats);
      fast.a.drain();
      slow.a.drain();
      expect(blockStrings(fast.a)).toEqual(blockStrings(slow.a));
      fast.a.checkInvariants();
    }
  });
});

describe("the order-0 fast path's precomputed state", () => {
  it("follows the CPU, the watermarks, hot-add (grown page arrays) and zones without managed pages", () => {
    const fast = side(true, true);
    const slow = side(false, true);
    const both = (f: (s: typeof fast) => string): string => {
      const r1 = f(fast);
      const r2 = f(slow);
      expect(r1).toBe(r2);
      expect(fast.a.stateDigest()).toBe(slow.a.stateDigest());
      expect(fast.a.stats).toEqual(slow.a.stats);
      return r1;
    };
    // Order-0 pairs with a few pages kept, over masks whose zonelists differ.
    const kept = new Map([
      [fast, [] as number[]],
      [slow, [] as number[]],
    ]);
    const pairs = (s: typeof fast, gfp: number, n: number): string => {
      const got: number[] = [];
      for (let k = 0; k < n; k++) {
        const p = s.a.alloc(gfp, 0);
        got.push(p);
        if (p >= 0 && k % 4 !== 0) s.a.free(p, 0);
        else if (p >= 0) kept.get(s)!.push(p);
      }
      return got.join(" ");
    };
    const masks = [GFP_KERNEL, GFP_KERNEL | __GFP_THISNODE, GFP_KERNEL | __GFP_DMA32, GFP_DMA];
    const mix = (s: typeof fast): string => masks.map((g) => pairs(s, g, 40)).join(" | ");
    // The Normal zone has no managed pages yet: GFP_KERNEL takes DMA32 pages.
    const first = both(mix).split(" ").map(Number);
    expect(first[0]).toBeGreaterThanOrEqual(4096);
    expect(first[0]).toBeLessThan(16384);
    // The CPU is a plain field: a write must switch lists with no setter run.
    both((s) => {
      s.a.cpu = 1;
      return mix(s);
    });
    both((s) => {
      s.a.cpu = 0;
      return mix(s);
    });
    // Watermarks above every zone's free pages: the lists still hold pages, and only a watermark
    // check that sees the new marks fails these allocations.
    const failed = both((s) => {
      s.a.setMinFreeKbytes(1 << 20);
      return mix(s);
    });
    expect(failed.split(" ").filter((x) => x === "-1").length).toBeGreaterThan(100);
    both((s) => {
      s.a.setMinFreeKbytes(128);
      return mix(s);
    });
    both((s) => {
      s.a.setWatermarkScaleFactor(1000);
      return mix(s);
    });
    // Hot-add: the page database grows (every per-page array is replaced), and the Normal zone
    // gets managed pages, which GFP_KERNEL then prefers.
    const flagsBefore = fast.m.pages.flags;
    both((s) => {
      s.m.addMemory(32768, 32768);
      return mix(s);
    });
    expect(fast.m.pages.flags).not.toBe(flagsBefore);
    expect(fast.a.zoneInfo(2).managed).toBeGreaterThan(0);
    const normal = both((s) => pairs(s, GFP_KERNEL, 8))
      .split(" ")
      .map(Number);
    expect(normal.every((p) => p >= 32768)).toBe(true);
    both((s) => {
      s.a.cpu = 1;
      return mix(s);
    });
    // Hot-remove: Normal has no managed pages again and drops out of the zonelist walk.
    both((s) => {
      s.a.cpu = 0;
      for (const p of kept.get(s)!) if (p >= 32768) s.a.free(p, 0);
      s.a.drain();
      return String(s.m.removeMemory(32768, 32768));
    });
    expect(fast.a.zoneInfo(2).managed).toBe(0); // the removal went through
    const after = both(mix).split(" ").map(Number);
    expect(after[0]).toBeLessThan(16384);
    fast.a.checkInvariants();
    fast.a.drain();
    slow.a.drain();
    expect(blockStrings(fast.a)).toEqual(blockStrings(slow.a));
    expect(fast.a.stateDigest()).toBe(slow.a.stateDigest());
  });
});

describe("the buddy-list fast path's precomputed state", () => {
  it("leaves a zone at the same low watermark as the generic path, for every order", () => {
    for (const pcp of [false, true]) {
      for (const order of [0, 1, 3, 5]) {
        const fast = side(true, pcp);
        const slow = side(false, pcp);
        const runs = [fast, slow].map((s) => {
          // Allocate until the walk has left DMA32 for DMA: the switch happens where DMA32's
          // free pages reach its low mark plus the block, one block early or late is a mismatch.
          const got: number[] = [];
          for (let k = 0; k < 20000; k++) {
            const p = s.a.alloc(GFP_KERNEL, order);
            got.push(p);
            if (p < 0 || p < 4096) break;
          }
          return got;
        });
        const [a, b] = runs as [number[], number[]];
        expect(a.at(-1)).toBeLessThan(4096); // the walk reached DMA
        expect(a).toEqual(b);
        expect(fast.a.stateDigest()).toBe(slow.a.stateDigest());
        expect(fast.a.stats).toEqual(slow.a.stats);
        fast.a.checkInvariants();
      }
    }
  });
});

describe("the order-0 fast path's precomputed state on two nodes", () => {
  it("follows the CPU's node, __GFP_THISNODE and a node's zones without managed pages", () => {
    const make = (fast: boolean) => {
      fastPaths.enabled = fast;
      const m = createMachine(PRESETS["x86_64-2node"]!);
      const a = new BuddyAllocator(m);
      fastPaths.enabled = true;
      a.freeAllRam();
      return a;
    };
    const [fast, slow] = [make(true), make(false)];
    // Node 1 has Normal pages only: its DMA and DMA32 zones have none managed.
    const masks = [GFP_KERNEL, GFP_KERNEL | __GFP_THISNODE, GFP_DMA, GFP_DMA | __GFP_THISNODE];
    const got: string[][] = [];
    for (const a of [fast, slow]) {
      const out: string[] = [];
      for (let round = 0; round < 3; round++) {
        for (let cpu = 0; cpu < 4; cpu++) {
          a.cpu = cpu; // a plain write: no setter runs
          for (const gfp of masks) {
            for (let k = 0; k < 12; k++) {
              const p = a.alloc(gfp, 0);
              out.push(`${cpu}:${gfp}:${p}`);
              if (p >= 0 && k % 3 !== 0) a.free(p, 0);
            }
          }
        }
      }
      got.push(out);
    }
    expect(got[0]).toEqual(got[1]);
    expect(fast.stateDigest()).toBe(slow.stateDigest());
    expect(fast.stats).toEqual(slow.stats);
    // The walk really differs by CPU: node 1's CPUs get node 1 pages for GFP_KERNEL, and nothing
    // for GFP_DMA | __GFP_THISNODE.
    const node1 = fast.machine.zones.find((z) => z.nid === 1 && z.presentPages > 0)!;
    const pick = (cpu: number, gfp: number) =>
      got[0]!.filter((x) => x.startsWith(`${cpu}:${gfp}:`)).map((x) => Number(x.split(":")[2]));
    expect(pick(1, GFP_KERNEL).every((p) => p >= node1.startPfn)).toBe(true);
    expect(pick(0, GFP_KERNEL).every((p) => p < node1.startPfn)).toBe(true);
    expect(pick(3, GFP_DMA | __GFP_THISNODE).every((p) => p === -1)).toBe(true);
    expect(pick(2, GFP_DMA | __GFP_THISNODE).every((p) => p > 0 && p < 4096)).toBe(true);
    fast.checkInvariants();
  });
});

describe("SectionCache", () => {
  it("converts exactly as the page database does, also after a removed section's slot is reused", () => {
    const m = smallMachine();
    const db = m.pages;
    const c = new SectionCache(m);
    for (const pfn of [1, 4095, 4096, 16383, 32767]) {
      expect(c.indexOf(pfn)).toBe(db.indexOf(pfn));
      expect(c.pfnOf(db.indexOf(pfn))).toBe(pfn);
    }
    m.addMemory(32768, 32768); // section 1
    const i1 = db.indexOf(32768 + 5);
    expect(c.indexOf(32768 + 5)).toBe(i1); // the cache now holds section 1
    expect(c.pfnOf(i1)).toBe(32768 + 5);
    expect(m.removeMemory(32768, 32768)).toBe(true);
    m.addMemory(65536, 32768); // section 2 takes section 1's slot
    expect(db.indexOf(65536 + 5)).toBe(i1);
    expect(c.indexOf(32768 + 5)).toBe(-1);
    expect(c.pfnOf(i1)).toBe(65536 + 5);
    expect(c.indexOf(65536 + 5)).toBe(i1);
    expect(c.indexOf(32768 * 3)).toBe(-1); // no section
  });

  it("lets no free through a section that went away, when its slot now holds another", () => {
    const m = smallMachine();
    const a = new BuddyAllocator(m);
    a.freeAllRam();
    m.addMemory(32768, 32768); // Normal zone: GFP_KERNEL takes its pages first
    const p = a.alloc(GFP_KERNEL, 0);
    expect(p).toBeGreaterThanOrEqual(32768);
    a.free(p, 0); // the fast paths' cache now holds section 1
    expect(m.removeMemory(32768, 32768)).toBe(true);
    m.addMemory(65536, 32768); // reuses the slot
    const twin = p - 32768 + 65536; // same index as p had
    expect(a.allocContigRange(twin, twin + 1)).toBe(true); // count 1, no flags: freeable
    const before = a.stateDigest();
    expect(() => a.free(p, 0)).toThrow(KernelPanic);
    expect(a.stateDigest()).toBe(before);
    a.free(twin, 0);
    a.checkInvariants();
    const q = a.alloc(GFP_KERNEL, 0);
    expect(q).toBeGreaterThanOrEqual(65536);
    expect(a.pageCount(q)).toBe(1);
    a.free(q, 0);
    a.checkInvariants();
  });
});
