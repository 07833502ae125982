/**
 * A small Xen model: domains with their own pseudo-physical memory, a grant table each, and the
 * grant operations (map a grant into a local pfn, unmap, copy, end access).
 *
 * Every frame is a page of the same simulated machine. Domain 0 is the machine itself (its
 * pseudo-physical frame numbers are machine pfns); a guest domain owns `nrPages` pages taken from
 * the buddy allocator and sees them as frames 0..nrPages-1 through its p2m table. Frame contents
 * are one number per frame (a data stamp), so copies and mappings can be checked end to end.
 *
 * Hypercalls ({@link Hypervisor.gnttabMap}, {@link Hypervisor.gnttabUnmap},
 * {@link Hypervisor.gnttabCopy}) return `GNTST_*` status codes as Xen does and never throw for a
 * guest's bad reference; the idiomatic wrappers ({@link Hypervisor.mapGrant},
 * {@link Domain.endAccess}, ...) throw a {@link GrantError} naming the reference. Either way a
 * refused operation changes nothing.
 *
 * @module
 */
import { type BuddyAllocator, GFP_KERNEL } from "@mem/buddy";
import { assertUint, describeValue, InvalidArgumentError, KernelPanic } from "@mem/machine";
import {
  ENOSPC,
  GNTMAP_host_map,
  GNTMAP_readonly,
  GNTST_bad_copy_arg,
  GNTST_bad_domain,
  GNTST_bad_gntref,
  GNTST_bad_handle,
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
} from "./grant-status.js";

/** Grant references Linux keeps for itself (`GNTTAB_NR_RESERVED_ENTRIES`). */
export const GNTTAB_NR_RESERVED_ENTRIES = 8;
/** Default grant entries per domain (4 frames of 8-byte v1 entries with 4 KiB pages). */
export const DEFAULT_GRANT_ENTRIES = 2048;
/** Default map handles per domain (Xen's maptrack). */
export const DEFAULT_MAPTRACK_ENTRIES = 1024;

/** Counters of grant operations, for reports. */
export interface GrantOpStats {
  /** Grants created. */
  readonly grants: number;
  /** Grants ended. */
  readonly ends: number;
  /** Successful maps. */
  readonly maps: number;
  /** Refused maps. */
  readonly mapErrors: number;
  /** Successful unmaps. */
  readonly unmaps: number;
  /** Grant copies. */
  readonly copies: number;
  /** Hypercalls (a batch of operations counts once). */
  readonly hypercalls: number;
}

/** Options of {@link Hypervisor.createDomain}. */
export interface DomainOptions {
  /** Grant entries (default {@link DEFAULT_GRANT_ENTRIES}). */
  readonly grantEntries?: number;
  /** Map handles (default {@link DEFAULT_MAPTRACK_ENTRIES}). */
  readonly maptrackEntries?: number;
}

/**
 * A domain: its pseudo-physical memory (p2m), its grant table (what it shares) and its maptrack
 * (what it has mapped of others).
 */
export class Domain {
  /** Domain id (0 for the control domain). */
  readonly id: number;
  /** Name for reports. */
  readonly name: string;
  /** The hypervisor. */
  readonly hv: Hypervisor;
  /** Guest frames (0 for domain 0, which uses machine pfns directly). */
  readonly nrPages: number;
  /** Owner tag of the domain's pages. */
  readonly ownerTag: number;
  /** @internal frame -> machine pfn. */
  readonly p2m: Float64Array;
  // Grant table (struct of arrays).
  /** @internal GTF_* flags per reference. */
  readonly gtFlags: Uint8Array;
  /** @internal domain the reference is granted to. */
  readonly gtDomid: Int32Array;
  /** @internal granted frame. */
  readonly gtFrame: Float64Array;
  /** @internal map handle (in the mapping domain) or -1. */
  readonly gtHandle: Int32Array;
  private readonly freeRefs: Int32Array;
  private nFreeRefs = 0;
  // Maptrack.
  /** @internal host pfn per handle, -1 when free. */
  readonly mtHost: Float64Array;
  /** @internal granting domain per handle. */
  readonly mtDomid: Int32Array;
  /** @internal reference per handle. */
  readonly mtRef: Int32Array;
  /** @internal GNTMAP flags per handle. */
  readonly mtFlags: Uint8Array;
  private readonly freeHandles: Int32Array;
  private nFreeHandles = 0;
  /** @internal host pfn -> handle of the foreign frame mapped there. */
  readonly hostMap: Map<number, number> = new Map();
  /** @internal host pfns with no frame behind them (ballooned out). */
  readonly ballooned: Set<number> = new Set();
  private alive = true;

  /** @internal use {@link Hypervisor.createDomain}. */
  constructor(
    hv: Hypervisor,
    id: number,
    name: string,
    frames: Float64Array,
    ownerTag: number,
    options: DomainOptions,
  ) {
    this.hv = hv;
    this.id = id;
    this.name = name;
    this.p2m = frames;
    this.nrPages = frames.length;
    this.ownerTag = ownerTag;
    const ng = options.grantEntries ?? DEFAULT_GRANT_ENTRIES;
    const nm = options.maptrackEntries ?? DEFAULT_MAPTRACK_ENTRIES;
    assertUint("grantEntries", ng);
    assertUint("maptrackEntries", nm);
    if (ng <= GNTTAB_NR_RESERVED_ENTRIES || ng > 1 << 20)
      throw new InvalidArgumentError(
        `grantEntries must be in (${GNTTAB_NR_RESERVED_ENTRIES}, 2^20], got ${describeValue(ng)}`,
        "EINVAL",
        "grantEntries",
      );
    if (nm < 1 || nm > 1 << 20)
      throw new InvalidArgumentError(
        `maptrackEntries must be in [1, 2^20], got ${describeValue(nm)}`,
        "EINVAL",
        "maptrackEntries",
      );
    this.gtFlags = new Uint8Array(ng);
    this.gtDomid = new Int32Array(ng).fill(-1);
    this.gtFrame = new Float64Array(ng);
    this.gtHandle = new Int32Array(ng).fill(-1);
    this.freeRefs = new Int32Array(ng);
    for (let r = ng - 1; r >= GNTTAB_NR_RESERVED_ENTRIES; r--) this.freeRefs[this.nFreeRefs++] = r;
    this.mtHost = new Float64Array(nm).fill(-1);
    this.mtDomid = new Int32Array(nm).fill(-1);
    this.mtRef = new Int32Array(nm).fill(-1);
    this.mtFlags = new Uint8Array(nm);
    this.freeHandles = new Int32Array(nm);
    for (let h = nm - 1; h >= 0; h--) this.freeHandles[this.nFreeHandles++] = h;
  }

  /** Grant entries, reserved ones included. */
  get grantEntries(): number {
    return this.gtFlags.length;
  }

  /** Grants in use. */
  get grantsInUse(): number {
    return this.gtFlags.length - GNTTAB_NR_RESERVED_ENTRIES - this.nFreeRefs;
  }

  /** Foreign frames this domain has mapped. */
  get mappedForeign(): number {
    return this.hostMap.size;
  }

  /** False once the domain is destroyed. */
  get isAlive(): boolean {
    return this.alive;
  }

  /** The machine pfn behind guest frame `gfn` (domain 0: the pfn itself). */
  machineFrame(gfn: number): number {
    if (this.id === 0) return gfn;
    if (!Number.isSafeInteger(gfn) || gfn < 0 || gfn >= this.nrPages)
      throw new InvalidArgumentError(
        `domain ${this.id}: frame ${describeValue(gfn)} is outside its ${this.nrPages} frames`,
        "EINVAL",
        "gfn",
      );
    return this.p2m[gfn]!;
  }

  /**
   * `gnttab_grant_foreign_access`: lets domain `domid` access frame `gfn`, read-only or not.
   * Returns the grant reference, or {@link ENOSPC} when the table is full.
   *
   * @throws {@link @mem/machine!index.InvalidArgumentError} for a bad domain id or frame.
   */
  grantAccess(domid: number, gfn: number, readonly: boolean): number {
    assertUint("domid", domid);
    this.machineFrame(gfn);
    if (this.nFreeRefs === 0) return ENOSPC;
    const ref = this.freeRefs[--this.nFreeRefs]!;
    this.gtFlags[ref] = GTF_permit_access | (readonly ? GTF_readonly : 0);
    this.gtDomid[ref] = domid;
    this.gtFrame[ref] = gfn;
    this.gtHandle[ref] = -1;
    this.hv.count.grants++;
    return ref;
  }

  /**
   * Why ending `ref` is refused, or null when it may end. `mappedIsError` false: a mapped grant is
   * not reported (the caller returns 0 instead).
   * @internal
   */
  endCheck(ref: number, what: string): GrantError | null {
    if (typeof ref !== "number" || !Number.isInteger(ref) || ref < 0 || ref >= this.gtFlags.length)
      return new GrantError(
        GNTST_bad_gntref,
        "bad-gntref",
        `${what}: grant reference ${describeValue(ref)} of domain ${this.id} is out of range [0, ${this.gtFlags.length})`,
      );
    if ((this.gtFlags[ref]! & GTF_permit_access) === 0)
      return new GrantError(
        GNTST_bad_gntref,
        ref < GNTTAB_NR_RESERVED_ENTRIES ? "bad-gntref" : "already-ended",
        ref < GNTTAB_NR_RESERVED_ENTRIES
          ? `${what}: grant reference ${ref} of domain ${this.id} is reserved`
          : `${what}: grant reference ${ref} of domain ${this.id} is not in use (already ended or never granted)`,
      );
    return null;
  }

  /** True when grant `ref` is mapped (or otherwise referenced) by its grantee. */
  isGrantMapped(ref: number): boolean {
    const e = this.endCheck(ref, "isGrantMapped");
    if (e !== null) throw e;
    return (this.gtFlags[ref]! & (GTF_reading | GTF_writing)) !== 0;
  }

  /**
   * `gnttab_end_foreign_access_ref`: ends grant `ref` and returns 1, or returns 0 (and changes
   * nothing) while the grantee still has it mapped.
   *
   * @throws {@link GrantError} for a reference out of range, reserved, or already ended.
   */
  endAccessRef(ref: number): number {
    const e = this.endCheck(ref, "gnttab_end_foreign_access_ref");
    if (e !== null) throw e;
    if ((this.gtFlags[ref]! & (GTF_reading | GTF_writing)) !== 0) return 0;
    this.gtFlags[ref] = 0;
    this.gtDomid[ref] = -1;
    this.gtFrame[ref] = 0;
    this.freeRefs[this.nFreeRefs++] = ref;
    this.hv.count.ends++;
    return 1;
  }

  /**
   * Ends grant `ref`.
   *
   * @throws {@link GrantError} for a reference out of range, reserved or already ended, and when
   * the grantee still has the frame mapped (code `"still-mapped"`); nothing changes then.
   */
  endAccess(ref: number): void {
    if (this.endAccessRef(ref) === 0) {
      const h = this.gtHandle[ref]!;
      throw new GrantError(
        GNTST_general_error,
        "still-mapped",
        `gnttab_end_foreign_access: grant reference ${ref} of domain ${this.id} is still mapped and referenced by domain ${this.gtDomid[ref]} (handle ${h})`,
      );
    }
  }

  /** @internal takes a map handle, or -1. */
  takeHandle(): number {
    return this.nFreeHandles === 0 ? -1 : this.freeHandles[--this.nFreeHandles]!;
  }

  /** @internal returns a map handle. */
  putHandle(h: number): void {
    this.mtHost[h] = -1;
    this.mtDomid[h] = -1;
    this.mtRef[h] = -1;
    this.mtFlags[h] = 0;
    this.freeHandles[this.nFreeHandles++] = h;
  }

  /** @internal marks the domain destroyed. */
  kill(): void {
    this.alive = false;
  }
}

/**
 * The hypervisor: domains, frame contents and the grant operations between domains.
 */
export class Hypervisor {
  /** The page allocator guest memory comes from. */
  readonly buddy: BuddyAllocator;
  /** Domain 0, the control domain (its frames are machine pfns). */
  readonly dom0: Domain;
  /** @internal grant operation counters. */
  readonly count = {
    grants: 0,
    ends: 0,
    maps: 0,
    mapErrors: 0,
    unmaps: 0,
    copies: 0,
    hypercalls: 0,
  };
  private readonly domains: (Domain | undefined)[] = [];
  private contents: Float64Array;
  private lastMessage = "";

  /**
   * @param buddy - the page allocator of the machine.
   * @param dom0Options - grant table sizes of domain 0.
   */
  constructor(buddy: BuddyAllocator, dom0Options: DomainOptions = {}) {
    this.buddy = buddy;
    this.contents = new Float64Array(buddy.machine.pages.flags.length);
    this.dom0 = new Domain(
      this,
      0,
      "Domain-0",
      new Float64Array(0),
      buddy.machine.registerOwner("xen-dom0"),
      dom0Options,
    );
    this.domains[0] = this.dom0;
  }

  /** Grant operation counters. */
  get grantStats(): GrantOpStats {
    return { ...this.count };
  }

  /** The detailed message of the last refused hypercall. */
  get lastError(): string {
    return this.lastMessage;
  }

  /** The live domain `domid`, or null. */
  domain(domid: number): Domain | null {
    const d = this.domains[domid];
    return d?.isAlive ? d : null;
  }

  /**
   * Creates a guest domain with `nrPages` frames taken from the buddy allocator (tagged with the
   * domain as owner). Returns null when memory runs out (nothing is kept then).
   */
  createDomain(name: string, nrPages: number, options: DomainOptions = {}): Domain | null {
    assertUint("nrPages", nrPages);
    const db = this.buddy.machine.pages;
    const frames = new Float64Array(nrPages);
    for (let k = 0; k < nrPages; k++) {
      const pfn = this.buddy.alloc(GFP_KERNEL, 0);
      if (pfn < 0) {
        for (let j = 0; j < k; j++) this.buddy.free(frames[j]!, 0);
        return null;
      }
      frames[k] = pfn;
    }
    const id = this.domains.length;
    const tag = this.buddy.machine.registerOwner(`xen-dom${id}`);
    const d = new Domain(this, id, String(name), frames, tag, options);
    for (let k = 0; k < nrPages; k++) {
      const i = db.indexOf(frames[k]!);
      db.owner[i] = tag;
      this.write(frames[k]!, 0);
    }
    this.domains.push(d);
    return d;
  }

  /**
   * Destroys guest domain `dom`: its frames go back to the buddy allocator.
   *
   * @throws {@link GrantError} while another domain still maps one of its grants, or it maps a
   * foreign frame; nothing changes then.
   */
  destroyDomain(dom: Domain): void {
    if (dom.id === 0 || !dom.isAlive)
      throw new InvalidArgumentError(`domain ${dom.id} cannot be destroyed`, "EINVAL", "domain");
    for (let r = 0; r < dom.grantEntries; r++) {
      if ((dom.gtFlags[r]! & (GTF_reading | GTF_writing)) !== 0)
        throw new GrantError(
          GNTST_general_error,
          "still-mapped",
          `domain ${dom.id}: grant reference ${r} is still mapped by domain ${dom.gtDomid[r]}`,
        );
    }
    if (dom.hostMap.size !== 0)
      throw new GrantError(
        GNTST_general_error,
        "still-mapped",
        `domain ${dom.id} still maps ${dom.hostMap.size} foreign frames`,
      );
    const db = this.buddy.machine.pages;
    for (let k = 0; k < dom.nrPages; k++) {
      const pfn = dom.p2m[k]!;
      db.owner[db.indexOf(pfn)] = 0;
      this.buddy.free(pfn, 0);
    }
    dom.kill();
  }

  // -----------------------------------------------------------------------------------------------
  // Frame contents

  /** Reads the data stamp of frame `frame` as domain `dom` sees it. */
  read(dom: Domain, frame: number): number {
    if (dom.id !== 0) return this.contents[this.slot(dom.machineFrame(frame))]!;
    const h = dom.hostMap.get(frame);
    if (h !== undefined) {
      const granter = this.domains[dom.mtDomid[h]!]!;
      return this.contents[this.slot(granter.machineFrame(granter.gtFrame[dom.mtRef[h]!]!))]!;
    }
    if (dom.ballooned.has(frame))
      throw new KernelPanic(
        "no-frame",
        `domain 0 read pfn ${describeValue(frame)}, which has no machine frame (ballooned out)`,
      );
    return this.contents[this.slot(frame)]!;
  }

  /** Writes the data stamp of frame `frame` as domain `dom` sees it (its own frames only). */
  writeFrame(dom: Domain, frame: number, value: number): void {
    const pfn = dom.machineFrame(frame);
    if (dom.id === 0 && (dom.hostMap.has(pfn) || dom.ballooned.has(pfn)))
      throw new KernelPanic(
        "no-frame",
        `domain 0 wrote pfn ${describeValue(pfn)}, which maps a foreign frame or none`,
      );
    this.write(pfn, value);
  }

  /** Writes a machine frame's contents. */
  private write(pfn: number, value: number): void {
    this.contents[this.slot(pfn)] = value;
  }

  private slot(pfn: number): number {
    const i = this.buddy.machine.pages.indexOrPanic(pfn);
    if (i >= this.contents.length) {
      const c = new Float64Array(this.buddy.machine.pages.flags.length);
      c.set(this.contents);
      this.contents = c;
    }
    return i;
  }

  // -----------------------------------------------------------------------------------------------
  // Grant operations (hypercalls: status codes)

  private refuse(status: number, message: string): number {
    this.lastMessage = message;
    return status;
  }

  /** Checks a map; 0 or a status with {@link Hypervisor.lastError} set. */
  private mapCheck(
    mapper: Domain,
    hostPfn: number,
    flags: number,
    ref: number,
    domid: number,
  ): number {
    const g = this.domains[domid];
    if (g === undefined || !g.isAlive || g === mapper)
      return this.refuse(GNTST_bad_domain, `map: domain ${describeValue(domid)} is not a peer`);
    if (typeof ref !== "number" || !Number.isInteger(ref) || ref < 0 || ref >= g.grantEntries)
      return this.refuse(
        GNTST_bad_gntref,
        `map: grant reference ${describeValue(ref)} of domain ${domid} is out of range [0, ${g.grantEntries})`,
      );
    const gf = g.gtFlags[ref]!;
    if ((gf & GTF_permit_access) === 0)
      return this.refuse(
        GNTST_bad_gntref,
        `map: grant reference ${ref} of domain ${domid} is not in use (already ended or never granted)`,
      );
    if (g.gtDomid[ref] !== mapper.id)
      return this.refuse(
        GNTST_permission_denied,
        `map: grant reference ${ref} of domain ${domid} is granted to domain ${g.gtDomid[ref]}, not ${mapper.id}`,
      );
    if ((gf & GTF_readonly) !== 0 && (flags & GNTMAP_readonly) === 0)
      return this.refuse(
        GNTST_permission_denied,
        `map: grant reference ${ref} of domain ${domid} is read-only, mapped writable`,
      );
    if ((gf & (GTF_reading | GTF_writing)) !== 0)
      return this.refuse(
        GNTST_general_error,
        `map: grant reference ${ref} of domain ${domid} is already mapped (handle ${g.gtHandle[ref]}): a grant is mapped at most once`,
      );
    if ((flags & GNTMAP_host_map) === 0)
      return this.refuse(GNTST_bad_virt_addr, "map: only GNTMAP_host_map mappings are modelled");
    if (
      typeof hostPfn !== "number" ||
      !Number.isSafeInteger(hostPfn) ||
      hostPfn < 0 ||
      mapper.id !== 0 ||
      this.buddy.machine.pages.indexOf(hostPfn) < 0
    )
      return this.refuse(
        GNTST_bad_virt_addr,
        `map: host pfn ${describeValue(hostPfn)} is not a page of domain ${mapper.id}`,
      );
    if (mapper.hostMap.has(hostPfn))
      return this.refuse(
        GNTST_bad_virt_addr,
        `map: host pfn ${describeValue(hostPfn)} already maps a foreign frame`,
      );
    return GNTST_okay;
  }

  /**
   * `GNTTABOP_map_grant_ref`: maps grant `ref` of domain `domid` at `mapper`'s `hostPfn`. Returns
   * the map handle (>= 0) or a negative `GNTST_*` status ({@link Hypervisor.lastError} explains).
   * A grant is mapped at most once in this model.
   */
  gnttabMap(mapper: Domain, hostPfn: number, flags: number, ref: number, domid: number): number {
    this.count.hypercalls++;
    const st = this.mapCheck(mapper, hostPfn, flags, ref, domid);
    if (st !== GNTST_okay) {
      this.count.mapErrors++;
      return st;
    }
    const h = mapper.takeHandle();
    if (h < 0) {
      this.count.mapErrors++;
      return this.refuse(GNTST_no_device_space, `map: domain ${mapper.id} has no free map handle`);
    }
    const g = this.domains[domid]!;
    g.gtFlags[ref] =
      g.gtFlags[ref]! | ((flags & GNTMAP_readonly) !== 0 ? GTF_reading : GTF_writing);
    g.gtHandle[ref] = h;
    mapper.mtHost[h] = hostPfn;
    mapper.mtDomid[h] = domid;
    mapper.mtRef[h] = ref;
    mapper.mtFlags[h] = flags;
    mapper.hostMap.set(hostPfn, h);
    this.count.maps++;
    return h;
  }

  /** Checks an unmap; 0 or a status. */
  private unmapCheck(mapper: Domain, hostPfn: number, handle: number): number {
    if (
      typeof handle !== "number" ||
      !Number.isInteger(handle) ||
      handle < 0 ||
      handle >= mapper.mtHost.length ||
      mapper.mtHost[handle]! < 0
    )
      return this.refuse(
        GNTST_bad_handle,
        `unmap: handle ${describeValue(handle)} of domain ${mapper.id} maps nothing`,
      );
    if (mapper.mtHost[handle] !== hostPfn)
      return this.refuse(
        GNTST_bad_virt_addr,
        `unmap: handle ${handle} maps host pfn ${mapper.mtHost[handle]}, not ${describeValue(hostPfn)}`,
      );
    return GNTST_okay;
  }

  /** `GNTTABOP_unmap_grant_ref` for one mapping: a `GNTST_*` status. */
  gnttabUnmap(mapper: Domain, hostPfn: number, handle: number): number {
    this.count.hypercalls++;
    return this.unmapOne(mapper, hostPfn, handle);
  }

  /**
   * A batch of unmaps in one hypercall; `statuses[k]` receives each status. Returns the number of
   * failures.
   */
  gnttabUnmapBatch(
    mapper: Domain,
    hostPfns: ArrayLike<number>,
    handles: ArrayLike<number>,
    count: number,
    statuses?: Int32Array,
  ): number {
    this.count.hypercalls++;
    let bad = 0;
    for (let k = 0; k < count; k++) {
      const st = this.unmapOne(mapper, hostPfns[k]!, handles[k]!);
      if (statuses !== undefined) statuses[k] = st;
      if (st !== GNTST_okay) bad++;
    }
    return bad;
  }

  private unmapOne(mapper: Domain, hostPfn: number, handle: number): number {
    const st = this.unmapCheck(mapper, hostPfn, handle);
    if (st !== GNTST_okay) return st;
    const g = this.domains[mapper.mtDomid[handle]!]!;
    const ref = mapper.mtRef[handle]!;
    g.gtFlags[ref] = g.gtFlags[ref]! & ~(GTF_reading | GTF_writing);
    g.gtHandle[ref] = -1;
    mapper.hostMap.delete(hostPfn);
    mapper.putHandle(handle);
    this.count.unmaps++;
    return GNTST_okay;
  }

  /**
   * `GNTTABOP_copy` from domain 0's local pfn `srcPfn` into grant `ref` of domain `domid` (the
   * receive path). Returns a `GNTST_*` status.
   */
  gnttabCopy(srcPfn: number, ref: number, domid: number): number {
    this.count.hypercalls++;
    const g = this.domains[domid];
    if (g === undefined || !g.isAlive || g.id === 0)
      return this.refuse(GNTST_bad_domain, `copy: domain ${describeValue(domid)} is not a guest`);
    if (typeof ref !== "number" || !Number.isInteger(ref) || ref < 0 || ref >= g.grantEntries)
      return this.refuse(
        GNTST_bad_gntref,
        `copy: grant reference ${describeValue(ref)} is out of range`,
      );
    const gf = g.gtFlags[ref]!;
    if ((gf & GTF_permit_access) === 0 || g.gtDomid[ref] !== 0)
      return this.refuse(
        GNTST_bad_gntref,
        `copy: grant reference ${ref} of domain ${domid} is not granted to domain 0`,
      );
    if ((gf & GTF_readonly) !== 0)
      return this.refuse(
        GNTST_permission_denied,
        `copy: grant reference ${ref} of domain ${domid} is read-only`,
      );
    if (!Number.isSafeInteger(srcPfn) || srcPfn < 0 || this.buddy.machine.pages.indexOf(srcPfn) < 0)
      return this.refuse(
        GNTST_bad_copy_arg,
        `copy: source pfn ${describeValue(srcPfn)} is not a page`,
      );
    const v = this.read(this.dom0, srcPfn);
    this.write(g.machineFrame(g.gtFrame[ref]!), v);
    this.count.copies++;
    return GNTST_okay;
  }

  // -----------------------------------------------------------------------------------------------
  // Idiomatic wrappers (throw)

  /**
   * Maps grant `ref` of domain `domid` at domain 0's `hostPfn` (read-only when `readonly`).
   * Returns the handle.
   *
   * @throws {@link GrantError} for a bad domain, a reference out of range or ended, a read-only
   * grant mapped writable, a double map, or a host pfn already mapping; nothing changes then.
   */
  mapGrant(hostPfn: number, domid: number, ref: number, readonly: boolean): number {
    const flags = GNTMAP_host_map | (readonly ? GNTMAP_readonly : 0);
    const h = this.gnttabMap(this.dom0, hostPfn, flags, ref, domid);
    if (h < 0) throw new GrantError(h, codeOf(h, this.lastMessage), this.lastMessage);
    return h;
  }

  /**
   * Unmaps `handle` (mapped at `hostPfn`).
   *
   * @throws {@link GrantError} for a handle that maps nothing or maps another pfn.
   */
  unmapGrant(hostPfn: number, handle: number): void {
    const st = this.gnttabUnmap(this.dom0, hostPfn, handle);
    if (st !== GNTST_okay) throw new GrantError(st, codeOf(st, this.lastMessage), this.lastMessage);
  }
}

function codeOf(status: number, message: string): string {
  if (message.includes("already mapped")) return "double-map";
  if (message.includes("not in use")) return "already-ended";
  if (status === GNTST_bad_gntref) return "bad-gntref";
  if (status === GNTST_bad_domain) return "bad-domain";
  if (status === GNTST_bad_handle) return "bad-handle";
  if (status === GNTST_permission_denied) return "permission-denied";
  if (status === GNTST_bad_virt_addr) return "bad-host-pfn";
  return "grant-error";
}
