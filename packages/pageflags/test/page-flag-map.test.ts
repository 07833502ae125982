import {
  createPageFlags,
  InvalidArgumentError,
  KernelPanic,
  PageFlagMap,
  type PageFlagMode,
} from "@mem/pageflags";
import { describe, expect, it } from "vitest";
import { FakeAllocator, FakeSpace, GIB } from "./fake-machine.js";
import { checkInvariants } from "./invariants.js";

const LEAF = 32768; // pfns per 4 KiB bitmap page

function setup(
  mode: PageFlagMode,
  ranges: [number, number][] = [[0, 4 * LEAF]],
  opts: { physAddrBits?: number; failAfter?: number; pageSize?: number } = {},
) {
  const space = new FakeSpace({
    ranges,
    physAddrBits: opts.physAddrBits ?? 46,
    ...(opts.pageSize !== undefined ? { pageSize: opts.pageSize } : {}),
  });
  const allocator = new FakeAllocator(
    opts.failAfter !== undefined ? { failAfter: opts.failAfter } : {},
  );
  const map = createPageFlags({ space, allocator, mode });
  return { space, allocator, map };
}

describe("createPageFlags", () => {
  it("takes one bitmap page per 128 MiB of present memory plus one table page", () => {
    const { map, allocator, space } = setup("present", [[0, 64 * GIB]]);
    expect(map).not.toBeNull();
    expect(map!.bitmapPages()).toBe(512);
    expect(map!.pagesUsed()).toBe(513);
    expect(map!.bytesUsed()).toBeLessThanOrEqual(1.1 * (space.presentPages() / 8));
    checkInvariants(map!, allocator, space);
  });

  it("takes bitmap pages only over present memory in a 1 TiB span with 4 nodes", () => {
    const ranges: [number, number][] = [0, 256, 512, 768].map((g) => [g * GIB, (g + 16) * GIB]);
    const { map, allocator, space } = setup("present", ranges);
    expect(map!.bitmapPages()).toBe(512);
    expect(map!.bytesUsed()).toBeLessThanOrEqual(1.1 * (space.presentPages() / 8));
    expect(map!.coveredRanges()).toEqual(ranges.map(([s, e]) => ({ start: s, end: e })));
    checkInvariants(map!, allocator, space);
  });

  it("takes no page in sparse mode until a bit is set", () => {
    const { map, allocator } = setup("sparse");
    expect(map!.pagesUsed()).toBe(0);
    expect(allocator.outstanding).toBe(0);
  });

  it("covers every pfn of the address width in all mode", () => {
    const { map, allocator, space } = setup("all", [[0, LEAF]], { physAddrBits: 36 });
    expect(map!.bitmapPages()).toBe(512);
    map!.set(2 ** 24 - 1);
    expect(map!.test(2 ** 24 - 1)).toBe(true);
    checkInvariants(map!, allocator, space);
  });

  it("returns null with every page given back when all mode would exceed the page budget", () => {
    const space = new FakeSpace({ ranges: [[0, LEAF]], physAddrBits: 52 });
    const allocator = new FakeAllocator();
    expect(createPageFlags({ space, allocator, mode: "all" })).toBeNull();
    expect(allocator.allocs).toBe(0);
  });

  it.each([1, 2, 5, 100])(
    "returns null and gives back every page when the allocator fails after %i pages",
    (n) => {
      const { map, allocator } = setup("present", [[0, 16 * GIB]], { failAfter: n });
      expect(map).toBeNull();
      expect(allocator.outstanding).toBe(0);
      expect(allocator.frees).toBe(allocator.allocs);
    },
  );

  it("rejects bad options with InvalidArgumentError", () => {
    const allocator = new FakeAllocator();
    const space = new FakeSpace({ ranges: [[0, LEAF]] });
    const bad: unknown[] = [
      { space, allocator, mode: "dense" },
      { space, allocator: null, mode: "present" },
      { space, allocator, mode: "present", pageBudget: -1 },
      { space, allocator, mode: "present", pageBudget: 1.5 },
      { space: { ...space, pageSize: 3000, physAddrBits: 46 }, allocator, mode: "present" },
      { space: { ...space, pageSize: 4096, physAddrBits: 12 }, allocator, mode: "present" },
      { space: { ...space, pageSize: 4096, physAddrBits: 70 }, allocator, mode: "present" },
      { space: { ...space, pageSize: 4096, physAddrBits: 46.5 }, allocator, mode: "present" },
      // 1 GiB pages would put 2^33 bits in one bitmap page, beyond the word arithmetic.
      { space: { ...space, pageSize: 2 ** 30, physAddrBits: 52 }, allocator, mode: "present" },
    ];
    for (const options of bad) {
      expect(() => createPageFlags(options as never)).toThrow(InvalidArgumentError);
    }
    expect(allocator.allocs).toBe(0);
  });
});

describe("PageFlagMap", () => {
  it("sets, tests and clears single bits", () => {
    const { map } = setup("present");
    const m = map!;
    expect(m.test(12345)).toBe(false);
    m.set(12345);
    expect(m.test(12345)).toBe(true);
    expect(m.test(12344)).toBe(false);
    expect(m.test(12346)).toBe(false);
    m.clear(12345);
    expect(m.test(12345)).toBe(false);
  });

  it("reads a missing bitmap page as zeros and never allocates on test or clear", () => {
    const { map, allocator } = setup("sparse");
    expect(map!.test(5 * LEAF)).toBe(false);
    map!.clear(5 * LEAF);
    expect(map!.bitmapPage(5 * LEAF)).toBeNull();
    expect(map!.covers(5 * LEAF)).toBe(false);
    expect(allocator.outstanding).toBe(0);
  });

  it("allocates a bitmap page (and table pages) when a sparse set hits a missing page", () => {
    const { map, allocator, space } = setup("sparse");
    map!.set(7 * LEAF + 3);
    expect(map!.bitmapPages()).toBe(1);
    expect(map!.pagesUsed()).toBe(2);
    expect(map!.test(7 * LEAF + 3)).toBe(true);
    checkInvariants(map!, allocator, space);
  });

  it("panics (KernelPanic ENOMEM) with state unchanged when a sparse set gets no page", () => {
    const { map, allocator, space } = setup("sparse", [[0, LEAF]], { failAfter: 3 });
    const m = map!;
    m.set(1);
    expect(m.pagesUsed()).toBe(2);
    // a pfn needing a table page above and a new leaf: 1 page left, 2+ needed
    const far = 2 ** 33;
    let err: unknown;
    try {
      m.set(far);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelPanic);
    expect((err as KernelPanic).name).toBe("KernelPanic");
    expect((err as KernelPanic).code).toBe("ENOMEM");
    expect(m.pagesUsed()).toBe(2);
    expect([...m]).toEqual([1]);
    checkInvariants(m, allocator, space);
  });

  it("panics (KernelPanic EFAULT) on set of a pfn with no bitmap page in present mode", () => {
    const { map } = setup("present", [[0, LEAF]]);
    expect(() => map!.set(3 * LEAF)).toThrow(KernelPanic);
    expect(map!.count()).toBe(0);
  });

  it("finds the next set bit, skipping missing pages and zero words", () => {
    const { map } = setup("sparse");
    const m = map!;
    expect(m.nextSet(0)).toBe(-1);
    m.set(40);
    m.set(9 * LEAF + 31);
    m.set(2 ** 33 + 1);
    expect(m.nextSet(0)).toBe(40);
    expect(m.nextSet(40)).toBe(40);
    expect(m.nextSet(41)).toBe(9 * LEAF + 31);
    expect(m.nextSet(9 * LEAF + 32)).toBe(2 ** 33 + 1);
    expect(m.nextSet(2 ** 33 + 2)).toBe(-1);
    expect(m.nextSet(m.pfnLimit)).toBe(-1);
  });

  it("iterates set bits in order and counts them", () => {
    const { map } = setup("present");
    const want = [0, 31, 32, 63, 64, 1000, LEAF - 1, LEAF, 3 * LEAF + 17, 4 * LEAF - 1];
    for (const p of [...want].reverse()) map!.set(p);
    expect([...map!]).toEqual(want);
    const seen: number[] = [];
    map!.forEachSet((p) => seen.push(p));
    expect(seen).toEqual(want);
    expect(map!.count()).toBe(want.length);
  });

  it("handles bit 31 of a word (the sign bit of the Int32 words)", () => {
    const { map } = setup("present");
    map!.set(31);
    map!.set(LEAF + 63);
    expect(map!.test(31)).toBe(true);
    expect(map!.nextSet(0)).toBe(31);
    expect(map!.nextSet(32)).toBe(LEAF + 63);
    expect(map!.count()).toBe(2);
    map!.clear(31);
    expect(map!.test(31)).toBe(false);
  });

  it("works on pfns above 2^32 with no 32-bit truncation", () => {
    const { map, allocator, space } = setup("sparse", [[0, LEAF]], { physAddrBits: 52 });
    const m = map!;
    const hi = [2 ** 32, 2 ** 32 + 1, 2 ** 33 + 5, 2 ** 39 + 7, 2 ** 40 - 1];
    for (const p of hi) m.set(p);
    for (const p of hi) expect(m.test(p)).toBe(true);
    for (const p of hi) expect(m.test(p % 2 ** 32)).toBe(false);
    expect(m.test(1)).toBe(false);
    expect(m.test(5)).toBe(false);
    expect([...m]).toEqual(hi);
    expect(m.nextSet(2 ** 32 + 2)).toBe(2 ** 33 + 5);
    checkInvariants(m, allocator, space);
  });

  it("scales to a 52-bit (4 PiB) space with memory proportional to the bits set", () => {
    const { map } = setup("sparse", [[0, LEAF]], { physAddrBits: 52 });
    map!.set(2 ** 40 - 1);
    // one leaf + three table pages (2^25 leaf slots, 512-way)
    expect(map!.pagesUsed()).toBe(4);
  });

  it("works with 64 KiB pages", () => {
    const { map, allocator, space } = setup("present", [[0, 2 ** 20]], {
      pageSize: 65536,
      physAddrBits: 52,
    });
    expect(map!.bitsPerPage).toBe(2 ** 19);
    expect(map!.bitmapPages()).toBe(2);
    map!.set(2 ** 20 - 1);
    expect(map!.nextSet(0)).toBe(2 ** 20 - 1);
    checkInvariants(map!, allocator, space);
  });

  it("ands, ors and andNots maps (pageset1, pageset2, nosave)", () => {
    const { space, allocator } = setup("sparse");
    const a = createPageFlags({ space, allocator, mode: "sparse" })!;
    const b = createPageFlags({ space, allocator, mode: "sparse" })!;
    for (const p of [1, 2, 3, 5 * LEAF]) a.set(p);
    for (const p of [2, 3, 4, 9 * LEAF]) b.set(p);
    const c = createPageFlags({ space, allocator, mode: "sparse" })!;
    c.or(a);
    c.and(b);
    expect([...c]).toEqual([2, 3]);
    c.or(a);
    c.or(b);
    expect([...c]).toEqual([1, 2, 3, 4, 5 * LEAF, 9 * LEAF]);
    c.andNot(b);
    expect([...c]).toEqual([1, 5 * LEAF]);
    expect(allocator.outstanding).toBe(a.pagesUsed() + b.pagesUsed() + c.pagesUsed());
  });

  it("refuses or() into a present map lacking the pages, leaving it unchanged", () => {
    const { space, allocator, map } = setup("present", [[0, LEAF]]);
    const s = createPageFlags({ space, allocator, mode: "sparse" })!;
    s.set(5);
    s.set(3 * LEAF);
    map!.set(7);
    expect(() => map!.or(s)).toThrow(KernelPanic);
    expect([...map!]).toEqual([7]);
  });

  it("clears every bit and keeps its pages on clearAll", () => {
    const { map } = setup("present");
    map!.set(1);
    map!.set(3 * LEAF);
    const pages = map!.pagesUsed();
    map!.clearAll();
    expect(map!.count()).toBe(0);
    expect(map!.pagesUsed()).toBe(pages);
  });

  it("gives every page back on free and refuses use after free and double free", () => {
    const { map, allocator } = setup("present", [[0, 8 * GIB]]);
    map!.set(3);
    map!.free();
    expect(allocator.outstanding).toBe(0);
    expect(map!.isFreed()).toBe(true);
    expect(() => map!.test(3)).toThrow(InvalidArgumentError);
    expect(() => map!.set(3)).toThrow(/freed/);
    expect(() => map!.free()).toThrow(InvalidArgumentError);
    expect(() => map!.count()).toThrow(InvalidArgumentError);
  });

  it("takes later pages from a switched allocator and gives each page back where it came from", () => {
    const space = new FakeSpace({ ranges: [[0, LEAF]] });
    const bootmem = new FakeAllocator({ base: 100 });
    const buddy = new FakeAllocator({ base: 900_000 });
    const map = createPageFlags({ space, allocator: bootmem, mode: "sparse" })!;
    map.set(1);
    map.useAllocator(buddy);
    map.set(4 * LEAF);
    expect(bootmem.outstanding).toBe(2);
    expect(buddy.outstanding).toBe(1);
    map.free();
    expect(bootmem.outstanding + buddy.outstanding).toBe(0);
  });

  it("exposes the bitmap page as a view aliasing the bits", () => {
    const { map } = setup("present");
    const page = map!.bitmapPage(LEAF + 70)!;
    expect(page.length).toBe(1024);
    page[2] = 1 << 6;
    expect(map!.test(LEAF + 70)).toBe(true);
    expect(
      new PageFlagMap({
        space: new FakeSpace({}),
        allocator: new FakeAllocator(),
        mode: "sparse",
      }).bitmapPage(0),
    ).toBeNull();
  });

  describe("bad input", () => {
    const bad: [string, number][] = [
      ["negative", -1],
      ["fractional", 1.5],
      ["NaN", Number.NaN],
      ["Infinity", Number.POSITIVE_INFINITY],
      ["-Infinity", Number.NEGATIVE_INFINITY],
      ["beyond 2^53", 2 ** 54],
      ["beyond the address width", 2 ** 34 + 1],
      ["-0.5", -0.5],
    ];
    it.each(bad)("throws InvalidArgumentError for a %s pfn and changes nothing", (_, pfn) => {
      const { map, allocator } = setup("sparse");
      const m = map!;
      m.set(3);
      for (const op of [
        () => m.set(pfn),
        () => m.clear(pfn),
        () => m.test(pfn),
        () => m.nextSet(pfn),
        () => m.covers(pfn),
        () => m.bitmapPage(pfn),
      ]) {
        let err: unknown;
        try {
          op();
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(InvalidArgumentError);
        expect((err as InvalidArgumentError).name).toBe("InvalidArgumentError");
        expect(["EINVAL", "ERANGE"]).toContain((err as InvalidArgumentError).code);
        expect((err as Error).message).toContain(String(pfn));
      }
      expect([...m]).toEqual([3]);
      expect(allocator.outstanding).toBe(m.pagesUsed());
    });

    it("rejects non-number pfns", () => {
      const { map } = setup("sparse");
      expect(() => map!.set("5" as unknown as number)).toThrow(InvalidArgumentError);
      expect(() => map!.test(null as unknown as number)).toThrow(InvalidArgumentError);
    });

    it("the pfn limit is exactly 2^(physAddrBits - pageShift)", () => {
      const { map } = setup("sparse", [], { physAddrBits: 36 });
      map!.set(2 ** 24 - 1);
      expect(() => map!.set(2 ** 24)).toThrow(/beyond the 36-bit/);
    });

    it("rejects maps of different page sizes in and/or/andNot", () => {
      const a = setup("sparse").map!;
      const b = setup("sparse", [], { pageSize: 8192 }).map!;
      expect(() => a.or(b)).toThrow(InvalidArgumentError);
      expect(() => a.and({} as PageFlagMap)).toThrow(InvalidArgumentError);
    });
  });
});
