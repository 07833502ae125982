/**
 * Importers that turn what a real machine prints into a memory map: the kernel's boot-time e820
 * lines (as dmesg shows them) and `/proc/iomem`'s top-level entries.
 *
 * @module
 */
import type { MemoryRange, MemoryType } from "./description.js";
import { InvalidArgumentError } from "./errors.js";

const E820_TYPES: Readonly<Record<string, MemoryType>> = {
  usable: "usable",
  reserved: "reserved",
  "soft reserved": "reserved",
  "ACPI data": "acpi-data",
  "ACPI NVS": "acpi-nvs",
  unusable: "unusable",
  "persistent (type 7)": "persistent",
  "persistent (type 12)": "persistent",
};

/** Parses a hex number exactly, refusing values above 2^53 - 1. */
function parseHex(text: string, where: string): number {
  const big = BigInt(`0x${text}`);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new InvalidArgumentError(
      `${where}: address 0x${text} is above 2^53 - 1`,
      "ERANGE",
      where,
    );
  }
  return Number(big);
}

/**
 * Parses `BIOS-e820:` lines from a dmesg excerpt: the modern form
 * `BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable` (inclusive end) and the old
 * form `BIOS-e820: 0000000000000000 - 000000000009fc00 (usable)` (exclusive end). Other lines
 * (time stamps, unrelated messages) are ignored.
 *
 * @throws {@link InvalidArgumentError} for an unknown type (naming the line), unsafe numbers, or
 * no e820 line at all.
 */
export function parseE820(text: string): MemoryRange[] {
  const out: MemoryRange[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const where = `line ${i + 1}`;
    const modern = /BIOS-e820: \[mem 0x([0-9a-fA-F]+)-0x([0-9a-fA-F]+)\] (.+?)\s*$/.exec(line);
    const old = /BIOS-e820: ([0-9a-fA-F]+) - ([0-9a-fA-F]+) \((.+)\)\s*$/.exec(line);
    const m = modern ?? old;
    if (!m) return;
    const start = parseHex(m[1]!, where);
    const last = parseHex(m[2]!, where);
    const end = modern ? last + 1 : last;
    const typeName = m[3]!.trim();
    const type = E820_TYPES[typeName];
    if (type === undefined) {
      throw new InvalidArgumentError(
        `${where}: unknown e820 type ${JSON.stringify(typeName)} (expected one of ${Object.keys(
          E820_TYPES,
        )
          .map((k) => JSON.stringify(k))
          .join(", ")})`,
        "EINVAL",
        where,
      );
    }
    if (end <= start)
      throw new InvalidArgumentError(`${where}: empty or inverted range`, "EINVAL", where);
    out.push({ start, end, type });
  });
  if (out.length === 0)
    throw new InvalidArgumentError("no BIOS-e820 lines found", "EINVAL", "e820");
  return out;
}

function iomemType(name: string): MemoryType {
  if (name === "System RAM") return "usable";
  if (/^reserved$/i.test(name) || name === "Soft Reserved") return "reserved";
  if (name === "ACPI Tables") return "acpi-data";
  if (name === "ACPI Non-volatile Storage") return "acpi-nvs";
  if (name === "Unusable memory") return "unusable";
  if (name.startsWith("Persistent Memory")) return "persistent";
  if (/^PCI (Bus|MMCONFIG)/.test(name)) return "pci";
  if (/ROM$/.test(name)) return "rom";
  return "mmio";
}

/**
 * Parses `/proc/iomem`: top-level entries only (nested, indented lines such as `Kernel code` are
 * skipped). `System RAM` is usable, `Reserved` reserved, ACPI and persistent ranges by name, PCI
 * buses and MMCONFIG `pci`, ROMs `rom`, anything else device MMIO.
 *
 * @throws {@link InvalidArgumentError} for a copy read without privileges (all zeros), unsafe
 * numbers, or no entries.
 */
export function parseIomem(text: string): MemoryRange[] {
  const out: MemoryRange[] = [];
  let zeros = 0;
  text.split(/\r?\n/).forEach((line, i) => {
    const m = /^([0-9a-fA-F]+)-([0-9a-fA-F]+) : (.+?)\s*$/.exec(line);
    if (!m) return;
    const where = `line ${i + 1}`;
    const start = parseHex(m[1]!, where);
    const end = parseHex(m[2]!, where) + 1;
    if (start === 0 && end === 1) {
      zeros++;
      return;
    }
    out.push({ start, end, type: iomemType(m[3]!), name: m[3]! });
  });
  if (out.length === 0 && zeros > 0) {
    throw new InvalidArgumentError(
      "/proc/iomem shows only zero addresses: it was read without root privileges",
      "EPERM",
      "iomem",
    );
  }
  if (out.length === 0)
    throw new InvalidArgumentError("no /proc/iomem entries found", "EINVAL", "iomem");
  return out;
}
