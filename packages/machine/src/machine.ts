/**
 * The simulated machine: its description, RAM ranges, nodes, zones, sparsemem sections, the page
 * frame database, kernel virtual space, devices, and memory hotplug. Every subsystem sees the
 * hardware through this object.
 *
 * @module
 */
import type {
  Arch,
  DeviceDescription,
  KernelVirtualSpace,
  MachineDescription,
  MachineSpec,
  MemoryRange,
} from "./description.js";
import { InvalidArgumentError, KernelPanic } from "./errors.js";
import type { HotplugEvent, HotplugListener, HotplugSource, PfnRange } from "./interfaces.js";
import { ARCH_FACTS, NO_ZONE, ZONE_HIGHMEM, ZONE_MOVABLE, ZONE_NORMAL } from "./internal/arch.js";
import { normalizeSpec } from "./internal/normalize.js";
import { PageDatabase } from "./page-database.js";
import { PG_hole, PG_reserved } from "./page-flags.js";
import { assertUint, describeValue, log2Exact } from "./validate.js";
import { Zone } from "./zone.js";

/** A RAM range as the early allocator sees it (Linux's memblock.memory region), in pfns. */
export interface RamRange extends PfnRange {
  /** The node it belongs to. */
  readonly nid: number;
  /** For hot-added memory, the zone type it was added to; boot RAM is zoned by address. */
  readonly zoneType?: number;
}

/** A node with its RAM span in pfns (empty when it has no RAM: start = end = 0). */
export interface Node {
  /** Node id. */
  readonly id: number;
  /** First RAM pfn of the node. */
  startPfn: number;
  /** One past the last RAM pfn of the node. */
  endPfn: number;
  /** The node's zones, in Linux's order. */
  readonly zones: readonly Zone[];
}

function mergeRanges(ranges: PfnRange[]): PfnRange[] {
  const sorted = ranges.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const out: { start: number; end: number }[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ start: r.start, end: r.end });
  }
  return out;
}

/**
 * A booted-up hardware model. Create it with {@link createMachine}.
 */
export class Machine implements HotplugSource {
  /** The validated description it was built from (hot-added memory is not in it). */
  readonly description: MachineDescription;
  /** A name for logs. */
  readonly name: string;
  /** Architecture. */
  readonly arch: Arch;
  /** Bytes per page. */
  readonly pageSize: number;
  /** log2(pageSize). */
  readonly pageShift: number;
  /** `BITS_PER_LONG`. */
  readonly wordBits: 32 | 64;
  /** `MAX_PHYSMEM_BITS`. */
  readonly physAddrBits: number;
  /** One past the highest pfn the address width allows. */
  readonly maxPossiblePfn: number;
  /** Pages per sparsemem section. */
  readonly sectionPages: number;
  /** CPUs. */
  readonly cpus: number;
  /** Bytes per cache line (`SMP_CACHE_BYTES`). */
  readonly cacheLineSize: number;
  /** Kernel virtual address space for mappings. */
  readonly kernelVirtual: KernelVirtualSpace;
  /** Devices. */
  readonly devices: readonly DeviceDescription[];
  /** The page frame database. */
  readonly pages: PageDatabase;
  /** Nodes in id order. */
  readonly nodes: readonly Node[];
  /** Every zone of every node (populated or not), node by node in Linux's zone order. */
  readonly zones: readonly Zone[];
  /** Zone type ids of this architecture, in order. */
  readonly zoneTypes: readonly number[];
  /** Boot-time lowest pfn of each zone type (`arch_zone_lowest_possible_pfn`), by position in {@link zoneTypes}. */
  readonly zoneLowestPfn: readonly number[];
  /** Boot-time highest pfn of each zone type (`arch_zone_highest_possible_pfn`), exclusive. */
  readonly zoneHighestPfn: readonly number[];

  private memoryMapRanges: MemoryRange[];
  private ram: RamRange[];
  private readonly listeners: HotplugListener[] = [];
  private readonly ownerNames: string[] = [""];
  private readonly bootRam: RamRange[];

  /** @internal use {@link createMachine}. */
  constructor(desc: MachineDescription) {
    this.description = desc;
    this.name = desc.name;
    this.arch = desc.arch;
    this.pageSize = desc.pageSize;
    this.pageShift = log2Exact(desc.pageSize);
    this.wordBits = desc.wordBits;
    this.physAddrBits = desc.physAddrBits;
    this.maxPossiblePfn = 2 ** desc.physAddrBits / desc.pageSize;
    this.sectionPages = desc.sectionSize / desc.pageSize;
    this.cpus = desc.cpus;
    this.cacheLineSize = desc.cacheLineSize;
    this.kernelVirtual = desc.kernelVirtual;
    this.devices = desc.devices;
    this.memoryMapRanges = [...desc.memoryMap];
    const facts = ARCH_FACTS[desc.arch];
    const ps = desc.pageSize;

    // memblock.memory: usable ranges, whole pages only, page 0 trimmed on x86, split by node.
    const ram: RamRange[] = [];
    for (const r of desc.memoryMap) {
      if (r.type !== "usable") continue;
      let start = Math.ceil(r.start / ps);
      const end = Math.floor(r.end / ps);
      if (facts.reservePageZero && start === 0) start = 1;
      for (const n of desc.nodes) {
        const s = Math.max(start, Math.ceil(n.start / ps));
        const e = Math.min(end, Math.floor(n.end / ps));
        if (e > s) ram.push({ start: s, end: e, nid: n.id });
      }
    }
    ram.sort((a, b) => a.start - b.start);
    this.ram = ram;
    this.bootRam = [...ram];

    const maxPfn = ram.reduce((m, r) => Math.max(m, r.end), 0);
    const minPfn = ram.reduce((m, r) => Math.min(m, r.start), Number.POSITIVE_INFINITY);
    this.zoneTypes = facts.zones.map((z) => z.type);
    const lows: number[] = [];
    const highs: number[] = [];
    let lowPfn = minPfn;
    for (const z of facts.zones) {
      if (z.type === ZONE_MOVABLE) {
        lows.push(0);
        highs.push(0);
        continue;
      }
      const high = Math.max(Math.min(z.limit / ps, maxPfn), lowPfn);
      lows.push(lowPfn);
      highs.push(high);
      lowPfn = high;
    }
    this.zoneLowestPfn = lows;
    this.zoneHighestPfn = highs;

    const nodes: Node[] = [];
    const zones: Zone[] = [];
    for (const n of [...desc.nodes].sort((a, b) => a.id - b.id)) {
      const mine = ram.filter((r) => r.nid === n.id);
      const startPfn = mine.length ? mine[0]!.start : 0;
      const endPfn = mine.length ? mine[mine.length - 1]!.end : 0;
      const nodeZones: Zone[] = [];
      let low = 0;
      facts.zones.forEach((z, idx) => {
        const limitPfn =
          z.limit === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : z.limit / ps;
        const zone = new Zone(
          zones.length,
          n.id,
          z.type,
          idx,
          z.type === ZONE_MOVABLE ? 0 : low,
          limitPfn,
        );
        if (z.type !== ZONE_MOVABLE) {
          const s = Math.min(Math.max(startPfn, low), limitPfn);
          const e = Math.min(Math.max(endPfn, low), limitPfn);
          if (e > s) {
            zone.startPfn = s;
            zone.spannedPages = e - s;
          }
          low = limitPfn;
        }
        zones.push(zone);
        nodeZones.push(zone);
      });
      nodes.push({ id: n.id, startPfn, endPfn, zones: nodeZones });
    }
    this.nodes = nodes;
    this.zones = zones;
    for (const zone of zones) zone.presentPages = this.ramPagesIn(zone.startPfn, zone.endPfn);

    const sections = new Set<number>();
    for (const r of ram) {
      const first = Math.floor(r.start / this.sectionPages);
      const last = Math.floor((r.end - 1) / this.sectionPages);
      for (let s = first; s <= last; s++) sections.add(s);
    }
    this.pages = new PageDatabase(this.sectionPages, sections.size);
    for (const s of [...sections].sort((a, b) => a - b)) this.initSection(s);
  }

  /** The memory map: boot ranges plus hot-added RAM, sorted. */
  get memoryMap(): readonly MemoryRange[] {
    return this.memoryMapRanges;
  }

  /** RAM ranges in pfns by node (memblock.memory), sorted; hot-added memory included. */
  get ramRanges(): readonly RamRange[] {
    return this.ram;
  }

  /** RAM ranges as they were at boot ("Early memory node ranges"). */
  get bootRamRanges(): readonly RamRange[] {
    return this.bootRam;
  }

  /**
   * `__pa(MAX_DMA_ADDRESS)`: the physical address where the DMA zone ends (16 MiB on the PC and
   * Alpha layouts), the limit of `alloc_bootmem_low`.
   */
  get maxDmaAddress(): number {
    return ARCH_FACTS[this.arch].zones[0]!.limit;
  }

  /** One past the highest RAM pfn (`max_pfn`). */
  get maxPfn(): number {
    return this.ram.reduce((m, r) => Math.max(m, r.end), 0);
  }

  /** Total RAM pages (sum of present pages over zones). */
  get totalPages(): number {
    return this.zones.reduce((sum, z) => sum + z.presentPages, 0);
  }

  /** True when `pfn` has a page frame: its section is present (Linux's `pfn_valid`). */
  pfnValid(pfn: number): boolean {
    if (!Number.isSafeInteger(pfn) || pfn < 0 || pfn >= this.maxPossiblePfn) return false;
    return this.pages.hasSection(Math.floor(pfn / this.sectionPages));
  }

  /**
   * True when any pfn in `[startPfn, endPfn)` is valid. Looks at every section the range touches,
   * not only its two ends, and takes pfns, not table indexes (the 2005 seed's version did both
   * wrong).
   */
  pfnValidRange(startPfn: number, endPfn: number): boolean {
    assertUint("startPfn", startPfn);
    assertUint("endPfn", endPfn);
    const end = Math.min(endPfn, this.maxPossiblePfn);
    if (end <= startPfn) return false;
    const first = Math.floor(startPfn / this.sectionPages);
    const last = Math.floor((end - 1) / this.sectionPages);
    for (let s = first; s <= last; s++) if (this.pages.hasSection(s)) return true;
    return false;
  }

  /** Sorted, merged pfn ranges of the present sections (where {@link pfnValid} holds). */
  presentPfnRanges(): readonly PfnRange[] {
    const sp = this.sectionPages;
    const secs = new Set<number>();
    for (const r of this.ram) {
      for (let s = Math.floor(r.start / sp); s <= Math.floor((r.end - 1) / sp); s++) secs.add(s);
    }
    return mergeRanges([...secs].map((s) => ({ start: s * sp, end: (s + 1) * sp })));
  }

  /** True when `pfn` is a page of RAM (inside a RAM range). */
  pfnIsRam(pfn: number): boolean {
    const ram = this.ram;
    let lo = 0;
    let hi = ram.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = ram[mid]!;
      if (pfn < r.start) hi = mid - 1;
      else if (pfn >= r.end) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** Number of RAM pages in `[startPfn, endPfn)`. */
  ramPagesIn(startPfn: number, endPfn: number): number {
    let n = 0;
    for (const r of this.ram)
      n += Math.max(0, Math.min(r.end, endPfn) - Math.max(r.start, startPfn));
    return n;
  }

  /** The zone whose span holds `pfn`, or undefined. */
  zoneOfPfn(pfn: number): Zone | undefined {
    const i = this.pages.indexOf(pfn);
    if (i >= 0) {
      const zn = this.pages.zoneNode[i]!;
      const type = zn % 8;
      if (type !== NO_ZONE) return this.zoneByType(Math.floor(zn / 8), type);
    }
    return this.zones.find((z) => z.spans(pfn));
  }

  /** The zone of node `nid` with type id `type`, or undefined when the architecture has none. */
  zoneByType(nid: number, type: number): Zone | undefined {
    const node = this.nodes.find((n) => n.id === nid);
    return node?.zones.find((z) => z.type === type);
  }

  /** The node holding `pfn` in its description range, or undefined. */
  nodeOfPfn(pfn: number): number | undefined {
    const addr = pfn * this.pageSize;
    return this.description.nodes.find((n) => addr >= n.start && addr < n.end)?.id;
  }

  /**
   * Registers an owner of pages (a driver, a cache, a foreign-page pool) and returns its tag for
   * the page database's `owner` field. Registering the same name twice returns the same tag.
   */
  registerOwner(name: string): number {
    const known = this.ownerNames.indexOf(name);
    if (known > 0) return known;
    if (this.ownerNames.length >= 0xffff)
      throw new InvalidArgumentError("too many page owners", "ENOSPC");
    this.ownerNames.push(name);
    return this.ownerNames.length - 1;
  }

  /** The name of owner tag `tag` ("" for none). */
  ownerName(tag: number): string {
    return this.ownerNames[tag] ?? `owner#${tag}`;
  }

  /** Subscribes to memory hotplug events; returns the unsubscribe function. */
  subscribe(listener: HotplugListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * Hot-adds `[startPfn, startPfn + nrPages)` of RAM to node `nid`, whole sections only. The pages
   * join the node's Normal zone (HighMem on i386; Movable when `movable`), reserved, and
   * listeners hear `"online"` (the page allocator frees them then).
   *
   * @throws {@link InvalidArgumentError} for an unaligned range, one beyond the address width, a
   * present section, or an unknown node.
   */
  addMemory(startPfn: number, nrPages: number, nid = 0, movable = false): void {
    assertUint("startPfn", startPfn);
    assertUint("nrPages", nrPages);
    const sp = this.sectionPages;
    if (nrPages === 0 || startPfn % sp !== 0 || nrPages % sp !== 0) {
      throw new InvalidArgumentError(
        `hotplug ranges must be whole sections of ${sp} pages, got start ${describeValue(startPfn)} size ${describeValue(nrPages)}`,
        "EINVAL",
        "startPfn",
      );
    }
    const endPfn = startPfn + nrPages;
    if (endPfn > this.maxPossiblePfn)
      throw new InvalidArgumentError(
        `pfn range ends at ${endPfn}, beyond the ${this.physAddrBits}-bit address width`,
        "ERANGE",
        "nrPages",
      );
    const node = this.nodes.find((n) => n.id === nid);
    if (!node) throw new InvalidArgumentError(`no node ${describeValue(nid)}`, "EINVAL", "nid");
    for (let s = startPfn / sp; s < endPfn / sp; s++) {
      if (this.pages.hasSection(s))
        throw new InvalidArgumentError(
          `section ${s} (pfn ${s * sp}) is already present`,
          "EEXIST",
          "startPfn",
        );
    }
    const ps = this.pageSize;
    if (this.memoryMapRanges.some((r) => r.start < endPfn * ps && startPfn * ps < r.end)) {
      throw new InvalidArgumentError(
        `pfn range ${startPfn}-${endPfn} overlaps the memory map`,
        "EEXIST",
        "startPfn",
      );
    }
    const type = movable
      ? ZONE_MOVABLE
      : this.zoneTypes.includes(ZONE_HIGHMEM)
        ? ZONE_HIGHMEM
        : ZONE_NORMAL;
    const zone = node.zones.find((z) => z.type === type)!;

    this.memoryMapRanges = [
      ...this.memoryMapRanges,
      { start: startPfn * ps, end: endPfn * ps, type: "usable" as const, name: "hotplug" },
    ].sort((a, b) => a.start - b.start);
    this.ram = [...this.ram, { start: startPfn, end: endPfn, nid, zoneType: type }].sort(
      (a, b) => a.start - b.start,
    );
    node.startPfn = node.startPfn === node.endPfn ? startPfn : Math.min(node.startPfn, startPfn);
    node.endPfn = Math.max(node.endPfn, endPfn);
    const zs = zone.spannedPages === 0 ? startPfn : Math.min(zone.startPfn, startPfn);
    const ze = zone.spannedPages === 0 ? endPfn : Math.max(zone.endPfn, endPfn);
    zone.startPfn = zs;
    zone.spannedPages = ze - zs;
    zone.presentPages += nrPages;
    for (let s = startPfn / sp; s < endPfn / sp; s++) this.initSection(s, zone);
    this.emit({ type: "online", startPfn, endPfn, nid });
  }

  /**
   * Hot-removes `[startPfn, startPfn + nrPages)`, whole hot-added or boot sections of RAM. Listeners
   * hear `"going-offline"`; any of them may veto (returns false), in which case all hear
   * `"cancel-offline"` and this returns false. Otherwise they hear `"offline"`, the sections'
   * page frames are dropped, and this returns true.
   *
   * @throws {@link InvalidArgumentError} for an unaligned range or one with absent sections.
   */
  removeMemory(startPfn: number, nrPages: number): boolean {
    assertUint("startPfn", startPfn);
    assertUint("nrPages", nrPages);
    const sp = this.sectionPages;
    if (nrPages === 0 || startPfn % sp !== 0 || nrPages % sp !== 0) {
      throw new InvalidArgumentError(
        `hotplug ranges must be whole sections of ${sp} pages, got start ${describeValue(startPfn)} size ${describeValue(nrPages)}`,
        "EINVAL",
        "startPfn",
      );
    }
    const endPfn = startPfn + nrPages;
    for (let s = startPfn / sp; s < endPfn / sp; s++) {
      if (!this.pages.hasSection(s))
        throw new InvalidArgumentError(
          `section ${s} (pfn ${s * sp}) is not present`,
          "ENOENT",
          "startPfn",
        );
    }
    const nid = this.ram.find((r) => r.start < endPfn && startPfn < r.end)?.nid ?? 0;
    const going: HotplugEvent = { type: "going-offline", startPfn, endPfn, nid };
    for (const l of [...this.listeners]) {
      if (l(going) === false) {
        this.emit({ type: "cancel-offline", startPfn, endPfn, nid });
        return false;
      }
    }
    this.emit({ type: "offline", startPfn, endPfn, nid });
    const ps = this.pageSize;
    // Cut the range out of the memory map and of the RAM ranges.
    const cutBytes = (r: MemoryRange): MemoryRange[] => {
      const a = startPfn * ps;
      const b = endPfn * ps;
      if (r.end <= a || r.start >= b) return [r];
      const out: MemoryRange[] = [];
      if (r.start < a) out.push({ ...r, end: a });
      if (r.end > b) out.push({ ...r, start: b });
      return out;
    };
    this.memoryMapRanges = this.memoryMapRanges.flatMap(cutBytes);
    this.ram = this.ram.flatMap((r) => {
      if (r.end <= startPfn || r.start >= endPfn) return [r];
      const out: RamRange[] = [];
      if (r.start < startPfn) out.push({ ...r, end: startPfn });
      if (r.end > endPfn) out.push({ ...r, start: endPfn });
      return out;
    });
    for (let s = startPfn / sp; s < endPfn / sp; s++) this.pages.removeSection(s);
    this.recomputeSpans();
    return true;
  }

  /** Re-derives node and zone spans and present counts from the RAM ranges (after a removal). */
  private recomputeSpans(): void {
    for (const node of this.nodes) {
      const mine = this.ram.filter((r) => r.nid === node.id);
      node.startPfn = mine.length ? mine[0]!.start : 0;
      node.endPfn = mine.length ? mine[mine.length - 1]!.end : 0;
      for (const zone of node.zones) {
        let s = Number.POSITIVE_INFINITY;
        let e = 0;
        let present = 0;
        for (const r of mine) {
          let lo: number;
          let hi: number;
          if (r.zoneType !== undefined) {
            if (r.zoneType !== zone.type) continue;
            lo = r.start;
            hi = r.end;
          } else {
            if (zone.type === ZONE_MOVABLE) continue;
            lo = Math.max(r.start, zone.lowPfn);
            hi = Math.min(r.end, zone.limitPfn);
          }
          if (hi > lo) {
            s = Math.min(s, lo);
            e = Math.max(e, hi);
            present += hi - lo;
          }
        }
        zone.startPfn = e > 0 ? s : 0;
        zone.spannedPages = e > 0 ? e - s : 0;
        zone.presentPages = present;
      }
    }
  }

  private emit(event: HotplugEvent): void {
    for (const l of [...this.listeners]) l(event);
  }

  /** Creates the page frames of section `sec`: reserved, holes marked, zone and node set. */
  private initSection(sec: number, hotZone?: Zone): void {
    const db = this.pages;
    db.addSection(sec);
    const sp = this.sectionPages;
    const base = sec * sp;
    const firstIndex = db.indexOf(base);
    if (hotZone) {
      db.zoneNode.fill(hotZone.nid * 8 + hotZone.type, firstIndex, firstIndex + sp);
      return;
    }
    db.flags.fill(PG_reserved | PG_hole, firstIndex, firstIndex + sp);
    for (const r of this.ram) {
      const s = Math.max(r.start, base);
      const e = Math.min(r.end, base + sp);
      if (e <= s) continue;
      db.flags.fill(PG_reserved, firstIndex + (s - base), firstIndex + (e - base));
    }
    for (const zone of this.zones) {
      const s = Math.max(zone.startPfn, base);
      const e = Math.min(zone.endPfn, base + sp);
      if (e <= s) continue;
      db.zoneNode.fill(zone.nid * 8 + zone.type, firstIndex + (s - base), firstIndex + (e - base));
    }
  }
}

/**
 * Builds a machine from a description or a spec (defaults filled in).
 *
 * @throws {@link InvalidArgumentError} naming the field, for a description no kernel could boot.
 */
export function createMachine(spec: MachineSpec | MachineDescription): Machine {
  return new Machine(normalizeSpec(spec));
}

/** Throws a {@link KernelPanic} when `pfn` has no page frame; returns its index otherwise. */
export function pageIndexOrPanic(machine: Machine, pfn: number): number {
  if (!machine.pfnValid(pfn))
    throw new KernelPanic("bad-pfn", `pfn ${describeValue(pfn)} has no page frame`);
  return machine.pages.indexOf(pfn);
}
