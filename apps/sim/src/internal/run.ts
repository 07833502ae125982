/**
 * Running a scenario on a booted kernel and collecting a JSON-serialisable result: time series,
 * fragmentation indices, the contig ladder, netback counters, the hibernation image, hotplug
 * events, the boot log and a per-page state snapshot.
 *
 * @module
 */
import { type LadderRung, STRATEGY_CONFIG } from "./contig.js";
import { formatLine } from "./dmesg.js";
import type { IsaResult } from "./drivers/isa-sound.js";
import type { CaptureResult } from "./drivers/pci-capture.js";
import { type HibernationResult, hibernate } from "./hibernate.js";
import { hotAdd, hotRemove } from "./hotplug.js";
import type { HotplugRecord, Kernel, Sample } from "./kernel.js";
import { Rng } from "./rng.js";
import type { Scenario, Step } from "./scenarios.js";
import { FRAG_ORDERS, PAGE_STATE_NAMES } from "./state.js";
import { type ChurnResult, churn } from "./workloads/churn.js";
import { fragment } from "./workloads/fragment.js";
import { type PageCacheResult, pageCacheWorkload } from "./workloads/page-cache.js";
import type { NetbackStats } from "./xen.js";

/** Per-step progress callback: `(step index, step name, done, total)`. */
export type ProgressFn = (index: number, name: string, done: number, total: number) => void;

/** What one step did. */
export interface StepResult {
  readonly do: string;
  /** Operations it took. */
  readonly ops: number;
  /** Simulated time it took, microseconds. */
  readonly simUs: number;
  /** Wall time, milliseconds. */
  readonly wallMs: number;
  /** Step-specific figures. */
  readonly detail: Record<string, unknown>;
}

/** The memory map picture: one byte per present page. */
export interface PageMapSnapshot {
  /** Meaning of each state byte. */
  readonly legend: readonly string[];
  /** Present pfn ranges in order; `offset` is where each starts in `states`. */
  readonly ranges: readonly { startPfn: number; endPfn: number; offset: number }[];
  /** The state bytes, base64 (decode with `Buffer.from(s, "base64")` or `atob`). */
  readonly states: string;
  /** Pages per state. */
  readonly counts: Record<string, number>;
}

/** A zone as the result describes it. */
export interface ZoneSummary {
  readonly id: number;
  readonly label: string;
  readonly nid: number;
  readonly name: string;
  readonly startPfn: number;
  readonly spannedPages: number;
  readonly presentPages: number;
  readonly managedPages: number;
  readonly freePages: number;
  readonly min: number;
  readonly low: number;
  readonly high: number;
}

/** The result of `run(scenario)`: plain data, `JSON.stringify`-safe. */
export interface RunResult {
  readonly scenario: string;
  readonly description: string;
  readonly seed: number;
  readonly machine: {
    readonly name: string;
    readonly pageSize: number;
    readonly presentPages: number;
    readonly cpus: number;
    readonly bootAllocator: string;
  };
  readonly bootLog: string[];
  /** Every log line of the run after boot. */
  readonly log: string[];
  readonly steps: StepResult[];
  readonly zones: ZoneSummary[];
  /** Time series; `zones[k]` labels index `k` of every per-zone array. */
  readonly series: {
    readonly zones: string[];
    readonly fragOrders: readonly number[];
    readonly samples: Sample[];
  };
  readonly contig: {
    readonly ladder: LadderRung[];
    readonly isa: IsaResult | null;
    readonly capture: CaptureResult | null;
    readonly stats: Record<string, number>;
  };
  readonly netback: (NetbackStats & { mode: string; freeBefore: number; freeAfter: number }) | null;
  readonly hibernation: HibernationResult | null;
  readonly hotplug: HotplugRecord[];
  readonly pageCache: Record<string, number>;
  readonly buddy: { freePages: number; managedPages: number; stats: Record<string, unknown> };
  readonly pageMap: PageMapSnapshot;
  readonly invariants: { readonly checks: number; readonly ok: boolean };
  readonly ops: number;
  readonly simTimeUs: number;
  readonly wallMs: number;
  readonly digest: string;
}

function stepTotal(s: Step): number {
  switch (s.do) {
    case "churn":
    case "pagecache":
      return s.ops;
    case "netback":
      return s.packets;
    default:
      return 1;
  }
}

/** Runs `scenario` on `k` (booted with the scenario's options); returns the result. */
export function runScenario(k: Kernel, scenario: Scenario, onProgress?: ProgressFn): RunResult {
  const wall0 = performance.now();
  const bootLines = k.log.all.length;
  const rng = new Rng(k.bootRecord.seed);
  const steps: StepResult[] = [];
  let isa: IsaResult | null = null;
  let capture: CaptureResult | null = null;
  let hib: HibernationResult | null = null;
  const every = scenario.sampleEvery;
  k.sample();
  scenario.steps.forEach((s, index) => {
    const ops0 = k.ops;
    const t0 = k.now;
    const w0 = performance.now();
    const total = stepTotal(s);
    const progress = onProgress
      ? (done: number) => onProgress(index, s.do, done, total)
      : undefined;
    let detail: Record<string, unknown> = {};
    const seed = rng.u32();
    switch (s.do) {
      case "churn": {
        const r: ChurnResult = churn(k, { ...s, sampleEvery: every }, seed, progress);
        detail = { ...r };
        k.log.print(
          `churn: ${s.ops} operations: ${r.allocs} allocations, ${r.frees} frees, ${r.failures} failures; ${r.livePages} pages held`,
        );
        break;
      }
      case "pagecache": {
        const r: PageCacheResult = pageCacheWorkload(
          k,
          { ...s, sampleEvery: every },
          seed,
          progress,
        );
        const pc = k.pageCache;
        detail = {
          ...r,
          cached: pc.size,
          dirty: pc.dirty,
          ...pc.stats,
          diskReads: pc.disk.reads,
          diskWrites: pc.disk.writes,
        };
        k.log.print(
          `page cache: ${pc.size} pages (${pc.count(1)} active, ${pc.count(0)} inactive, ${pc.dirty} dirty); ${pc.stats.hits} hits, ${pc.stats.misses} misses, ${pc.stats.writebacks} written back, ${pc.stats.reclaimed} reclaimed`,
        );
        break;
      }
      case "fragment": {
        const r = fragment(k, { ...s, sampleEvery: every }, seed);
        detail = { allocated: r.allocated, kept: r.kept, keptUnmovable: r.keptUnmovable };
        k.log.print(
          `fragment: ${r.allocated} pages allocated, every ${s.keepEvery}th kept (${r.kept}, ${r.keptUnmovable} unmovable)`,
        );
        break;
      }
      case "isa":
        isa = k.isa.attach();
        detail = { ...isa };
        break;
      case "capture":
        capture = k.capture.attach(s.bytes, s.legacy);
        detail = { ...capture };
        if (s.detach) k.capture.detach();
        break;
      case "ladder": {
        const ps = k.machine.pageSize;
        const limit = k.capture.device.dma.limit;
        const rungs = k.contigDriver.runLadder(
          s.sizes,
          s.strategies,
          s.attempts,
          Math.floor(limit / ps),
        );
        detail = { rungs };
        for (const strategy of s.strategies) {
          const line = rungs
            .filter((r) => r.strategy === strategy)
            .map(
              (r) =>
                `${r.bytes >= 2 ** 20 ? `${r.bytes / 2 ** 20}M` : `${r.bytes / 1024}K`} ${r.successes}/${r.attempts}`,
            )
            .join(", ");
          k.log.print(`contig ladder (${STRATEGY_CONFIG[strategy].label}): ${line}`);
        }
        break;
      }
      case "netback": {
        const xd = k.xenDriver;
        xd.freeBefore = xd.start(s.mode, seed).buddyFreeBaseline;
        const chunk = 256;
        for (let done = 0; done < s.packets; done += chunk) {
          xd.send(Math.min(chunk, s.packets - done));
          progress?.(Math.min(done + chunk, s.packets));
          if (every > 0) k.sample();
        }
        xd.quiesce();
        xd.freeAfter = k.buddy.freePageCount;
        const st = xd.snapshot()!;
        detail = { ...st, freeBefore: xd.freeBefore, freeAfter: xd.freeAfter };
        k.log.print(
          `xen-netback: ${st.packetsSent} packets, ${st.requests} requests, ${st.responses} responses, ${st.grantsMapped} grants mapped, ${st.clones} clones, ${st.taps} taps, ${st.destructorCalls} destructor calls, ${st.callbacks} zero-copy callbacks, ${st.delayedCopies} delayed copies; free pages ${xd.freeAfter} (${xd.freeBefore} before)`,
        );
        break;
      }
      case "hibernate":
        hib = hibernate(k);
        detail = { ...hib };
        break;
      case "hotplug": {
        const { startPfn, endPfn } = hotAdd(k, s.sections);
        const files = 8;
        for (let i = 0; i < s.cacheOps; i++) {
          k.pageCache.read(1000 + rng.int(files), rng.int(4096), rng.next() < 0.2);
          if (every > 0 && i % every === 0) k.sample();
        }
        const ok = hotRemove(k, startPfn, endPfn);
        detail = { startPfn, endPfn, removed: ok, migrated: k.hotplugEvents.at(-1)?.migrated ?? 0 };
        break;
      }
      case "sample":
        break;
    }
    k.sample();
    steps.push({
      do: s.do,
      ops: k.ops - ops0,
      simUs: k.now - t0,
      wallMs: performance.now() - w0,
      detail,
    });
  });
  return collect(k, scenario, steps, isa, capture, hib, bootLines, wall0);
}

function collect(
  k: Kernel,
  scenario: Scenario,
  steps: StepResult[],
  isa: IsaResult | null,
  capture: CaptureResult | null,
  hib: HibernationResult | null,
  bootLines: number,
  wall0: number,
): RunResult {
  const m = k.machine;
  const b = k.buddy;
  const zones: ZoneSummary[] = m.zones
    .filter((z) => z.presentPages > 0)
    .map((z) => {
      const zi = b.zoneInfo(z.id);
      return {
        id: z.id,
        label: `Node ${z.nid}, zone ${z.name}`,
        nid: z.nid,
        name: z.name,
        startPfn: z.startPfn,
        spannedPages: z.spannedPages,
        presentPages: z.presentPages,
        managedPages: zi.managed,
        freePages: zi.freePages + zi.pcpPages,
        min: zi.min,
        low: zi.low,
        high: zi.high,
      };
    });
  const states = k.pageStates();
  const ranges: { startPfn: number; endPfn: number; offset: number }[] = [];
  let off = 0;
  for (const r of m.presentPfnRanges()) {
    ranges.push({ startPfn: r.start, endPfn: r.end, offset: off });
    off += r.end - r.start;
  }
  const hist = new Float64Array(256);
  for (let i = 0; i < states.length; i++) hist[states[i]!]! += 1;
  const counts: Record<string, number> = {};
  hist.forEach((c, s) => {
    if (c > 0) counts[PAGE_STATE_NAMES[s] ?? `state-${s}`] = c;
  });
  let ok = true;
  if (k.debug) {
    try {
      k.checkInvariants();
    } catch {
      ok = false;
    }
  }
  const pc = k.pageCache;
  const stats = b.stats;
  const xen = k.xenDriver.snapshot();
  const all = k.log.all;
  return {
    scenario: scenario.name,
    description: scenario.description,
    seed: k.bootRecord.seed,
    machine: {
      name: m.name,
      pageSize: m.pageSize,
      presentPages: m.totalPages,
      cpus: b.cpus,
      bootAllocator: k.bootRecord.bootAllocator,
    },
    bootLog: all.slice(0, bootLines).map(formatLine),
    log: all.slice(bootLines).map(formatLine),
    steps,
    zones,
    series: {
      zones: k.sampledZones.map((id) => {
        const z = m.zones[id]!;
        return `Node ${z.nid}, zone ${z.name}`;
      }),
      fragOrders: FRAG_ORDERS,
      samples: k.samples,
    },
    contig: {
      ladder: k.contigDriver.ladder,
      isa,
      capture,
      stats: k.contigDriver.stats(),
    },
    netback:
      xen !== null
        ? {
            ...xen,
            mode: k.xen!.mode,
            freeBefore: k.xenDriver.freeBefore,
            freeAfter: k.xenDriver.freeAfter,
          }
        : null,
    hibernation: hib,
    hotplug: k.hotplugEvents,
    pageCache: {
      cached: pc.size,
      active: pc.count(1),
      inactive: pc.count(0),
      dirty: pc.dirty,
      ...pc.stats,
      diskReads: pc.disk.reads,
      diskWrites: pc.disk.writes,
      imageWrites: pc.disk.imageWrites,
    },
    buddy: {
      freePages: b.freePageCount,
      managedPages: b.managedPages,
      stats: { ...stats, pgalloc: [...stats.pgalloc] },
    },
    pageMap: {
      legend: PAGE_STATE_NAMES,
      ranges,
      states: Buffer.from(states.buffer, states.byteOffset, states.byteLength).toString("base64"),
      counts,
    },
    invariants: { checks: k.invariantChecks, ok },
    ops: k.ops,
    simTimeUs: k.now,
    wallMs: performance.now() - wall0,
    digest: k.digest(),
  };
}
