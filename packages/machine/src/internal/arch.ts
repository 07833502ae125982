/**
 * Per-architecture facts: defaults for a description, and the zone layout Linux uses.
 * x86_64: `arch/x86/mm/init.c zone_sizes_init()`; i386: the same with HighMem above
 * `max_low_pfn` (896 MiB with the 3G/1G split); alpha: ISA DMA below 16 MiB, Normal above.
 *
 * @module
 */
import type { Arch } from "../description.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Global zone type ids, the same on every architecture; a machine uses a subset, in order. */
export const ZONE_DMA = 0;
/** See {@link ZONE_DMA}. */
export const ZONE_DMA32 = 1;
/** See {@link ZONE_DMA}. */
export const ZONE_NORMAL = 2;
/** See {@link ZONE_DMA}. */
export const ZONE_HIGHMEM = 3;
/** See {@link ZONE_DMA}. */
export const ZONE_MOVABLE = 4;
/** Stored in a page's zone field when the page lies in no zone (a hole outside every span). */
export const NO_ZONE = 7;

/** Zone names by type id, as Linux prints them. */
export const ZONE_NAMES: readonly string[] = ["DMA", "DMA32", "Normal", "HighMem", "Movable"];

/** An architecture's zone types in order, each with the physical address it ends at (exclusive). */
export interface ZoneLimit {
  readonly type: number;
  /** Byte address the zone ends at; `Infinity` for "the end of memory". */
  readonly limit: number;
}

/** Defaults and zone limits of an architecture. */
export interface ArchFacts {
  readonly pageSize: number;
  readonly wordBits: 32 | 64;
  readonly physAddrBits: number;
  readonly sectionSize: number;
  readonly kernelVirtual: { readonly start: number; readonly size: number };
  /** Zone types in order with their limits; Movable (empty unless configured) comes last. */
  readonly zones: readonly ZoneLimit[];
  /** Linux/x86 reserves page 0 (trim_bios_range), so it is never RAM. */
  readonly reservePageZero: boolean;
}

/** The facts of each modelled architecture. */
export const ARCH_FACTS: Readonly<Record<Arch, ArchFacts>> = {
  x86_64: {
    pageSize: 4096,
    wordBits: 64,
    physAddrBits: 46,
    sectionSize: 128 * MiB,
    // The vmalloc area, 0xffffc90000000000, by its low 48 bits; 32 TiB.
    kernelVirtual: { start: 0xc900_0000_0000, size: 32 * 1024 * GiB },
    zones: [
      { type: ZONE_DMA, limit: 16 * MiB },
      { type: ZONE_DMA32, limit: 4 * GiB },
      { type: ZONE_NORMAL, limit: Number.POSITIVE_INFINITY },
      { type: ZONE_MOVABLE, limit: Number.POSITIVE_INFINITY },
    ],
    reservePageZero: true,
  },
  i386: {
    pageSize: 4096,
    wordBits: 32,
    physAddrBits: 36,
    sectionSize: 64 * MiB,
    // The 3G/1G split: the kernel owns 0xC0000000-0xFFFFFFFF.
    kernelVirtual: { start: 0xc000_0000, size: GiB },
    zones: [
      { type: ZONE_DMA, limit: 16 * MiB },
      { type: ZONE_NORMAL, limit: 896 * MiB },
      { type: ZONE_HIGHMEM, limit: Number.POSITIVE_INFINITY },
      { type: ZONE_MOVABLE, limit: Number.POSITIVE_INFINITY },
    ],
    reservePageZero: true,
  },
  alpha: {
    pageSize: 8192,
    wordBits: 64,
    physAddrBits: 48,
    sectionSize: 512 * MiB,
    kernelVirtual: { start: 0x2000_0000_0000, size: 8 * 1024 * GiB },
    zones: [
      { type: ZONE_DMA, limit: 16 * MiB },
      { type: ZONE_NORMAL, limit: Number.POSITIVE_INFINITY },
      { type: ZONE_MOVABLE, limit: Number.POSITIVE_INFINITY },
    ],
    reservePageZero: false,
  },
};
