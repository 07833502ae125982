/**
 * @mem/xen-foreign benchmarks: the cost of the foreign-page hook on the free path of normal pages
 * (none / ours / ours + a UML observer / the naive Map-of-closures reference), the cost of a
 * foreign page's final put, and netback packets per second in both modes. Writes
 * bench/results.json.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BuddyAllocator, GFP_KERNEL } from "@mem/buddy";
import { createMachine, PRESETS } from "@mem/machine";
import { createNetbackPair, ForeignPages, type NetbackMode, UmlPhysmem } from "@mem/xen-foreign";
import { bench, do_not_optimize, group, run, summary } from "mitata";
import type { Variant } from "./free-path.js";
import { NaiveForeignPages } from "./reference.js";

const OPS = 4096;

function booted(): BuddyAllocator {
  const m = createMachine(PRESETS["x86_64-4g"]!);
  const a = new BuddyAllocator(m, { hotplug: false });
  a.freeAllRam();
  return a;
}

const plain = booted();
const ours = booted();
const fpOurs = new ForeignPages(ours.machine);
fpOurs.attach(ours);
const both = booted();
const fpBoth = new ForeignPages(both.machine);
fpBoth.attach(both);
new UmlPhysmem().attach(both);
const naive = booted();
const fpNaive = new NaiveForeignPages(naive.machine);
fpNaive.attach(naive);
let sink = 0;
const dtor = (pfn: number): void => {
  sink += pfn;
};
const ourId = fpOurs.registerDestructor("bench", dtor);
fpBoth.registerDestructor("bench", dtor);
// Some live foreign pages, so the hooks have something to find.
for (const a of [ours, both, naive]) {
  for (let k = 0; k < 256; k++) {
    const p = a.alloc(GFP_KERNEL, 0);
    if (a === ours) fpOurs.setForeign(p, ourId);
    else if (a === both) fpBoth.setForeign(p, dtor);
    else fpNaive.setForeign(p, dtor);
  }
}

function pairs(a: BuddyAllocator): void {
  for (let i = 0; i < OPS; i++) {
    const p = a.alloc(GFP_KERNEL, 0);
    a.free(p, 0);
  }
}

// In-process comparison (shared JIT: the allocator's hook call site sees every hook class, so
// these figures include megamorphic-call overhead; the headline figures below use one process
// per variant).
summary(() => {
  group("normal page: order-0 alloc + free pair (per-CPU path), in one process", () => {
    bench("no hook", () => pairs(plain));
    bench("foreign hook (ours)", () => pairs(ours));
    bench("foreign hook + UML observer", () => pairs(both));
    bench("naive Map-of-closures hook (reference)", () => pairs(naive));
  });
});

// The final put of a foreign page: destructor, which makes it ready again (count 1).
const fpPut = booted();
const fpf = new ForeignPages(fpPut.machine);
fpf.attach(fpPut);
const fpPage = fpPut.alloc(GFP_KERNEL, 0);
const dbPut = fpPut.machine.pages;
const iPut = dbPut.indexOf(fpPage);
fpf.setForeign(
  fpPage,
  fpf.registerDestructor("recycle", () => {
    dbPut.refcount[iPut] = 1;
  }),
);
const nvPut = booted();
const nvf = new NaiveForeignPages(nvPut.machine);
nvf.attach(nvPut);
const nvPage = nvPut.alloc(GFP_KERNEL, 0);
const iNv = nvPut.machine.pages.indexOf(nvPage);
nvf.setForeign(nvPage, () => {
  nvPut.machine.pages.refcount[iNv] = 1;
});
group("foreign page: final put_page -> destructor", () => {
  bench("destructor table (ours)", () => {
    for (let i = 0; i < OPS; i++) fpPut.putPage(fpPage);
  });
  bench("naive Map-of-closures (reference)", () => {
    for (let i = 0; i < OPS; i++) nvPut.putPage(nvPage);
  });
});

const r = await run({ format: "mitata" });
console.log(r.benchmarks.map((b, k) => `${k}: ${b.alias}`).join(", "));
do_not_optimize(sink);

function medianIn(index: number): number {
  const b = r.benchmarks[index];
  return b?.runs[0]?.stats?.p50 ?? Number.NaN;
}

// Netback packets per second: send + run to idle. Both modes are warmed up first, then measured
// alternately; the median of 5 runs each.
function onePairRun(mode: NetbackMode, n: number, seed: number): number {
  const m = createMachine(PRESETS.small!);
  const a = new BuddyAllocator(m, { hotplug: false });
  a.freeAllRam();
  const pair = createNetbackPair({ buddy: a, mode, seed });
  const t0 = performance.now();
  pair.send(n);
  pair.run({ untilIdle: true });
  const t1 = performance.now();
  pair.destroy();
  return ((t1 - t0) * 1e6) / n;
}
const modes: NetbackMode[] = ["destructor", "callback"];
for (let w = 0; w < 3; w++) for (const mode of modes) onePairRun(mode, 3000, 7 + w);
const ppsTimes = new Map<NetbackMode, number[]>();
for (let rep = 0; rep < 5; rep++)
  for (const mode of modes)
    ppsTimes.set(mode, [...(ppsTimes.get(mode) ?? []), onePairRun(mode, 5000, 42 + rep)]);
function pps(mode: NetbackMode): { nsPerPacket: number; pps: number } {
  const times = [...(ppsTimes.get(mode) ?? [])].sort((x, y) => x - y);
  const ns = times[times.length >> 1]!;
  return { nsPerPacket: ns, pps: 1e9 / ns };
}
const ppsD = pps("destructor");
const ppsC = pps("callback");
console.log(
  `netback (simulated, 5,000 packets, median of 5): destructor ${Math.round(ppsD.pps)} packets/s (${ppsD.nsPerPacket.toFixed(0)} ns/packet), callback ${Math.round(ppsC.pps)} packets/s (${ppsC.nsPerPacket.toFixed(0)} ns/packet)`,
);

// Headline: one process per variant, alternating, median of the per-round medians.
function isolated(variant: Variant, order: number, rounds: number): number {
  const here = fileURLToPath(new URL("./free-path.ts", import.meta.url));
  const out: number[] = [];
  for (let k = 0; k < rounds; k++) {
    const res = spawnSync(process.execPath, [...process.execArgv, here, variant, String(order)], {
      encoding: "utf8",
    });
    const line = res.stdout.trim().split("\n").pop() ?? "";
    out.push((JSON.parse(line) as { ns: number }).ns);
  }
  out.sort((x, y) => x - y);
  return out[out.length >> 1]!;
}
const variants: Variant[] = ["none", "noop", "ours", "ours+uml", "naive"];
const iso0 = new Map<Variant, number[]>();
const iso3 = new Map<Variant, number[]>();
for (let round = 0; round < 5; round++) {
  for (const v of variants) {
    iso0.set(v, [...(iso0.get(v) ?? []), isolated(v, 0, 1)]);
    iso3.set(v, [...(iso3.get(v) ?? []), isolated(v, 3, 1)]);
  }
}
const med = (xs: number[] | undefined): number => {
  const s = [...(xs ?? [])].sort((x, y) => x - y);
  return s[s.length >> 1]!;
};
for (const v of variants)
  console.log(
    `free path (own process, median of 5): ${v}: order-0 pair ${med(iso0.get(v)).toFixed(1)} ns, order-3 pair ${med(iso3.get(v)).toFixed(1)} ns`,
  );
const put = [4, 5].map((k) => medianIn(k) / OPS);
const results = [
  {
    name: "order-0 alloc+free pair of normal pages, foreign hook installed",
    medianNs: med(iso0.get("ours")),
    baselineName: "no hook",
    baselineMedianNs: med(iso0.get("none")),
  },
  {
    name: "order-0 alloc+free pair of normal pages, a no-op hook (the buddy's hook dispatch alone)",
    medianNs: med(iso0.get("noop")),
    baselineName: "no hook",
    baselineMedianNs: med(iso0.get("none")),
  },
  {
    name: "order-0 alloc+free pair of normal pages, foreign hook installed",
    medianNs: med(iso0.get("ours")),
    baselineName: "a no-op hook",
    baselineMedianNs: med(iso0.get("noop")),
  },
  {
    name: "order-0 alloc+free pair of normal pages, foreign hook + UML observer",
    medianNs: med(iso0.get("ours+uml")),
    baselineName: "no hook",
    baselineMedianNs: med(iso0.get("none")),
  },
  {
    name: "order-0 alloc+free pair of normal pages, foreign hook installed",
    medianNs: med(iso0.get("ours")),
    baselineName: "naive Map-of-closures hook",
    baselineMedianNs: med(iso0.get("naive")),
  },
  {
    name: "order-3 alloc+free pair of normal pages (buddy path), foreign hook installed",
    medianNs: med(iso3.get("ours")),
    baselineName: "no hook",
    baselineMedianNs: med(iso3.get("none")),
  },
  {
    name: "order-3 alloc+free pair of normal pages (buddy path), foreign hook installed",
    medianNs: med(iso3.get("ours")),
    baselineName: "a no-op hook",
    baselineMedianNs: med(iso3.get("noop")),
  },
  {
    name: "order-3 alloc+free pair of normal pages (buddy path), foreign hook installed",
    medianNs: med(iso3.get("ours")),
    baselineName: "naive Map-of-closures hook",
    baselineMedianNs: med(iso3.get("naive")),
  },
  {
    name: "foreign page final put_page -> destructor (table)",
    medianNs: put[0]!,
    baselineName: "naive Map-of-closures",
    baselineMedianNs: put[1]!,
  },
  {
    name: "netback packet, destructor mode (send + run to idle)",
    medianNs: ppsD.nsPerPacket,
    baselineName: "netback packet, callback mode",
    baselineMedianNs: ppsC.nsPerPacket,
  },
];
for (const x of results)
  console.log(
    `${x.name}: ${x.medianNs.toFixed(1)} ns vs ${x.baselineName} ${x.baselineMedianNs.toFixed(1)} ns (${(((x.medianNs - x.baselineMedianNs) / x.baselineMedianNs) * 100).toFixed(1)}%)`,
  );
writeFileSync(
  new URL("./results.json", import.meta.url),
  `${JSON.stringify(
    {
      package: "@mem/xen-foreign",
      date: new Date().toISOString().slice(0, 10),
      node: process.version,
      results,
    },
    null,
    2,
  )}\n`,
);
