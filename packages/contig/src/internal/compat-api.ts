/**
 * The C names over a {@link ContigAllocator}, with the C argument orders.
 *
 * @module
 */
import type { BuddyAllocator } from "@mem/buddy";
import type { Extent } from "@mem/extent";
import { InvalidArgumentError, type PageDatabase } from "@mem/machine";
import { ContigAllocator, type ContigSearch } from "../contig-allocator.js";
import type { PageQueues } from "../page-queues.js";

/** `M_NOWAIT` (accepted and ignored: the simulator never sleeps). */
export const M_NOWAIT = 0x0001;
/** `M_WAITOK` (accepted and ignored). */
export const M_WAITOK = 0x0002;
/** `ENOMEM`, returned by `uvm_pglistalloc`. */
export const ENOMEM = 12;
/** `EINVAL`, returned by `uvm_pglistalloc` for a boundary smaller than the size. */
export const EINVAL = 22;

/** A `struct malloc_type` (only its name is used, for messages). */
export interface MallocType {
  /** `ks_shortdesc`. */
  readonly name: string;
}

/** Options of {@link createContigCompat}. */
export interface ContigCompatOptions {
  /** The page queues (laundering between the passes, cache pages). */
  readonly queues?: PageQueues;
  /** FreeBSD 4.7's `contigmalloc1`, leak included, behind `contigmalloc`. */
  readonly legacy?: boolean;
  /** The search (default `"linear"`, as FreeBSD's). */
  readonly search?: ContigSearch;
  /** Keep NetBSD's extent mirror (default true: `uvm_pglistalloc` searches it). */
  readonly mirror?: boolean;
}

/** The functions {@link createContigCompat} returns. */
export interface ContigCompat {
  /** The allocator underneath (statistics, invariants). */
  readonly allocator: ContigAllocator;
  /** Allocates contiguous pages; the first page's index in the page array (its pfn), or -1. */
  vm_contig_pg_alloc(
    size: number,
    low: number,
    high: number,
    alignment: number,
    boundary: number,
  ): number;
  /** Maps the pages at `index` into `map`; the kernel address, or 0 (pages stay allocated). */
  vm_contig_pg_kmapin(index: number, size: number, map: Extent): number;
  /** Frees the pages of `vm_contig_pg_alloc`. */
  vm_contig_pg_free(index: number, size: number): void;
  /** Contiguous pages mapped into the kernel map: the address, or 0 (NULL). */
  contigmalloc(
    size: number,
    type: MallocType,
    flags: number,
    low: number,
    high: number,
    alignment: number,
    boundary: number,
  ): number;
  /** Frees a `contigmalloc` allocation. */
  contigfree(addr: number, size: number, type: MallocType): void;
  /** NetBSD's constrained page-list allocator: 0, ENOMEM or EINVAL; pfns appended to `rlist`. */
  uvm_pglistalloc(
    size: number,
    low: number,
    high: number,
    alignment: number,
    boundary: number,
    rlist: number[],
    nsegs: number,
    waitok: number,
  ): number;
  /** Frees the pages of `uvm_pglistalloc`. */
  uvm_pglistfree(rlist: number[]): void;
  /** The physical address behind a contigmalloc'd kernel address, or -1. */
  vtophys(va: number): number;
  /** `VM_PAGE_TO_PHYS(&vm_page_array[index])`: the physical address of page array entry `index`. */
  VM_PAGE_TO_PHYS(index: number): number;
}

/**
 * Builds the C API over a page array (`vm_page_array`: the machine's page database), a page
 * allocator (the buddy allocator owning those pages) and a kernel map (an extent in bytes).
 */
export function createContigCompat(
  vm_page_array: PageDatabase,
  allocator: BuddyAllocator,
  kernel_map: Extent,
  options: ContigCompatOptions = {},
): ContigCompat {
  if (allocator.machine.pages !== vm_page_array)
    throw new InvalidArgumentError(
      "createContigCompat: the page array is not the page allocator's",
      "EINVAL",
      "vm_page_array",
    );
  const a = new ContigAllocator({
    buddy: allocator,
    kernelMap: kernel_map,
    search: options.search ?? "linear",
    mirror: options.mirror ?? true,
    legacy: options.legacy ?? false,
    ...(options.queues !== undefined ? { queues: options.queues } : {}),
  });
  const checkMap = (map: Extent): void => {
    if (map !== kernel_map)
      throw new InvalidArgumentError(
        "vm_contig_pg_kmapin: only the kernel map given to createContigCompat is supported",
        "EINVAL",
        "map",
      );
  };
  return {
    allocator: a,
    vm_contig_pg_alloc: (size, low, high, alignment, boundary) =>
      a.vmContigPgAlloc(size, low, high, alignment, boundary),
    vm_contig_pg_kmapin: (index, size, map) => {
      checkMap(map);
      return a.vmContigPgKmapin(index, size);
    },
    vm_contig_pg_free: (index, size) => a.vmContigPgFree(index, size),
    contigmalloc: (size, _type, _flags, low, high, alignment, boundary) =>
      a.contigmalloc(size, low, high, alignment, boundary),
    contigfree: (addr, size, _type) => a.contigfree(addr, size),
    uvm_pglistalloc: (size, low, high, alignment, boundary, rlist, nsegs, _waitok) =>
      a.pglistAlloc(size, low, high, alignment, boundary, rlist, nsegs),
    uvm_pglistfree: (rlist) => a.pglistFree(rlist),
    vtophys: (va) => a.vtophys(va),
    VM_PAGE_TO_PHYS: (index) => {
      const i = vm_page_array.indexOrPanic(index);
      return vm_page_array.pfnOf(i) * allocator.machine.pageSize;
    },
  };
}
