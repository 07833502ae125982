import { Extent, InvalidArgumentError, KernelPanic } from "@mem/extent";
import {
  EAGAIN,
  EINTR,
  EINVAL,
  ENOMEM,
  EX_CATCH,
  EX_MALLOCOK,
  EX_NOCOALESCE,
  EX_WAITOK,
  EX_WAITSPACE,
  EXTENT_FIXED_STORAGE_SIZE,
  extent_alloc,
  extent_alloc_region,
  extent_alloc_subregion,
  extent_create,
  extent_destroy,
  extent_free,
  extent_print,
} from "@mem/extent/compat";
import { describe, expect, it } from "vitest";
import { checkInvariants } from "./helpers.js";

const engines = ["tree", "linear"] as const;

describe("Extent (the seed's DMA request)", () => {
  it("gives a 16k chunk, 8k aligned, not crossing 64k, inside 0-16M", () => {
    const K = 1024;
    const ex = new Extent({ name: "physmem", start: 0, end: 64 * K * K - 1 });
    // fragment the low memory: pages taken here and there
    for (let a = 0; a < 16 * K * K; a += 60 * K) ex.allocRegion(a, 4 * K);
    const got = ex.alloc({
      size: 16 * K,
      alignment: 8 * K,
      boundary: 64 * K,
      start: 0,
      end: 16 * K * K - 1,
    });
    expect(got).toBeGreaterThanOrEqual(0);
    expect(got % (8 * K)).toBe(0);
    expect(Math.floor(got / (64 * K))).toBe(Math.floor((got + 16 * K - 1) / (64 * K)));
    expect(got + 16 * K - 1).toBeLessThan(16 * K * K);
  });
});

describe("extent_print", () => {
  it("prints the kernel's text byte for byte", () => {
    const ex = extent_create(
      "isa_io",
      0x0,
      0xffff,
      {},
      EXTENT_FIXED_STORAGE_SIZE(4),
      EX_NOCOALESCE,
    );
    expect(extent_alloc_region(ex, 0x3f8, 8, 0)).toBe(0);
    expect(extent_alloc_region(ex, 0x2f8, 8, 0)).toBe(0);
    expect(extent_print(ex)).toBe(
      "extent `isa_io' (0x0 - 0xffff), flags = 0x3\n     0x2f8 - 0x2ff\n     0x3f8 - 0x3ff\n",
    );
  });
});

for (const engine of engines) {
  describe(`fixed storage (${engine})`, () => {
    it("holds exactly n descriptors; ENOMEM wins over EAGAIN; EX_MALLOCOK borrows from the pool", () => {
      const ex = extent_create("fx", 0, 0xff, {}, EXTENT_FIXED_STORAGE_SIZE(2), 0, { engine });
      const out = { value: -1 };
      expect(extent_alloc_region(ex, 0x10, 1, 0)).toBe(0);
      expect(extent_alloc_region(ex, 0x20, 1, 0)).toBe(0);
      expect(ex.freeDescriptors).toBe(0);
      // would coalesce (needs no descriptor), but the descriptor is taken first
      expect(extent_alloc_region(ex, 0x11, 1, 0)).toBe(ENOMEM);
      // would conflict (EAGAIN), but ENOMEM comes first
      expect(extent_alloc_region(ex, 0x10, 1, 0)).toBe(ENOMEM);
      expect(extent_alloc(ex, 1, 1, 0, 0, out)).toBe(ENOMEM);
      // a coalescing free needs a spare even for a trim
      expect(extent_free(ex, 0x10, 1, 0)).toBe(ENOMEM);
      expect(extent_alloc_region(ex, 0x30, 1, EX_MALLOCOK)).toBe(0);
      expect(ex.audit()).toEqual({
        runs: 3,
        fixedInRuns: 2,
        fixedFree: 0,
        poolInRuns: 1,
        poolFree: 0,
      });
      expect(extent_free(ex, 0x30, 1, EX_MALLOCOK)).toBe(0);
      checkInvariants(ex, 2, true);
    });

    it("a 32-bit layout holds exactly n descriptors too", () => {
      const ex = extent_create("fx", 0, 0xff, {}, EXTENT_FIXED_STORAGE_SIZE(3, 32), EX_NOCOALESCE, {
        wordBits: 32,
        engine,
      });
      for (let i = 0; i < 3; i++) expect(extent_alloc_region(ex, i * 2, 1, 0)).toBe(0);
      expect(extent_alloc_region(ex, 0x80, 1, 0)).toBe(ENOMEM);
      extent_destroy(ex);
    });

    it("EX_WAITOK sleeps for a descriptor and resolves when one is returned", async () => {
      const ex = extent_create("fx", 0, 0xff, {}, EXTENT_FIXED_STORAGE_SIZE(1), EX_NOCOALESCE, {
        engine,
      });
      expect(extent_alloc_region(ex, 0x10, 1, 0)).toBe(0);
      const p = extent_alloc_region(ex, 0x40, 4, EX_WAITOK);
      expect(p).toBeInstanceOf(Promise);
      expect(extent_free(ex, 0x10, 1, 0)).toBe(0);
      await expect(p).resolves.toBe(0);
      expect(extent_print(ex)).toBe("extent `fx' (0x0 - 0xff), flags = 0x3\n     0x40 - 0x43\n");
    });

    it("a cancelled EX_CATCH wait for a descriptor returns ENOMEM (the allocator returned NULL)", async () => {
      const ex = extent_create("fx", 0, 0xff, {}, EXTENT_FIXED_STORAGE_SIZE(1), EX_NOCOALESCE, {
        engine,
      });
      expect(extent_alloc_region(ex, 0x10, 1, 0)).toBe(0);
      const ac = new AbortController();
      const before = extent_print(ex);
      const p = extent_alloc_region(ex, 0x40, 4, EX_WAITOK | EX_CATCH, ac.signal);
      ac.abort();
      await expect(p).resolves.toBe(ENOMEM);
      expect(extent_print(ex)).toBe(before);
      expect(ex.sleepers).toBe(0);
    });
  });

  describe(`sleeping for space (${engine})`, () => {
    it("EX_WAITSPACE resolves when a free makes room", async () => {
      const ex = extent_create("ws", 0, 0xf, null, 0, 0, { engine });
      expect(extent_alloc_region(ex, 0, 0x10, 0)).toBe(0);
      const out = { value: -1 };
      const p = extent_alloc(ex, 4, 4, 0, EX_WAITSPACE, out);
      expect(p).toBeInstanceOf(Promise);
      const q = extent_alloc_region(ex, 8, 2, EX_WAITSPACE);
      expect(extent_free(ex, 4, 8, 0)).toBe(0);
      await expect(p).resolves.toBe(0);
      await expect(q).resolves.toBe(0);
      expect(out.value).toBe(4);
      expect(extent_print(ex)).toBe(
        "extent `ws' (0x0 - 0xf), flags = 0x0\n     0x0 - 0x9\n     0xc - 0xf\n",
      );
    });

    it("EX_CATCH: an aborted wait returns EINTR and leaves the map unchanged", async () => {
      const ex = extent_create("ws", 0, 0xf, {}, EXTENT_FIXED_STORAGE_SIZE(2), 0, { engine });
      expect(extent_alloc_region(ex, 0, 0x10, 0)).toBe(0);
      const before = extent_print(ex);
      const ac = new AbortController();
      const out = { value: -1 };
      const p = extent_alloc_subregion(
        ex,
        0,
        0xf,
        4,
        1,
        0,
        EX_WAITSPACE | EX_CATCH,
        out,
        ac.signal,
      );
      expect(ex.freeDescriptors).toBe(0); // the sleeper holds a descriptor
      ac.abort();
      await expect(p).resolves.toBe(EINTR);
      expect(extent_print(ex)).toBe(before);
      expect(ex.freeDescriptors).toBe(1);
      // an already-aborted signal does not sleep at all
      expect(extent_alloc_region(ex, 0, 1, EX_WAITSPACE | EX_CATCH, ac.signal)).toBe(EINTR);
    });

    it("without EX_CATCH the signal is ignored", async () => {
      const ex = extent_create("ws", 0, 0xf, null, 0, 0, { engine });
      expect(extent_alloc_region(ex, 0, 0x10, 0)).toBe(0);
      const ac = new AbortController();
      const p = extent_alloc_region(ex, 0, 1, EX_WAITSPACE, ac.signal);
      ac.abort();
      expect(ex.sleepers).toBe(1);
      expect(extent_free(ex, 0, 1, 0)).toBe(0);
      await expect(p).resolves.toBe(0);
    });
  });

  describe(`panics leave the map unchanged (${engine})`, () => {
    const cases: [string, (ex: ReturnType<typeof extent_create>) => unknown, string][] = [
      ["free of a hole", (ex) => extent_free(ex, 0x50, 1, 0), "PANIC_NOT_FOUND"],
      ["free spanning two runs", (ex) => extent_free(ex, 0x18, 0x10, 0), "PANIC_NOT_FOUND"],
      ["free running past a run", (ex) => extent_free(ex, 0x1c, 8, 0), "PANIC_NOT_FOUND"],
      [
        "double free",
        (ex) => {
          extent_free(ex, 0x10, 0x10, 0);
          return extent_free(ex, 0x10, 0x10, 0);
        },
        "PANIC_NOT_FOUND",
      ],
    ];
    for (const [what, fn, code] of cases) {
      it(`${what} throws KernelPanic(${code})`, () => {
        const ex = extent_create("p", 0, 0xff, {}, EXTENT_FIXED_STORAGE_SIZE(4), 0, { engine });
        extent_alloc_region(ex, 0x10, 0x10, 0);
        extent_alloc_region(ex, 0x24, 0x10, 0);
        const before = extent_print(ex);
        const audit = ex.audit();
        let err: unknown;
        try {
          fn(ex);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(KernelPanic);
        expect((err as KernelPanic).code).toBe(code);
        if (what !== "double free") expect(extent_print(ex)).toBe(before);
        else
          expect(extent_print(ex)).toBe("extent `p' (0x0 - 0xff), flags = 0x1\n     0x24 - 0x33\n");
        if (what !== "double free") expect(ex.audit()).toEqual(audit);
      });
    }

    it("a partial free on an EX_NOCOALESCE extent panics", () => {
      const ex = extent_create("nc", 0, 0xff, null, 0, EX_NOCOALESCE, { engine });
      extent_alloc_region(ex, 0x10, 0x10, 0);
      const before = extent_print(ex);
      expect(() => extent_free(ex, 0x10, 4, 0)).toThrow(KernelPanic);
      expect(extent_print(ex)).toBe(before);
      expect(extent_free(ex, 0x10, 0x10, 0)).toBe(0);
    });

    it("DIAGNOSTIC panics on argument errors that non-DIAGNOSTIC lets through", () => {
      const diag = extent_create("d", 0x100, 0x1ff, null, 0, 0, { engine, diagnostic: true });
      const plain = extent_create("d", 0x100, 0x1ff, null, 0, 0, { engine });
      const out = { value: -1 };
      const before = extent_print(diag);
      expect(() => extent_alloc_region(diag, 0x1f0, 0x20, 0)).toThrow(/region lies outside extent/);
      expect(extent_alloc_region(plain, 0x1f0, 0x20, 0)).toBe(EINVAL);
      expect(() => extent_alloc_subregion(diag, 0x100, 0x200, 1, 1, 0, 0, out)).toThrow(
        /bad subregion/,
      );
      expect(() => extent_alloc_subregion(diag, 0x100, 0x10f, 0x20, 1, 0, 0, out)).toThrow(
        /bad size/,
      );
      expect(extent_alloc_subregion(plain, 0x100, 0x10f, 0x20, 1, 0, 0, out)).toBe(EAGAIN);
      expect(() => extent_alloc_subregion(diag, 0x100, 0x1ff, 0x20, 1, 0x10, 0, out)).toThrow(
        /bad boundary/,
      );
      expect(() => extent_free(diag, 0x80, 1, 0)).toThrow(/not within extent/);
      expect(extent_print(diag)).toBe(before);
    });
  });

  describe(`bad arguments (${engine})`, () => {
    const bad = [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, 2 ** 60];
    it("rejects negative, fractional, NaN, infinite and unsafe numbers with InvalidArgumentError", () => {
      const ex = extent_create("b", 0, 0xff, null, 0, 0, { engine });
      extent_alloc_region(ex, 0x10, 0x10, 0);
      const before = extent_print(ex);
      const out = { value: -1 };
      for (const v of bad) {
        expect(() => extent_alloc_region(ex, v, 1, 0)).toThrow(InvalidArgumentError);
        expect(() => extent_alloc_region(ex, 0, v, 0)).toThrow(InvalidArgumentError);
        expect(() => extent_free(ex, v, 1, 0)).toThrow(InvalidArgumentError);
        expect(() => extent_alloc(ex, v, 1, 0, 0, out)).toThrow(InvalidArgumentError);
        expect(() => extent_alloc(ex, 1, v, 0, 0, out)).toThrow(InvalidArgumentError);
        expect(() => extent_alloc_subregion(ex, v, 0xff, 1, 1, 0, 0, out)).toThrow(
          InvalidArgumentError,
        );
      }
      expect(() => extent_alloc(ex, 0, 1, 0, 0, out)).toThrow(/size must be at least 1/);
      expect(() => extent_alloc(ex, 1, 3, 0, 0, out)).toThrow(
        /alignment must be a power of two, got 3/,
      );
      expect(() => extent_alloc(ex, 1, 0, 0, 0, out)).toThrow(/alignment/);
      expect(() => extent_alloc(ex, 1, 1, 24, 0, out)).toThrow(
        /boundary must be 0 or a power of two, got 24/,
      );
      expect(() => extent_free(ex, 0x10, 0, 0)).toThrow(InvalidArgumentError);
      expect(() => extent_create("x", 0x10, 0x1, null, 0, 0)).toThrow(KernelPanic);
      expect(() => extent_create("x", 0, 2 ** 32, null, 0, 0, { wordBits: 32 })).toThrow(
        InvalidArgumentError,
      );
      expect(extent_print(ex)).toBe(before);
    });

    it("the idiomatic API rejects ranges outside the extent", () => {
      const ex = new Extent({ start: 0x100, end: 0x1ff, engine });
      expect(() => ex.allocRegion(0xf0, 0x20)).toThrow(InvalidArgumentError);
      expect(() => ex.alloc({ size: 1, start: 0, end: 0x1ff })).toThrow(
        /must lie inside the extent/,
      );
      expect(() => ex.alloc({ size: 0x200 })).toThrow(/size/);
      expect(() => ex.free(0x1ff, 2)).toThrow(InvalidArgumentError);
      expect(() => ex.alloc({ size: 4, boundary: 2 })).toThrow(/boundary/);
    });
  });

  describe(`Extent (${engine})`, () => {
    it("allocates, iterates runs and gaps, reports the largest gap and frees", () => {
      const ex = new Extent({ name: "io", start: 0, end: 0xff, engine });
      expect(ex.alloc({ size: 0x10, alignment: 0x10 })).toBe(0);
      expect(ex.allocRegion(0x40, 0x10)).toBe(0x40);
      expect(ex.allocRegion(0x40, 1)).toBe(Extent.NO_SPACE);
      expect(ex.alloc({ size: 0x20, fit: "first" })).toBe(0x10);
      expect([...ex.runs()]).toEqual([
        { start: 0, end: 0x2f },
        { start: 0x40, end: 0x4f },
      ]);
      expect([...ex.gaps()]).toEqual([
        { start: 0x30, end: 0x3f },
        { start: 0x50, end: 0xff },
      ]);
      expect(ex.largestFree()).toBe(0xb0);
      expect(ex.free(0x8, 0x10)).toBe(true);
      expect(ex.runCount).toBe(3);
      expect(() => ex.free(0x8, 1)).toThrow(KernelPanic);
      expect(ex.alloc({ size: 0xc0 })).toBe(Extent.NO_SPACE);
    });

    it("re-aligns after a boundary bump by default (vmem); realign:false is NetBSD's rule", () => {
      // Lines at 0x10 + k * 0x1000 are not aligned to 0x100. The candidate 0xf00 crosses 0x1010:
      // NetBSD moves it to the line (unaligned); vmem's rule re-aligns it to 0x1100.
      const mk = () => {
        const ex = new Extent({ start: 0x10, end: 0xfffff, engine });
        ex.allocRegion(0x10, 0xef0);
        return ex;
      };
      const req = { size: 0x200, alignment: 0x100, boundary: 0x1000, fit: "first" as const };
      expect(mk().alloc({ ...req, realign: false })).toBe(0x1010);
      expect(mk().alloc(req)).toBe(0x1100);
      // When every aligned place crosses a line, vmem's rule finds nothing.
      const ex = new Extent({ start: 0xc0002000, end: 0xffffe000, engine });
      expect(ex.alloc({ size: 0x10000, alignment: 0x10000, boundary: 0x10000 })).toBe(
        Extent.NO_SPACE,
      );
      expect(
        ex.alloc({ size: 0x10000, alignment: 0x10000, boundary: 0x10000, realign: false }),
      ).toBe(0xc0012000);
    });

    it("after a re-aligned boundary bump, an allocation may end exactly on the next line", () => {
      // The candidate 0x5 crosses the line at 0x20 and moves to it; 0x20..0x3f then ends exactly
      // at the next line's last unit, which fits (one unit more would cross it).
      const ex = new Extent({ start: 0, end: 0xfff, engine });
      ex.allocRegion(0, 5);
      expect(ex.alloc({ size: 0x20, boundary: 0x20, fit: "first" })).toBe(0x20);
      const ex2 = new Extent({ start: 0, end: 0xfff, engine });
      ex2.allocRegion(0, 5);
      expect(ex2.alloc({ size: 0x20, boundary: 0x20 })).toBe(0x20);
    });

    it("fixed descriptors run out with NO_DESCRIPTOR; allocWait resolves after a free", async () => {
      const ex = new Extent({ start: 0, end: 0xff, coalesce: false, fixedDescriptors: 1, engine });
      expect(ex.allocRegion(0, 0x100)).toBe(0);
      expect(ex.alloc({ size: 1 })).toBe(Extent.NO_DESCRIPTOR);
      const p = ex.allocWait({ size: 8, alignment: 8 });
      expect(ex.free(0, 0x100)).toBe(true);
      await expect(p).resolves.toBe(0);
      const ac = new AbortController();
      const q = ex.allocRegionWait(0x80, 1, { signal: ac.signal });
      ac.abort(new Error("stop"));
      await expect(q).rejects.toThrow("stop");
      expect(ex.print()).toBe("extent `extent' (0x0 - 0xff), flags = 0x3\n     0x0 - 0x7\n");
    });

    it("best fit picks the smallest gap, ties to the lowest address; first fit the lowest", () => {
      const ex = new Extent({ start: 0, end: 0x3f, engine });
      ex.allocRegion(0x4, 4); // gap 0x0-0x3 (4)
      ex.allocRegion(0xa, 6); // gap 0x8-0x9 (2)
      ex.allocRegion(0x12, 6); // gap 0x10-0x11 (2)
      expect(ex.alloc({ size: 2, fit: "best" })).toBe(0x8);
      expect(ex.alloc({ size: 2, fit: "best" })).toBe(0x10);
      expect(ex.alloc({ size: 2, fit: "first" })).toBe(0x0);
    });
  });

  describe(`page mirror (${engine === "tree" ? "1e5 pages, O(log n)" : "small"})`, () => {
    it("mirrors a page free list one page at a time", () => {
      const pages = engine === "tree" ? 100_000 : 2_000;
      const ex = new Extent({
        name: "vm_page",
        start: 0,
        end: pages - 1,
        fixedDescriptors: pages,
        engine,
      });
      expect(ex.allocRegion(0, pages)).toBe(0);
      // One expect per phase (not per page): the checks are the same, the suite stays fast.
      let bad = 0;
      // free every page (odd ones first: half a million... runs split), like vm_page_startup
      for (let p = 1; p < pages; p += 2) if (ex.free(p, 1) !== true) bad++;
      expect(bad).toBe(0);
      expect(ex.runCount).toBe(pages / 2);
      for (let p = 0; p < pages; p += 2) if (ex.free(p, 1) !== true) bad++;
      expect(bad).toBe(0);
      expect(ex.runCount).toBe(0);
      // vm_page_alloc / vm_page_free
      for (let p = 0; p < pages; p += 3) if (ex.allocRegion(p, 1) !== p) bad++;
      expect(bad).toBe(0);
      for (let p = 0; p < pages; p += 6) if (ex.free(p, 1) !== true) bad++;
      expect(bad).toBe(0);
      expect(ex.runCount).toBe(Math.ceil(pages / 3) - Math.ceil(pages / 6));
      expect(ex.freeDescriptors).toBe(pages - ex.runCount);
    });
  });
}
