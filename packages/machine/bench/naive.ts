/**
 * The naive reference for the page frame database: one JavaScript object per page in a Map keyed
 * by pfn, and zone present counts by testing every pfn. What a first port would write.
 */
import type { Machine } from "@mem/machine";

/** A page as an object. */
export interface NaivePage {
  flags: number;
  refcount: number;
  mapcount: number;
  private: number;
  mapping: number;
  zone: number;
  node: number;
  owner: number;
  next: NaivePage | null;
  prev: NaivePage | null;
}

/** Builds a page object for every pfn of every present section of `machine`. */
export function buildNaive(machine: Machine): Map<number, NaivePage> {
  const pages = new Map<number, NaivePage>();
  for (const r of machine.presentPfnRanges()) {
    for (let pfn = r.start; pfn < r.end; pfn++) {
      const zone = machine.zones.find((z) => z.spans(pfn));
      pages.set(pfn, {
        flags: 0,
        refcount: 0,
        mapcount: 0,
        private: 0,
        mapping: 0,
        zone: zone?.type ?? 7,
        node: zone?.nid ?? 0,
        owner: 0,
        next: null,
        prev: null,
      });
    }
  }
  return pages;
}

/** Zone present pages by testing every pfn of each span. */
export function naivePresent(machine: Machine): number[] {
  return machine.zones.map((z) => {
    let n = 0;
    for (let p = z.startPfn; p < z.endPfn; p++) if (machine.pfnIsRam(p)) n++;
    return n;
  });
}
