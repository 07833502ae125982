/**
 * The /proc files: the buddy allocator's views and /proc/iomem from the memory map and the
 * kernel's reservations.
 *
 * @module
 */
import { buddyinfo, extfragIndex, pagetypeinfo, unusableIndex, vmstat, zoneinfo } from "@mem/buddy";
import { InvalidArgumentError } from "@mem/machine";
import type { Kernel } from "./kernel.js";

/** The /proc files `proc()` knows. */
export const PROC_FILES = [
  "buddyinfo",
  "zoneinfo",
  "pagetypeinfo",
  "vmstat",
  "iomem",
  "extfrag",
] as const;

/** One of {@link PROC_FILES}. */
export type ProcFile = (typeof PROC_FILES)[number];

const IOMEM_NAMES: Record<string, string> = {
  usable: "System RAM",
  reserved: "Reserved",
  acpi: "ACPI Tables",
  nvs: "ACPI Non-volatile Storage",
  unusable: "Unusable memory",
  persistent: "Persistent Memory",
  mmio: "Reserved",
  pci: "PCI Bus 0000:00",
  rom: "System ROM",
};

/** /proc/iomem: top-level ranges of the memory map, the kernel segments nested under System RAM. */
export function iomem(k: Kernel): string {
  const w = k.machine.physAddrBits > 32 ? 8 : 8;
  const h = (v: number): string => v.toString(16).padStart(w, "0");
  const out: string[] = [];
  const kernelSegs = k.reservations.filter((r) => r.name.startsWith("Kernel "));
  for (const r of k.machine.memoryMap) {
    const name = r.name ?? IOMEM_NAMES[r.type] ?? r.type;
    out.push(`${h(r.start)}-${h(r.end - 1)} : ${name}`);
    if (r.type === "usable")
      for (const s of kernelSegs)
        if (s.start >= r.start && s.end <= r.end)
          out.push(`  ${h(s.start)}-${h(s.end - 1)} : ${s.name}`);
  }
  return `${out.join("\n")}\n`;
}

/** The text of /proc/`name` (extfrag: both debugfs files). */
export function procFile(k: Kernel, name: string): string {
  const b = k.buddy;
  switch (name) {
    case "buddyinfo":
      return buddyinfo(b);
    case "zoneinfo":
      return zoneinfo(b);
    case "pagetypeinfo":
      return pagetypeinfo(b);
    case "vmstat":
      return vmstat(b);
    case "iomem":
      return iomem(k);
    case "extfrag":
      return `# extfrag/unusable_index\n${unusableIndex(b)}# extfrag/extfrag_index\n${extfragIndex(b)}`;
    default:
      throw new InvalidArgumentError(
        `proc: unknown file ${JSON.stringify(name)}, expected one of ${PROC_FILES.join(", ")}`,
        "EINVAL",
        "name",
      );
  }
}
