/**
 * The kernel's names (`@mem/xen-foreign/compat`): XenLinux's foreign-page macros, its
 * `arch_free_page` returning non-zero when the page was taken, and the guest-side grant-table
 * calls with C argument orders, C return values and out-parameters as `{ value }`. Pages are
 * pfns. Bind the mechanism and the hypervisor first ({@link set_foreign_pages},
 * {@link set_hypervisor}, {@link set_current_domain}).
 *
 * @module
 */
import { describeValue, InvalidArgumentError } from "@mem/machine";
import type { ForeignDestructor, ForeignPages } from "./foreign-pages.js";

import type { Domain, Hypervisor } from "./xen.js";

let fp: ForeignPages | null = null;
let hv: Hypervisor | null = null;
let current: Domain | null = null;

function foreign(): ForeignPages {
  if (fp === null)
    throw new Error("no foreign-page mechanism bound: call set_foreign_pages() first");
  return fp;
}

function hyp(): Hypervisor {
  if (hv === null) throw new Error("no hypervisor bound: call set_hypervisor() first");
  return hv;
}

function self(): Domain {
  const h = hyp();
  return current ?? h.dom0;
}

/** Binds the foreign-page mechanism the page macros act on (null unbinds). */
export function set_foreign_pages(f: ForeignPages | null): void {
  fp = f;
}

/** Binds the hypervisor the grant calls act on (null unbinds); the current domain becomes 0. */
export function set_hypervisor(h: Hypervisor | null): void {
  hv = h;
  current = null;
}

/** Makes domain `domid` the caller of the grant calls (`DOMID_SELF`). */
export function set_current_domain(domid: number): void {
  const d = hyp().domain(domid);
  if (d === null)
    throw new InvalidArgumentError(`no live domain ${describeValue(domid)}`, "EINVAL", "domid");
  current = d;
}

/**
 * `SetPageForeign(page, dtor)`: marks `page` foreign with destructor `dtor`, which is registered
 * in the destructor table on first use (under its function name).
 */
export function SetPageForeign(page: number, dtor: ForeignDestructor): void {
  const f = foreign();
  if (typeof dtor !== "function")
    throw new InvalidArgumentError(
      `SetPageForeign: dtor must be a function (BUG_ON(dtor == NULL)), got ${describeValue(dtor)}`,
      "EINVAL",
      "dtor",
    );
  const id = f.destructorId(dtor) || f.registerDestructor(dtor.name || "foreign_dtor", dtor);
  f.setForeign(page, id);
}

/** `ClearPageForeign(page)`. */
export function ClearPageForeign(page: number): void {
  foreign().clearForeign(page);
}

/** `PageForeign(page)`: non-zero when the page is foreign. */
export function PageForeign(page: number): number {
  return foreign().isForeign(page) ? 1 : 0;
}

/**
 * `PageForeignDestructor(page)` (2.6.18 form): calls the page's destructor. The page's count must
 * be 0, as on the free path.
 */
export function PageForeignDestructor(page: number, order = 0): void {
  const f = foreign();
  if (!f.isForeign(page))
    throw new InvalidArgumentError(
      `PageForeignDestructor: pfn ${describeValue(page)} is not foreign`,
      "EINVAL",
      "page",
    );
  const db = f.machine.pages;
  f.claim(db.indexOf(page), page, order);
}

/**
 * `arch_free_page(page, order)` with Pratt's return value: for a foreign page, runs its
 * destructor and returns 1 (the generic free must stop); otherwise returns 0.
 */
export function arch_free_page(page: number, order: number): number {
  const f = foreign();
  if (!f.isForeign(page)) return 0;
  if (!Number.isInteger(order) || order < 0 || order > 30)
    throw new InvalidArgumentError(
      `arch_free_page: bad order ${describeValue(order)}`,
      "EINVAL",
      "order",
    );
  f.claim(f.machine.pages.indexOf(page), page, order);
  return 1;
}

/**
 * `gnttab_grant_foreign_access(domid, frame, readonly)`: the grant reference, or `-ENOSPC`.
 */
export function gnttab_grant_foreign_access(
  domid: number,
  frame: number,
  readonly: number | boolean,
): number {
  return self().grantAccess(domid, frame, Boolean(readonly));
}

/**
 * `gnttab_end_foreign_access_ref(ref, readonly)`: 1 when ended, 0 while the grantee still maps
 * it. A reference out of range or already ended throws a {@link GrantError}.
 */
export function gnttab_end_foreign_access_ref(ref: number, readonly: number | boolean): number {
  void readonly;
  return self().endAccessRef(ref);
}

/**
 * `gnttab_end_foreign_access(ref, readonly, page)`: ends the grant and, when `page` is not 0,
 * frees that page (pfn). Where C would print "leaking g.e. and page still in use" and leak, this
 * throws a {@link GrantError} (`"still-mapped"`) and changes nothing.
 */
export function gnttab_end_foreign_access(
  ref: number,
  readonly: number | boolean,
  page: number,
): void {
  void readonly;
  const d = self();
  d.endAccess(ref);
  if (page !== 0) d.hv.buddy.free(page, 0);
}

/**
 * `gnttab_set_map_op(op, host_addr, flags, ref, dom)` + `GNTTABOP_map_grant_ref`: maps grant `ref`
 * of domain `dom` at the caller's pfn `host_addr`. Returns the `GNTST_*` status; on success
 * `handle.value` receives the map handle.
 */
export function gnttab_map_grant_ref(
  host_addr: number,
  flags: number,
  ref: number,
  dom: number,
  handle: { value: number },
): number {
  const h = hyp().gnttabMap(self(), host_addr, flags, ref, dom);
  if (h < 0) return h;
  handle.value = h;
  return 0;
}

/**
 * `gnttab_set_unmap_op(op, host_addr, flags, handle)` + `GNTTABOP_unmap_grant_ref`: the
 * `GNTST_*` status.
 */
export function gnttab_unmap_grant_ref(host_addr: number, flags: number, handle: number): number {
  void flags;
  return hyp().gnttabUnmap(self(), host_addr, handle);
}
