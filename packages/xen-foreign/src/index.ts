/**
 * @mem/xen-foreign: foreign pages owned by custom allocators, returned to their owner at the last
 * free through per-page destructors (the 2004 Xen `arch_free_page` patch, XenLinux's
 * `PG_foreign`), a User-Mode-Linux-style observing hook, and a Xen grant-table + netback model
 * that exercises them in destructor (XenLinux) and zero-copy-callback (mainline) modes.
 *
 * @packageDocumentation
 */
export { HZ, SimClock, USEC_PER_SEC } from "./clock.js";
export {
  type ForeignDestructor,
  ForeignPages,
  MAX_FOREIGN_DESTRUCTORS,
} from "./foreign-pages.js";
export {
  ENOSPC,
  GNTMAP_host_map,
  GNTMAP_readonly,
  GNTST_bad_copy_arg,
  GNTST_bad_domain,
  GNTST_bad_gntref,
  GNTST_bad_handle,
  GNTST_bad_page,
  GNTST_bad_virt_addr,
  GNTST_general_error,
  GNTST_no_device_space,
  GNTST_okay,
  GNTST_permission_denied,
  GrantError,
  GTF_permit_access,
  GTF_reading,
  GTF_readonly,
  GTF_writing,
  grantStatusText,
} from "./grant-status.js";
export { NETTXF_more_data, NetRxRing, NetTxRing } from "./internal/rings.js";
export {
  NetStack,
  type NetStackStats,
  type Skb,
  type SkbShared,
  type ZeroCopyCompletion,
} from "./net-stack.js";
export {
  DELAYED_COPY_US,
  MAX_PENDING_REQS,
  MAX_SKB_FRAGS,
  NETIF_RSP_ERROR,
  NETIF_RSP_OKAY,
  Netback,
  type NetbackMode,
  type NetbackOptions,
  type NetbackStats,
  PKT_PROT_LEN,
  SLOT_DEALLOC,
  SLOT_INFLIGHT,
  SLOT_PENDING,
} from "./netback.js";
export {
  createNetbackPair,
  NetbackPair,
  type NetbackPairOptions,
  type NetbackPairStats,
  type RunOptions,
  type StackPolicy,
} from "./netback-pair.js";
export { Netfront, type NetfrontStats } from "./netfront.js";
export { type PhysmemSubstitution, UmlPhysmem } from "./uml-physmem.js";
export {
  DEFAULT_GRANT_ENTRIES,
  DEFAULT_MAPTRACK_ENTRIES,
  Domain,
  type DomainOptions,
  GNTTAB_NR_RESERVED_ENTRIES,
  type GrantOpStats,
  Hypervisor,
} from "./xen.js";
