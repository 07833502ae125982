/**
 * @mem/buddy benchmarks: the order-0 pair through the per-CPU lists, mixed orders 0-10 through
 * the buddy lists, the boot hand-over of 16 Mi pages, and the cost of the free hook list, against
 * the Set-per-order reference in ./reference.ts. Writes bench/results.json.
 */
import { writeFileSync } from "node:fs";
import { BuddyAllocator, GFP_KERNEL } from "@mem/buddy";
import { createMachine, flatPreset, PG_reserved, PRESETS } from "@mem/machine";
import { bench, do_not_optimize, group, run } from "mitata";
import { ReferenceBuddy } from "./reference.js";

const OPS = 4096;

// --- order-0 pairs -------------------------------------------------------------------------
const m4 = createMachine(PRESETS["x86_64-4g"]!);
const pcpAlloc = new BuddyAllocator(m4, { hotplug: false });
pcpAlloc.freeAllRam();
const ref0 = new ReferenceBuddy();
for (const r of m4.ramRanges) {
  let p = r.start;
  while (p < r.end) {
    let o = 10;
    while (o > 0 && (p % 2 ** o !== 0 || p + 2 ** o > r.end)) o--;
    ref0.freeBlock(p, o);
    p += 2 ** o;
  }
}
// A few live pages so the lists are not trivially empty.
const live0: number[] = [];
for (let i = 0; i < 1000; i++) live0.push(pcpAlloc.alloc(GFP_KERNEL, 0));

group("order-0 alloc + free pair (per op = 1 pair)", () => {
  bench("pcp (ours)", () => {
    for (let i = 0; i < OPS; i++) {
      const p = pcpAlloc.alloc(GFP_KERNEL, 0);
      pcpAlloc.free(p, 0);
    }
  });
  bench("Set per order (reference)", () => {
    for (let i = 0; i < OPS; i++) {
      const p = ref0.alloc(0);
      ref0.freeBlock(p, 0);
    }
  });
});

// --- hooks ---------------------------------------------------------------------------------
const m4h = createMachine(PRESETS["x86_64-4g"]!);
const hooked = new BuddyAllocator(m4h, { hotplug: false });
hooked.freeAllRam();
let seen = 0;
hooked.addFreeHook({
  name: "uml-observer",
  onFree: (): boolean => {
    seen++;
    return false;
  },
});
group("free hook cost (order-0 pair)", () => {
  bench("no hook installed", () => {
    for (let i = 0; i < OPS; i++) {
      const p = pcpAlloc.alloc(GFP_KERNEL, 0);
      pcpAlloc.free(p, 0);
    }
  });
  bench("one observing hook", () => {
    for (let i = 0; i < OPS; i++) {
      const p = hooked.alloc(GFP_KERNEL, 0);
      hooked.free(p, 0);
    }
  });
});

// --- mixed orders via the buddy lists --------------------------------------------------------
const mb = createMachine(PRESETS["x86_64-4g"]!);
const buddy = new BuddyAllocator(mb, { pcp: false, hotplug: false });
buddy.freeAllRam();
const refM = new ReferenceBuddy();
for (const r of mb.ramRanges) {
  let p = r.start;
  while (p < r.end) {
    let o = 10;
    while (o > 0 && (p % 2 ** o !== 0 || p + 2 ** o > r.end)) o--;
    refM.freeBlock(p, o);
    p += 2 ** o;
  }
}
const LIVE = 256;
const orders = new Uint8Array(65536);
let seed = 12345;
for (let i = 0; i < orders.length; i++) {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  orders[i] = (seed >>> 16) % 11;
}
function ring(alloc: (o: number) => number, free: (p: number, o: number) => void) {
  const pfns = new Float64Array(LIVE);
  const ords = new Uint8Array(LIVE);
  for (let k = 0; k < LIVE; k++) {
    ords[k] = orders[k]!;
    pfns[k] = alloc(ords[k]!);
  }
  let cursor = LIVE;
  return (): void => {
    for (let i = 0; i < OPS; i++) {
      const k = i % LIVE;
      free(pfns[k]!, ords[k]!);
      const o = orders[cursor++ % orders.length]!;
      ords[k] = o;
      pfns[k] = alloc(o);
    }
  };
}
const mixedOurs = ring(
  (o) => buddy.alloc(GFP_KERNEL, o),
  (p, o) => buddy.free(p, o),
);
const mixedRef = ring(
  (o) => refM.alloc(o),
  (p, o) => refM.freeBlock(p, o),
);
group("mixed orders 0-10, 256 live blocks (per op = 1 free + 1 alloc)", () => {
  bench("buddy lists (ours)", () => mixedOurs());
  bench("Set per order (reference)", () => mixedRef());
});

const out = await run({ format: "mitata" });
const median = (name: string): number => {
  for (const b of out.benchmarks)
    for (const r of b.runs) if (r.name === name && r.stats) return r.stats.p50 / OPS;
  return Number.NaN;
};

// --- boot hand-over of 16 Mi pages (flatPreset(64)) ------------------------------------------
const big = createMachine(flatPreset(64));
const db = big.pages;
const initialFlags = db.flags.slice();
const boots: number[] = [];
const refBoots: number[] = [];
let handed = 0;
for (let run = 0; run < 5; run++) {
  db.flags.set(initialFlags);
  db.next.fill(0);
  db.prev.fill(0);
  db.private.fill(0);
  db.mapping.fill(0);
  const a = new BuddyAllocator(big, { hotplug: false });
  const t = performance.now();
  for (const r of big.ramRanges) a.freeBootmemRange(r.start, r.end);
  boots.push(performance.now() - t);
  handed = a.managedPages;
  const ref = new ReferenceBuddy();
  const t2 = performance.now();
  for (const r of big.ramRanges) {
    let p = r.start;
    while (p < r.end) {
      let o = 10;
      while (o > 0 && (p % 2 ** o !== 0 || p + 2 ** o > r.end)) o--;
      ref.freeBlock(p, o);
      p += 2 ** o;
    }
  }
  refBoots.push(performance.now() - t2);
}
boots.sort((a, b) => a - b);
refBoots.sort((a, b) => a - b);
void PG_reserved;
console.log(
  `boot hand-over of ${handed} pages (flatPreset(64)): median ${boots[2]!.toFixed(1)} ms over 5 runs (reference ${refBoots[2]!.toFixed(1)} ms); hook calls seen ${seen}`,
);
do_not_optimize(live0);

const results = {
  package: "@mem/buddy",
  date: new Date().toISOString().slice(0, 10),
  node: process.version,
  results: [
    {
      name: "order-0 alloc+free pair through the per-CPU lists",
      medianNs: median("pcp (ours)"),
      baselineName: "Set per order (reference)",
      baselineMedianNs: median("Set per order (reference)"),
      target: "<= 40 ns",
    },
    {
      name: "mixed orders 0-10 free+alloc through the buddy lists",
      medianNs: median("buddy lists (ours)"),
      baselineName: "Set per order (reference)",
      baselineMedianNs: refMixed(),
      target: "<= 200 ns",
    },
    {
      name: `boot hand-over of ${handed} pages (flatPreset(64))`,
      medianNs: boots[2]! * 1e6,
      baselineName: "Set per order (reference)",
      baselineMedianNs: refBoots[2]! * 1e6,
      target: "<= 150 ms",
    },
    {
      name: "order-0 pair with one observing free hook",
      medianNs: median("one observing hook"),
      baselineName: "no hook installed",
      baselineMedianNs: median("no hook installed"),
    },
  ],
};
function refMixed(): number {
  let found = 0;
  for (const b of out.benchmarks)
    for (const r of b.runs)
      if (r.name === "Set per order (reference)" && r.stats) {
        found++;
        if (found === 2) return r.stats.p50 / OPS;
      }
  return Number.NaN;
}
writeFileSync(new URL("./results.json", import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
