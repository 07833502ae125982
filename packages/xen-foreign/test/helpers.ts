import { BuddyAllocator, type BuddyOptions } from "@mem/buddy";
import { createMachine, type Machine, PRESETS } from "@mem/machine";

/** The 64 MiB "small" machine with all its RAM handed to a fresh allocator. */
export function bootedSmall(options: BuddyOptions = {}): { m: Machine; a: BuddyAllocator } {
  const m = createMachine(PRESETS.small!);
  const a = new BuddyAllocator(m, { hotplug: false, ...options });
  a.freeAllRam();
  return { m, a };
}
