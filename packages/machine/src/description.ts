/**
 * The machine description: what the hardware is, before anything boots. A description is plain
 * data (it round-trips through JSON); {@link createMachine} turns it into a {@link Machine}.
 *
 * @module
 */

/** Kinds of physical address range, after the e820 types and /proc/iomem's top-level names. */
export type MemoryType =
  | "usable"
  | "reserved"
  | "acpi-data"
  | "acpi-nvs"
  | "unusable"
  | "persistent"
  | "mmio"
  | "pci"
  | "rom";

/** Every {@link MemoryType}, in a stable order. */
export const MEMORY_TYPES: readonly MemoryType[] = [
  "usable",
  "reserved",
  "acpi-data",
  "acpi-nvs",
  "unusable",
  "persistent",
  "mmio",
  "pci",
  "rom",
];

/** A typed physical range in bytes, `[start, end)`. */
export interface MemoryRange {
  /** First byte. */
  readonly start: number;
  /** One past the last byte. */
  readonly end: number;
  /** What the range is. */
  readonly type: MemoryType;
  /** A label, e.g. `"PCI Bus 0000:00"` from /proc/iomem. */
  readonly name?: string | undefined;
}

/** A NUMA node's physical range in bytes, `[start, end)`. RAM inside it belongs to the node. */
export interface NodeDescription {
  /** Node id, 0 upwards. */
  readonly id: number;
  /** First byte of the node. */
  readonly start: number;
  /** One past the node's last byte. */
  readonly end: number;
}

/** A device's DMA constraints, as a driver states them to a contiguous allocator. */
export interface DmaConstraints {
  /** One past the highest physical address the device can reach (a 24-bit ISA mask: 16 MiB). */
  readonly limit: number;
  /** Required alignment of a buffer's start, bytes (a power of two). */
  readonly alignment: number;
  /** A buffer must not cross a multiple of this many bytes; 0 for no boundary. */
  readonly boundary: number;
}

/** A device on the machine. */
export interface DeviceDescription {
  /** A unique name, e.g. `"sb16"`. */
  readonly name: string;
  /** The bus it sits on. */
  readonly bus: "isa" | "pci" | "platform" | "xen";
  /** Its DMA constraints. */
  readonly dma: DmaConstraints;
  /** Bytes of buffer the driver wants, if it says. */
  readonly bufferSize?: number | undefined;
}

/** The kernel's virtual address space for mappings (i386: 1 GiB at 0xC0000000). */
export interface KernelVirtualSpace {
  /**
   * First address. 64-bit kernel addresses above 2^53 are given by their low 48 bits (the
   * canonical sign-extension is dropped), so they stay exact JavaScript numbers.
   */
  readonly start: number;
  /** Size in bytes. */
  readonly size: number;
}

/** The architectures whose zone layouts are modelled. */
export type Arch = "x86_64" | "i386" | "alpha";

/** A complete, validated machine description. */
export interface MachineDescription {
  /** A name for logs and reports. */
  readonly name: string;
  /** Architecture: decides the zone layout and e820 quirks. */
  readonly arch: Arch;
  /** Page size in bytes: a power of two, 4096 or more. */
  readonly pageSize: number;
  /** `BITS_PER_LONG`: 32 or 64. */
  readonly wordBits: 32 | 64;
  /** Physical address bits (`MAX_PHYSMEM_BITS`): 32, 36 (PAE), 46, 52 ... */
  readonly physAddrBits: number;
  /** Sparsemem section size in bytes (`1 << SECTION_SIZE_BITS`). */
  readonly sectionSize: number;
  /** Number of CPUs. */
  readonly cpus: number;
  /** Bytes per cache line (`SMP_CACHE_BYTES`, `L1_CACHE_BYTES`): boot allocations align to it. */
  readonly cacheLineSize: number;
  /** NUMA nodes, sorted and disjoint. */
  readonly nodes: readonly NodeDescription[];
  /** The kernel's virtual address space for mappings. */
  readonly kernelVirtual: KernelVirtualSpace;
  /** The physical memory map, sorted and disjoint. */
  readonly memoryMap: readonly MemoryRange[];
  /** Devices and their DMA constraints. */
  readonly devices: readonly DeviceDescription[];
}

/** A description with the fields that have defaults made optional, as users write them. */
export interface MachineSpec {
  /** See {@link MachineDescription.name}. @defaultValue `"machine"` */
  readonly name?: string | undefined;
  /** See {@link MachineDescription.arch}. @defaultValue `"x86_64"` */
  readonly arch?: Arch | undefined;
  /** See {@link MachineDescription.pageSize}. @defaultValue 4096 (8192 on alpha) */
  readonly pageSize?: number | undefined;
  /** See {@link MachineDescription.wordBits}. @defaultValue 64 (32 on i386) */
  readonly wordBits?: 32 | 64 | undefined;
  /** See {@link MachineDescription.physAddrBits}. @defaultValue 46 (x86_64), 36 (i386), 48 (alpha) */
  readonly physAddrBits?: number | undefined;
  /** See {@link MachineDescription.sectionSize}. @defaultValue 128 MiB (x86_64), 64 MiB (i386), 512 MiB (alpha) */
  readonly sectionSize?: number | undefined;
  /** See {@link MachineDescription.cpus}. @defaultValue 2 */
  readonly cpus?: number | undefined;
  /** See {@link MachineDescription.cacheLineSize}. @defaultValue 64 */
  readonly cacheLineSize?: number | undefined;
  /** See {@link MachineDescription.nodes}. @defaultValue one node over the whole address space */
  readonly nodes?: readonly NodeDescription[] | undefined;
  /** See {@link MachineDescription.kernelVirtual}. @defaultValue the architecture's */
  readonly kernelVirtual?: KernelVirtualSpace | undefined;
  /** The memory map (required). */
  readonly memoryMap: readonly MemoryRange[];
  /** See {@link MachineDescription.devices}. @defaultValue none */
  readonly devices?: readonly DeviceDescription[] | undefined;
}
