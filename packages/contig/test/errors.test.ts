import { ContigAllocator } from "@mem/contig";
import { InvalidArgumentError, KernelPanic } from "@mem/machine";
import { describe, expect, it } from "vitest";
import { booted } from "./helpers.js";

const bad = [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, "4096", null];

describe("ContigAllocator bad input", () => {
  it("rejects bad numbers everywhere with a clear error and changes nothing", () => {
    const { c, b } = booted();
    const h = c.allocate({ size: 8192 })!;
    const digest = b.stateDigest();
    for (const v of bad) {
      for (const field of ["size", "low", "high", "alignment", "boundary"]) {
        const req = { size: 4096, [field]: v } as never;
        expect(() => c.allocate(req), `${field}=${String(v)}`).toThrow(InvalidArgumentError);
      }
      expect(() => c.vmContigPgAlloc(v as never, 0, 2 ** 32, 4096, 0)).toThrow(
        InvalidArgumentError,
      );
      expect(() => c.vmContigPgFree(v as never, 4096)).toThrow(InvalidArgumentError);
      expect(() => c.vmContigPgKmapin(h.pfn, v as never)).toThrow(InvalidArgumentError);
      expect(() => c.contigfree(v as never, 4096)).toThrow(InvalidArgumentError);
    }
    expect(() => c.allocate({ size: 4096, reclaim: "compact" as never })).toThrow(/reclaim/);
    expect(() => c.allocate(null as never)).toThrow(InvalidArgumentError);
    expect(() => new ContigAllocator({ buddy: b, search: "fast" as never })).toThrow(/search/);
    expect(b.stateDigest()).toBe(digest);
    c.free(h);
  });

  it("panics on double free, frees of ranges never allocated and ranges outside RAM, changing nothing", () => {
    const { c, b } = booted();
    const h = c.allocate({ size: 8192, kernelMapping: true })!;
    const idx = c.vmContigPgAlloc(16384, 0, 2 ** 32, 4096, 0);
    const digest = b.stateDigest();
    const km = c.kernelMap.print();
    expect(() => c.free({ ...h, pages: 1 })).toThrow(KernelPanic);
    expect(() => c.free({ ...h, pfn: h.pfn + 1 })).toThrow(/never allocated/);
    expect(() => c.vmContigPgFree(idx + 1, 4096)).toThrow(KernelPanic);
    expect(() => c.vmContigPgFree(idx, 8192)).toThrow(KernelPanic);
    expect(() => c.vmContigPgFree(10 ** 9, 4096)).toThrow(KernelPanic);
    expect(() => c.vmContigPgFree(idx, 0)).toThrow(/size must not be 0/);
    expect(() => c.contigfree(h.kernelAddress + 4096, 8192)).toThrow(KernelPanic);
    expect(() => c.mapKernel(h)).toThrow(/already mapped/);
    expect(b.stateDigest()).toBe(digest);
    expect(c.kernelMap.print()).toBe(km);
    c.free(h);
    expect(() => c.free(h)).toThrow(/double free/);
    c.vmContigPgFree(idx, 16384);
    expect(() => c.vmContigPgFree(idx, 16384)).toThrow(KernelPanic);
    // Ranges outside RAM: a window with no RAM simply fails.
    expect(c.allocate({ size: 4096, low: 2 ** 40 })).toBeNull();
    expect(c.allocate({ size: 2 ** 40 })).toBeNull();
    expect(c.vmContigPgAlloc(4096, 2 ** 40, 2 ** 41, 4096, 0)).toBe(-1);
    c.checkInvariants();
  });
});
