import { createMachine, type MachineSpec, type MemoryRange, PageListSet } from "@mem/machine";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const PAGE = 4096;
const SECTION_PAGES = 1024; // 4 MiB sections keep random machines small
const SECTION = SECTION_PAGES * PAGE;

/** A random PC-like machine: RAM ranges in a 1 GiB-ish space, one to three nodes. */
const machineArb: fc.Arbitrary<MachineSpec> = fc
  .record({
    cuts: fc.uniqueArray(fc.integer({ min: 1, max: 20_000 }), { minLength: 2, maxLength: 16 }),
    kinds: fc.array(
      fc.constantFrom<MemoryRange["type"]>("usable", "usable", "reserved", "acpi-data"),
      { minLength: 16, maxLength: 16 },
    ),
    nodeCuts: fc.uniqueArray(fc.integer({ min: 1, max: 14 }), { maxLength: 2 }),
  })
  .map(({ cuts, kinds, nodeCuts }) => {
    const points = [...cuts].sort((a, b) => a - b).map((p) => p * 4096); // page grain, up to ~80 MiB: DMA and DMA32 both appear
    const memoryMap: MemoryRange[] = [];
    for (let i = 0; i + 1 < points.length; i += 1) {
      if (i % 3 === 2) continue; // leave holes
      memoryMap.push({ start: points[i]!, end: points[i + 1]!, type: kinds[i]! });
    }
    if (!memoryMap.some((r) => r.type === "usable"))
      memoryMap[0] = { ...memoryMap[0]!, type: "usable" };
    const top = Math.ceil(points[points.length - 1]! / SECTION) * SECTION;
    const bounds = [...new Set(nodeCuts.map((c) => Math.floor((c * top) / 15 / SECTION) * SECTION))]
      .filter((b) => b > 0 && b < top)
      .sort((a, b) => a - b);
    const edges = [0, ...bounds, top];
    const nodes = edges.slice(0, -1).map((start, id) => ({ id, start, end: edges[id + 1]! }));
    return { arch: "x86_64" as const, sectionSize: SECTION, physAddrBits: 36, memoryMap, nodes };
  })
  .filter((spec) =>
    spec.memoryMap.some(
      (r) =>
        r.type === "usable" &&
        Math.floor(r.end / PAGE) - Math.ceil(r.start / PAGE) >= 1 &&
        !(r.start === 0 && r.end <= PAGE),
    ),
  );

function ramPfns(spec: MachineSpec): Set<number> {
  const out = new Set<number>();
  for (const r of spec.memoryMap) {
    if (r.type !== "usable") continue;
    for (let p = Math.max(1, Math.ceil(r.start / PAGE)); p < Math.floor(r.end / PAGE); p++)
      out.add(p);
  }
  return out;
}

describe("zones (property)", () => {
  it("partition the present pages: every RAM page in exactly one zone span, present counts exact", () => {
    fc.assert(
      fc.property(machineArb, (spec) => {
        const m = createMachine(spec);
        const ram = ramPfns(spec);
        let present = 0;
        for (const z of m.zones) {
          let n = 0;
          for (let p = z.startPfn; p < z.endPfn; p++) if (ram.has(p)) n++;
          expect(z.presentPages).toBe(n);
          present += n;
        }
        expect(present).toBe(ram.size);
        const bad: number[] = [];
        for (const p of ram) {
          let holders = 0;
          let holder = m.zones[0]!;
          for (const z of m.zones) {
            if (z.spans(p)) {
              holders++;
              holder = z;
            }
          }
          if (holders !== 1 || m.zoneOfPfn(p) !== holder || holder.nid !== m.nodeOfPfn(p))
            bad.push(p);
        }
        expect(bad).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });
});

describe("pfnValid and pfnValidRange (property)", () => {
  it("agree with a model of the sections that hold RAM", () => {
    fc.assert(
      fc.property(
        machineArb,
        fc.array(fc.tuple(fc.nat(1_200_000), fc.nat(200_000)), { maxLength: 40 }),
        (spec, probes) => {
          const m = createMachine(spec);
          const sections = new Set([...ramPfns(spec)].map((p) => Math.floor(p / SECTION_PAGES)));
          // Page 0 is trimmed from RAM, but its section holds page frames whenever page 1.. does.
          const valid = (p: number) => sections.has(Math.floor(p / SECTION_PAGES));
          for (const [start, len] of probes) {
            expect(m.pfnValid(start)).toBe(valid(start));
            let any = false;
            for (let s = Math.floor(start / SECTION_PAGES); s * SECTION_PAGES < start + len; s++)
              if (sections.has(s)) any = true;
            expect(m.pfnValidRange(start, start + len)).toBe(len > 0 && any);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("page frame database (property)", () => {
  it("round-trips every field of every page it is given", () => {
    fc.assert(
      fc.property(
        machineArb,
        fc.array(
          fc.record({
            pick: fc.nat(),
            flags: fc.nat(0xffffffff),
            ref: fc.integer({ min: -5, max: 1e6 }),
            map: fc.integer({ min: 0, max: 1e6 }),
            priv: fc.nat(0xffffffff),
            mapping: fc.nat(0xffffffff),
            owner: fc.nat(0xffff),
          }),
          { maxLength: 50 },
        ),
        (spec, writes) => {
          const m = createMachine(spec);
          const db = m.pages;
          const pfns = [...ramPfns(spec)];
          const model = new Map<number, (typeof writes)[number]>();
          for (const w of writes) {
            const pfn = pfns[w.pick % pfns.length]!;
            const i = db.indexOf(pfn);
            db.flags[i] = w.flags;
            db.refcount[i] = w.ref;
            db.mapcount[i] = w.map;
            db.private[i] = w.priv;
            db.mapping[i] = w.mapping;
            db.owner[i] = w.owner;
            model.set(pfn, w);
          }
          for (const [pfn, w] of model) {
            const i = db.indexOf(pfn);
            expect(db.pfnOf(i)).toBe(pfn);
            expect([
              db.flags[i],
              db.refcount[i],
              db.mapcount[i],
              db.private[i],
              db.mapping[i],
              db.owner[i],
            ]).toEqual([w.flags, w.ref, w.map, w.priv, w.mapping, w.owner]);
            const zone = m.zoneOfPfn(pfn)!;
            expect([db.nodeAt(i), db.zoneTypeAt(i)]).toEqual([zone.nid, zone.type]);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("memory hotplug (property)", () => {
  it("keeps present counts, page frames and validity right over random add and remove sequences", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 7 })), { maxLength: 30 }),
        (ops) => {
          const m = createMachine({
            arch: "x86_64",
            sectionSize: SECTION,
            physAddrBits: 36,
            memoryMap: [{ start: 0, end: 8 * SECTION, type: "usable" }],
          });
          const base = m.totalPages;
          const added = new Set<number>();
          const firstHot = 1024; // section numbers well above boot RAM
          for (const [add, k] of ops) {
            const sec = firstHot + k;
            if (add && !added.has(sec)) {
              m.addMemory(sec * SECTION_PAGES, SECTION_PAGES, 0, k % 2 === 1);
              added.add(sec);
            } else if (!add && added.has(sec)) {
              expect(m.removeMemory(sec * SECTION_PAGES, SECTION_PAGES)).toBe(true);
              added.delete(sec);
            }
            expect(m.totalPages).toBe(base + added.size * SECTION_PAGES);
            for (let kk = 0; kk < 8; kk++)
              expect(m.pfnValid((firstHot + kk) * SECTION_PAGES + 3)).toBe(
                added.has(firstHot + kk),
              );
            const zoneSum = m.zones.reduce((s, z) => s + z.presentPages, 0);
            expect(zoneSum).toBe(m.totalPages);
            for (const z of m.zones) expect(z.presentPages).toBeLessThanOrEqual(z.spannedPages);
          }
        },
      ),
      { numRuns: 80 },
    );
  });
});

describe("PageListSet (property)", () => {
  it("behaves like an array of lists for add, remove and pop", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 2 }), fc.nat(63)),
          { maxLength: 200 },
        ),
        (ops) => {
          const m = createMachine({
            arch: "x86_64",
            sectionSize: SECTION,
            physAddrBits: 36,
            memoryMap: [{ start: 0, end: SECTION, type: "usable" }],
          });
          const lists = new PageListSet(m.pages, 3);
          const model: number[][] = [[], [], []];
          const where = new Map<number, number>();
          for (const [op, list, page] of ops) {
            if (op <= 1 && !where.has(page)) {
              if (op === 0) {
                lists.addHead(list, page);
                model[list]!.unshift(page);
              } else {
                lists.addTail(list, page);
                model[list]!.push(page);
              }
              where.set(page, list);
            } else if (op === 2 && where.has(page)) {
              const l = where.get(page)!;
              lists.remove(l, page);
              model[l]!.splice(model[l]!.indexOf(page), 1);
              where.delete(page);
            } else if (op === 3) {
              const got = lists.popHead(list);
              const want = model[list]!.shift() ?? -1;
              expect(got).toBe(want);
              where.delete(want);
            } else if (op === 4) {
              const got = lists.popTail(list);
              const want = model[list]!.pop() ?? -1;
              expect(got).toBe(want);
              where.delete(want);
            } else if (where.has(page)) {
              expect(() => lists.addHead(list, page)).toThrow(/already on a list/);
            }
            for (let l = 0; l < 3; l++) {
              expect([...lists.indexes(l)]).toEqual(model[l]);
              expect(lists.count(l)).toBe(model[l]!.length);
              expect(lists.last(l)).toBe(model[l]!.at(-1) ?? -1);
            }
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
