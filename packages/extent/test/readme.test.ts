import { describe, expect, it } from "vitest";

describe("README", () => {
  it("runs the usage example", async () => {
    // --- copied from README.md "Usage" ---
    const { Extent } = await import("@mem/extent");
    const { EX_FAST, extent_alloc_subregion, extent_create, extent_free, extent_print } =
      await import("@mem/extent/compat");

    // Physical memory in bytes, 0 - 64 MiB.
    const mem = new Extent({ name: "physmem", start: 0, end: 64 * 2 ** 20 - 1 });
    mem.allocRegion(0, 0x10000); // the first 64 KiB are taken
    // The seed's request: 16 KiB, aligned to 8 KiB, not crossing 64 KiB, below 16 MiB.
    const dma = mem.alloc({
      size: 0x4000,
      alignment: 0x2000,
      boundary: 0x10000,
      end: 16 * 2 ** 20 - 1,
    });
    console.log(dma.toString(16)); // "10000"
    mem.free(dma, 0x4000);

    // The same through the C names.
    const ex = extent_create("isa_io", 0x0, 0xffff, null, 0, 0);
    const out = { value: 0 };
    if (extent_alloc_subregion(ex, 0x100, 0x3ff, 8, 8, 0, EX_FAST, out) === 0) {
      console.log(extent_print(ex)); // extent `isa_io' (0x0 - 0xffff), flags = 0x0\n     0x100 - 0x107
      extent_free(ex, out.value, 8, 0);
    }
    // --- end of example ---
    expect(dma).toBe(0x10000);
    expect(out.value).toBe(0x100);
    expect(extent_print(ex)).toBe("extent `isa_io' (0x0 - 0xffff), flags = 0x0\n");
  });
});
