/**
 * Xen's grant-table constants (public interface `grant_table.h`): operation status codes, map
 * flags and grant entry flags, and the error thrown by the idiomatic grant API.
 *
 * @module
 */
import { InvalidArgumentError } from "@mem/machine";

/** Success. */
export const GNTST_okay = 0;
/** Unspecified error (also: a grant already mapped, which this model forbids). */
export const GNTST_general_error = -1;
/** Unrecognised domain id. */
export const GNTST_bad_domain = -2;
/** Unrecognised or inappropriate grant reference. */
export const GNTST_bad_gntref = -3;
/** Unrecognised or inappropriate map handle. */
export const GNTST_bad_handle = -4;
/** Inappropriate host address (here: host pfn) to map to or unmap from. */
export const GNTST_bad_virt_addr = -5;
/** Out of space for map handles. */
export const GNTST_no_device_space = -7;
/** Not enough privilege for the operation (a read-only grant mapped writable, wrong domain). */
export const GNTST_permission_denied = -8;
/** Bad page: the granted frame does not exist. */
export const GNTST_bad_page = -9;
/** Bad copy arguments. */
export const GNTST_bad_copy_arg = -10;

/** Map for host (CPU) access. */
export const GNTMAP_host_map = 2;
/** Map read-only. */
export const GNTMAP_readonly = 4;

/** Grant entry flag: the entry grants access. */
export const GTF_permit_access = 1;
/** Grant entry flag: read-only access. */
export const GTF_readonly = 4;
/** Grant entry flag (set by Xen): the grant is mapped for reading. */
export const GTF_reading = 8;
/** Grant entry flag (set by Xen): the grant is mapped for writing. */
export const GTF_writing = 16;

/** `-ENOSPC`: no free grant reference (the C return of `gnttab_grant_foreign_access`). */
export const ENOSPC = -28;

const NAMES: Record<number, string> = {
  [GNTST_okay]: "okay",
  [GNTST_general_error]: "general error",
  [GNTST_bad_domain]: "unrecognised domain id",
  [GNTST_bad_gntref]: "invalid grant reference",
  [GNTST_bad_handle]: "invalid mapping handle",
  [GNTST_bad_virt_addr]: "invalid host address",
  [GNTST_no_device_space]: "no spare translation slot",
  [GNTST_permission_denied]: "permission denied",
  [GNTST_bad_page]: "bad page",
  [GNTST_bad_copy_arg]: "copy arguments cross page boundary",
};

/** Xen's text for a grant status (`GNTTABOP_error_msgs`). */
export function grantStatusText(status: number): string {
  return NAMES[status] ?? `unknown status ${status}`;
}

/**
 * A grant-table operation refused: bad reference, reference already ended, double map, ending
 * access while mapped, bad handle. Nothing was changed. `status` is the `GNTST_*` code.
 */
export class GrantError extends InvalidArgumentError {
  /** The `GNTST_*` status the hypercall would have returned. */
  readonly status: number;

  /**
   * @param status - the `GNTST_*` code.
   * @param code - a stable code, e.g. `"bad-gntref"`, `"already-ended"`, `"double-map"`.
   * @param message - what was wrong, naming the reference and domains.
   */
  constructor(status: number, code: string, message: string) {
    super(message, code, "ref");
    this.status = status;
  }
}
