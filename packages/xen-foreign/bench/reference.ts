/**
 * The naive reference: a per-page closure looked up in a Map on every free (what "a destructor
 * per page" looks like without a flag bit and a destructor table).
 */
import type { BuddyAllocator } from "@mem/buddy";
import { type FreePageHook, KernelPanic, type Machine, PG_foreign } from "@mem/machine";

export type Closure = (pfn: number, order: number) => void;

export class NaiveForeignPages implements FreePageHook {
  readonly name = "naive-foreign";
  readonly machine: Machine;
  private readonly dtors = new Map<number, Closure>();
  calls = 0;

  constructor(machine: Machine) {
    this.machine = machine;
  }

  attach(buddy: BuddyAllocator): () => void {
    return buddy.addFreeHook(this);
  }

  setForeign(pfn: number, fn: Closure): void {
    const db = this.machine.pages;
    const i = db.indexOrPanic(pfn);
    db.flags[i] = db.flags[i]! | PG_foreign;
    this.dtors.set(pfn, fn);
  }

  clearForeign(pfn: number): void {
    const db = this.machine.pages;
    const i = db.indexOrPanic(pfn);
    if (!this.dtors.delete(pfn)) throw new KernelPanic("not-foreign", `pfn ${pfn} is not foreign`);
    db.flags[i] = db.flags[i]! & ~PG_foreign;
  }

  isForeign(pfn: number): boolean {
    return this.dtors.has(pfn);
  }

  onFree(pfn: number, order: number): boolean {
    const fn = this.dtors.get(pfn);
    if (fn === undefined) return false;
    fn(pfn, order);
    this.calls++;
    return true;
  }
}
