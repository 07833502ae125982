/**
 * Memory hotplug: a section added at run time (into ZONE_MOVABLE, where movable allocations and the
 * page cache go first) and later removed, its pages migrated out first.
 *
 * @module
 */
import { PQ_NONE } from "@mem/contig";
import type { Kernel } from "./kernel.js";

/** Adds `sections` sections above the highest present pfn; returns the range. */
export function hotAdd(
  k: Kernel,
  sections: number,
  startPfnIn?: number,
): { startPfn: number; endPfn: number } {
  const m = k.machine;
  const sp = m.sectionPages;
  let top = 0;
  for (const r of m.presentPfnRanges()) top = Math.max(top, r.end);
  const startPfn = startPfnIn ?? Math.ceil(top / sp) * sp;
  const pages = sections * sp;
  k.depth++;
  try {
    m.addMemory(startPfn, pages, 0, true);
  } finally {
    k.depth--;
  }
  k.hotplugAddedPages += pages;
  for (const z of m.zones)
    if (z.presentPages > 0 && !k.sampledZones.includes(z.id)) k.sampledZones.push(z.id);
  const ps = m.pageSize;
  const hex = (v: number): string => `0x${v.toString(16).padStart(16, "0")}`;
  k.log.print(
    `Hotplug: added [mem ${hex(startPfn * ps)}-${hex((startPfn + pages) * ps - 1)}] (${(pages * ps) / 2 ** 20}M) to node 0 zone Movable; pages online`,
  );
  k.hotplugEvents.push({ t: k.now, type: "add", startPfn, endPfn: startPfn + pages, migrated: 0 });
  k.step({ op: "hotplug.add", sections, startPfn }, 1000);
  return { startPfn, endPfn: startPfn + pages };
}

/**
 * Removes `[startPfn, endPfn)`: migrates every page-cache page and movable user block out, then
 * offlines (the allocator isolates the free range) and removes it. Returns whether it went.
 */
export function hotRemove(k: Kernel, startPfn: number, endPfn: number): boolean {
  const m = k.machine;
  const ps = m.pageSize;
  const db = m.pages;
  let migrated = 0;
  let ok = true;
  k.depth++;
  try {
    k.buddy.drain();
    for (let pfn = startPfn; pfn < endPfn && ok; pfn++) {
      const i = db.indexOf(pfn);
      if (i < 0) continue;
      if (k.queues.queueAt(i) !== PQ_NONE) {
        // Page cache and order-0 anonymous pages: PageQueues.migratePage tells their owner.
        if (!k.migrateQueued(pfn, startPfn, endPfn)) ok = false;
        else migrated++;
      } else if (k.kindAt(pfn) === "anon") {
        const h = db.mapping[i]! - 1;
        if (k.handlePfn(h) === pfn) {
          const n = 2 ** k.handleOrder(h);
          if (!k.migrateHandle(h, startPfn, endPfn)) ok = false;
          else migrated += n;
        }
      }
    }
    k.buddy.drain();
    if (ok) ok = m.removeMemory(startPfn, endPfn - startPfn);
  } finally {
    k.depth--;
  }
  const hex = (v: number): string => `0x${v.toString(16).padStart(10, "0")}`;
  if (ok) {
    k.hotplugRemovedPages += endPfn - startPfn;
    k.log.print(`Offlined Pages ${endPfn - startPfn} (migrated ${migrated})`);
    k.log.print(`Hotplug: removed [mem ${hex(startPfn * ps)}-${hex(endPfn * ps - 1)}]`);
  } else {
    k.log.print(
      `memory offlining [mem ${hex(startPfn * ps)}-${hex(endPfn * ps - 1)}] failed due to failure to isolate range`,
    );
  }
  k.hotplugEvents.push({
    t: k.now,
    type: ok ? "remove" : "remove-failed",
    startPfn,
    endPfn,
    migrated,
  });
  k.step({ op: "hotplug.remove", startPfn, endPfn }, 1000);
  return ok;
}
