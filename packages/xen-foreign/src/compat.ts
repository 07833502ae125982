/**
 * @mem/xen-foreign/compat: XenLinux's names: `SetPageForeign`, `ClearPageForeign`, `PageForeign`,
 * `PageForeignDestructor`, `arch_free_page`, the `gnttab_*` calls and the `GNTST_*`/`GNTMAP_*`
 * constants.
 *
 * @packageDocumentation
 */
export {
  arch_free_page,
  ClearPageForeign,
  gnttab_end_foreign_access,
  gnttab_end_foreign_access_ref,
  gnttab_grant_foreign_access,
  gnttab_map_grant_ref,
  gnttab_unmap_grant_ref,
  PageForeign,
  PageForeignDestructor,
  SetPageForeign,
  set_current_domain,
  set_foreign_pages,
  set_hypervisor,
} from "./compat-api.js";
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
} from "./grant-status.js";
