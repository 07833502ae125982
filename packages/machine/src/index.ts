/**
 * `@mem/machine`: the simulated hardware and the page frame database every `@mem` subsystem
 * shares.
 *
 * @packageDocumentation
 */
export {
  bootLines,
  e820Lines,
  e820TypeName,
  nodeRangeLines,
  unavailableRangeLines,
  zoneRangeLines,
} from "./boot-log.js";
export type {
  Arch,
  DeviceDescription,
  DmaConstraints,
  KernelVirtualSpace,
  MachineDescription,
  MachineSpec,
  MemoryRange,
  MemoryType,
  NodeDescription,
} from "./description.js";
export { MEMORY_TYPES } from "./description.js";
export { InvalidArgumentError, KernelPanic } from "./errors.js";
export { parseE820, parseIomem } from "./import-e820.js";
export type {
  FreePageHook,
  FreePageSink,
  HotplugEvent,
  HotplugListener,
  HotplugSource,
  PageAllocator,
  PfnRange,
  PhysRange,
} from "./interfaces.js";
export { NO_PFN } from "./interfaces.js";
export {
  detectMachineFormat,
  loadMachine,
  loadMachineSpec,
  type MachineTextFormat,
  parseMachineText,
} from "./load.js";
export { createMachine, Machine, type Node, pageIndexOrPanic, type RamRange } from "./machine.js";
export { machineFileSchema, parseMachineFile } from "./machine-file.js";
export { PAGE_DATABASE_BYTES_PER_PAGE, PageDatabase } from "./page-database.js";
export * from "./page-flags.js";
export { PageListSet, pageListCorrupt, pageListDoubleAdd } from "./page-list.js";
export { DEFAULT_PRESET, flatPreset, PRESETS } from "./presets.js";
export {
  assertInt,
  assertOrder,
  assertPowerOfTwo,
  assertUint,
  describeValue,
  isPowerOfTwo,
  log2Exact,
} from "./validate.js";
export {
  NO_ZONE,
  ZONE_DMA,
  ZONE_DMA32,
  ZONE_HIGHMEM,
  ZONE_MOVABLE,
  ZONE_NAMES,
  ZONE_NORMAL,
  ZONE_TYPE,
  Zone,
  type ZoneName,
} from "./zone.js";
