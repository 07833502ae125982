/**
 * `@mem/contig`: physically contiguous memory with or without a kernel mapping (FreeBSD PR
 * kern/55081), NetBSD's constrained page-list allocator over an extent mirror of the free pages,
 * an indexed O(log n) search, laundering, reclaim by migration and a CMA-like reserved region.
 *
 * @packageDocumentation
 */
export { type CmaOptions, CmaRegion } from "./cma.js";
export {
  ContigAllocator,
  type ContigAllocatorOptions,
  type ContigHandle,
  type ContigReclaim,
  type ContigRequest,
  type ContigSearch,
  type ContigStats,
} from "./contig-allocator.js";
export type { PageRequest } from "./internal/fit.js";
export type { RunTree } from "./internal/run-tree.js";
export {
  type LaunderResult,
  type PageOwner,
  type PageQueueListener,
  PageQueues,
  type PageQueuesOptions,
  type Pager,
  PQ_ACTIVE,
  PQ_CACHE,
  PQ_COUNT,
  PQ_INACTIVE,
  PQ_NAMES,
  PQ_NONE,
} from "./page-queues.js";
export {
  type FragmentOptions,
  type FragmentResult,
  fragmentMemory,
  mulberry32,
} from "./workload.js";
