import {
  EAGAIN,
  EINVAL,
  EX_BOUNDZERO,
  extent_alloc_region,
  extent_alloc_subregion1,
  extent_create,
} from "@mem/extent/compat";
import { describe, expect, it } from "vitest";

const engines = ["tree", "linear"] as const;

describe("top of the range (u_long wrap-around)", () => {
  for (const engine of engines) {
    it(`32-bit: a bump past the last line gives a false failure; 64-bit allocates (${engine})`, () => {
      // notes §6: ex_start 0x10, boundary 0x80000000; the gap at 0x80000000 is bumped to the
      // line 0x80000010, then dontcross + boundary wraps on 32 bits.
      for (const wordBits of [32, 64] as const) {
        const ex = extent_create("top", 0x10, 0xffffffff, null, 0, 0, { wordBits, engine });
        expect(extent_alloc_region(ex, 0x10, 0x80000000 - 0x10, 0)).toBe(0);
        const out = { value: -1 };
        const r = extent_alloc_subregion1(ex, 0x10, 0xffffffff, 0x100, 1, 0, 0x80000000, 0, out);
        if (wordBits === 32) expect(r).toBe(EAGAIN);
        else {
          expect(r).toBe(0);
          expect(out.value).toBe(0x80000010);
        }
      }
    });

    it(`32-bit: best fit stops at the gap where the boundary check gives up (${engine})`, () => {
      const ex = extent_create("z", 0xfffff010, 0xffffffff, null, 0, 0, { wordBits: 32, engine });
      expect(extent_alloc_region(ex, 0xfffff010, 0xfffffd00 - 0xfffff010, 0)).toBe(0);
      expect(extent_alloc_region(ex, 0xfffffe00, 0x100, 0)).toBe(0);
      expect(extent_alloc_region(ex, 0xffffff80, 0x10, 0)).toBe(0);
      const out = { value: -1 };
      expect(extent_alloc_subregion1(ex, 0xfffff010, 0xffffffff, 0x20, 1, 0, 0x100, 0, out)).toBe(
        0,
      );
      // 0xffffff90 (after the last line) would waste less, but the scan gave up before it.
      expect(out.value).toBe(0xfffffd10);
    });

    it(`exact fit up to the last unit, then EAGAIN (${engine})`, () => {
      for (const wordBits of [32, 64] as const) {
        const top = wordBits === 32 ? 0xffffffff : Number.MAX_SAFE_INTEGER;
        const ex = extent_create("end", top - 0xff, top, null, 0, 0, { wordBits, engine });
        const out = { value: -1 };
        expect(extent_alloc_subregion1(ex, top - 0xff, top, 0x100, 1, 0, 0, 0, out)).toBe(0);
        expect(out.value).toBe(top - 0xff);
        expect(extent_alloc_subregion1(ex, top - 0xff, top, 1, 1, 0, 0, 0, out)).toBe(EAGAIN);
        expect(ex.print()).toBe(
          `extent \`end' (0x${(top - 0xff).toString(16)} - 0x${top.toString(16)}), flags = 0x0\n     0x${(top - 0xff).toString(16)} - 0x${top.toString(16)}\n`,
        );
      }
    });

    it(`32-bit: aligning substart past the top is EINVAL, 64-bit is EAGAIN (${engine})`, () => {
      const ex32 = extent_create("a", 0xfffff000, 0xffffffff, null, 0, 0, { wordBits: 32, engine });
      const out = { value: -1 };
      expect(extent_alloc_subregion1(ex32, 0xfffff001, 0xffffffff, 1, 0x1000, 0, 0, 0, out)).toBe(
        EINVAL,
      );
      const ex64 = extent_create("a", 0xfffff000, 0xffffffff, null, 0, 0, { wordBits: 64, engine });
      expect(extent_alloc_subregion1(ex64, 0xfffff001, 0xffffffff, 1, 0x1000, 0, 0, 0, out)).toBe(
        EAGAIN,
      );
    });

    it(`32-bit: a run ending past the last aligned start ends the scan (${engine})`, () => {
      const ex = extent_create("w", 0, 0xffffffff, null, 0, 0, { wordBits: 32, engine });
      expect(extent_alloc_region(ex, 0x90000000, 0x10, 0)).toBe(0);
      const out = { value: -1 };
      // alignment 2^31: after the run the next aligned start wraps to 0, so the scan fails even
      // though nothing else is allocated. The first gap still fits.
      expect(
        extent_alloc_subregion1(ex, 0x80000000, 0xffffffff, 0x10, 0x80000000, 0, 0, 0, out),
      ).toBe(0);
      expect(out.value).toBe(0x80000000);
      expect(
        extent_alloc_subregion1(ex, 0x80000000, 0xffffffff, 0x10, 0x80000000, 0, 0, 0, out),
      ).toBe(EAGAIN);
    });

    it(`EX_BOUNDZERO counts lines from 0, otherwise from the extent start (${engine})`, () => {
      const ex = extent_create("b", 0x100, 0xfff, null, 0, 0, { engine });
      const out = { value: -1 };
      expect(extent_alloc_region(ex, 0x100, 0x1f8, 0)).toBe(0); // free from 0x2f8
      // from the extent start: lines at 0x100 + k*0x200 -> 0x300; [0x2f8,0x307] crosses -> 0x300
      expect(extent_alloc_subregion1(ex, 0x100, 0xfff, 0x10, 1, 0, 0x200, 0, out)).toBe(0);
      expect(out.value).toBe(0x300);
      const ex2 = extent_create("b", 0x100, 0xfff, null, 0, 0, { engine });
      expect(extent_alloc_region(ex2, 0x100, 0x1f8, 0)).toBe(0);
      // from 0: lines at 0x200, 0x400: [0x2f8, 0x307] does not cross
      expect(extent_alloc_subregion1(ex2, 0x100, 0xfff, 0x10, 1, 0, 0x200, EX_BOUNDZERO, out)).toBe(
        0,
      );
      expect(out.value).toBe(0x2f8);
    });
  }
});
