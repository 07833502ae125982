import { fromMachine, Rootmem } from "@mem/bootmem";
import { createMachine, PRESETS } from "@mem/machine";
import { expect, it } from "vitest";

it("runs the README usage example", () => {
  // --- copied from README.md ---
  const PAGE = 4096;
  const r = new Rootmem({ pageSize: PAGE, bitsPerLong: 64 });
  r.registerNode(0, 0, 4096); // pfns [0, 4096): 16 MiB
  r.registerNode(1, 4096, 8192);
  const mapPages = r.mapPages(); // 1
  r.setup(256); // every page now reserved
  r.free(PAGE, 8191 * PAGE); // usable RAM: all but page 0
  r.reserve(256 * PAGE, mapPages * PAGE); // the bitmap itself
  const table = r.alloc(3 * PAGE, { align: PAGE }); // 0x1000
  const a = r.allocBootmemLow(100); // 0x4000: cache-line aligned, from the bottom
  const b = r.allocBootmemLow(100); // 0x4080: merged into the same page
  let pages = 0;
  const released = r.releaseAll((_pfn, order) => {
    pages += 2 ** order;
  });

  const machine = createMachine(PRESETS.small!);
  const boot = fromMachine(machine, { allocator: "memblock" });
  boot.reserve(16 * 1024 * 1024, 8 * 1024 * 1024); // kernel image
  const memmap = boot.alloc(machine.totalPages * 64, { align: PAGE });
  const count = boot.releaseAll({ freePagesBootmem: () => {} });
  // --- end of copy ---

  expect(mapPages).toBe(1);
  expect([table, a, b]).toEqual([0x1000, 0x4000, 0x4080]);
  expect(released).toBe(pages);
  expect(r.log).toEqual([
    "rootmem: 8192 pages on 2 node(s) - map @ pfn 100",
    "rootmem: 4090 pages released on node 0",
    "rootmem: 4097 pages released on node 1",
  ]);
  expect(memmap).not.toBeNull();
  expect(count).toBeGreaterThan(0);
  expect(boot.log.at(-1)).toMatch(/^memblock: \d+ pages released on node 0$/);
});
