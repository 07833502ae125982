import { type BootAllocator, findRamSpot, fromMachine, maxDmaAddress } from "@mem/bootmem";
import { createMachine, PRESETS } from "@mem/machine";
import { describe, expect, it } from "vitest";

/** The simulator's flow on a machine, with either allocator; returns the released pfn set. */
function boot(name: string, allocator: "rootmem" | "memblock", pageSized = false) {
  const machine = createMachine(PRESETS[name]!);
  const ps = machine.pageSize;
  const track = machine.maxPfn <= 2 ** 24;
  const b: BootAllocator = fromMachine(machine, { allocator });
  const kernel = { start: 16 * 1024 * 1024, size: 12 * 1024 * 1024 };
  b.reserve(kernel.start, kernel.size);
  const memmapSize = pageSized
    ? Math.ceil((machine.totalPages * 8) / ps) * ps
    : machine.totalPages * 8;
  const memmap = b.alloc(memmapSize, { align: ps, goal: 16 * 1024 * 1024 });
  const hash = b.alloc(1 << 20, { align: ps });
  const small = pageSized ? [] : [b.alloc(100), b.alloc(100)];
  const released = new Uint8Array(track ? machine.maxPfn + 1 : 0);
  let dup = 0;
  let inRam = 0;
  const ram = machine.ramRanges;
  const count = b.releaseAll({
    freePagesBootmem(pfn, order) {
      const end = pfn + 2 ** order;
      if (ram.some((r) => r.start <= pfn && end <= r.end)) inRam += end - pfn;
      if (!track) return;
      for (let p = pfn; p < end; p++) {
        if (released[p] === 1) dup++;
        released[p] = 1;
      }
    },
  });
  return { machine, b, memmap, hash, small, released, count, dup, ps, kernel, inRam };
}

describe("fromMachine", () => {
  it("boots every preset with both allocators, releasing each page once", {
    timeout: 30_000,
  }, () => {
    for (const name of ["small", "x86_64-4g", "x86_64-2node", "i386-4g", "alpha-8k"]) {
      for (const kind of ["rootmem", "memblock"] as const) {
        const r = boot(name, kind);
        expect(r.dup, `${name} ${kind}`).toBe(0);
        expect(r.count).toBe(r.released.reduce((s, v) => s + v, 0));
        expect(r.inRam).toBe(r.count);
        expect(r.memmap).not.toBeNull();
        // Nothing reserved or allocated was released.
        expect(r.released[r.kernel.start / r.ps]).toBe(0);
        expect(r.released[r.memmap! / r.ps]).toBe(0);
        expect(r.released[r.hash! / r.ps]).toBe(0);
        expect(r.b.released).toBe(true);
      }
    }
  });

  it("rootmem and memblock release the same number of pages on the same reservations", () => {
    for (const name of ["small", "x86_64-2node"]) {
      const a = boot(name, "rootmem", true);
      const b = boot(name, "memblock", true);
      expect(a.count).toBe(b.count);
      expect(a.b.log[0]).toMatch(/^rootmem: \d+ pages on \d node\(s\) - map @ pfn [0-9a-f]+$/);
      expect(a.b.log.at(-1)).toMatch(/^rootmem: \d+ pages released on node \d$/);
    }
  });

  it("rootmem allocates bottom-up from the goal, memblock top-down", () => {
    const a = boot("x86_64-4g", "rootmem");
    const b = boot("x86_64-4g", "memblock");
    expect(a.memmap).toBe(28 * 1024 * 1024); // right above the kernel image, from the 16 MiB goal
    expect(b.memmap! + b.machine.totalPages * 8).toBeLessThanOrEqual(0x140000000);
    expect(b.memmap!).toBeGreaterThan(2 ** 32);
  });

  it("derives MAX_DMA_ADDRESS from the DMA zone and places the bitmap in RAM above 1 MiB", () => {
    const machine = createMachine(PRESETS["x86_64-4g"]!);
    expect(maxDmaAddress(machine)).toBe(16 * 1024 * 1024);
    const r = fromMachine(machine);
    const rr = r as unknown as { mapPfn: number };
    expect(rr.mapPfn).toBe(256);
    expect(r.isReserved(256)).toBe(true);
    expect(r.isReserved(0)).toBe(true);
    expect(r.isReserved(300)).toBe(false);
    expect(r.spans()).toEqual([{ start: 1, end: machine.maxPfn }]);
    expect(findRamSpot([{ start: 0, end: 10 }], 20)).toBe(-1);
    expect(findRamSpot([{ start: 0, end: 10 }], 5, 8)).toBe(0);
  });

  it("boots the 4-node 64 GiB machine over a 1 TiB span", { timeout: 30_000 }, () => {
    const r = boot("numa-64g", "rootmem");
    expect(r.inRam).toBe(r.count);
    expect(r.count).toBeGreaterThan(15 * 2 ** 20);
    expect(r.b.log.filter((l) => l.includes("released on node"))).toHaveLength(4);
  });
});

describe("fromMachine and the machine's cache line", () => {
  it("aligns default allocations to the machine's SMP_CACHE_BYTES, with either allocator", () => {
    for (const allocator of ["rootmem", "memblock"] as const) {
      const machine = createMachine({ ...PRESETS.small!, cacheLineSize: 256 });
      const b = fromMachine(machine, { allocator });
      // Two small allocations: the second starts on the next 256-byte line, not the next 64.
      const a1 = b.alloc(10)!;
      const a2 = b.alloc(10)!;
      expect(a1 % 256).toBe(0);
      expect(a2 % 256).toBe(0);
      expect(Math.abs(a2 - a1)).toBeGreaterThanOrEqual(256);
    }
  });
});
