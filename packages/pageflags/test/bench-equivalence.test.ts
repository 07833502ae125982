import { createPageFlags } from "@mem/pageflags";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FlatBitmap, rng } from "../bench/naive.js";
import { FakeAllocator, FakeSpace, GIB } from "./fake-machine.js";

describe("bench equivalence", () => {
  it("gives the same results as the flat reference for the benched operations", () => {
    const r = rng(7);
    const ranges: [number, number][] = [0, 256, 512, 768].map((g) => [g * GIB, g * GIB + GIB]);
    const space = new FakeSpace({ ranges });
    const map = createPageFlags({ space, allocator: new FakeAllocator(), mode: "present" })!;
    const other = createPageFlags({ space, allocator: new FakeAllocator(), mode: "present" })!;
    const flat = new FlatBitmap(1024 * GIB);
    const flatOther = new FlatBitmap(1024 * GIB);
    const pick = (): number => {
      const [s, e] = ranges[Math.floor(r() * ranges.length)]!;
      return s + Math.floor(r() * (e - s));
    };
    for (let i = 0; i < 20000; i++) {
      const p = pick();
      if (r() < 0.7) {
        map.set(p);
        flat.set(p);
      } else {
        map.clear(p);
        flat.clear(p);
      }
      const q = pick();
      other.set(q);
      flatOther.set(q);
    }
    for (let i = 0; i < 20000; i++) {
      const p = pick();
      expect(map.test(p)).toBe(flat.test(p));
      expect(map.nextSet(p)).toBe(flat.nextSet(p));
    }
    expect(map.count()).toBe(flat.count());
    const seen: number[] = [];
    for (let p = flat.nextSet(0); p >= 0; p = flat.nextSet(p + 1)) seen.push(p);
    expect([...map]).toEqual(seen);
    map.or(other);
    flat.or(flatOther);
    expect(map.count()).toBe(flat.count());
    map.andNot(other);
    flat.andNot(flatOther);
    expect(map.count()).toBe(flat.count());
    map.or(other);
    flat.or(flatOther);
    map.and(other);
    flat.and(flatOther);
    expect([...map]).toEqual([...other]);
    expect(map.count()).toBe(flat.count());
  });

  it("agrees with the flat reference on random set/clear/test/nextSet (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom("set", "clear", "test", "next"), fc.nat(2 ** 20 - 1)), {
          maxLength: 200,
        }),
        (ops) => {
          const space = new FakeSpace({ physAddrBits: 32, ranges: [[0, 2 ** 20]] });
          const map = createPageFlags({ space, allocator: new FakeAllocator(), mode: "present" })!;
          const flat = new FlatBitmap(2 ** 20);
          for (const [op, p] of ops) {
            if (op === "set") {
              map.set(p);
              flat.set(p);
            } else if (op === "clear") {
              map.clear(p);
              flat.clear(p);
            } else if (op === "test") expect(map.test(p)).toBe(flat.test(p));
            else expect(map.nextSet(p)).toBe(flat.nextSet(p));
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
