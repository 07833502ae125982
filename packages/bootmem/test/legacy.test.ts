import { BOOTMEM_EXCLUSIVE as IDIOMATIC_EXCLUSIVE } from "@mem/bootmem";
import {
  BOOTMEM_DEFAULT,
  BOOTMEM_EXCLUSIVE,
  createMemblock,
  createRootmem,
  EBUSY,
} from "@mem/bootmem/compat";
import { KernelPanic } from "@mem/machine";
import { describe, expect, it } from "vitest";

const PS = 4096;
const MiB = 1024 * 1024;

function compat(calls: [number, number][] = []) {
  const c = createRootmem({ pageSize: PS, bitsPerLong: 64, sink: (p, o) => calls.push([p, o]) });
  c.rootmem_register_node(0, 0, 8192); // 32 MiB
  c.rootmem_register_node(1, 8192, 16384); // 32..64 MiB
  const pages = c.rootmem_map_pages();
  c.rootmem_setup(300);
  c.rootmem_free(PS, 16383 * PS);
  c.rootmem_reserve(300 * PS, pages * PS, 0);
  return c;
}

describe("createRootmem (compat)", () => {
  it("exports the header's constants", () => {
    expect([EBUSY, BOOTMEM_DEFAULT, BOOTMEM_EXCLUSIVE]).toEqual([16, 0, 1]);
    expect(IDIOMATIC_EXCLUSIVE).toBe(1);
  });

  it("runs the RFC's functions under their C names", () => {
    const calls: [number, number][] = [];
    const c = compat(calls);
    expect(c.rootmem_reserve(PS, PS, 1)).toBe(0);
    expect(c.rootmem_reserve(PS, PS, 1)).toBe(-EBUSY);
    expect(c.__rootmem_alloc_node(1, PS, PS, 0, 0)).toBe(8192 * PS);
    expect(c.__rootmem_alloc(100, 64, 0, 0)).toBe(2 * PS);
    expect(c.rootmem_alloc_low(100)).toBe(2 * PS + 128);
    expect(c.isReserved(2)).toBe(true);
    const n1 = c.rootmem_release_node(1);
    const n0 = c.rootmem_release_node(0);
    expect(n0 + n1).toBe(calls.reduce((s, [, o]) => s + 2 ** o, 0));
    expect(c.log.at(-1)).toBe(`rootmem: ${n0} pages released on node 0`);
  });

  it("the bootmem wrappers use SMP_CACHE_BYTES, PAGE_SIZE and MAX_DMA_ADDRESS", () => {
    const c = compat();
    expect(c.alloc_bootmem(100)).toBe(16 * MiB);
    expect(c.alloc_bootmem(100)).toBe(16 * MiB + 128); // merged, cache-line aligned
    expect(c.alloc_bootmem_pages(100)).toBe(16 * MiB + PS);
    expect(c.alloc_bootmem_low(10)).toBe(PS);
    expect(c.alloc_bootmem_low_pages(10)).toBe(2 * PS);
    expect(c.alloc_bootmem_node(1, 64)).toBe(32 * MiB);
    expect(c.alloc_bootmem_pages_node(1, PS)).toBe(32 * MiB + PS);
    expect(c.alloc_bootmem_low_pages_node(0, PS)).toBe(3 * PS);
    expect(c.rootmem_alloc(64)).toBe(16 * MiB + 2 * PS);
    expect(c.rootmem_alloc_pages(64)).toBe(16 * MiB + 3 * PS);
    expect(c.rootmem_alloc_low_pages(64)).toBe(4 * PS);
    expect(c.reserve_bootmem(5 * PS, PS, BOOTMEM_EXCLUSIVE)).toBe(0);
    expect(c.reserve_bootmem(5 * PS, PS, BOOTMEM_EXCLUSIVE)).toBe(-EBUSY);
    expect(c.reserve_bootmem(5 * PS, PS, BOOTMEM_DEFAULT)).toBe(0);
    expect(c.reserve_bootmem_node(1, 40 * MiB, PS, BOOTMEM_DEFAULT)).toBe(0);
    expect(() => c.reserve_bootmem_node(0, 40 * MiB, PS, BOOTMEM_DEFAULT)).toThrow(KernelPanic);
    c.free_bootmem(5 * PS, PS);
    c.free_bootmem_node(1, 40 * MiB, PS);
    expect(() => c.free_bootmem_node(0, 5 * PS, PS)).toThrow(/double free/);
    expect(c.isReserved(5)).toBe(false);
  });

  it("rootmem_register and rootmem_release use node 0", () => {
    const calls: [number, number][] = [];
    const c = createRootmem({
      pageSize: PS,
      sink: { freePagesBootmem: (p, o) => calls.push([p, o]) },
    });
    c.rootmem_register(0, 128);
    c.rootmem_setup(127);
    c.rootmem_free(0, 127 * PS);
    expect(c.rootmem_release()).toBe(128);
    expect(calls[0]).toEqual([0, 6]);
  });
});

describe("createMemblock (compat)", () => {
  it("runs memblock under its C names", () => {
    const m = createMemblock({ pageSize: PS, sink: () => {} });
    m.memblock_add(MiB, 4 * MiB);
    m.memblock_add_node(5 * MiB, 4 * MiB, 1);
    expect(m.memblock_start_of_DRAM()).toBe(MiB);
    expect(m.memblock_end_of_DRAM()).toBe(9 * MiB);
    expect(m.memblock_phys_mem_size()).toBe(8 * MiB);
    expect(m.memblock_alloc(64, 64)).toBe(9 * MiB - 64);
    m.memblock_set_bottom_up(true);
    expect(m.memblock_bottom_up()).toBe(true);
    expect(m.memblock_alloc_from(64, 64, 2 * MiB)).toBe(2 * MiB);
    expect(m.memblock_alloc_try_nid(64, 64, 0, 0, 1)).toBe(5 * MiB);
    expect(m.memblock_alloc_exact_nid_raw(8 * MiB, 64, 0, 0, 1)).toBeNull();
    expect(m.memblock_alloc_range_nid(64, 64, 0, 0, 0, true)).toBe(MiB);
    expect(m.memblock_find_in_range_node(64, 64, 0, 0, 0)).toBe(MiB + 64);
    m.memblock_reserve(3 * MiB, PS);
    m.memblock_phys_free(3 * MiB, PS);
    m.memblock_remove(8 * MiB, MiB);
    m.memblock_set_current_limit(4 * MiB);
    expect(m.memblock_reserved_size()).toBe(64 * 4);
    expect(m.memblock_free_all()).toBeGreaterThan(1000);
  });
});
