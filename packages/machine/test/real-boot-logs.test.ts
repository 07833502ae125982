/**
 * Checks the zone computation against real x86_64 Linux boot logs (fixtures/*.dmesg.txt, each naming
 * the public issue thread it was copied from). The machine is built from the log's own
 * `Early memory node ranges` (memblock.memory after the kernel's e820 edits, EFI and trimming), and
 * every other memory line the same log prints is then compared with what the model derives.
 */
import { readFileSync } from "node:fs";
import {
  createMachine,
  type Machine,
  type MemoryRange,
  type NodeDescription,
  nodeRangeLines,
  parseE820,
  unavailableRangeLines,
  ZONE_DMA,
  ZONE_DMA32,
  ZONE_NORMAL,
  zoneRangeLines,
} from "@mem/machine";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const PAGE = 4096;
const SECTION = 128 * 1024 * 1024;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** A fixture: its source URL, its raw lines, and the message text of each (time stamps removed). */
interface BootLog {
  readonly name: string;
  readonly source: string;
  readonly raw: string;
  readonly lines: readonly string[];
}

function readLog(name: string): BootLog {
  const raw = readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
  const all = raw.split(/\r?\n/);
  const source = /^# Source: (\S+)/.exec(all[0] ?? "")?.[1] ?? "";
  const lines = all
    .filter((l) => l.length > 0 && !l.startsWith("#"))
    // "[    0.013351] " dmesg time stamps; the message keeps its own leading spaces.
    .map((l) => l.replace(/^\[\s*\d+\.\d+\] /, ""));
  return { name, source, raw, lines };
}

interface NodeRange {
  readonly nid: number;
  /** First byte. */
  readonly start: number;
  /** One past the last byte. */
  readonly end: number;
}

const NODE_RANGE = /^ {2}node +(\d+): \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\]$/;
const INITMEM = /^Initmem setup node (\d+) \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\]$/;
const ZONE_RANGE =
  /^ {2}(DMA|DMA32|Normal|Device|HighMem) +(empty|\[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\])$/;
const UNAVAILABLE = /^On node (\d+), zone (\w+): (\d+) pages in unavailable ranges$/;
const PRESENT = /^ {2}(DMA|DMA32|Normal) zone: (\d+) pages, LIFO batch:\d+$/;

/** The `Early memory node ranges` lines (header excluded). */
function earlyNodeRangeLines(log: BootLog): string[] {
  const at = log.lines.indexOf("Early memory node ranges");
  if (at < 0) throw new Error(`${log.name}: no "Early memory node ranges" block`);
  const out: string[] = [];
  for (const line of log.lines.slice(at + 1)) {
    if (!NODE_RANGE.test(line)) break;
    out.push(line);
  }
  return out;
}

/** `node N: [mem A-B]` as the usable byte range [A, B + 1) of node N. */
function parseNodeRanges(log: BootLog): NodeRange[] {
  return earlyNodeRangeLines(log).map((line) => {
    const m = NODE_RANGE.exec(line)!;
    return {
      nid: Number(m[1]),
      start: Number.parseInt(m[2]!, 16),
      end: Number.parseInt(m[3]!, 16) + 1,
    };
  });
}

/**
 * The test's machine: memblock's RAM as usable ranges, each node covering its RAM rounded out to
 * whole sections (the description's alignment rule); x86_64, 4 KiB pages, 46 physical bits.
 */
function machineFromNodeRanges(name: string, ranges: readonly NodeRange[]): Machine {
  const memoryMap: MemoryRange[] = ranges.map((r) => ({
    start: r.start,
    end: r.end,
    type: "usable",
  }));
  const nids = [...new Set(ranges.map((r) => r.nid))].sort((a, b) => a - b);
  const nodes: NodeDescription[] = nids.map((id) => {
    const mine = ranges.filter((r) => r.nid === id);
    return {
      id,
      start: Math.floor(Math.min(...mine.map((r) => r.start)) / SECTION) * SECTION,
      end: Math.ceil(Math.max(...mine.map((r) => r.end)) / SECTION) * SECTION,
    };
  });
  return createMachine({
    name,
    arch: "x86_64",
    pageSize: PAGE,
    physAddrBits: 46,
    memoryMap,
    nodes,
  });
}

/** Node spans from the log's `Initmem setup node` lines, in pfns. */
function initmemSpans(log: BootLog): { nid: number; start: number; end: number }[] {
  return log.lines.flatMap((line) => {
    const m = INITMEM.exec(line);
    if (!m) return [];
    return [
      {
        nid: Number(m[1]),
        start: Number.parseInt(m[2]!, 16) / PAGE,
        end: (Number.parseInt(m[3]!, 16) + 1) / PAGE,
      },
    ];
  });
}

const ZONE_TYPES: Readonly<Record<string, number>> = {
  DMA: ZONE_DMA,
  DMA32: ZONE_DMA32,
  Normal: ZONE_NORMAL,
};

/**
 * Each populated zone's span as the log implies it (Linux's `zone_spanned_pages_in_node`: the node's
 * span clamped to the zone's range). Zone ranges come from the log's `Zone ranges:` lines when it
 * has them, else from x86_64's fixed limits (16 MiB, 4 GiB).
 */
function expectedSpans(
  log: BootLog,
): { nid: number; type: number; start: number; spanned: number }[] {
  const limits: Record<string, [number, number]> = {
    DMA: [0, (16 * MiB) / PAGE],
    DMA32: [(16 * MiB) / PAGE, (4 * GiB) / PAGE],
    Normal: [(4 * GiB) / PAGE, Number.POSITIVE_INFINITY],
  };
  for (const line of log.lines) {
    const m = ZONE_RANGE.exec(line);
    if (m?.[3] && m[1]! in limits)
      limits[m[1]!] = [Number.parseInt(m[3], 16) / PAGE, (Number.parseInt(m[4]!, 16) + 1) / PAGE];
  }
  const out: { nid: number; type: number; start: number; spanned: number }[] = [];
  for (const node of initmemSpans(log)) {
    for (const [name, [lo, hi]] of Object.entries(limits)) {
      const start = Math.max(node.start, lo);
      const end = Math.min(node.end, hi);
      if (end > start)
        out.push({ nid: node.nid, type: ZONE_TYPES[name]!, start, spanned: end - start });
    }
  }
  return out;
}

function modelSpans(
  machine: Machine,
): { nid: number; type: number; start: number; spanned: number }[] {
  return machine.zones
    .filter((z) => z.spannedPages > 0)
    .map((z) => ({ nid: z.nid, type: z.type, start: z.startPfn, spanned: z.spannedPages }));
}

function unavailableLines(log: BootLog): string[] {
  return log.lines.filter((l) => INITMEM.test(l) || UNAVAILABLE.test(l));
}

function sumUnavailable(lines: readonly string[]): number {
  return lines.reduce((sum, l) => sum + Number(UNAVAILABLE.exec(l)?.[3] ?? 0), 0);
}

/** The log's zone-range lines, each with the model's line for the same zone. */
function zoneRangePairs(log: BootLog, machine: Machine): [string, string | undefined][] {
  const model = zoneRangeLines(machine);
  return log.lines
    .filter((l) => ZONE_RANGE.test(l))
    .map((l) => {
      const zone = ZONE_RANGE.exec(l)![1]!;
      return [l, model.find((m) => ZONE_RANGE.exec(m)?.[1] === zone)];
    });
}

describe("a two-node server on Linux 6.8 (snu-csl/nvmevirt#60)", () => {
  const log = readLog("nvmevirt-2node.dmesg.txt");
  let machine: Machine;
  beforeAll(() => {
    machine = machineFromNodeRanges("nvmevirt-2node", parseNodeRanges(log));
  });
  afterAll(() => {
    machine = undefined as unknown as Machine;
  });

  it("names its public source", () => {
    expect(log.source).toBe("https://github.com/snu-csl/nvmevirt/issues/60");
  });

  it("imports every BIOS-e820 line of the log, types included", () => {
    const map = parseE820(log.raw);
    expect(map).toHaveLength(log.lines.filter((l) => l.startsWith("BIOS-e820:")).length);
    expect(map.map((r) => r.type)).toEqual([
      "usable",
      "reserved",
      "usable",
      "reserved",
      "usable",
      "reserved",
      "acpi-nvs",
      "acpi-data",
      "usable",
    ]);
    expect(map[8]).toEqual({ start: 0x6abc0000, end: 0x6f800000, type: "usable" });
  });

  it("prints the log's early memory node ranges back, across both nodes", () => {
    expect(nodeRangeLines(machine)).toEqual([
      "Early memory node ranges",
      ...earlyNodeRangeLines(log),
    ]);
  });

  it("sets up the nodes and counts the unavailable ranges exactly as the kernel did", () => {
    // Includes the hole after node 0's last range inside its last section (6608 pages), which
    // memmap_init() charges to the zone of the next range: node 1's Normal.
    expect(unavailableRangeLines(machine)).toEqual(unavailableLines(log));
  });

  it("spans each node's zones over the node's span clamped to the zone limits", () => {
    expect(modelSpans(machine)).toEqual(expectedSpans(log));
    expect(machine.nodes.map((n) => [n.id, n.startPfn, n.endPfn])).toEqual(
      initmemSpans(log).map((n) => [n.nid, n.start, n.end]),
    );
  });
});

describe("a laptop on a 5.x kernel (leifliddy/macbook12-audio-driver#6)", () => {
  const log = readLog("macbook-5x.dmesg.txt");
  let machine: Machine;
  beforeAll(() => {
    machine = machineFromNodeRanges("macbook-5x", parseNodeRanges(log));
  });
  afterAll(() => {
    machine = undefined as unknown as Machine;
  });

  it("names its public source", () => {
    expect(log.source).toBe("https://github.com/leifliddy/macbook12-audio-driver/issues/6");
  });

  it("prints the log's whole Zone ranges block", () => {
    const at = log.lines.indexOf("Zone ranges:");
    const end = log.lines.indexOf("Movable zone start for each node");
    const model = zoneRangeLines(machine);
    const block = log.lines.slice(at, end + 1);
    expect(model).toEqual(
      block.some((l) => l.startsWith("  Device"))
        ? block
        : block.filter((l) => !l.startsWith("  Device")),
    );
  });

  it("prints the log's early memory node ranges back", () => {
    expect(nodeRangeLines(machine)).toEqual([
      "Early memory node ranges",
      ...earlyNodeRangeLines(log),
    ]);
  });

  it("prints the log's Initmem setup line", () => {
    expect(unavailableRangeLines(machine).filter((l) => l.startsWith("Initmem"))).toEqual(
      log.lines.filter((l) => INITMEM.test(l)),
    );
  });

  it("has each zone's present pages and the node total the kernel printed", () => {
    const present = log.lines.flatMap((l) => {
      const m = PRESENT.exec(l);
      return m ? [[m[1], Number(m[2])]] : [];
    });
    expect(present).toHaveLength(3);
    expect(machine.zones.filter((z) => z.populated).map((z) => [z.name, z.presentPages])).toEqual(
      present,
    );
    const total = Number(
      /^On node 0 totalpages: (\d+)$/.exec(
        log.lines.find((l) => l.startsWith("On node 0 totalpages"))!,
      )![1],
    );
    expect(machine.totalPages).toBe(total);
  });

  it("counts as many unavailable pages as the kernel zeroed", () => {
    // 5.x printed one total ("Zeroed struct page in unavailable ranges") over the same holes, with
    // the same pfn_valid() test and the same tail up to the end of max_pfn's section.
    const zeroed = Number(
      /^Zeroed struct page in unavailable ranges: (\d+) pages$/.exec(
        log.lines.find((l) => l.startsWith("Zeroed struct page"))!,
      )![1],
    );
    expect(sumUnavailable(unavailableRangeLines(machine))).toBe(zeroed);
  });

  it("spans each zone over the node's span clamped to the zone ranges", () => {
    expect(modelSpans(machine)).toEqual(expectedSpans(log));
  });
});

describe("a desktop with a section tail (hamadmarri/TT-CPU-Scheduler#23)", () => {
  const log = readLog("amd-desktop-tail.dmesg.txt");
  let machine: Machine;
  beforeAll(() => {
    machine = machineFromNodeRanges("amd-desktop-tail", parseNodeRanges(log));
  });
  afterAll(() => {
    machine = undefined as unknown as Machine;
  });

  it("names its public source", () => {
    expect(log.source).toBe("https://github.com/hamadmarri/TT-CPU-Scheduler/issues/23");
  });

  it("prints the zone-range lines the log has", () => {
    const pairs = zoneRangePairs(log, machine);
    expect(pairs.map(([l]) => ZONE_RANGE.exec(l)![1])).toEqual(["Normal", "Device"]);
    for (const [logLine, modelLine] of pairs) expect(modelLine).toBe(logLine);
  });

  it("prints the log's early memory node ranges back", () => {
    expect(nodeRangeLines(machine)).toEqual([
      "Early memory node ranges",
      ...earlyNodeRangeLines(log),
    ]);
  });

  it("counts the unavailable ranges exactly as the kernel did, the section tail included", () => {
    expect(unavailableRangeLines(machine)).toEqual(unavailableLines(log));
  });

  it("spans each zone over the node's span clamped to the zone ranges", () => {
    expect(modelSpans(machine)).toEqual(expectedSpans(log));
  });
});
