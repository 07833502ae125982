import {
  bootLines,
  createMachine,
  InvalidArgumentError,
  loadMachine,
  NO_ZONE,
  PageDatabase,
  PG_hole,
  PG_reserved,
  PRESETS,
  ZONE_DMA32,
  ZONE_NORMAL,
} from "@mem/machine";
import { describe, expect, it } from "vitest";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

describe("createMachine", () => {
  it("computes the default preset's zones as Linux does for a QEMU-style 4 GiB PC", () => {
    const m = loadMachine("x86_64-4g");
    const z = m.zones.map((zone) => [
      zone.name,
      zone.startPfn,
      zone.spannedPages,
      zone.presentPages,
    ]);
    // DMA: pfn 1 (page 0 is reserved) to 4095; present = 0x9f - 1 + (0x1000 - 0x100) = 3998.
    // DMA32: 4096 to 1 Mi pfns; present = 0xbffe0 - 0x1000 = 782304.
    expect(z).toEqual([
      ["DMA", 1, 4095, 3998],
      ["DMA32", 4096, 1044480, 782304],
      ["Normal", 1048576, 262144, 262144],
      ["Movable", 0, 0, 0],
    ]);
    expect(m.totalPages).toBe(3998 + 782304 + 262144);
  });

  it("gives i386 a HighMem zone above 896 MiB and no DMA32", () => {
    const m = loadMachine("i386-4g");
    expect(m.zones.map((z) => z.name)).toEqual(["DMA", "Normal", "HighMem", "Movable"]);
    const normal = m.zones[1]!;
    expect(normal.startPfn).toBe(4096);
    expect(normal.endPfn).toBe((896 * MiB) / 4096);
    expect(m.kernelVirtual).toEqual({ start: 0xc0000000, size: GiB });
  });

  it("splits RAM between NUMA nodes and gives each node its own zones", () => {
    const m = loadMachine("x86_64-2node");
    expect(m.nodes.map((n) => [n.id, n.startPfn, n.endPfn])).toEqual([
      [0, 1, (6 * GiB) / 4096],
      [1, (6 * GiB) / 4096, (10 * GiB) / 4096],
    ]);
    const node1 = m.nodes[1]!;
    expect(node1.zones.filter((z) => z.populated).map((z) => z.name)).toEqual(["Normal"]);
  });

  it("gives the cache line size and the DMA limit the boot allocator needs", () => {
    const m = loadMachine("x86_64-4g");
    expect(m.cacheLineSize).toBe(64);
    expect(m.maxDmaAddress).toBe(16 * MiB);
    expect(createMachine({ ...PRESETS.small!, cacheLineSize: 128 }).cacheLineSize).toBe(128);
  });

  it("supports 8 KiB pages", () => {
    const m = loadMachine("alpha-8k");
    expect(m.pageSize).toBe(8192);
    expect(m.pageShift).toBe(13);
    expect(m.totalPages).toBe((2 * GiB - 2 * MiB) / 8192);
  });

  it("marks every page frame reserved at boot and holes as holes", () => {
    const m = loadMachine("small");
    const db = m.pages;
    expect(db.flags[db.indexOf(0)]! & PG_hole).toBe(PG_hole); // page 0 trimmed on x86
    expect(db.flags[db.indexOf(0x9f)]! & PG_hole).toBe(PG_hole);
    expect(db.flags[db.indexOf(0x100)]!).toBe(PG_reserved);
    expect(db.zoneTypeAt(db.indexOf(0x2000))).toBe(ZONE_DMA32);
    // The tail of the 128 MiB section beyond 64 MiB of RAM is a hole in no zone.
    expect(db.zoneTypeAt(db.indexOf(0x5000))).toBe(NO_ZONE);
    expect(db.flags[db.indexOf(0x5000)]! & PG_hole).toBe(PG_hole);
  });

  it("keeps page frames proportional to present sections, not the physical span", () => {
    const m = loadMachine("numa-64g");
    const presentSections =
      m.presentPfnRanges().reduce((s, r) => s + (r.end - r.start), 0) / m.sectionPages;
    expect(m.pages.pageCount).toBe(presentSections * m.sectionPages);
    expect(m.pages.pageCount).toBeLessThan(((65 * GiB) / 4096) | 0);
    expect(m.maxPfn).toBe(2 ** 40 / 4096);
  });

  it("prints the boot lines in Linux's format", () => {
    const lines = bootLines(loadMachine("x86_64-4g"));
    expect(lines).toContain("BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable");
    expect(lines).toContain("  DMA      [mem 0x0000000000001000-0x0000000000ffffff]");
    expect(lines).toContain("  DMA32    [mem 0x0000000001000000-0x00000000ffffffff]");
    expect(lines).toContain("  Normal   [mem 0x0000000100000000-0x000000013fffffff]");
    expect(lines).toContain("  node   0: [mem 0x0000000000001000-0x000000000009efff]");
    expect(lines).toContain("On node 0, zone DMA: 1 pages in unavailable ranges");
    expect(lines).toContain("On node 0, zone DMA: 97 pages in unavailable ranges");
    expect(lines).toContain("On node 0, zone Normal: 32 pages in unavailable ranges");
    expect(lines.at(-1)).toBe("Total pages: 1048446");
  });

  it("prints an empty zone as empty", () => {
    expect(bootLines(loadMachine("small"))).toContain("  Normal   empty");
  });
});

describe("machine description validation", () => {
  const base = PRESETS.small!;
  const bad: [string, object, string][] = [
    ["page size not a power of two", { pageSize: 5000 }, "pageSize"],
    ["page size below 4 KiB", { pageSize: 2048 }, "pageSize"],
    ["fractional page size", { pageSize: 4096.5 }, "pageSize"],
    ["NaN physical address bits", { physAddrBits: Number.NaN }, "physAddrBits"],
    ["word size 16", { wordBits: 16 }, "wordBits"],
    [
      "unsorted ranges",
      {
        memoryMap: [
          { start: 0x200000, end: 0x300000, type: "usable" },
          { start: 0, end: 0x100000, type: "usable" },
        ],
      },
      "memoryMap[1]",
    ],
    [
      "overlapping ranges",
      {
        memoryMap: [
          { start: 0, end: 0x200000, type: "usable" },
          { start: 0x100000, end: 0x300000, type: "reserved" },
        ],
      },
      "memoryMap[1]",
    ],
    [
      "a range beyond the address bits",
      { physAddrBits: 32, memoryMap: [{ start: 0, end: 2 ** 33, type: "usable" }] },
      "memoryMap[0].end",
    ],
    [
      "a negative start",
      { memoryMap: [{ start: -4096, end: 0x100000, type: "usable" }] },
      "memoryMap[0].start",
    ],
    [
      "an unsafe end",
      { memoryMap: [{ start: 0, end: 2 ** 60, type: "usable" }] },
      "memoryMap[0].end",
    ],
    [
      "an unknown type",
      { memoryMap: [{ start: 0, end: 0x100000, type: "ram" }] },
      "memoryMap[0].type",
    ],
    ["no usable RAM", { memoryMap: [{ start: 0, end: 0x100000, type: "reserved" }] }, "memoryMap"],
    ["unaligned node", { nodes: [{ id: 0, start: 4096, end: 2 ** 30 }] }, "nodes[0]"],
    [
      "duplicate node ids",
      {
        nodes: [
          { id: 0, start: 0, end: 2 ** 27 },
          { id: 0, start: 2 ** 27, end: 2 ** 28 },
        ],
      },
      "nodes[1].id",
    ],
    ["RAM outside the nodes", { nodes: [{ id: 0, start: 2 ** 27, end: 2 ** 28 }] }, "memoryMap[0]"],
    [
      "device boundary not a power of two",
      { devices: [{ name: "x", bus: "isa", dma: { limit: 1, alignment: 1, boundary: 3 } }] },
      "devices[0].dma.boundary",
    ],
  ];
  for (const [what, patch, field] of bad) {
    it(`rejects ${what}, naming ${field}`, () => {
      let err: unknown;
      try {
        createMachine({ ...base, ...patch } as never);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).field).toBe(field);
      expect((err as Error).message).toContain(field);
    });
  }
});

describe("PageDatabase", () => {
  it("refuses a section size that is not a power of two (its conversions rely on one)", () => {
    for (const bad of [0, -4096, 1000, 32768.5, Number.NaN, 3 * 2 ** 40]) {
      expect(() => new PageDatabase(bad, 1)).toThrow(InvalidArgumentError);
    }
    const db = new PageDatabase(32768, 1);
    expect(db.sectionPages).toBe(32768);
  });

  it("converts pfns of sections far apart, in different chunks of its section table", () => {
    const db = new PageDatabase(1024, 2);
    // Sections 5 and 4096 * 3 + 7: the second lies in the fourth chunk of 4096 sections.
    db.addSection(5);
    db.addSection(4096 * 3 + 7);
    for (const pfn of [5 * 1024, 5 * 1024 + 1023, (4096 * 3 + 7) * 1024 + 512]) {
      const i = db.indexOf(pfn);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(db.pfnOf(i)).toBe(pfn);
    }
    expect(db.indexOf(4 * 1024)).toBe(-1);
    expect(db.indexOf((4096 * 2 + 7) * 1024)).toBe(-1);
    expect(db.indexOf(-1)).toBe(-1);
  });
});

describe("pfnValid and pfnValidRange", () => {
  const m = loadMachine("numa-64g");
  const sp = m.sectionPages;

  it("treats a whole present section as valid, holes included", () => {
    expect(m.pfnValid(0)).toBe(true);
    expect(m.pfnValid(0xa0)).toBe(true);
    expect(m.pfnValid((3 * GiB) / 4096)).toBe(false); // the PCI hole's sections have no page frames
  });

  it("finds a present section in the middle of a range whose ends are both absent", () => {
    const node1 = m.nodes[1]!;
    const start = node1.startPfn - 10 * sp;
    const end = node1.endPfn + 10 * sp;
    expect(m.pfnValid(start)).toBe(false);
    expect(m.pfnValid(end)).toBe(false);
    expect(m.pfnValidRange(start, end)).toBe(true);
  });

  it("takes pfns above 2^32 without truncation", () => {
    const pfn = 2 ** 40 / 4096 - 1; // last page of the 1 TiB span
    expect(pfn * 4096).toBeGreaterThan(2 ** 32);
    expect(m.pfnValid(pfn)).toBe(true);
    expect(m.pages.pfnOf(m.pages.indexOf(pfn))).toBe(pfn);
  });

  it("rejects bad pfns", () => {
    expect(m.pfnValid(-1)).toBe(false);
    expect(m.pfnValid(1.5)).toBe(false);
    expect(m.pfnValid(Number.NaN)).toBe(false);
    expect(m.pfnValid(2 ** 60)).toBe(false);
    expect(() => m.pfnValidRange(-1, 5)).toThrow(InvalidArgumentError);
    expect(() => m.pfnValidRange(0, Number.NaN)).toThrow(/endPfn/);
  });
});

describe("memory hotplug", () => {
  it("adds a section with events, zones and page frames, and removes it again", () => {
    const m = loadMachine("x86_64-4g");
    const events: string[] = [];
    m.subscribe((e) => {
      events.push(`${e.type} ${e.startPfn}-${e.endPfn}`);
      return undefined;
    });
    const start = (8 * GiB) / 4096;
    const n = m.sectionPages;
    const normal = m.zoneByType(0, ZONE_NORMAL)!;
    const before = { present: normal.presentPages, total: m.totalPages, frames: m.pages.pageCount };
    m.addMemory(start, n);
    expect(events).toEqual([`online ${start}-${start + n}`]);
    expect(m.pfnValid(start)).toBe(true);
    expect(normal.presentPages).toBe(before.present + n);
    expect(normal.endPfn).toBe(start + n);
    expect(m.pages.pageCount).toBe(before.frames + n);
    expect(m.pages.flags[m.pages.indexOf(start)]).toBe(PG_reserved);
    expect(m.removeMemory(start, n)).toBe(true);
    expect(events.slice(1)).toEqual([
      `going-offline ${start}-${start + n}`,
      `offline ${start}-${start + n}`,
    ]);
    expect(m.pfnValid(start)).toBe(false);
    expect(normal.presentPages).toBe(before.present);
    expect(normal.endPfn).toBe((5 * GiB) / 4096);
    expect(m.totalPages).toBe(before.total);
  });

  it("lets a listener veto an offline, and tells everyone it was cancelled", () => {
    const m = loadMachine("small");
    const start = (4 * GiB) / 4096;
    m.addMemory(start, m.sectionPages);
    const seen: string[] = [];
    m.subscribe((e) => {
      seen.push(e.type);
      return e.type === "going-offline" ? false : undefined;
    });
    expect(m.removeMemory(start, m.sectionPages)).toBe(false);
    expect(seen).toEqual(["going-offline", "cancel-offline"]);
    expect(m.pfnValid(start)).toBe(true);
  });

  it("rejects unaligned, present, absent and out-of-range sections without changing anything", () => {
    const m = loadMachine("small");
    const sp = m.sectionPages;
    const total = m.totalPages;
    expect(() => m.addMemory(sp + 1, sp)).toThrow(InvalidArgumentError);
    expect(() => m.addMemory(0, sp)).toThrow(/already present/);
    expect(() => m.addMemory(2 ** 40, sp)).toThrow(/beyond/);
    expect(() => m.removeMemory(100 * sp, sp)).toThrow(/not present/);
    expect(() => m.addMemory(4 * sp, sp, 7)).toThrow(/no node/);
    expect(m.totalPages).toBe(total);
  });

  it("grows the page frame database past its initial room", () => {
    const m = loadMachine("small");
    const sp = m.sectionPages;
    for (let i = 0; i < 5; i++) m.addMemory((8 + i) * sp, sp);
    for (let i = 0; i < 5; i++)
      expect(m.pages.pfnOf(m.pages.indexOf((8 + i) * sp + 7))).toBe((8 + i) * sp + 7);
    expect(m.pages.flags[m.pages.indexOf(0x100)]).toBe(PG_reserved); // old entries survive the copy
  });
});

describe("owners", () => {
  it("hands out stable tags per name", () => {
    const m = loadMachine("small");
    const a = m.registerOwner("netback");
    expect(m.registerOwner("netback")).toBe(a);
    expect(m.registerOwner("page-cache")).toBe(a + 1);
    expect(m.ownerName(a)).toBe("netback");
  });
});
