/**
 * The kernel's pfn and page-flag helpers by their C names, over a {@link Machine}.
 *
 * @module
 */
import type { Machine } from "../machine.js";
import { pageIndexOrPanic } from "../machine.js";
import { PG_buddy, PG_reserved } from "../page-flags.js";

/** `PFN_UP(x)`: the first pfn at or above byte address `x`. */
export function PFN_UP(machine: Machine, x: number): number {
  return Math.ceil(x / machine.pageSize);
}

/** `PFN_DOWN(x)`: the pfn holding byte address `x`. */
export function PFN_DOWN(machine: Machine, x: number): number {
  return Math.floor(x / machine.pageSize);
}

/** `PFN_PHYS(pfn)`: the byte address of `pfn`. */
export function PFN_PHYS(machine: Machine, pfn: number): number {
  return pfn * machine.pageSize;
}

/** `PHYS_PFN(x)`: same as {@link PFN_DOWN}. */
export function PHYS_PFN(machine: Machine, x: number): number {
  return Math.floor(x / machine.pageSize);
}

/** `pfn_valid(pfn)`: 1 when the pfn has a page frame, else 0. */
export function pfn_valid(machine: Machine, pfn: number): number {
  return machine.pfnValid(pfn) ? 1 : 0;
}

/** `pfn_valid_range(start_pfn, end_pfn)`: 1 when any pfn in `[start, end)` is valid, else 0. */
export function pfn_valid_range(machine: Machine, startPfn: number, endPfn: number): number {
  return machine.pfnValidRange(startPfn, endPfn) ? 1 : 0;
}

/** `page_count(page)`: the reference count of `pfn`'s page. */
export function page_count(machine: Machine, pfn: number): number {
  return machine.pages.refcount[pageIndexOrPanic(machine, pfn)]!;
}

/** `PageReserved(page)`: 1 when `pfn`'s page is reserved. */
export function PageReserved(machine: Machine, pfn: number): number {
  return (machine.pages.flags[pageIndexOrPanic(machine, pfn)]! & PG_reserved) !== 0 ? 1 : 0;
}

/** `SetPageReserved(page)`. */
export function SetPageReserved(machine: Machine, pfn: number): void {
  const i = pageIndexOrPanic(machine, pfn);
  machine.pages.flags[i] = machine.pages.flags[i]! | PG_reserved;
}

/** `ClearPageReserved(page)`. */
export function ClearPageReserved(machine: Machine, pfn: number): void {
  const i = pageIndexOrPanic(machine, pfn);
  machine.pages.flags[i] = machine.pages.flags[i]! & ~PG_reserved;
}

/** `PageBuddy(page)`: 1 when `pfn`'s page heads a free buddy block. */
export function PageBuddy(machine: Machine, pfn: number): number {
  return (machine.pages.flags[pageIndexOrPanic(machine, pfn)]! & PG_buddy) !== 0 ? 1 : 0;
}
