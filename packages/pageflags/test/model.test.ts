import { createPageFlags, KernelPanic, type PageFlagMap } from "@mem/pageflags";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FakeAllocator, FakeHotplug, FakeSpace } from "./fake-machine.js";
import { checkInvariants } from "./invariants.js";

const LEAF = 32768;
const BITS = 36; // 2^24 pfns, 512 bitmap pages
const LIMIT = 2 ** (BITS - 12);

const pfnArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 6 * LEAF - 1 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 40 }).map((k) => k * 32 + 31) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: LIMIT - 1 }) },
);
const rangeArb = fc
  .tuple(fc.integer({ min: 0, max: 6 * 64 - 1 }), fc.integer({ min: 1, max: 80 }))
  .map(([s, n]) => [s * 512, Math.min((s + n) * 512, LIMIT)] as const); // 2 MiB subsections

type Op =
  | { op: "set" | "clear" | "test" | "next"; pfn: number }
  | { op: "count" | "clearAll" }
  | { op: "and" | "or" | "andNot"; pfns: number[] }
  | { op: "online" | "offline"; range: readonly [number, number] };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ op: fc.constant("set" as const), pfn: pfnArb }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("clear" as const), pfn: pfnArb }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("test" as const), pfn: pfnArb }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("next" as const), pfn: pfnArb }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constantFrom("count" as const, "clearAll" as const) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constantFrom("and" as const, "or" as const, "andNot" as const),
      pfns: fc.array(pfnArb, { maxLength: 12 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constantFrom("online" as const, "offline" as const),
      range: rangeArb,
    }),
  },
);

function leafCovered(space: FakeSpace, pfn: number): boolean {
  const start = Math.floor(pfn / LEAF) * LEAF;
  return space.pfnValidRange(start, start + LEAF);
}

function run(
  mode: "present" | "sparse",
  initial: readonly (readonly [number, number])[],
  ops: Op[],
) {
  const space = new FakeSpace({ physAddrBits: BITS, ranges: initial });
  const allocator = new FakeAllocator();
  const hotplug = new FakeHotplug(space);
  const map = createPageFlags({ space, allocator, mode }) as PageFlagMap;
  map.subscribe(hotplug);
  const model = new Set<number>();
  const scratch = new FakeAllocator({ base: 50_000_000 });
  for (const o of ops) {
    switch (o.op) {
      case "set":
        if (mode === "present" && !leafCovered(space, o.pfn)) {
          expect(() => map.set(o.pfn)).toThrow(KernelPanic);
        } else {
          map.set(o.pfn);
          model.add(o.pfn);
        }
        break;
      case "clear":
        map.clear(o.pfn);
        model.delete(o.pfn);
        break;
      case "test":
        expect(map.test(o.pfn)).toBe(model.has(o.pfn));
        break;
      case "next": {
        let want = -1;
        for (const p of model) if (p >= o.pfn && (want < 0 || p < want)) want = p;
        expect(map.nextSet(o.pfn)).toBe(want);
        break;
      }
      case "count":
        expect(map.count()).toBe(model.size);
        break;
      case "clearAll":
        map.clearAll();
        model.clear();
        break;
      case "and":
      case "or":
      case "andNot": {
        const other = createPageFlags({ space, allocator: scratch, mode: "sparse" }) as PageFlagMap;
        const set = new Set(o.pfns);
        for (const p of set) other.set(p);
        if (o.op === "or" && mode === "present" && [...set].some((p) => !leafCovered(space, p))) {
          expect(() => map.or(other)).toThrow(KernelPanic);
        } else {
          map[o.op](other);
          if (o.op === "or") {
            for (const p of set) model.add(p);
          } else if (o.op === "and") {
            for (const p of [...model]) {
              if (!set.has(p)) model.delete(p);
            }
          } else {
            for (const p of set) model.delete(p);
          }
        }
        other.free();
        break;
      }
      case "online":
        hotplug.online(o.range[0], o.range[1]);
        break;
      case "offline":
        hotplug.offline(o.range[0], o.range[1]);
        for (const p of [...model]) {
          if (p >= o.range[0] && p < o.range[1]) model.delete(p);
          else if (mode === "present" && !leafCovered(space, p)) model.delete(p);
        }
        break;
    }
    checkInvariants(map, allocator, space);
    expect([...map]).toEqual([...model].sort((a, b) => a - b));
  }
  expect(scratch.outstanding).toBe(0);
  map.free();
  expect(allocator.outstanding).toBe(0);
  expect(hotplug.subscribers).toBe(0);
}

const initialArb = fc.array(rangeArb, { maxLength: 4 });

describe("PageFlagMap against a Set<number> model", () => {
  it("agrees in present mode, with hotplug", () => {
    fc.assert(
      fc.property(initialArb, fc.array(opArb, { maxLength: 50 }), (initial, ops) =>
        run("present", initial, ops),
      ),
      { numRuns: 150 },
    );
  });

  it("agrees in sparse mode, with hotplug", () => {
    fc.assert(
      fc.property(initialArb, fc.array(opArb, { maxLength: 50 }), (initial, ops) =>
        run("sparse", initial, ops),
      ),
      { numRuns: 150 },
    );
  });
});
