/**
 * One variant of the free-path measurement, run in its own process so that every variant gets a
 * fresh JIT (the buddy allocator's hook call site stays monomorphic, as in a kernel build with one
 * arch hook). Prints the median ns per order-0 alloc+free pair of normal pages.
 */
import { BuddyAllocator, GFP_KERNEL } from "@mem/buddy";
import { createMachine, PRESETS } from "@mem/machine";
import { ForeignPages, UmlPhysmem } from "@mem/xen-foreign";
import { NaiveForeignPages } from "./reference.js";

export type Variant = "none" | "noop" | "ours" | "ours+uml" | "naive";

export function measure(variant: Variant, order: number): number {
  const m = createMachine(PRESETS["x86_64-4g"]!);
  const a = new BuddyAllocator(m, { hotplug: false });
  a.freeAllRam();
  let sink = 0;
  const dtor = (pfn: number): void => {
    sink += pfn;
  };
  if (variant === "ours" || variant === "ours+uml") {
    const fp = new ForeignPages(m);
    fp.attach(a);
    const id = fp.registerDestructor("bench", dtor);
    for (let k = 0; k < 256; k++) fp.setForeign(a.alloc(GFP_KERNEL, 0), id);
    if (variant === "ours+uml") new UmlPhysmem().attach(a);
  } else if (variant === "naive") {
    const fp = new NaiveForeignPages(m);
    fp.attach(a);
    for (let k = 0; k < 256; k++) fp.setForeign(a.alloc(GFP_KERNEL, 0), dtor);
  } else {
    for (let k = 0; k < 256; k++) a.alloc(GFP_KERNEL, 0);
    if (variant === "noop") a.addFreeHook({ name: "noop", onFree: (): boolean => false });
  }
  const OPS = 4096;
  const batch = (): void => {
    for (let i = 0; i < OPS; i++) {
      const p = a.alloc(GFP_KERNEL, order);
      a.free(p, order);
    }
  };
  for (let w = 0; w < 100; w++) batch();
  const times: number[] = [];
  for (let r = 0; r < 200; r++) {
    const t0 = performance.now();
    batch();
    times.push(((performance.now() - t0) * 1e6) / OPS);
  }
  times.sort((x, y) => x - y);
  if (sink < 0) console.log(sink);
  return times[times.length >> 1]!;
}

if (process.argv[2] !== undefined && process.argv[1]?.endsWith("free-path.ts")) {
  const v = process.argv[2] as Variant;
  const order = Number(process.argv[3] ?? "0");
  console.log(JSON.stringify({ variant: v, order, ns: measure(v, order) }));
}
