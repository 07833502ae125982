/**
 * The boot path: machine, boot allocator (rootmem or memblock), reservations (kernel image, initrd,
 * the page frame database, the extent region descriptors, the pageflags maps, hash tables), the
 * hand-over to the buddy allocator, and the drivers.
 *
 * @module
 */
import { type BootAllocator, fromMachine } from "@mem/bootmem";
import { BuddyAllocator, GFP_KERNEL } from "@mem/buddy";
import * as buddyCompat from "@mem/buddy/compat";
import { PageQueues } from "@mem/contig";
import { Extent } from "@mem/extent";
import { EXTENT_FIXED_STORAGE_SIZE } from "@mem/extent/compat";
import {
  bootLines,
  createMachine,
  DEFAULT_PRESET,
  InvalidArgumentError,
  loadMachineSpec,
  type Machine,
  type MachineSpec,
  type PageAllocator,
  ZONE_DMA,
  ZONE_HIGHMEM,
  ZONE_MOVABLE,
} from "@mem/machine";
import * as machineCompat from "@mem/machine/compat";
import { createPageFlags, type PageFlagMap } from "@mem/pageflags";
import * as pageflagsCompat from "@mem/pageflags/compat";
import * as xenCompat from "@mem/xen-foreign/compat";
import { ContigDriver } from "./contig.js";
import { KernelLog } from "./dmesg.js";
import { IsaSoundCard } from "./drivers/isa-sound.js";
import { PciCaptureCard } from "./drivers/pci-capture.js";
import { Kernel } from "./kernel.js";
import { PageCache } from "./page-cache.js";
import { XenDriver } from "./xen.js";

/** Options of {@link bootKernel}. */
export interface BootOptions {
  /** A preset name, a machine file path (e820 excerpt, /proc/iomem copy, JSON), or a spec. @defaultValue "x86_64-4g" */
  readonly machine?: string | MachineSpec | undefined;
  /** The boot allocator. @defaultValue "rootmem" */
  readonly bootAllocator?: "rootmem" | "memblock" | undefined;
  /** `vm.min_free_kbytes`; 0 computes Linux's default. @defaultValue 0 */
  readonly minFreeKbytes?: number | undefined;
  /** Simulated CPUs. @defaultValue the machine's */
  readonly cpus?: number | undefined;
  /** Seed of every random choice. @defaultValue 1 */
  readonly seed?: number | undefined;
  /** Run every invariant checker after every operation (slow; for tests). @defaultValue false */
  readonly debug?: boolean | undefined;
  /**
   * `contigmalloc` is FreeBSD 4.7's `contigmalloc1` (leaks the wired pages when the kernel map is
   * full); false gives PR 55081's fixed version. @defaultValue true
   */
  readonly legacyContigmalloc?: boolean | undefined;
}

function uintOption(name: string, v: number | undefined, min = 0): void {
  if (v === undefined) return;
  if (!Number.isSafeInteger(v) || v < min)
    throw new InvalidArgumentError(
      `${name} must be an integer >= ${min}, got ${String(v)}`,
      "EINVAL",
      name,
    );
}

const hex = (v: number, w = 16): string => `0x${v.toString(16).padStart(w, "0")}`;
const memRange = (s: number, e: number): string => `[mem ${hex(s)}-${hex(e - 1)}]`;

/** `alloc_large_system_hash()`'s sizing: entries and bytes for `scale` (log2 bytes per entry). */
export function largeSystemHash(
  kernelPages: number,
  pageShift: number,
  scale: number,
  bucketSize: number,
): { entries: number; bytes: number; order: number } {
  let n = Math.ceil(kernelPages / 2 ** (20 - pageShift)) * 2 ** (20 - pageShift);
  n = scale > pageShift ? Math.floor(n / 2 ** (scale - pageShift)) : n * 2 ** (pageShift - scale);
  n = 2 ** Math.ceil(Math.log2(Math.max(1, n)));
  const max = Math.floor((kernelPages * 2 ** pageShift) / 16 / bucketSize);
  while (n > max && n > 1) n /= 2;
  const bytes = n * bucketSize;
  const order = Math.max(0, Math.ceil(Math.log2(bytes / 2 ** pageShift)));
  return { entries: n, bytes, order };
}

/** Resolves the machine option into a spec. */
export function resolveMachineSpec(
  machine: string | MachineSpec | undefined,
  cpus?: number,
): MachineSpec {
  const spec = typeof machine === "object" ? machine : loadMachineSpec(machine ?? DEFAULT_PRESET);
  return cpus === undefined ? spec : { ...spec, cpus };
}

/** Boots a kernel. */
export function bootKernel(options: BootOptions = {}): Kernel {
  uintOption("minFreeKbytes", options.minFreeKbytes);
  uintOption("cpus", options.cpus, 1);
  uintOption("seed", options.seed);
  const kind = options.bootAllocator ?? "rootmem";
  if (kind !== "rootmem" && kind !== "memblock")
    throw new InvalidArgumentError(
      `bootAllocator must be "rootmem" or "memblock", got ${String(kind)}`,
      "EINVAL",
      "bootAllocator",
    );
  const spec = resolveMachineSpec(options.machine, options.cpus);
  const machine = createMachine(spec);
  const log = new KernelLog();
  const ps = machine.pageSize;
  const lines = bootLines(machine);
  const zoneAt = lines.indexOf("Zone ranges:");
  const early = zoneAt >= 0 ? lines.slice(0, zoneAt) : lines;
  const late = zoneAt >= 0 ? lines.slice(zoneAt) : [];
  log.print(...early);
  log.advance(100);

  // The boot allocator.
  const bootmem: BootAllocator = fromMachine(machine, {
    allocator: kind,
    printk: (l: string) => log.print(l),
  });
  if (kind === "memblock") {
    let mem = 0;
    for (const r of machine.ramRanges) mem += (r.end - r.start) * ps;
    log.print(`memblock: memory size = ${hex(mem, 8)} (${machine.ramRanges.length} regions)`);
  }
  const reservations: { start: number; end: number; name: string }[] = [];
  const reserve = (start: number, size: number, name: string): void => {
    bootmem.reserve(start, size);
    reservations.push({ start, end: start + size, name });
    log.print(`bootmem: reserved ${memRange(start, start + size)} ${name}`);
  };
  const allocate = (size: number, name: string, align = ps, nid = -1): number => {
    const a = bootmem.alloc(size, { align, nid });
    if (a === null)
      throw new InvalidArgumentError(
        `machine: no boot memory for ${name} (${size} bytes); the machine is too small`,
        "ENOMEM",
        "machine",
      );
    reservations.push({ start: a, end: a + size, name });
    return a;
  };

  // Kernel image at 16 MiB (or the first RAM that holds it), its segments as Linux counts them.
  const big = machine.wordBits === 64 && machine.totalPages * ps >= 2 ** 31;
  const seg = big
    ? { code: 14336, rwdata: 2368, rodata: 9376, init: 2776, bss: 4928 }
    : { code: 3584, rwdata: 592, rodata: 2344, init: 696, bss: 1232 };
  const roundK = (kb: number): number => Math.ceil((kb * 1024) / ps) * ps;
  const imageBytes =
    roundK(seg.code) + roundK(seg.rodata) + roundK(seg.rwdata) + roundK(seg.init) + roundK(seg.bss);
  const inRam = (start: number, bytes: number): boolean =>
    machine.ramRanges.some((r) => r.start * ps <= start && start + bytes <= r.end * ps);
  let kstart = 16 * 2 ** 20;
  if (!inRam(kstart, imageBytes)) {
    const r = machine.ramRanges.find((x) => (x.end - Math.max(x.start, 256)) * ps >= imageBytes);
    if (!r)
      throw new InvalidArgumentError(
        "machine: no RAM range holds the kernel image",
        "ENOMEM",
        "machine",
      );
    kstart = Math.max(r.start, Math.ceil(2 ** 20 / ps)) * ps;
  }
  let at = kstart;
  const segments: { name: string; start: number; end: number }[] = [];
  for (const [name, kb] of [
    ["Kernel code", seg.code],
    ["Kernel rodata", seg.rodata],
    ["Kernel data", seg.rwdata],
    ["Kernel init", seg.init],
    ["Kernel bss", seg.bss],
  ] as const) {
    segments.push({ name, start: at, end: at + roundK(kb) });
    at += roundK(kb);
  }
  reserve(kstart, imageBytes, "kernel image");

  // The initrd at the top of low memory.
  const initrdBytes = Math.min(8 * 2 ** 20, Math.floor((machine.totalPages * ps) / 32 / ps) * ps);
  const lowLimit = machine.wordBits === 32 ? 896 * 2 ** 20 : 2 ** 32;
  let initrd = -1;
  for (const r of [...machine.ramRanges].reverse()) {
    const top = Math.min(r.end * ps, lowLimit);
    const s = Math.floor((top - initrdBytes) / ps) * ps;
    if (s >= r.start * ps && s >= kstart + imageBytes) {
      initrd = s;
      break;
    }
  }
  if (initrd >= 0) {
    bootmem.reserve(initrd, initrdBytes);
    reservations.push({ start: initrd, end: initrd + initrdBytes, name: "initrd" });
    log.print(`RAMDISK: [mem ${hex(initrd, 8)}-${hex(initrd + initrdBytes - 1, 8)}]`);
  }
  log.advance(50);
  log.print(...late);

  // Boot-time structures.
  for (const node of machine.nodes) {
    let pages = 0;
    for (const z of node.zones) pages += z.presentPages;
    if (pages === 0) continue;
    const bytes = Math.ceil((pages * 32) / ps) * ps;
    const a = allocate(bytes, `mem_map node ${node.id}`, ps, node.id);
    log.print(
      `On node ${node.id}, mem_map: ${memRange(a, a + bytes)} (${bytes / 1024}K for ${pages} page frames, 32 bytes each)`,
    );
  }
  const dmaZone = machine.zones.find((z) => z.type === ZONE_DMA && z.presentPages > 0);
  const dmaPages = dmaZone?.presentPages ?? 0;
  const descriptors = Math.floor(dmaPages / 2) + 1;
  const mirrorBytes = EXTENT_FIXED_STORAGE_SIZE(descriptors, machine.wordBits);
  const ma = allocate(Math.ceil(mirrorBytes / 64) * 64, "extent region descriptors", 64);
  log.print(
    `extent: vm_page_ex: ${descriptors} region descriptors ((managed DMA pages ${dmaPages} / 2) + 1), ${mirrorBytes} bytes at ${hex(ma)}`,
  );
  let bootmemReleased = false;
  let lateFree: ((pfn: number, order: number) => void) | null = null;
  const bootPages: PageAllocator = {
    allocPages: (order: number): number => {
      const bytes = ps * 2 ** order;
      const a = bootmem.alloc(bytes, { align: bytes });
      if (a === null) return -1;
      reservations.push({ start: a, end: a + bytes, name: "pageflags" });
      return a / ps;
    },
    freePages: (pfn: number, order: number): void => {
      if (!bootmemReleased) bootmem.free(pfn * ps, ps * 2 ** order);
      else lateFree?.(pfn, order);
    },
  };
  const maps: PageFlagMap[] = [];
  for (const name of ["pageset1", "pageset2", "nosave"]) {
    const map = createPageFlags({ space: machine, allocator: bootPages, mode: "present" });
    if (map === null)
      throw new InvalidArgumentError(
        `machine: no boot memory for the ${name} map`,
        "ENOMEM",
        "machine",
      );
    maps.push(map);
    log.print(
      `dyn_pageflags: ${name}: ${map.pagesUsed()} pages (${map.bitmapPages()} bitmap) for the present pages`,
    );
  }
  let kernelPages = 0;
  for (const z of machine.zones)
    if (z.type !== ZONE_HIGHMEM && z.type !== ZONE_MOVABLE) kernelPages += z.presentPages;
  for (const [name, scale] of [
    ["Dentry cache", 13],
    ["Inode-cache", 14],
  ] as const) {
    const h = largeSystemHash(kernelPages, machine.pageShift, scale, 8);
    allocate(h.bytes, `${name} hash table`, ps);
    log.print(
      `${name} hash table entries: ${h.entries} (order: ${h.order}, ${h.bytes} bytes, linear)`,
    );
  }
  log.advance(200);

  // The hand-over.
  const buddy = new BuddyAllocator(machine, {
    cpus: options.cpus ?? machine.cpus,
    minFreeKbytes: options.minFreeKbytes ?? 0,
  });
  const released = bootmem.releaseAll(buddy);
  bootmemReleased = true;
  lateFree = (pfn, order) => buddy.freeBootmemRange(pfn, pfn + 2 ** order);
  log.advance(1000 + Math.floor(released / 1000));
  let physpages = 0;
  for (const z of machine.zones) physpages += z.presentPages;
  let nodesWithMemory = 0;
  for (const n of machine.nodes) if (n.zones.some((z) => z.presentPages > 0)) nodesWithMemory++;
  let totalFree = 0;
  for (const z of machine.zones) {
    if (z.presentPages === 0) continue;
    const zi = buddy.zoneInfo(z.id);
    totalFree += Math.max(0, zi.managed - zi.high);
  }
  log.print(`Built ${nodesWithMemory} zonelists, mobility grouping on.  Total pages: ${totalFree}`);
  const kb = (pages: number): number => Math.floor((pages * ps) / 1024);
  log.print(
    `Memory: ${kb(buddy.managedPages)}K/${kb(physpages)}K available (${seg.code}K kernel code, ${seg.rwdata}K rwdata, ${seg.rodata}K rodata, ${seg.init}K init, ${seg.bss}K bss, ${kb(physpages - buddy.managedPages)}K reserved, 0K cma-reserved)`,
  );
  log.print(
    `buddy: page allocator ready: ${released} pages released by ${kind}, min_free_kbytes ${buddy.minFreeKbytes}`,
  );

  const kernelVaPages = Math.floor(machine.kernelVirtual.size / ps);
  const kv = machine.kernelVirtual;
  // The kernel map (bytes), which @mem/contig maps contiguous buffers into.
  const kernelVa = new Extent({ name: "kernel_map", start: kv.start, end: kv.start + kv.size - 1 });
  // The kernel's own virtual space: the direct map of low memory and the image.
  let directMapped = 0;
  for (const z of machine.zones)
    if (z.type !== ZONE_HIGHMEM && z.type !== ZONE_MOVABLE) directMapped += z.spannedPages;
  const used = Math.min(
    kernelVaPages - 1,
    directMapped + imageBytes / ps + (machine.wordBits === 32 ? 32768 : 0),
  );
  if (used > 0) kernelVa.allocRegion(kv.start, used * ps);

  const k = new Kernel(
    machine,
    bootmem,
    buddy,
    log,
    {
      machineSpec: spec,
      bootAllocator: kind,
      minFreeKbytes: options.minFreeKbytes ?? 0,
      cpus: options.cpus ?? machine.cpus,
      seed: options.seed ?? 1,
    },
    kernelVa,
    { pageset1: maps[0]!, pageset2: maps[1]!, nosave: maps[2]! },
    { descriptors, bytes: mirrorBytes },
  );
  for (const r of reservations) k.reservations.push(r);
  for (const s of segments) k.reservations.push(s);

  // pageflags: later pages come from the buddy allocator; follow hotplug.
  const buddyPages: PageAllocator = {
    allocPages: (order: number): number => {
      const pfn = buddy.alloc(GFP_KERNEL, order);
      if (pfn >= 0) k.take(pfn, order, "pageflags", 0);
      return pfn;
    },
    freePages: (pfn: number, order: number): void => {
      k.release(pfn, order);
      buddy.free(pfn, order);
    },
  };
  for (const map of maps) {
    map.useAllocator(buddyPages);
    map.subscribe(machine);
  }

  // Free what the boot no longer needs: the init sections and the initrd (free_reserved_area).
  const init = segments.find((s) => s.name === "Kernel init")!;
  buddy.freeBootmemRange(init.start / ps, init.end / ps);
  log.print(`Freeing unused kernel image (initmem) memory: ${(init.end - init.start) / 1024}K`);
  if (initrd >= 0) {
    buddy.freeBootmemRange(initrd / ps, (initrd + initrdBytes) / ps);
    log.print(`Freeing initrd memory: ${initrdBytes / 1024}K`);
    const idx = k.reservations.findIndex((r) => r.name === "initrd");
    if (idx >= 0) k.reservations.splice(idx, 1);
  }
  const initIdx = k.reservations.findIndex((r) => r.name === "Kernel init");
  if (initIdx >= 0) k.reservations.splice(initIdx, 1);

  // The page queues of the page cache and anonymous memory, which contig launders and migrates.
  const queues = new PageQueues(machine);
  k.queues = queues;
  k.pageCache = new PageCache(k, queues);
  queues.setOwner(k.ownerTag.anon, k.anonOwner);
  k.contigDriver = new ContigDriver(k, queues, kernelVa, options.legacyContigmalloc ?? true);
  k.contig = k.contigDriver.allocator;
  k.isa = new IsaSoundCard(k);
  k.capture = new PciCaptureCard(k);
  k.xenDriver = new XenDriver(k);
  buddyCompat.set_page_allocator(buddy);
  k.compat = {
    buddy: buddyCompat,
    machine: machineCompat,
    pageflags: pageflagsCompat,
    contig: k.contigDriver.compat,
    xen: xenCompat,
  };
  k.debug = options.debug ?? false;
  log.advance(500);
  log.print(
    "sim: kernel up; drivers: page cache (disk0), contig, ISA DMA, PCI capture, xen-netback",
  );
  return k;
}

/** Re-exported for the result: the machine a kernel booted. */
export type { Machine };
