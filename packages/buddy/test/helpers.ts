import { BuddyAllocator, type BuddyOptions } from "@mem/buddy";
import { createMachine, type Machine, PRESETS } from "@mem/machine";

/** The 64 MiB "small" machine: DMA (pfns 1-4095, 3998 present) and DMA32 (4096-16383). */
export function smallMachine(): Machine {
  return createMachine(PRESETS.small!);
}

/** A small machine with all its RAM handed to a fresh allocator. */
export function bootedSmall(options: BuddyOptions = {}): { m: Machine; a: BuddyAllocator } {
  const m = smallMachine();
  const a = new BuddyAllocator(m, options);
  a.freeAllRam();
  return { m, a };
}

/** Free blocks as "pfn/order" strings, sorted. */
export function blockStrings(a: BuddyAllocator): string[] {
  return a.freeBlocks().map((b) => `${b.pfn}/${b.order}`);
}
