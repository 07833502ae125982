import { GFP_KERNEL } from "@mem/buddy";
import { InvalidArgumentError } from "@mem/machine";
import {
  ENOSPC,
  GNTMAP_host_map,
  GNTMAP_readonly,
  GNTST_bad_domain,
  GNTST_bad_gntref,
  GNTST_bad_handle,
  GNTST_bad_virt_addr,
  GNTST_general_error,
  GNTST_permission_denied,
  GrantError,
  grantStatusText,
  Hypervisor,
} from "@mem/xen-foreign";
import { describe, expect, it } from "vitest";
import { bootedSmall } from "./helpers.js";

function setup() {
  const { m, a } = bootedSmall();
  const hv = new Hypervisor(a);
  const guest = hv.createDomain("guest", 16, { grantEntries: 32 })!;
  const host = a.alloc(GFP_KERNEL, 0);
  const host2 = a.alloc(GFP_KERNEL, 0);
  const digest = (): string =>
    JSON.stringify([
      guest.grantsInUse,
      [...guest.gtFlags],
      [...guest.gtHandle],
      hv.dom0.mappedForeign,
      [...hv.dom0.hostMap],
      hv.grantStats.maps,
      hv.grantStats.unmaps,
      hv.grantStats.ends,
      a.stateDigest(),
    ]);
  return { m, a, hv, guest, host, host2, digest };
}

describe("Hypervisor grant tables", () => {
  it("grants, maps, reads through the mapping, unmaps and ends access", () => {
    const { hv, guest, host } = setup();
    hv.writeFrame(guest, 3, 42);
    const ref = guest.grantAccess(0, 3, true);
    expect(ref).toBeGreaterThanOrEqual(8);
    const h = hv.mapGrant(host, guest.id, ref, true);
    expect(hv.read(hv.dom0, host)).toBe(42);
    expect(guest.isGrantMapped(ref)).toBe(true);
    hv.unmapGrant(host, h);
    expect(guest.isGrantMapped(ref)).toBe(false);
    guest.endAccess(ref);
    expect(guest.grantsInUse).toBe(0);
    expect(hv.grantStats).toMatchObject({ grants: 1, maps: 1, unmaps: 1, ends: 1 });
  });

  it("refuses bad, reserved and ended references with clear errors, changing nothing", () => {
    const { hv, guest, host, digest } = setup();
    const ref = guest.grantAccess(0, 1, true);
    const ended = guest.grantAccess(0, 2, true);
    guest.endAccess(ended);
    const before = digest();
    for (const bad of [-1, 32, 1e9, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => hv.mapGrant(host, guest.id, bad, true)).toThrow(/out of range/);
      expect(() => guest.endAccess(bad)).toThrow(/out of range/);
      expect(hv.gnttabMap(hv.dom0, host, GNTMAP_host_map | GNTMAP_readonly, bad, guest.id)).toBe(
        GNTST_bad_gntref,
      );
    }
    expect(() => guest.endAccess(3)).toThrow(/reserved/);
    try {
      hv.mapGrant(host, guest.id, ended, true);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(GrantError);
      expect(e).toBeInstanceOf(InvalidArgumentError);
      expect((e as GrantError).status).toBe(GNTST_bad_gntref);
      expect((e as GrantError).code).toBe("already-ended");
      expect((e as Error).message).toMatch(`grant reference ${ended}`);
    }
    expect(() => guest.endAccess(ended)).toThrow(/already ended/);
    expect(() => guest.endAccessRef(ended)).toThrow(GrantError);
    expect(() => hv.mapGrant(host, 99, ref, true)).toThrow(/not a peer/);
    expect(hv.gnttabMap(hv.dom0, host, GNTMAP_host_map, ref, 0)).toBe(GNTST_bad_domain);
    expect(digest()).toBe(before);
  });

  it("maps a grant at most once and refuses ending access while it is mapped", () => {
    const { hv, guest, host, host2, digest } = setup();
    const ref = guest.grantAccess(0, 1, false);
    const h = hv.mapGrant(host, guest.id, ref, false);
    const ref2 = guest.grantAccess(0, 2, false);
    const before = digest();
    expect(() => hv.mapGrant(host2, guest.id, ref, false)).toThrow(/already mapped/);
    try {
      hv.mapGrant(host2, guest.id, ref, true);
    } catch (e) {
      expect((e as GrantError).code).toBe("double-map");
      expect((e as GrantError).status).toBe(GNTST_general_error);
    }
    expect(() => guest.endAccess(ref)).toThrow(/still mapped/);
    expect(guest.endAccessRef(ref)).toBe(0);
    expect(() => hv.mapGrant(host, guest.id, ref2, false)).toThrow(/already maps/);
    expect(digest()).toBe(before);
    hv.unmapGrant(host, h);
    expect(guest.endAccessRef(ref)).toBe(1);
  });

  it("enforces read-only grants, the grantee and the host pfn", () => {
    const { hv, guest, host, m } = setup();
    const ro = guest.grantAccess(0, 1, true);
    expect(hv.gnttabMap(hv.dom0, host, GNTMAP_host_map, ro, guest.id)).toBe(
      GNTST_permission_denied,
    );
    expect(grantStatusText(GNTST_permission_denied)).toBe("permission denied");
    const other = hv.createDomain("other", 2)!;
    const toOther = guest.grantAccess(other.id, 2, true);
    expect(() => hv.mapGrant(host, guest.id, toOther, true)).toThrow(/granted to domain/);
    expect(hv.gnttabMap(hv.dom0, host, GNTMAP_readonly, ro, guest.id)).toBe(GNTST_bad_virt_addr);
    expect(() => hv.mapGrant(-5, guest.id, ro, true)).toThrow(/host pfn/);
    expect(() => hv.mapGrant(m.maxPossiblePfn + 10, guest.id, ro, true)).toThrow(GrantError);
    expect(hv.dom0.mappedForeign).toBe(0);
  });

  it("refuses unmapping a bad handle or the wrong pfn", () => {
    const { hv, guest, host, host2 } = setup();
    const ref = guest.grantAccess(0, 1, true);
    const h = hv.mapGrant(host, guest.id, ref, true);
    expect(hv.gnttabUnmap(hv.dom0, host, h + 1)).toBe(GNTST_bad_handle);
    expect(hv.gnttabUnmap(hv.dom0, host, -1)).toBe(GNTST_bad_handle);
    expect(hv.gnttabUnmap(hv.dom0, host2, h)).toBe(GNTST_bad_virt_addr);
    expect(() => hv.unmapGrant(host, 1.5)).toThrow(/maps nothing/);
    expect(guest.isGrantMapped(ref)).toBe(true);
    hv.unmapGrant(host, h);
    expect(() => hv.unmapGrant(host, h)).toThrow(GrantError);
  });

  it("returns -ENOSPC when the grant table is full", () => {
    const { guest } = setup();
    const refs: number[] = [];
    for (let k = 0; k < 24; k++) refs.push(guest.grantAccess(0, k % 16, true));
    expect(guest.grantAccess(0, 1, true)).toBe(ENOSPC);
    guest.endAccess(refs[5]!);
    expect(guest.grantAccess(0, 1, true)).toBe(refs[5]);
  });

  it("gives a guest's frames back when the domain is destroyed, not while mapped", () => {
    const { a, hv, host } = setup();
    const free0 = a.freePageCount;
    const g = hv.createDomain("g", 8)!;
    expect(a.freePageCount).toBe(free0 - 8);
    const ref = g.grantAccess(0, 0, true);
    const h = hv.mapGrant(host, g.id, ref, true);
    expect(() => hv.destroyDomain(g)).toThrow(/still mapped/);
    hv.unmapGrant(host, h);
    hv.destroyDomain(g);
    expect(a.freePageCount).toBe(free0);
    expect(hv.domain(g.id)).toBeNull();
    expect(() => hv.destroyDomain(hv.dom0)).toThrow(InvalidArgumentError);
  });

  it("copies into a writable grant and refuses a read-only one", () => {
    const { hv, guest, host } = setup();
    hv.writeFrame(hv.dom0, host, 77);
    const rw = guest.grantAccess(0, 4, false);
    const ro = guest.grantAccess(0, 5, true);
    expect(hv.gnttabCopy(host, rw, guest.id)).toBe(0);
    expect(hv.read(guest, 4)).toBe(77);
    expect(hv.gnttabCopy(host, ro, guest.id)).toBe(GNTST_permission_denied);
    expect(hv.gnttabCopy(host, 999, guest.id)).toBe(GNTST_bad_gntref);
    expect(hv.gnttabCopy(host, rw, 0)).toBe(GNTST_bad_domain);
  });
});
