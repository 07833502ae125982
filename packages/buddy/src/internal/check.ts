/**
 * The invariant checker and the state digest of a {@link BuddyAllocator}. Not for hot paths: both
 * walk every page.
 *
 * @module
 */
import {
  KernelPanic,
  NO_ZONE,
  PG_buddy,
  PG_foreign,
  PG_head,
  PG_isolated,
  PG_pcp,
  PG_reserved,
  PG_tail,
} from "@mem/machine";
import type { BuddyAllocator } from "../buddy-allocator.js";
import { MIGRATE_PCPTYPES, MIGRATE_TYPES } from "../gfp.js";

const FREE = 1;
const PCP = 2;
const ALLOCATED = 3;
const BAD = 4;

function fail(message: string): never {
  throw new KernelPanic("invariant", `invariant: ${message}`);
}

/** Throws a {@link @mem/machine!index.KernelPanic} ("invariant") at the first violated invariant. */
export function checkInvariants(a: BuddyAllocator): void {
  const db = a.db;
  const state = new Uint8Array(db.flags.length);
  const sp = db.sectionPages;
  for (const zs of a.zoneStates) {
    const zn = zs.zone.nid * 8 + zs.zone.type;
    let pages = 0;
    for (let o = 0; o < a.orders; o++) {
      const size = 2 ** o;
      let blocks = 0;
      for (let mt = 0; mt < MIGRATE_TYPES; mt++) {
        const list = o * MIGRATE_TYPES + mt;
        let c = 0;
        for (let i = zs.free.first(list); i >= 0; i = zs.free.nextOf(list, i)) {
          c++;
          const pfn = db.pfnOf(i);
          const where = `zone ${zs.zone.name} order ${o} block at pfn ${pfn}`;
          if ((db.flags[i]! & PG_buddy) === 0) fail(`${where}: head lacks PG_buddy`);
          if (db.private[i] !== o) fail(`${where}: private ${db.private[i]} is not the order`);
          if (db.mapping[i] !== list) fail(`${where}: recorded list ${db.mapping[i]} != ${list}`);
          if (pfn % size !== 0) fail(`${where}: not aligned`);
          if (Math.floor(pfn / sp) !== Math.floor((pfn + size - 1) / sp))
            fail(`${where}: crosses a section`);
          for (let k = i; k < i + size; k++) {
            if (state[k] !== 0) fail(`${where}: pfn ${db.pfnOf(k)} is in two places`);
            state[k] = FREE;
            if (db.zoneNode[k] !== zn) fail(`${where}: pfn ${db.pfnOf(k)} is in another zone`);
            if (db.refcount[k] !== 0 || db.mapcount[k] !== 0)
              fail(`${where}: pfn ${db.pfnOf(k)} has a count`);
            if (k > i && db.flags[k] !== 0)
              fail(`${where}: inner pfn ${db.pfnOf(k)} has flags 0x${db.flags[k]!.toString(16)}`);
          }
        }
        if (zs.free.count(list) !== c) fail(`zone ${zs.zone.name} list ${list} count mismatch`);
        blocks += c;
        pages += c * size;
      }
      if (zs.nrFree[o] !== blocks)
        fail(`zone ${zs.zone.name} nr_free[${o}] = ${zs.nrFree[o]}, lists hold ${blocks}`);
    }
    if (zs.freePages !== pages)
      fail(`zone ${zs.zone.name} NR_FREE_PAGES = ${zs.freePages}, lists hold ${pages}`);
    for (let cpu = 0; cpu < a.cpus; cpu++) {
      let c = 0;
      for (let mt = 0; mt < MIGRATE_PCPTYPES; mt++) {
        const list = cpu * MIGRATE_PCPTYPES + mt;
        for (let i = zs.pcp.first(list); i >= 0; i = zs.pcp.nextOf(list, i)) {
          c++;
          const where = `zone ${zs.zone.name} cpu ${cpu} pcp page pfn ${db.pfnOf(i)}`;
          if (db.flags[i] !== PG_pcp) fail(`${where}: flags 0x${db.flags[i]!.toString(16)}`);
          if (db.mapping[i] !== list) fail(`${where}: recorded list ${db.mapping[i]}`);
          if (db.refcount[i] !== 0 || db.mapcount[i] !== 0) fail(`${where}: has a count`);
          if (db.zoneNode[i] !== zn) fail(`${where}: in another zone`);
          if (state[i] !== 0) fail(`${where}: in two places`);
          state[i] = PCP;
        }
      }
      if (zs.pcpCount[cpu] !== c)
        fail(`zone ${zs.zone.name} cpu ${cpu} pcp count ${zs.pcpCount[cpu]}, lists hold ${c}`);
    }
  }
  for (const b of a.badBlocks) {
    const i = db.indexOf(b.pfn);
    if (i < 0) continue;
    for (let k = i; k < i + 2 ** b.order; k++) if (state[k] === 0) state[k] = BAD;
  }
  const managed = new Map<number, number>();
  for (const r of a.machine.presentPfnRanges()) {
    let i = -1;
    for (let pfn = r.start; pfn < r.end; pfn++) {
      // Inside a section, consecutive pfns have consecutive indexes.
      i = pfn === r.start || pfn % sp === 0 ? db.indexOf(pfn) : i + 1;
      const f = db.flags[i]!;
      const zn = db.zoneNode[i]!;
      if ((f & PG_reserved) === 0) {
        if (zn % 8 === NO_ZONE) fail(`pfn ${pfn} is in no zone but not reserved`);
        managed.set(zn, (managed.get(zn) ?? 0) + 1);
      }
      const s = state[i]!;
      if (s === FREE || s === PCP || s === BAD) continue;
      if (s === ALLOCATED) continue;
      if ((f & (PG_buddy | PG_pcp)) !== 0) fail(`pfn ${pfn} is marked free but on no list`);
      if (db.refcount[i]! > 0) {
        if ((f & PG_tail) !== 0) fail(`tail pfn ${pfn} has a reference count`);
        state[i] = ALLOCATED;
        if ((f & PG_head) !== 0) {
          const o = db.private[i + 1]!;
          if (o < 1 || o >= a.orders) fail(`head pfn ${pfn} has order ${o}`);
          if (pfn % 2 ** o !== 0) fail(`head pfn ${pfn} is not aligned to order ${o}`);
          if ((db.flags[i + 1]! & PG_tail) === 0) fail(`block ${pfn}: page[1] lacks PG_tail`);
          for (let k = i + 1; k < i + 2 ** o; k++) {
            if (state[k] !== 0) fail(`tail pfn ${db.pfnOf(k)} of ${pfn} is in two places`);
            if ((db.flags[k]! & (PG_buddy | PG_pcp | PG_reserved | PG_head)) !== 0)
              fail(`tail pfn ${db.pfnOf(k)} of ${pfn} has flags 0x${db.flags[k]!.toString(16)}`);
            if (db.refcount[k] !== 0) fail(`tail pfn ${db.pfnOf(k)} has a count`);
            if (db.zoneNode[k] !== zn) fail(`block ${pfn} crosses a zone`);
            state[k] = ALLOCATED;
          }
        }
        continue;
      }
      if (db.refcount[i]! < 0) fail(`pfn ${pfn} has a negative count`);
      if ((f & PG_tail) !== 0) fail(`tail pfn ${pfn} belongs to no allocated block`);
      if ((f & PG_reserved) !== 0) continue;
      if ((f & PG_isolated) !== 0) continue;
      if ((f & PG_foreign) !== 0 || db.owner[i] !== 0) continue; // claimed by its owner
      fail(`pfn ${pfn} (flags 0x${f.toString(16)}) is neither free, allocated, reserved nor owned`);
    }
  }
  for (const zs of a.zoneStates) {
    const zn = zs.zone.nid * 8 + zs.zone.type;
    const m = managed.get(zn) ?? 0;
    if (m !== zs.managed) fail(`zone ${zs.zone.name} managed ${zs.managed}, pages say ${m}`);
  }
}

/** A hex digest of the page database arrays and the allocator's counters. */
export function stateDigest(a: BuddyAllocator, extra: readonly number[]): string {
  const db = a.db;
  let h = 0x811c9dc5;
  const mix = (v: number): void => {
    h = Math.imul(h ^ (v >>> 0), 16777619);
    h = Math.imul(h ^ Math.floor(v / 4294967296), 16777619);
  };
  for (const arr of [db.flags, db.refcount, db.mapcount, db.private, db.mapping, db.next, db.prev])
    for (let i = 0; i < arr.length; i++) mix(arr[i]!);
  for (const zs of a.zoneStates) {
    mix(zs.freePages);
    mix(zs.managed);
    mix(zs.pgalloc);
    for (let o = 0; o < zs.nrFree.length; o++) mix(zs.nrFree[o]!);
    for (let l = 0; l < zs.free.size; l++) {
      mix(zs.free.first(l));
      mix(zs.free.count(l));
    }
    for (let c = 0; c < zs.pcpCount.length; c++) mix(zs.pcpCount[c]!);
    for (let l = 0; l < zs.pcp.size; l++) mix(zs.pcp.first(l));
  }
  for (let b = 0; b < a.pbType.length; b++) mix(a.pbType[b]!);
  mix(a.badBlocks.length);
  mix(a.hooks.length);
  for (const v of extra) mix(v);
  return (h >>> 0).toString(16).padStart(8, "0");
}
