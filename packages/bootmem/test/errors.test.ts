import { fromMachine, Memblock, Rootmem } from "@mem/bootmem";
import { InvalidArgumentError, KernelPanic } from "@mem/machine";
import { describe, expect, it } from "vitest";
import { PS, rootmemWith } from "./helpers.js";

const BAD: unknown[] = [Number.NaN, 1.5, -1, 2 ** 53, Number.POSITIVE_INFINITY, "4096", null];

describe("Rootmem input checks", () => {
  it("rejects bad numbers everywhere with InvalidArgumentError and changes nothing", () => {
    const r = rootmemWith([[0, 64]]);
    const before = r.digest();
    const calls: ((v: never) => unknown)[] = [
      (v) => r.free(v, PS),
      (v) => r.free(0, v),
      (v) => r.reserve(v, PS),
      (v) => r.reserve(0, v, true),
      (v) => r.allocNode(-1, v, 64, 0, 0),
      (v) => r.allocNode(-1, 64, v, 0, 0),
      (v) => r.allocNode(-1, 64, 64, v, 0),
      (v) => r.allocNode(-1, 64, 64, 0, v),
      (v) => r.allocNode((v === -1 ? -5 : v) as never, 64, 64, 0, 0),
      (v) => r.isReserved(v),
      (v) => r.reserveBootmem(0, PS, v),
    ];
    for (const call of calls) {
      for (const v of BAD) {
        expect(() => call(v as never)).toThrow(InvalidArgumentError);
        expect(r.digest()).toBe(before);
      }
    }
    expect(() => r.free(2 ** 53 - 10, 100)).toThrow(InvalidArgumentError);
    expect(() => r.allocNode(-2, 64, 64, 0, 0)).toThrow(InvalidArgumentError);
    expect(() => r.reserveBootmem(0, PS, 2)).toThrow(InvalidArgumentError);
    expect(r.digest()).toBe(before);
  });

  it("rejects bad registrations and options", () => {
    const r = new Rootmem({ pageSize: PS });
    for (const v of BAD) {
      expect(() => r.registerNode(0, v as number, 10)).toThrow(InvalidArgumentError);
      expect(() => r.registerNode(0, 0, v as number)).toThrow(InvalidArgumentError);
      expect(() => r.registerNode(v as number, 0, 10)).toThrow(InvalidArgumentError);
    }
    expect(() => r.registerNode(0, 10, 5)).toThrow(InvalidArgumentError);
    expect(() => r.registerNode(0, 0, 2 ** 40)).toThrow(/2\^31 pages/);
    expect(r.nodes()).toEqual([]);
    expect(() => new Rootmem({ pageSize: 3000 })).toThrow(InvalidArgumentError);
    expect(() => new Rootmem({ pageSize: PS, bitsPerLong: 16 as 32 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => new Rootmem({ pageSize: PS, sink: 5 as never })).toThrow(InvalidArgumentError);
    r.registerNode(0, 0, 10);
    for (const v of BAD) expect(() => r.setup(v as number)).toThrow(InvalidArgumentError);
    expect(r.functional).toBe(false);
  });

  it("panics, changing nothing, on every BUG condition", () => {
    const r = rootmemWith([[0, 64]], { reserved: [7] });
    r.allocNode(-1, 100, 64, 0, 0);
    const before = r.digest();
    const bugs: (() => unknown)[] = [
      () => r.free(6 * PS, 3 * PS),
      () => r.free(60 * PS, 8 * PS),
      () => r.reserve(63 * PS, 2 * PS),
      () => r.allocNode(-1, 0, 64, 0, 0),
      () => r.allocNode(-1, 5, 24, 0, 0),
      () => r.allocNode(-1, 5 * PS, 64, 0, 4 * PS),
      () => r.allocNode(9, 64, 64, 0, 0),
      () => r.registerNode(1, 100, 200),
      () => r.setup(3),
      () => r.freeBootmemNode(0, 70 * PS, PS),
    ];
    for (const b of bugs) {
      expect(b).toThrow(KernelPanic);
      expect(r.digest()).toBe(before);
    }
  });

  it("refuses calls before setup", () => {
    const r = new Rootmem({ pageSize: PS });
    r.registerNode(0, 0, 64);
    expect(() => r.free(0, PS)).toThrow(expect.objectContaining({ code: "not-set-up" }));
    expect(() => r.allocBootmem(64)).toThrow(KernelPanic);
    expect(r.isReserved(3)).toBe(true);
  });
});

describe("Memblock input checks", () => {
  it("rejects bad numbers with InvalidArgumentError and changes nothing", () => {
    const m = new Memblock({ pageSize: PS });
    m.add(0x100000, 0x100000);
    const before = m.digest();
    for (const v of BAD) {
      expect(() => m.add(v as number, PS)).toThrow(InvalidArgumentError);
      expect(() => m.reserve(0x100000, v as number)).toThrow(InvalidArgumentError);
      expect(() => m.free(v as number, 1)).toThrow(InvalidArgumentError);
      expect(() => m.allocRange(v as number, 64, 0, 0)).toThrow(InvalidArgumentError);
      expect(() => m.allocTryNid(64, 64, 0, 0, v === -1 ? -5 : (v as number))).toThrow(
        InvalidArgumentError,
      );
    }
    expect(() => m.allocRange(0, 64, 0, 0)).toThrow(KernelPanic);
    expect(() => m.allocRange(64, 48, 0, 0)).toThrow(KernelPanic);
    expect(m.digest()).toBe(before);
  });

  it("fromMachine rejects an unknown allocator", () => {
    const machine = { pageSize: PS, wordBits: 64 as const, nodes: [], ramRanges: [] };
    expect(() => fromMachine(machine, { allocator: "slab" as never })).toThrow(
      InvalidArgumentError,
    );
  });
});
