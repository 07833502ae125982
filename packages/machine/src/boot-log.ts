/**
 * The machine's boot lines in Linux's wording and format: the e820 map, zone ranges, early node
 * ranges, unavailable-range counts (`memmap_init()`), and the total. Simulated time stamps are
 * left to the caller.
 *
 * @module
 */
import type { MemoryRange } from "./description.js";
import { ARCH_FACTS, ZONE_MOVABLE, ZONE_NAMES } from "./internal/arch.js";
import { hex18, padRight } from "./internal/format.js";
import type { Machine } from "./machine.js";

/** The e820 name Linux prints for a range type (`e820_print_type`), or undefined when not e820. */
export function e820TypeName(type: MemoryRange["type"]): string | undefined {
  switch (type) {
    case "usable":
      return "usable";
    case "reserved":
    case "rom":
    case "mmio":
      return "reserved";
    case "acpi-data":
      return "ACPI data";
    case "acpi-nvs":
      return "ACPI NVS";
    case "unusable":
      return "unusable";
    case "persistent":
      return "persistent (type 7)";
    case "pci":
      return undefined;
  }
}

/** `BIOS-e820: [mem 0x...-0x...] type` lines, inclusive ends, as the kernel prints the firmware map. */
export function e820Lines(machine: Machine): string[] {
  const lines = ["BIOS-provided physical RAM map:"];
  for (const r of machine.description.memoryMap) {
    const name = e820TypeName(r.type);
    if (name === undefined) continue;
    lines.push(`BIOS-e820: [mem ${hex18(r.start)}-${hex18(r.end - 1)}] ${name}`);
  }
  return lines;
}

/** `Zone ranges:` and the per-zone lines (`free_area_init()`). */
export function zoneRangeLines(machine: Machine): string[] {
  const ps = machine.pageSize;
  const lines = ["Zone ranges:"];
  machine.zoneTypes.forEach((type, i) => {
    if (type === ZONE_MOVABLE) return;
    const lo = machine.zoneLowestPfn[i]!;
    const hi = machine.zoneHighestPfn[i]!;
    const head = `  ${padRight(ZONE_NAMES[type]!, 8)} `;
    lines.push(lo === hi ? `${head}empty` : `${head}[mem ${hex18(lo * ps)}-${hex18(hi * ps - 1)}]`);
  });
  if (machine.arch === "x86_64") lines.push(`  ${padRight("Device", 8)} empty`);
  lines.push("Movable zone start for each node");
  return lines;
}

/** `Early memory node ranges` and one line per RAM range. */
export function nodeRangeLines(machine: Machine): string[] {
  const ps = machine.pageSize;
  const lines = ["Early memory node ranges"];
  for (const r of machine.bootRamRanges) {
    lines.push(
      `  node ${String(r.nid).padStart(3)}: [mem ${hex18(r.start * ps)}-${hex18(r.end * ps - 1)}]`,
    );
  }
  return lines;
}

/** Pages with a page frame (present section) in `[start, end)`. */
function validPagesIn(machine: Machine, start: number, end: number): number {
  const sp = machine.sectionPages;
  let n = 0;
  let pfn = start;
  while (pfn < end) {
    const secEnd = Math.min(end, (Math.floor(pfn / sp) + 1) * sp);
    if (machine.pfnValid(pfn)) n += secEnd - pfn;
    pfn = secEnd;
  }
  return n;
}

/**
 * `Initmem setup node N` lines and the `On node N, zone Z: K pages in unavailable ranges` lines,
 * following `memmap_init()`: each hole between RAM ranges is charged to the zone and node of the
 * range after it, holes in sections without page frames are not counted, and the tail up to the
 * end of the last section goes to the last populated zone.
 */
export function unavailableRangeLines(machine: Machine): string[] {
  const ps = machine.pageSize;
  const lines: string[] = [];
  for (const node of machine.nodes) {
    if (node.endPfn > node.startPfn) {
      lines.push(
        `Initmem setup node ${node.id} [mem ${hex18(node.startPfn * ps)}-${hex18(node.endPfn * ps - 1)}]`,
      );
    }
  }
  let holePfn = 0;
  let zoneName = "";
  let nid = 0;
  let lastEnd = 0;
  const report = (start: number, end: number, zone: string, node: number): void => {
    const count = validPagesIn(machine, start, end);
    if (count > 0)
      lines.push(`On node ${node}, zone ${zone}: ${count} pages in unavailable ranges`);
  };
  for (const r of machine.bootRamRanges) {
    const node = machine.nodes.find((n) => n.id === r.nid)!;
    for (const zone of node.zones) {
      if (!zone.populated) continue;
      const s = Math.min(Math.max(r.start, zone.startPfn), zone.endPfn);
      const e = Math.min(Math.max(r.end, zone.startPfn), zone.endPfn);
      if (s < e) {
        if (holePfn < s) report(holePfn, s, zone.name, r.nid);
        holePfn = e;
      }
      zoneName = zone.name;
    }
    nid = r.nid;
    lastEnd = r.end;
  }
  const sp = machine.sectionPages;
  const end = Math.ceil(lastEnd / sp) * sp;
  if (holePfn < end) report(holePfn, end, zoneName, nid);
  return lines;
}

/** Every boot line of the machine, in the kernel's order. */
export function bootLines(machine: Machine): string[] {
  const lines = [...e820Lines(machine)];
  if (ARCH_FACTS[machine.arch].reservePageZero) {
    lines.push("e820: update [mem 0x00000000-0x00000fff] usable ==> reserved");
  }
  lines.push(
    `last_pfn = 0x${machine.maxPfn.toString(16)} max_arch_pfn = 0x${machine.maxPossiblePfn.toString(16)}`,
  );
  lines.push(
    ...zoneRangeLines(machine),
    ...nodeRangeLines(machine),
    ...unavailableRangeLines(machine),
  );
  lines.push(`Total pages: ${machine.totalPages}`);
  return lines;
}
