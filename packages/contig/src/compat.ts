/**
 * @mem/contig/compat: FreeBSD's `vm_contig_pg_alloc`, `vm_contig_pg_kmapin`, `vm_contig_pg_free`,
 * `contigmalloc`, `contigfree` and NetBSD's `uvm_pglistalloc`, `uvm_pglistfree`, with the C
 * argument orders, from a factory over a page array, a page allocator and a kernel map.
 *
 * @packageDocumentation
 */
export {
  type ContigCompat,
  type ContigCompatOptions,
  createContigCompat,
  EINVAL,
  ENOMEM,
  M_NOWAIT,
  M_WAITOK,
  type MallocType,
} from "./internal/compat-api.js";
