/**
 * Ready-made machines. `x86_64-4g` is the default for the simulator; `small` is for tests.
 *
 * @module
 */
import type { MachineSpec, MemoryRange } from "./description.js";

const K = 1024;
const M = 1024 * K;
const G = 1024 * M;
const T = 1024 * G;

/** The low megabyte of a PC: conventional memory, the EBDA, video and BIOS ROMs. */
const lowMegabyte: MemoryRange[] = [
  { start: 0, end: 0x9fc00, type: "usable" },
  { start: 0x9fc00, end: 0xa0000, type: "reserved" },
  { start: 0xa0000, end: 0xc0000, type: "pci", name: "PCI Bus 0000:00" },
  { start: 0xc0000, end: 0xc9400, type: "rom", name: "Video ROM" },
  { start: 0xf0000, end: 0x100000, type: "reserved" },
];

/** Firmware and APIC ranges just below 4 GiB. */
const below4g = (pciStart: number): MemoryRange[] => [
  { start: pciStart, end: 0xfec00000, type: "pci", name: "PCI Bus 0000:00" },
  { start: 0xfec00000, end: 0xfec01000, type: "mmio", name: "IOAPIC 0" },
  { start: 0xfee00000, end: 0xfee01000, type: "mmio", name: "Local APIC" },
  { start: 0xfeffc000, end: 0xff000000, type: "reserved" },
  { start: 0xfffc0000, end: 0x100000000, type: "reserved" },
];

const isaSound = {
  name: "sb16",
  bus: "isa" as const,
  dma: { limit: 16 * M, alignment: 8 * K, boundary: 64 * K },
  bufferSize: 16 * K,
};
const captureCard = {
  name: "capture0",
  bus: "pci" as const,
  dma: { limit: 4 * G, alignment: 4 * K, boundary: 0 },
  bufferSize: 1 * G,
};

/** Named presets. */
export const PRESETS: Readonly<Record<string, MachineSpec>> = {
  "x86_64-4g": {
    name: "x86_64-4g",
    arch: "x86_64",
    cpus: 2,
    memoryMap: [
      ...lowMegabyte,
      { start: 0x100000, end: 0xbffe0000, type: "usable" },
      { start: 0xbffe0000, end: 0xc0000000, type: "reserved" },
      ...below4g(0xc0000000),
      { start: 0x100000000, end: 0x140000000, type: "usable" },
    ],
    devices: [isaSound, captureCard],
  },
  "i386-4g": {
    name: "i386-4g",
    arch: "i386",
    wordBits: 32,
    physAddrBits: 32,
    cpus: 1,
    memoryMap: [
      ...lowMegabyte,
      { start: 0x100000, end: 0xe0000000, type: "usable" },
      { start: 0xe0000000, end: 0xe0100000, type: "acpi-data" },
      ...below4g(0xe0100000),
    ],
    devices: [isaSound, captureCard],
  },
  "x86_64-2node": {
    name: "x86_64-2node",
    arch: "x86_64",
    cpus: 4,
    nodes: [
      { id: 0, start: 0, end: 6 * G },
      { id: 1, start: 6 * G, end: 10 * G },
    ],
    memoryMap: [
      ...lowMegabyte,
      { start: 0x100000, end: 0xbffe0000, type: "usable" },
      { start: 0xbffe0000, end: 0xc0000000, type: "reserved" },
      ...below4g(0xc0000000),
      { start: 4 * G, end: 10 * G, type: "usable" },
    ],
    devices: [isaSound, captureCard],
  },
  "alpha-8k": {
    name: "alpha-8k",
    arch: "alpha",
    pageSize: 8192,
    cpus: 2,
    memoryMap: [
      { start: 0, end: 0x200000, type: "reserved", name: "PALcode and console" },
      { start: 0x200000, end: 2 * G, type: "usable" },
    ],
    devices: [isaSound],
  },
  small: {
    name: "small",
    arch: "x86_64",
    cpus: 2,
    memoryMap: [...lowMegabyte, { start: 0x100000, end: 64 * M, type: "usable" }],
    devices: [isaSound, { ...captureCard, bufferSize: 4 * M }],
  },
  "numa-64g": {
    name: "numa-64g",
    arch: "x86_64",
    physAddrBits: 46,
    cpus: 4,
    nodes: [
      { id: 0, start: 0, end: 256 * G },
      { id: 1, start: 256 * G, end: 512 * G },
      { id: 2, start: 512 * G, end: 768 * G },
      { id: 3, start: 768 * G, end: 1 * T },
    ],
    memoryMap: [
      ...lowMegabyte,
      { start: 0x100000, end: 0xbffe0000, type: "usable" },
      { start: 0xbffe0000, end: 0xc0000000, type: "reserved" },
      ...below4g(0xc0000000),
      { start: 4 * G, end: 17 * G, type: "usable" },
      { start: 256 * G, end: 272 * G, type: "usable" },
      { start: 512 * G, end: 528 * G, type: "usable" },
      { start: 1 * T - 16 * G, end: 1 * T, type: "usable" },
    ],
    devices: [isaSound, captureCard],
  },
};

/** The simulator's default preset. */
export const DEFAULT_PRESET = "x86_64-4g";

/** A machine of `gib` GiB of RAM in one node, the PC layout below 4 GiB; for benchmarks. */
export function flatPreset(gib: number): MachineSpec {
  return {
    name: `x86_64-${gib}g`,
    arch: "x86_64",
    memoryMap: [
      ...lowMegabyte,
      { start: 0x100000, end: 0xc0000000, type: "usable" },
      ...below4g(0xc0000000),
      { start: 4 * G, end: (gib + 1) * G, type: "usable" },
    ],
    devices: [isaSound, captureCard],
  };
}
