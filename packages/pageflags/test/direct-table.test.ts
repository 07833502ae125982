// The direct leaf table: test/set/clear go through an Int32Array indexed by leaf number while the
// span up to the highest bitmap page is modest, and through the multi-level walk otherwise. These
// tests drive maps across that line both ways and check both paths against a Set.
import { createPageFlags, InvalidArgumentError, type PageFlagMap } from "@mem/pageflags";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DIRECT_BUILD_SHARE,
  DIRECT_MAX_SHARE,
  directLength,
  directMaxLength,
} from "../src/internal/direct.js";
import { FakeAllocator, FakeHotplug, FakeSpace, GIB } from "./fake-machine.js";
import { checkInvariants } from "./invariants.js";

const LEAF = 32768; // pfns per 4 KiB bitmap page
const WPL = 1024; // 32-bit words per 4 KiB bitmap page

/** Every pfn of `model` reads as set, a few around each reads as the model says, count agrees. */
function agree(map: PageFlagMap, model: Set<number>): void {
  for (const p of model) {
    expect(map.test(p)).toBe(true);
    for (const q of [p - 1, p + 1, p + 32, p - 32]) {
      if (q >= 0 && q < map.pfnLimit) expect(map.test(q)).toBe(model.has(q));
    }
  }
  expect(map.count()).toBe(model.size);
  expect([...map]).toEqual([...model].sort((a, b) => a - b));
}

describe("directLength", () => {
  it("builds a table only while the slots needed are at most 1/32 of the bitmap words", () => {
    expect(DIRECT_BUILD_SHARE).toBe(32);
    expect(DIRECT_MAX_SHARE).toBe(16);
    expect(directLength(0, 0, WPL, 2 ** 19)).toBe(0);
    expect(directLength(1, 1, WPL, 2 ** 19)).toBe(2);
    expect(directLength(32, 1, WPL, 2 ** 19)).toBe(48);
    expect(directLength(33, 1, WPL, 2 ** 19)).toBe(-1);
    // 64 GiB in 4 nodes over 1 TiB: 512 leaves, highest 6271
    expect(directLength(6272, 512, WPL, 2 ** 19)).toBe(9408);
    // 1.5 x the slots needed (room to grow), never past the leaves wholly below the pfn limit
    expect(directLength(32 * 4, 4, WPL, 2 ** 19)).toBe(192);
    expect(directLength(3, 3, WPL, 3)).toBe(3);
    expect(directLength(4, 4, WPL, 3)).toBe(-1);
  });

  it("refuses leaves whose bit index would not fit 32 bits", () => {
    expect(directLength(1, 1, 2 ** 26, 2 ** 10)).toBe(2); // 2^31 bits per leaf: fits
    expect(directLength(1, 1, 2 ** 27, 2 ** 10)).toBe(-1); // 2^32 bits per leaf
  });

  it("allows at most 1/16 of the bitmap words as slots", () => {
    expect(directMaxLength(512, WPL)).toBe(512 * 64);
    expect(directMaxLength(0, WPL)).toBe(0);
  });
});

describe("PageFlagMap direct leaf table", () => {
  it("serves a dense 64 GiB machine from a 3 KiB table (0.15 % of the bitmap)", () => {
    const space = new FakeSpace({ ranges: [[0, 64 * GIB]] });
    const allocator = new FakeAllocator();
    const map = createPageFlags({ space, allocator, mode: "present" })!;
    expect(map.bitmapPages()).toBe(512);
    expect(map.directTableBytes()).toBe(768 * 4);
    const model = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const p = (i * 8_388_617) % (64 * GIB);
      map.set(p);
      model.add(p);
    }
    for (const p of [...model].slice(0, 500)) {
      map.clear(p);
      model.delete(p);
    }
    agree(map, model);
    checkInvariants(map, allocator, space);
  });

  it("costs under 2 % of present/8 over a 1 TiB span with 64 GiB in 4 nodes", () => {
    const ranges: [number, number][] = [0, 256, 512, 768].map((g) => [g * GIB, (g + 16) * GIB]);
    const space = new FakeSpace({ ranges });
    const map = createPageFlags({ space, allocator: new FakeAllocator(), mode: "present" })!;
    const bytes = map.directTableBytes();
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(0.02 * (space.presentPages() / 8));
    expect(map.bytesUsed() + bytes).toBeLessThan(1.1 * (space.presentPages() / 8));
    map.set(784 * GIB - 1);
    expect(map.test(784 * GIB - 1)).toBe(true);
    expect(map.test(784 * GIB)).toBe(false); // past the last leaf: no table slot, reads as zero
    expect(() => map.set(784 * GIB)).toThrow(/no bitmap page/);
  });

  it("walks the multi-level table when the span is too sparse for a direct table", () => {
    const space = new FakeSpace({
      ranges: [
        [0, LEAF],
        [2 ** 33, 2 ** 33 + LEAF],
      ],
    });
    const allocator = new FakeAllocator();
    const map = createPageFlags({ space, allocator, mode: "present" })!;
    expect(map.directTableBytes()).toBe(0);
    const model = new Set([0, 31, 32, LEAF - 1, 2 ** 33, 2 ** 33 + 5, 2 ** 33 + LEAF - 1]);
    for (const p of model) map.set(p);
    agree(map, model);
    expect(map.test(2 ** 32)).toBe(false);
    expect(() => map.set(2 ** 32)).toThrow(/no bitmap page/);
    map.clear(2 ** 33 + 5);
    model.delete(2 ** 33 + 5);
    agree(map, model);
    checkInvariants(map, allocator, space);
  });

  it("builds the table once a sparse map has enough bitmap pages, and grows it", () => {
    const space = new FakeSpace({ ranges: [] });
    const allocator = new FakeAllocator();
    const map = createPageFlags({ space, allocator, mode: "sparse" })!;
    const model = new Set<number>();
    const far = 64 * LEAF + 7; // leaf 64: needs 65 slots, so 3 bitmap pages (3 * 32 >= 65)
    map.set(far);
    model.add(far);
    expect(map.directTableBytes()).toBe(0);
    map.set(LEAF + 1);
    model.add(LEAF + 1);
    expect(map.directTableBytes()).toBe(0);
    map.set(2 * LEAF + 2);
    model.add(2 * LEAF + 2);
    expect(map.directTableBytes()).toBeGreaterThanOrEqual(65 * 4);
    agree(map, model);
    checkInvariants(map, allocator, space);
    // a page past the table's end makes it grow; one inside is written in place
    const before = map.directTableBytes();
    map.set(3 * LEAF);
    model.add(3 * LEAF);
    expect(map.directTableBytes()).toBe(before);
    map.set(120 * LEAF + 3);
    model.add(120 * LEAF + 3);
    expect(map.directTableBytes()).toBeGreaterThan(before);
    agree(map, model);
    checkInvariants(map, allocator, space);
  });

  it("follows hotplug: a section onlined after the table was built is usable at once", () => {
    const space = new FakeSpace({ ranges: [[0, 8 * LEAF]] });
    const allocator = new FakeAllocator();
    const hotplug = new FakeHotplug(space);
    const map = createPageFlags({ space, allocator, mode: "present" })!;
    map.subscribe(hotplug);
    const model = new Set([5, 8 * LEAF - 1]);
    for (const p of model) map.set(p);
    const before = map.directTableBytes();
    expect(before).toBeGreaterThan(0);
    // inside the table's length (written in place), then past it (rebuilt)
    expect(hotplug.online(9 * LEAF, 10 * LEAF)).toBe(true);
    expect(map.directTableBytes()).toBe(before);
    expect(map.test(9 * LEAF + 3)).toBe(false);
    map.set(9 * LEAF + 3);
    model.add(9 * LEAF + 3);
    expect(hotplug.online(100 * LEAF, 101 * LEAF)).toBe(true);
    expect(map.directTableBytes()).toBeGreaterThan(before);
    map.set(100 * LEAF + 9);
    model.add(100 * LEAF + 9);
    agree(map, model);
    checkInvariants(map, allocator, space);
    // offline drops the page and its bits; the table forgets the leaf
    expect(hotplug.offline(9 * LEAF, 10 * LEAF)).toBe(true);
    model.delete(9 * LEAF + 3);
    expect(map.test(9 * LEAF + 3)).toBe(false);
    expect(() => map.set(9 * LEAF + 3)).toThrow(/no bitmap page/);
    agree(map, model);
    checkInvariants(map, allocator, space);
  });

  it("falls back to the walk when offline leaves too few pages for the table, and back again", () => {
    const space = new FakeSpace({
      ranges: [
        [0, 8 * LEAF],
        [200 * LEAF, 201 * LEAF],
      ],
    });
    const allocator = new FakeAllocator();
    const hotplug = new FakeHotplug(space);
    const map = createPageFlags({ space, allocator, mode: "present" })!;
    map.subscribe(hotplug);
    expect(map.directTableBytes()).toBeGreaterThan(0); // 201 slots <= 9 * 32
    const model = new Set([3, 200 * LEAF + 1]);
    for (const p of model) map.set(p);
    hotplug.offline(LEAF, 8 * LEAF); // 2 pages left: 201 slots > 64
    expect(map.bitmapPages()).toBe(2);
    expect(map.directTableBytes()).toBe(0);
    agree(map, model);
    checkInvariants(map, allocator, space);
    hotplug.online(LEAF, 8 * LEAF);
    expect(map.directTableBytes()).toBeGreaterThan(0);
    map.set(7 * LEAF);
    model.add(7 * LEAF);
    agree(map, model);
    checkInvariants(map, allocator, space);
    // dropping the highest page keeps the table within 1/16 of the bitmap left
    hotplug.offline(200 * LEAF, 201 * LEAF);
    model.delete(200 * LEAF + 1);
    expect(map.directTableBytes()).toBeGreaterThan(0);
    expect(map.directTableBytes()).toBeLessThanOrEqual((8 * 4096) / 16);
    agree(map, model);
    checkInvariants(map, allocator, space);
  });

  it("handles pfns above 2^32 through the table (64 KiB pages), with no 32-bit truncation", () => {
    const leaf = 2 ** 19; // pfns per 64 KiB bitmap page
    const top = 2 ** 32 / leaf; // leaf 8192 holds pfn 2^32
    const space = new FakeSpace({
      pageSize: 65536,
      physAddrBits: 52,
      ranges: [
        [0, 16 * leaf],
        [top * leaf, (top + 1) * leaf],
      ],
    });
    const allocator = new FakeAllocator();
    const map = createPageFlags({ space, allocator, mode: "present" })!;
    expect(map.directTableBytes()).toBeGreaterThan(top * 4); // 8193 slots <= 17 * 512
    const hi = [2 ** 32, 2 ** 32 + 1, 2 ** 32 + 31, 2 ** 32 + 32, 2 ** 32 + leaf - 1];
    const model = new Set<number>([1, 33]);
    for (const p of [...hi, 1, 33]) {
      map.set(p);
      model.add(p);
    }
    for (const p of hi) expect(map.test(p % 2 ** 32)).toBe(model.has(p % 2 ** 32));
    expect(map.test(0)).toBe(false);
    agree(map, model);
    map.clear(2 ** 32 + 1);
    model.delete(2 ** 32 + 1);
    expect(map.test(1)).toBe(true);
    agree(map, model);
    checkInvariants(map, allocator, space);
  });

  it("rejects bad pfns on the table's path without touching a bit", () => {
    const space = new FakeSpace({ ranges: [[0, 4 * LEAF]], physAddrBits: 36 });
    const map = createPageFlags({ space, allocator: new FakeAllocator(), mode: "present" })!;
    expect(map.directTableBytes()).toBeGreaterThan(0);
    map.set(5);
    const bad: unknown[] = [
      5.5,
      -0.5,
      -1,
      LEAF + 0.25,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      2 ** 24,
      "5",
      "6",
      null,
      undefined,
      [5],
    ];
    for (const pfn of bad) {
      for (const op of [
        () => map.set(pfn as number),
        () => map.clear(pfn as number),
        () => map.test(pfn as number),
      ]) {
        expect(op).toThrow(InvalidArgumentError);
      }
    }
    expect([...map]).toEqual([5]);
    expect(map.test(-0)).toBe(false); // -0 is pfn 0
    map.set(-0);
    expect(map.test(0)).toBe(true);
    map.free();
    expect(map.directTableBytes()).toBe(0);
    expect(() => map.test(5)).toThrow(/freed/);
    expect(() => map.set(5)).toThrow(/freed/);
    expect(() => map.clear(5)).toThrow(/freed/);
  });

  it("agrees with a Set across the table and the walk (model test)", () => {
    // Leaf numbers near 0 and far out (up to 2^12) make the map cross the line both ways.
    const leafArb = fc.oneof(
      { weight: 5, arbitrary: fc.integer({ min: 0, max: 40 }) },
      { weight: 1, arbitrary: fc.integer({ min: 41, max: 4096 }) },
    );
    const pfnArb = fc
      .tuple(leafArb, fc.integer({ min: 0, max: LEAF - 1 }))
      .map(([l, o]) => l * LEAF + o);
    type Op =
      | { op: "set"; pfn: number }
      | { op: "clear"; pfn: number }
      | { op: "test"; pfn: number }
      | { op: "offline"; leaf: number };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ op: fc.constant("set" as const), pfn: pfnArb }) },
      { weight: 3, arbitrary: fc.record({ op: fc.constant("clear" as const), pfn: pfnArb }) },
      { weight: 3, arbitrary: fc.record({ op: fc.constant("test" as const), pfn: pfnArb }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant("offline" as const), leaf: leafArb }) },
    );
    let sawDirect = 0;
    let sawWalk = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 120 }), (ops) => {
        const space = new FakeSpace({ ranges: [] });
        const allocator = new FakeAllocator();
        const map = createPageFlags({ space, allocator, mode: "sparse" })!;
        const model = new Set<number>();
        for (const o of ops) {
          if (o.op === "set") {
            map.set(o.pfn);
            model.add(o.pfn);
          } else if (o.op === "clear") {
            map.clear(o.pfn);
            model.delete(o.pfn);
          } else if (o.op === "test") {
            expect(map.test(o.pfn)).toBe(model.has(o.pfn));
          } else {
            const start = o.leaf * LEAF;
            map.onHotplug({ type: "offline", startPfn: start, endPfn: start + LEAF, nid: 0 });
            for (const p of [...model]) if (p >= start && p < start + LEAF) model.delete(p);
          }
          if (map.bitmapPages() > 0) {
            if (map.directTableBytes() > 0) sawDirect++;
            else sawWalk++;
          }
          checkInvariants(map, allocator, space);
        }
        for (const p of model) expect(map.test(p)).toBe(true);
        expect(map.count()).toBe(model.size);
      }),
      { numRuns: 150 },
    );
    expect(sawDirect).toBeGreaterThan(0);
    expect(sawWalk).toBeGreaterThan(0);
  });
});
