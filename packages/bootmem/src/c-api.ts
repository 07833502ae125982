/**
 * The C names: `createRootmem()` returns an object with the rootmem RFC's functions and the
 * legacy bootmem wrappers of its header; `createMemblock()` the memblock functions. Both delegate
 * to {@link Rootmem} / {@link Memblock}.
 *
 * @module
 */
import type { ReleaseTarget } from "./boot-allocator.js";
import { Memblock, type MemblockOptions, NUMA_NO_NODE } from "./memblock.js";
import { Rootmem, type RootmemOptions } from "./rootmem.js";

/** Options of {@link createRootmem}. */
export interface CreateRootmemOptions extends RootmemOptions {
  /** `__free_pages_bootmem`: receives every released block. */
  readonly sink: ReleaseTarget;
}

/** The object {@link createRootmem} returns. */
export interface RootmemCompat {
  /** The idiomatic allocator behind these names. */
  readonly rootmem: Rootmem;
  /** Log lines printed so far. */
  readonly log: readonly string[];
  /** `rootmem_register_node(nid, start, end)`, pfns. */
  rootmem_register_node(nid: number, startPfn: number, endPfn: number): void;
  /** `rootmem_register(start, end)`: node 0. */
  rootmem_register(startPfn: number, endPfn: number): void;
  /** `rootmem_map_pages()`. */
  rootmem_map_pages(): number;
  /** `rootmem_setup(mapstart)`. */
  rootmem_setup(mapPfn: number): void;
  /** `rootmem_free(addr, size)`. */
  rootmem_free(addr: number, size: number): void;
  /** `rootmem_reserve(addr, size, exclusive)`: 0 or -EBUSY. */
  rootmem_reserve(addr: number, size: number, exclusive: number | boolean): number;
  /** `__rootmem_alloc_node(nid, size, align, goal, limit)`: an address or null. */
  __rootmem_alloc_node(
    nid: number,
    size: number,
    align: number,
    goal: number,
    limit: number,
  ): number | null;
  /** `__rootmem_alloc(size, align, goal, limit)`: any node. */
  __rootmem_alloc(size: number, align: number, goal: number, limit: number): number | null;
  /** `rootmem_alloc(x)`. */
  rootmem_alloc(size: number): number | null;
  /** `rootmem_alloc_low(x)`. */
  rootmem_alloc_low(size: number): number | null;
  /** `rootmem_alloc_pages(x)`. */
  rootmem_alloc_pages(size: number): number | null;
  /** `rootmem_alloc_low_pages(x)`. */
  rootmem_alloc_low_pages(size: number): number | null;
  /** `rootmem_release_node(nid)`: pages released. */
  rootmem_release_node(nid: number): number;
  /** `rootmem_release()`: node 0. */
  rootmem_release(): number;
  /** `alloc_bootmem(size)`. */
  alloc_bootmem(size: number): number | null;
  /** `alloc_bootmem_low(size)`. */
  alloc_bootmem_low(size: number): number | null;
  /** `alloc_bootmem_pages(size)`. */
  alloc_bootmem_pages(size: number): number | null;
  /** `alloc_bootmem_low_pages(size)`. */
  alloc_bootmem_low_pages(size: number): number | null;
  /** `alloc_bootmem_node(nid, size)`. */
  alloc_bootmem_node(nid: number, size: number): number | null;
  /** `alloc_bootmem_pages_node(nid, size)`. */
  alloc_bootmem_pages_node(nid: number, size: number): number | null;
  /** `alloc_bootmem_low_pages_node(nid, size)`. */
  alloc_bootmem_low_pages_node(nid: number, size: number): number | null;
  /** `reserve_bootmem(addr, size, flags)`. */
  reserve_bootmem(addr: number, size: number, flags: number): number;
  /** `reserve_bootmem_node(nid, addr, size, flags)`. */
  reserve_bootmem_node(nid: number, addr: number, size: number, flags: number): number;
  /** `free_bootmem(addr, size)`. */
  free_bootmem(addr: number, size: number): void;
  /** `free_bootmem_node(nid, addr, size)`. */
  free_bootmem_node(nid: number, addr: number, size: number): void;
  /** Whether `pfn` is reserved. */
  isReserved(pfn: number): boolean;
}

/** A rootmem allocator under its C names; `sink(pfn, order)` receives every released block. */
export function createRootmem(options: CreateRootmemOptions): RootmemCompat {
  const r = new Rootmem(options);
  const sm = r.smpCacheBytes;
  const dma = r.maxDmaAddress;
  const ps = r.pageSize;
  return {
    rootmem: r,
    get log(): readonly string[] {
      return r.log;
    },
    rootmem_register_node: (nid, s, e) => r.registerNode(nid, s, e),
    rootmem_register: (s, e) => r.registerNode(0, s, e),
    rootmem_map_pages: () => r.mapPages(),
    rootmem_setup: (pfn) => r.setup(pfn),
    rootmem_free: (a, s) => r.free(a, s),
    rootmem_reserve: (a, s, ex) => r.reserve(a, s, typeof ex === "boolean" ? ex : ex !== 0),
    __rootmem_alloc_node: (nid, s, al, g, l) => r.allocNode(nid, s, al, g, l),
    __rootmem_alloc: (s, al, g, l) => r.allocNode(-1, s, al, g, l),
    rootmem_alloc: (s) => r.allocNode(-1, s, sm, dma, 0),
    rootmem_alloc_low: (s) => r.allocNode(-1, s, sm, 0, 0),
    rootmem_alloc_pages: (s) => r.allocNode(-1, s, ps, dma, 0),
    rootmem_alloc_low_pages: (s) => r.allocNode(-1, s, ps, 0, 0),
    rootmem_release_node: (nid) => r.releaseNode(nid),
    rootmem_release: () => r.releaseNode(0),
    alloc_bootmem: (s) => r.allocBootmem(s),
    alloc_bootmem_low: (s) => r.allocBootmemLow(s),
    alloc_bootmem_pages: (s) => r.allocBootmemPages(s),
    alloc_bootmem_low_pages: (s) => r.allocBootmemLowPages(s),
    alloc_bootmem_node: (nid, s) => r.allocBootmemNode(nid, s),
    alloc_bootmem_pages_node: (nid, s) => r.allocBootmemPagesNode(nid, s),
    alloc_bootmem_low_pages_node: (nid, s) => r.allocBootmemLowPagesNode(nid, s),
    reserve_bootmem: (a, s, f) => r.reserveBootmem(a, s, f),
    reserve_bootmem_node: (nid, a, s, f) => r.reserveBootmemNode(nid, a, s, f),
    free_bootmem: (a, s) => r.freeBootmem(a, s),
    free_bootmem_node: (nid, a, s) => r.freeBootmemNode(nid, a, s),
    isReserved: (pfn) => r.isReserved(pfn),
  };
}

/** The object {@link createMemblock} returns. */
export interface MemblockCompat {
  /** The idiomatic allocator behind these names. */
  readonly memblock: Memblock;
  /** `memblock_add(base, size)`: node 0. */
  memblock_add(base: number, size: number): void;
  /** `memblock_add_node(base, size, nid)`. */
  memblock_add_node(base: number, size: number, nid: number): void;
  /** `memblock_remove(base, size)`. */
  memblock_remove(base: number, size: number): void;
  /** `memblock_reserve(base, size)`. */
  memblock_reserve(base: number, size: number): void;
  /** `memblock_phys_free(base, size)`. */
  memblock_phys_free(base: number, size: number): void;
  /** `memblock_alloc(size, align)`: an address or null. */
  memblock_alloc(size: number, align: number): number | null;
  /** `memblock_alloc_from(size, align, min_addr)`. */
  memblock_alloc_from(size: number, align: number, minAddr: number): number | null;
  /** `memblock_alloc_try_nid(size, align, min_addr, max_addr, nid)`. */
  memblock_alloc_try_nid(
    size: number,
    align: number,
    minAddr: number,
    maxAddr: number,
    nid: number,
  ): number | null;
  /** `memblock_alloc_exact_nid_raw(size, align, min_addr, max_addr, nid)`. */
  memblock_alloc_exact_nid_raw(
    size: number,
    align: number,
    minAddr: number,
    maxAddr: number,
    nid: number,
  ): number | null;
  /** `memblock_alloc_range_nid(size, align, start, end, nid, exact_nid)`. */
  memblock_alloc_range_nid(
    size: number,
    align: number,
    start: number,
    end: number,
    nid: number,
    exactNid: boolean,
  ): number | null;
  /** `memblock_find_in_range_node(size, align, start, end, nid)`. */
  memblock_find_in_range_node(
    size: number,
    align: number,
    start: number,
    end: number,
    nid: number,
  ): number | null;
  /** `memblock_set_bottom_up(enable)`. */
  memblock_set_bottom_up(enable: boolean): void;
  /** `memblock_bottom_up()`. */
  memblock_bottom_up(): boolean;
  /** `memblock_set_current_limit(limit)`. */
  memblock_set_current_limit(limit: number): void;
  /** `memblock_start_of_DRAM()`. */
  memblock_start_of_DRAM(): number;
  /** `memblock_end_of_DRAM()`. */
  memblock_end_of_DRAM(): number;
  /** `memblock_phys_mem_size()`. */
  memblock_phys_mem_size(): number;
  /** `memblock_reserved_size()`. */
  memblock_reserved_size(): number;
  /** `memblock_free_all()`: pages released. */
  memblock_free_all(): number;
}

/** A memblock allocator under its C names. */
export function createMemblock(options: MemblockOptions): MemblockCompat {
  const m = new Memblock(options);
  return {
    memblock: m,
    memblock_add: (b, s) => m.add(b, s, 0),
    memblock_add_node: (b, s, nid) => m.add(b, s, nid),
    memblock_remove: (b, s) => m.remove(b, s),
    memblock_reserve: (b, s) => m.reserve(b, s),
    memblock_phys_free: (b, s) => m.free(b, s),
    memblock_alloc: (s, a) => m.allocTryNid(s, a, 0, 0, NUMA_NO_NODE),
    memblock_alloc_from: (s, a, min) => m.allocFrom(s, a, min),
    memblock_alloc_try_nid: (s, a, min, max, nid) => m.allocTryNid(s, a, min, max, nid),
    memblock_alloc_exact_nid_raw: (s, a, min, max, nid) => m.allocTryNid(s, a, min, max, nid, true),
    memblock_alloc_range_nid: (s, a, st, e, nid, ex) => m.allocRange(s, a, st, e, nid, ex),
    memblock_find_in_range_node: (s, a, st, e, nid) => m.findInRange(s, a, st, e, nid),
    memblock_set_bottom_up: (en) => {
      m.bottomUp = en;
    },
    memblock_bottom_up: () => m.bottomUp,
    memblock_set_current_limit: (l) => m.setCurrentLimit(l),
    memblock_start_of_DRAM: () => m.startOfDram,
    memblock_end_of_DRAM: () => m.endOfDram,
    memblock_phys_mem_size: () => m.memorySize,
    memblock_reserved_size: () => m.reservedSize,
    memblock_free_all: () => m.releaseAll(),
  };
}
