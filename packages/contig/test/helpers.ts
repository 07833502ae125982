import { BuddyAllocator, GFP_HIGHUSER_MOVABLE } from "@mem/buddy";
import { ContigAllocator, type ContigAllocatorOptions, PageQueues } from "@mem/contig";
import { createMachine, type Machine, PRESETS } from "@mem/machine";

/** A booted 64 MiB machine with queues and a contig allocator. */
export function booted(
  options: Partial<ContigAllocatorOptions> = {},
  preset = "small",
): { m: Machine; b: BuddyAllocator; q: PageQueues; c: ContigAllocator } {
  const m = createMachine(PRESETS[preset]!);
  const b = new BuddyAllocator(m);
  b.freeAllRam();
  const q = new PageQueues(m);
  const c = new ContigAllocator({ buddy: b, queues: q, ...options });
  return { m, b, q, c };
}

/** Allocates an order-0 movable page, tags it, queues it. */
export function userPage(
  b: BuddyAllocator,
  q: PageQueues,
  tag: number,
  queue: number,
  handle: number,
): number {
  const pfn = b.alloc(GFP_HIGHUSER_MOVABLE, 0);
  if (pfn < 0) throw new Error("no page");
  const i = b.machine.pages.indexOf(pfn);
  b.machine.pages.owner[i] = tag;
  b.machine.pages.mapping[i] = handle;
  q.add(pfn, queue);
  return pfn;
}
