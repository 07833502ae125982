/**
 * The C names: `createRootmem()` (the rootmem RFC's functions and the legacy bootmem wrappers),
 * `createMemblock()`, and the constants of the headers.
 *
 * @packageDocumentation
 */
export {
  type CreateRootmemOptions,
  createMemblock,
  createRootmem,
  type MemblockCompat,
  type RootmemCompat,
} from "./c-api.js";
export {
  INIT_MEMBLOCK_REGIONS,
  MEMBLOCK_ALLOC_ACCESSIBLE,
  MEMBLOCK_ALLOC_ANYWHERE,
  NUMA_NO_NODE,
} from "./memblock.js";
export { BOOTMEM_DEFAULT, BOOTMEM_EXCLUSIVE, EBUSY } from "./rootmem.js";
