import { BuddyAllocator, GFP_KERNEL } from "@mem/buddy";
import { createMachine, PRESETS } from "@mem/machine";
import { ForeignPages, Hypervisor } from "@mem/xen-foreign";
import {
  arch_free_page,
  ClearPageForeign,
  ENOSPC,
  GNTMAP_host_map,
  GNTMAP_readonly,
  GNTST_bad_gntref,
  GNTST_bad_handle,
  GNTST_general_error,
  GNTST_okay,
  GrantError,
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
} from "@mem/xen-foreign/compat";
import { afterEach, describe, expect, it } from "vitest";

function boot() {
  const m = createMachine(PRESETS.small!);
  const a = new BuddyAllocator(m, { hotplug: false });
  a.freeAllRam();
  const fp = new ForeignPages(m);
  fp.attach(a);
  set_foreign_pages(fp);
  const hv = new Hypervisor(a);
  set_hypervisor(hv);
  return { m, a, fp, hv };
}

afterEach(() => {
  set_foreign_pages(null);
  set_hypervisor(null);
});

describe("@mem/xen-foreign/compat", () => {
  it("SetPageForeign / PageForeign / ClearPageForeign / PageForeignDestructor", () => {
    const { a } = boot();
    const seen: number[] = [];
    function netif_page_release(pfn: number): void {
      seen.push(pfn);
    }
    const p = a.alloc(GFP_KERNEL, 0);
    expect(PageForeign(p)).toBe(0);
    SetPageForeign(p, netif_page_release);
    expect(PageForeign(p)).toBe(1);
    expect(() => PageForeignDestructor(p)).toThrow(/reference count 1/);
    a.putPage(p);
    expect(seen).toEqual([p]);
    PageForeignDestructor(p); // count is 0: the 2.6.18 macro calls the destructor
    expect(seen).toEqual([p, p]);
    ClearPageForeign(p);
    expect(PageForeign(p)).toBe(0);
    expect(() => PageForeignDestructor(p)).toThrow(/not foreign/);
    expect(() => SetPageForeign(p, null as never)).toThrow(/BUG_ON/);
  });

  it("arch_free_page returns 1 for a foreign page it took and 0 otherwise", () => {
    const { a, m } = boot();
    const taken: number[] = [];
    const p = a.alloc(GFP_KERNEL, 0);
    const q = a.alloc(GFP_KERNEL, 0);
    SetPageForeign(p, (pfn) => taken.push(pfn));
    m.pages.refcount[m.pages.indexOf(p)] = 0; // as on the free path
    expect(arch_free_page(p, 0)).toBe(1);
    expect(arch_free_page(q, 0)).toBe(0);
    expect(taken).toEqual([p]);
  });

  it("grants, maps with an out-parameter, unmaps and ends access with C returns", () => {
    const { a, hv } = boot();
    const guest = hv.createDomain("domU", 4, { grantEntries: 10 })!;
    const host = a.alloc(GFP_KERNEL, 0);
    set_current_domain(guest.id);
    const ref = gnttab_grant_foreign_access(0, 2, 1);
    expect(ref).toBe(8);
    expect(gnttab_grant_foreign_access(0, 3, 0)).toBe(9);
    expect(gnttab_grant_foreign_access(0, 1, 0)).toBe(ENOSPC);
    set_current_domain(0);
    const handle = { value: -1 };
    expect(
      gnttab_map_grant_ref(host, GNTMAP_host_map | GNTMAP_readonly, ref, guest.id, handle),
    ).toBe(GNTST_okay);
    expect(handle.value).toBeGreaterThanOrEqual(0);
    const h2 = { value: -7 };
    expect(
      gnttab_map_grant_ref(host + 1, GNTMAP_host_map | GNTMAP_readonly, ref, guest.id, h2),
    ).toBe(GNTST_general_error);
    expect(gnttab_map_grant_ref(host, GNTMAP_host_map, 99, guest.id, h2)).toBe(GNTST_bad_gntref);
    expect(h2.value).toBe(-7);
    set_current_domain(guest.id);
    expect(gnttab_end_foreign_access_ref(ref, 1)).toBe(0);
    expect(() => gnttab_end_foreign_access(ref, 1, 0)).toThrow(GrantError);
    set_current_domain(0);
    expect(gnttab_unmap_grant_ref(host, GNTMAP_host_map, handle.value + 5)).toBe(GNTST_bad_handle);
    expect(gnttab_unmap_grant_ref(host, GNTMAP_host_map, handle.value)).toBe(GNTST_okay);
    set_current_domain(guest.id);
    expect(gnttab_end_foreign_access_ref(ref, 1)).toBe(1);
    expect(() => gnttab_end_foreign_access_ref(ref, 1)).toThrow(/already ended/);
    const page = a.alloc(GFP_KERNEL, 0);
    const free0 = a.freePageCount;
    gnttab_end_foreign_access(9, 0, page);
    expect(a.freePageCount).toBe(free0 + 1);
    expect(() => set_current_domain(42)).toThrow(/no live domain/);
  });

  it("throws a clear error when nothing is bound", () => {
    set_foreign_pages(null);
    set_hypervisor(null);
    expect(() => PageForeign(1)).toThrow(/set_foreign_pages/);
    expect(() => gnttab_grant_foreign_access(0, 1, 0)).toThrow(/set_hypervisor/);
  });
});
