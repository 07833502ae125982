import {
  EAGAIN,
  EX_BOUNDZERO,
  EX_NOALIGN,
  EX_NOBOUNDARY,
  EX_NOCOALESCE,
  type extent,
  extent_alloc_region,
  extent_alloc_subregion1,
  extent_create,
  extent_destroy,
  extent_free,
} from "@mem/extent/compat";
import { describe, expect, it } from "vitest";

// NetBSD tests/kernel/t_extent.c, re-expressed from the behaviour each case checks. The ATF
// program is built without DIAGNOSTIC and on a 64-bit or 32-bit machine alike; we run both word
// sizes and both run stores.

type Engine = "tree" | "linear";

function regions(ex: extent): string {
  // t_extent's h_require: "0x%lx - 0x%lx\n" per region, no indent.
  return ex
    .print()
    .split("\n")
    .slice(1)
    .filter((l) => l !== "")
    .map((l) => `${l.trim()}\n`)
    .join("");
}

function sub(
  ex: extent,
  substart: number,
  subend: number,
  size: number,
  alignment: number,
  boundary: number,
  expret: number,
  expres: number,
): void {
  const out = { value: -1 };
  const r = extent_alloc_subregion1(ex, substart, subend, size, alignment, 0, boundary, 0, out);
  expect(r).toBe(expret);
  if (expret === 0) expect(out.value).toBe(expres);
}

function region(ex: extent, start: number, size: number): void {
  expect(extent_alloc_region(ex, start, size, 0)).toBe(0);
}

function req(ex: extent, name: string, start: number, end: number, flags: number, exp: string) {
  expect(ex.ex_name).toBe(name);
  expect(ex.ex_start).toBe(start);
  expect(ex.ex_end).toBe(end);
  expect(ex.ex_flags).toBe(flags);
  expect(regions(ex)).toBe(exp);
}

for (const engine of ["tree", "linear"] as Engine[]) {
  for (const wordBits of [32, 64] as const) {
    const mk = (name: string, s: number, e: number, f: number) =>
      extent_create(name, s, e, null, 0, f, { engine, wordBits });
    describe(`t_extent (${engine}, ${wordBits}-bit)`, () => {
      it("coalesce: adjacent regions merge into one run", () => {
        const ex = mk("test1", 0, 0x4f, 0);
        region(ex, 0x00, 0x10);
        region(ex, 0x20, 0x10);
        region(ex, 0x40, 0x10);
        region(ex, 0x10, 0x10);
        sub(ex, 0, 0x4f, 0x10, EX_NOALIGN, EX_NOBOUNDARY, 0, 0x30);
        req(ex, "test1", 0, 0x4f, 0, "0x0 - 0x4f\n");
        extent_destroy(ex);
      });
      it("subregion1: a subend past ex_end is honoured without DIAGNOSTIC (PR kern/7539)", () => {
        const ex = mk("test2", 0, 0x2f, EX_NOCOALESCE);
        region(ex, 0, 0x10);
        sub(ex, 0x20, 0x30, 0x10, EX_NOALIGN, EX_NOBOUNDARY, 0, 0x20);
        req(ex, "test2", 0, 0x2f, 0x2, "0x0 - 0xf\n0x20 - 0x2f\n");
      });
      it("subregion2: subregion allocations do not overlap existing ones", () => {
        const ex = mk("test3", 0, 0x3f, EX_NOCOALESCE);
        region(ex, 0, 0x20);
        region(ex, 0x30, 0x10);
        sub(ex, 0x10, 0x3f, 0x10, EX_NOALIGN, EX_NOBOUNDARY, 0, 0x20);
        req(ex, "test3", 0, 0x3f, 0x2, "0x0 - 0x1f\n0x20 - 0x2f\n0x30 - 0x3f\n");
      });
      it("bound1: boundary line past the top before an allocated region", () => {
        const ex = mk("test4", 0xf0000000, 0xffffffff, 0);
        region(ex, 0xf1000000, 1);
        sub(ex, 0xf0000000, 0xffffffff, 1, EX_NOALIGN, 0x20000000, 0, 0xf0000000);
        req(
          ex,
          "test4",
          0xf0000000,
          0xffffffff,
          0,
          "0xf0000000 - 0xf0000000\n0xf1000000 - 0xf1000000\n",
        );
      });
      it("bound2: boundary line past the top before the subregion end", () => {
        const ex = mk("test5", 0xf0000000, 0xffffffff, 0);
        sub(ex, 0xf0000000, 0xffffffff, 1, EX_NOALIGN, 0x20000000, 0, 0xf0000000);
        req(ex, "test5", 0xf0000000, 0xffffffff, 0, "0xf0000000 - 0xf0000000\n");
      });
      it("bound3: allocations beyond the last boundary line need no fixup", () => {
        const ex = mk("test6", 0, 11, 0);
        sub(ex, 0, 11, 8, EX_NOALIGN, 8, 0, 0);
        sub(ex, 0, 11, 2, EX_NOALIGN, 8, 0, 8);
        sub(ex, 0, 11, 2, EX_NOALIGN, 8, 0, 0xa);
        req(ex, "test6", 0, 0xb, 0, "0x0 - 0xb\n");
      });
      it("bound4: a bumped allocation exactly fits the remaining space", () => {
        const ex = mk("test7", 0, 11, 0);
        sub(ex, 0, 11, 7, EX_NOALIGN, 8, 0, 0);
        sub(ex, 0, 11, 4, EX_NOALIGN, 8, 0, 8);
        req(ex, "test7", 0, 0xb, 0, "0x0 - 0x6\n0x8 - 0xb\n");
      });
      it("subregion3: no allocation past the subregion end", () => {
        const ex = mk("test8", 0, 0x4f, EX_NOCOALESCE);
        region(ex, 0x30, 0x10);
        sub(ex, 0, 0xf, 0x10, EX_NOALIGN, EX_NOBOUNDARY, 0, 0);
        sub(ex, 0, 0xf, 0x10, EX_NOALIGN, EX_NOBOUNDARY, EAGAIN, 0);
        req(ex, "test8", 0, 0x4f, 0x2, "0x0 - 0xf\n0x30 - 0x3f\n");
      });
      it("bound5: overlaps are detected after a boundary bump", () => {
        const ex = mk("test9", 0, 0x4f, 0);
        sub(ex, 0, 0x10, 4, EX_NOALIGN, 0, 0, 0);
        sub(ex, 0xd, 0x20, 2, EX_NOALIGN, 0, 0, 0xd);
        sub(ex, 0, 0x4f, 8, EX_NOALIGN, 8, 0, 0x10);
        req(ex, "test9", 0, 0x4f, 0, "0x0 - 0x3\n0xd - 0xe\n0x10 - 0x17\n");
      });
      it("free: frees, and a bumped start is not re-aligned (EX_BOUNDZERO at create is ignored)", () => {
        const ex = mk("test10", 0xc0002000, 0xffffe000, EX_BOUNDZERO);
        sub(ex, 0xc0002000, 0xffffe000, 0x2000, 0x10000, 0x10000, 0, 0xc0010000);
        sub(ex, 0xc0002000, 0xffffe000, 0x2000, 0x10000, 0x10000, 0, 0xc0020000);
        req(
          ex,
          "test10",
          0xc0002000,
          0xffffe000,
          0,
          "0xc0010000 - 0xc0011fff\n0xc0020000 - 0xc0021fff\n",
        );
        expect(extent_free(ex, 0xc0020000, 0x2000, 0)).toBe(0);
        req(ex, "test10", 0xc0002000, 0xffffe000, 0, "0xc0010000 - 0xc0011fff\n");
        sub(ex, 0xc0002000, 0xffffe000, 0x10000, 0x10000, 0x10000, 0, 0xc0022000);
        req(
          ex,
          "test10",
          0xc0002000,
          0xffffe000,
          0,
          "0xc0010000 - 0xc0011fff\n0xc0022000 - 0xc0031fff\n",
        );
      });
      it("subregion4: the last unit of the extent is allocated only once", () => {
        const ex = mk("test11", 0x10, 0x20, EX_NOCOALESCE);
        sub(ex, 0x10, 0x13, 4, EX_NOALIGN, EX_NOBOUNDARY, 0, 0x10);
        sub(ex, 0x1e, 0x1f, 2, EX_NOALIGN, EX_NOBOUNDARY, 0, 0x1e);
        sub(ex, 0x20, 0x20, 1, EX_NOALIGN, EX_NOBOUNDARY, 0, 0x20);
        sub(ex, 0x20, 0x20, 1, EX_NOALIGN, EX_NOBOUNDARY, EAGAIN, 0);
        sub(ex, 0x10, 0x20, 1, EX_NOALIGN, EX_NOBOUNDARY, 0, 0x14);
        req(ex, "test11", 0x10, 0x20, 0x2, "0x10 - 0x13\n0x14 - 0x14\n0x1e - 0x1f\n0x20 - 0x20\n");
      });
    });
  }
}
