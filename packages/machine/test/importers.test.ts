import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  bootLines,
  createMachine,
  detectMachineFormat,
  InvalidArgumentError,
  loadMachine,
  parseE820,
  parseIomem,
  parseMachineFile,
  parseMachineText,
} from "@mem/machine";
import { describe, expect, it } from "vitest";

const DMESG = `[    0.000000] BIOS-provided physical RAM map:
[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable
[    0.000000] BIOS-e820: [mem 0x000000000009fc00-0x000000000009ffff] reserved
[    0.000000] BIOS-e820: [mem 0x00000000000f0000-0x00000000000fffff] reserved
[    0.000000] BIOS-e820: [mem 0x0000000000100000-0x000000007ffdffff] usable
[    0.000000] BIOS-e820: [mem 0x000000007ffe0000-0x000000007fffffff] ACPI data
[    0.000000] BIOS-e820: [mem 0x00000000fffc0000-0x00000000ffffffff] ACPI NVS
[    0.000000] NX (Execute Disable) protection: active
`;

const IOMEM = `00000000-00000fff : Reserved
00001000-0009fbff : System RAM
0009fc00-0009ffff : Reserved
000a0000-000bffff : PCI Bus 0000:00
000c0000-000c93ff : Video ROM
000f0000-000fffff : Reserved
  000f0000-000fffff : System ROM
00100000-7ffdffff : System RAM
  01000000-01e00000 : Kernel code
7ffe0000-7fffffff : Reserved
80000000-febfffff : PCI Bus 0000:00
fec00000-fec003ff : IOAPIC 0
fee00000-fee00fff : Local APIC
100000000-17fffffff : System RAM
`;

describe("parseE820", () => {
  it("reads dmesg's e820 lines with inclusive ends and ignores other lines", () => {
    expect(parseE820(DMESG)).toEqual([
      { start: 0, end: 0x9fc00, type: "usable" },
      { start: 0x9fc00, end: 0xa0000, type: "reserved" },
      { start: 0xf0000, end: 0x100000, type: "reserved" },
      { start: 0x100000, end: 0x7ffe0000, type: "usable" },
      { start: 0x7ffe0000, end: 0x80000000, type: "acpi-data" },
      { start: 0xfffc0000, end: 0x100000000, type: "acpi-nvs" },
    ]);
  });

  it("reads the pre-3.x form with exclusive ends", () => {
    expect(
      parseE820(
        " BIOS-e820: 0000000000000000 - 000000000009fc00 (usable)\n BIOS-e820: 0000000000100000 - 0000000040000000 (usable)",
      ),
    ).toEqual([
      { start: 0, end: 0x9fc00, type: "usable" },
      { start: 0x100000, end: 0x40000000, type: "usable" },
    ]);
  });

  it("names the line of an unknown type", () => {
    expect(() =>
      parseE820("BIOS-e820: [mem 0x0-0xfff] usable\nBIOS-e820: [mem 0x1000-0x1fff] magic"),
    ).toThrow(/line 2: unknown e820 type "magic"/);
  });

  it("refuses addresses above 2^53 - 1", () => {
    expect(() => parseE820("BIOS-e820: [mem 0x0-0xffffffffffffffff] usable")).toThrow(
      /above 2\^53/,
    );
  });

  it("refuses text without e820 lines", () => {
    expect(() => parseE820("hello")).toThrow(InvalidArgumentError);
  });

  it("boots a machine whose boot lines repeat the e820 map", () => {
    const m = createMachine(parseMachineText(DMESG, "qemu"));
    const lines = bootLines(m);
    expect(lines).toContain("BIOS-e820: [mem 0x0000000000100000-0x000000007ffdffff] usable");
    expect(lines).toContain("BIOS-e820: [mem 0x000000007ffe0000-0x000000007fffffff] ACPI data");
    expect(m.zones[1]!.presentPages).toBe(0x7ffe0 - 0x1000);
  });
});

describe("parseIomem", () => {
  it("keeps top-level entries and types them by name", () => {
    const map = parseIomem(IOMEM);
    expect(map.map((r) => r.type)).toEqual([
      "reserved",
      "usable",
      "reserved",
      "pci",
      "rom",
      "reserved",
      "usable",
      "reserved",
      "pci",
      "mmio",
      "mmio",
      "usable",
    ]);
    expect(map.at(-1)).toEqual({
      start: 0x100000000,
      end: 0x180000000,
      type: "usable",
      name: "System RAM",
    });
  });

  it("explains a copy read without root", () => {
    expect(() =>
      parseIomem("00000000-00000000 : System RAM\n00000000-00000000 : Reserved\n"),
    ).toThrow(/without root/);
  });

  it("boots a machine from it", () => {
    const m = createMachine(parseMachineText(IOMEM));
    expect(m.totalPages).toBe(0x9f - 1 + (0x7ffe0 - 0x100) + 0x80000);
  });
});

describe("machine files", () => {
  const good = {
    name: "lab",
    arch: "x86_64",
    cpus: 4,
    memoryMap: [
      { start: "0x0", end: "0x9fc00", type: "usable" },
      { start: "1M", end: "2G", type: "usable" },
    ],
    devices: [
      { name: "sb16", bus: "isa", dma: { limit: "16M", alignment: "8K", boundary: "64K" } },
    ],
  };

  it("accept hex strings and binary sizes", () => {
    const spec = parseMachineFile(JSON.stringify(good));
    expect(spec.memoryMap[1]).toEqual({ start: 2 ** 20, end: 2 ** 31, type: "usable" });
    expect(createMachine(spec).devices[0]!.dma).toEqual({
      limit: 16 * 2 ** 20,
      alignment: 8192,
      boundary: 65536,
    });
  });

  const bad: [string, unknown, RegExp][] = [
    ["an unknown field", { ...good, colour: "red" }, /\(root\): .*colour/],
    [
      "a bad type",
      { ...good, memoryMap: [{ start: 0, end: 4096, type: "ram" }] },
      /^memoryMap\.0\.type: /,
    ],
    ["a negative number", { ...good, cpus: -1 }, /^cpus: /],
    [
      "a size that is not a size",
      { ...good, memoryMap: [{ start: "lots", end: 4096, type: "usable" }] },
      /^memoryMap\.0\.start: expected a non-negative integer/,
    ],
    ["a missing memory map", { name: "x" }, /^memoryMap: /],
    [
      "a device without DMA",
      { ...good, devices: [{ name: "x", bus: "isa" }] },
      /^devices\.0\.dma: /,
    ],
  ];
  for (const [what, data, message] of bad) {
    it(`reject ${what}, naming the field`, () => {
      expect(() => parseMachineFile(JSON.stringify(data))).toThrow(message);
    });
  }

  it("reject invalid JSON", () => {
    expect(() => parseMachineFile("{ nope")).toThrow(/not valid JSON/);
  });
});

describe("loadMachine", () => {
  it("recognises each format from the content", () => {
    expect(detectMachineFormat(DMESG)).toBe("e820");
    expect(detectMachineFormat(IOMEM)).toBe("iomem");
    expect(detectMachineFormat('{"memoryMap": []}')).toBe("json");
    expect(detectMachineFormat("nothing")).toBeUndefined();
  });

  it("loads files of every format and names the machine after the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "mem-machine-"));
    writeFileSync(join(dir, "box.dmesg"), DMESG);
    writeFileSync(join(dir, "box.iomem"), IOMEM);
    writeFileSync(
      join(dir, "lab.json"),
      JSON.stringify({ memoryMap: [{ start: 0, end: "64M", type: "usable" }] }),
    );
    expect(loadMachine(join(dir, "box.dmesg")).name).toBe("box");
    expect(loadMachine(join(dir, "box.iomem")).totalPages).toBeGreaterThan(0);
    expect(loadMachine(join(dir, "lab.json")).name).toBe("lab");
  });

  it("names the presets when given neither a preset nor a file", () => {
    expect(() => loadMachine("no-such-thing")).toThrow(/neither a preset \(x86_64-4g, i386-4g/);
  });
});
