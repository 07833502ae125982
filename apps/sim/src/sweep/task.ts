/**
 * One run of a sweep: boot, run, and reduce the result to the key figures of a JSON Lines record.
 * The record holds nothing that depends on wall time or on which worker ran it.
 *
 * @module
 */
import { simulate } from "../internal/api.js";
import type { RunResult } from "../internal/run.js";
import type { Scenario } from "../internal/scenarios.js";
import type { ParamValue, SweepBoot } from "./params.js";

/** What a worker is given. */
export interface SweepTask {
  /** Position in the sweep (parameter combination major, seed minor). */
  readonly index: number;
  readonly seed: number;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly scenario: Scenario;
  readonly boot: SweepBoot;
}

/** One JSON Lines record of a sweep. */
export interface SweepRecord {
  readonly index: number;
  readonly scenario: string;
  readonly seed: number;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly machine: string;
  readonly presentPages: number;
  readonly managedPages: number;
  readonly freePages: number;
  /** Allocations the buddy allocator failed. */
  readonly allocFailures: number;
  /** Contiguous-allocation success rate (0..1) per strategy over the ladder's rungs. */
  readonly contigSuccess: Readonly<Record<string, number>>;
  /** The ladder's attempts, all strategies. */
  readonly contigAttempts: number;
  /** Machine-wide unusable free index (0..1) at the end, by order. */
  readonly unusable: Readonly<Record<string, number>>;
  /** Packets netback delivered (0 when it did not run). */
  readonly netbackPackets: number;
  /** Hibernation image pages, or null. */
  readonly hibernationPages: number | null;
  readonly ops: number;
  readonly simTimeUs: number;
  readonly digest: string;
  /** Set when the run threw: its message (every figure above is then 0). */
  readonly error?: string;
}

/** Machine-wide unusable free index at `order` from per-zone free block counts. */
export function unusableIndex(freeByOrder: readonly (readonly number[])[], order: number): number {
  let free = 0;
  let usable = 0;
  for (const zone of freeByOrder)
    zone.forEach((blocks, o) => {
      const pages = blocks * 2 ** o;
      free += pages;
      if (o >= order) usable += pages;
    });
  return free === 0 ? 0 : (free - usable) / free;
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** Reduces a run's result to a sweep record. */
export function recordOf(task: SweepTask, r: RunResult): SweepRecord {
  const success: Record<string, number> = {};
  const attempts: Record<string, number> = {};
  let total = 0;
  for (const g of r.contig.ladder) {
    success[g.strategy] = (success[g.strategy] ?? 0) + g.successes;
    attempts[g.strategy] = (attempts[g.strategy] ?? 0) + g.attempts;
    total += g.attempts;
  }
  const contigSuccess: Record<string, number> = {};
  for (const s of Object.keys(attempts)) contigSuccess[s] = round(success[s]! / attempts[s]!);
  const last = r.series.samples.at(-1);
  const unusable: Record<string, number> = {};
  for (const o of r.series.fragOrders)
    unusable[o] = last ? round(unusableIndex(last.freeByOrder, o)) : 0;
  return {
    index: task.index,
    scenario: r.scenario,
    seed: task.seed,
    params: task.params,
    machine: r.machine.name,
    presentPages: r.machine.presentPages,
    managedPages: r.buddy.managedPages,
    freePages: r.buddy.freePages,
    allocFailures: Number(r.buddy.stats.allocFail ?? 0),
    contigSuccess,
    contigAttempts: total,
    unusable,
    netbackPackets: r.netback?.delivered ?? 0,
    hibernationPages: r.hibernation?.imagePages ?? null,
    ops: r.ops,
    simTimeUs: r.simTimeUs,
    digest: r.digest,
  };
}

/** Runs one task; a throw becomes a record with `error`. */
export function runTask(task: SweepTask): SweepRecord {
  try {
    const r = simulate(task.scenario, { ...task.boot, seed: task.seed });
    return recordOf(task, r);
  } catch (e) {
    return {
      index: task.index,
      scenario: task.scenario.name,
      seed: task.seed,
      params: task.params,
      machine: task.boot.machine ?? task.scenario.machine ?? "",
      presentPages: 0,
      managedPages: 0,
      freePages: 0,
      allocFailures: 0,
      contigSuccess: {},
      contigAttempts: 0,
      unusable: {},
      netbackPackets: 0,
      hibernationPages: null,
      ops: 0,
      simTimeUs: 0,
      digest: "",
      error: `${(e as Error).name}: ${(e as Error).message}`,
    };
  }
}
