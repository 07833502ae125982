/**
 * @mem/bootmem: boot-time allocators. rootmem (one bitmap over every page of every node, the
 * 2008 RFC with its bugs fixed) with the legacy bootmem API, and memblock (region arrays), both
 * behind {@link BootAllocator}.
 *
 * @packageDocumentation
 */
export type {
  BootAllocator,
  BootAllocatorKind,
  BootAllocOptions,
  FreePageFn,
  ReleaseTarget,
} from "./boot-allocator.js";
export {
  type BootMachine,
  type FromMachineOptions,
  findRamSpot,
  fromMachine,
  maxDmaAddress,
  memblockFromMachine,
  rootmemFromMachine,
} from "./from-machine.js";
export {
  DEFAULT_MAX_PAGE_ORDER,
  INIT_MEMBLOCK_REGIONS,
  MEMBLOCK_ALLOC_ACCESSIBLE,
  MEMBLOCK_ALLOC_ANYWHERE,
  Memblock,
  type MemblockOptions,
  type MemblockRegion,
  NUMA_NO_NODE,
} from "./memblock.js";
export {
  BOOTMEM_DEFAULT,
  BOOTMEM_EXCLUSIVE,
  DEFAULT_MAX_DMA_ADDRESS,
  DEFAULT_SMP_CACHE_BYTES,
  EBUSY,
  Rootmem,
  type RootmemNode,
  type RootmemOptions,
} from "./rootmem.js";
