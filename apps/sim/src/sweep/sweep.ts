/**
 * Parameter sweeps: every combination of seeds and parameters, run in parallel on worker threads
 * (a piscina pool, one worker per core by default), collected in a fixed order so that the
 * records do not depend on the number of workers.
 *
 * @module
 */
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { InvalidArgumentError } from "@mem/machine";
import { Piscina } from "piscina";
import {
  loadScenario,
  parseScenario,
  type Scenario,
  type ScenarioInput,
} from "../internal/scenarios.js";
import {
  type AppliedParams,
  applyParams,
  combinations,
  MAX_SWEEP_RUNS,
  type ParamValue,
  type SweepBoot,
} from "./params.js";
import type { SweepRecord, SweepTask } from "./task.js";

/** Options of {@link runSweep}. */
export interface SweepOptions extends SweepBoot {
  /** A built-in scenario name, a scenario file, or a scenario. */
  readonly scenario: string | ScenarioInput | Scenario;
  /** Seeds to run each combination with. */
  readonly seeds: readonly number[];
  /** Parameter → values (see `applyParams` for the keys). */
  readonly params?: Readonly<Record<string, readonly ParamValue[]>> | undefined;
  /** Worker threads. @defaultValue `os.availableParallelism()` */
  readonly workers?: number | undefined;
  /** Called after each run with the number done and the total. */
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
  /** Called with each record in sweep order (as soon as every earlier one is in). */
  readonly onRecord?: ((record: SweepRecord) => void) | undefined;
}

/** The runs of one parameter combination, summarised. */
export interface SweepGroup {
  /** `key=value, ...` or `(defaults)`. */
  readonly label: string;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly runs: number;
  readonly errors: number;
  /** Mean success rate per strategy. */
  readonly contigSuccess: Readonly<Record<string, number>>;
  /** Mean unusable free index at {@link SWEEP_FRAG_ORDER}. */
  readonly unusable: number;
  readonly meanFreePages: number;
  readonly meanNetbackPackets: number;
  /** Distinct final digests (one per seed when the seed matters). */
  readonly digests: number;
}

/** What a sweep found. */
export interface SweepResult {
  readonly scenario: string;
  readonly seeds: readonly number[];
  readonly params: Readonly<Record<string, readonly ParamValue[]>>;
  /** Every record, in sweep order. */
  readonly records: SweepRecord[];
  readonly groups: SweepGroup[];
  /** Strategies seen in the records. */
  readonly strategies: string[];
  /** The order whose unusable index the summary uses. */
  readonly fragOrder: number;
  readonly workers: number;
  readonly wallMs: number;
}

/** The order of the summary's fragmentation figure (a pageblock, 2 MiB with 4 KiB pages). */
export const SWEEP_FRAG_ORDER = 9;

function workerSetup(): { filename: string; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith(".ts"))
    return {
      filename: fileURLToPath(new URL("./worker-source.mjs", here)),
      execArgv: ["--conditions=@mem/source"],
    };
  return { filename: fileURLToPath(new URL("./worker.js", here)), execArgv: [] };
}

/** The label of a combination. */
export function paramsLabel(params: Readonly<Record<string, ParamValue>>): string {
  const e = Object.entries(params);
  return e.length === 0 ? "(defaults)" : e.map(([k, v]) => `${k}=${v}`).join(", ");
}

/** Builds the tasks (validating every combination first). */
export function sweepTasks(options: SweepOptions): SweepTask[] {
  const base =
    typeof options.scenario === "string"
      ? loadScenario(options.scenario)
      : parseScenario(options.scenario);
  if (options.seeds.length === 0)
    throw new InvalidArgumentError("--seeds: no seeds given", "EINVAL", "seeds");
  const combos = combinations(options.params ?? {});
  if (combos.length * options.seeds.length > MAX_SWEEP_RUNS)
    throw new InvalidArgumentError(
      `--param: ${combos.length} combinations x ${options.seeds.length} seeds is more than ${MAX_SWEEP_RUNS} runs`,
      "EINVAL",
      "param",
    );
  const boot: SweepBoot = {
    machine: options.machine,
    bootAllocator: options.bootAllocator,
    minFreeKbytes: options.minFreeKbytes,
    cpus: options.cpus,
  };
  const tasks: SweepTask[] = [];
  for (const params of combos) {
    const applied: AppliedParams = applyParams(base, boot, params);
    for (const seed of options.seeds)
      tasks.push({
        index: tasks.length,
        seed,
        params,
        scenario: applied.scenario,
        boot: applied.boot,
      });
  }
  return tasks;
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Groups records by parameter combination. */
export function summarise(records: readonly SweepRecord[]): {
  groups: SweepGroup[];
  strategies: string[];
} {
  const byLabel = new Map<string, SweepRecord[]>();
  const strategies: string[] = [];
  for (const r of records) {
    const label = paramsLabel(r.params);
    let list = byLabel.get(label);
    if (!list) {
      list = [];
      byLabel.set(label, list);
    }
    list.push(r);
    for (const s of Object.keys(r.contigSuccess)) if (!strategies.includes(s)) strategies.push(s);
  }
  const groups: SweepGroup[] = [];
  for (const [label, list] of byLabel) {
    const ok = list.filter((r) => r.error === undefined);
    const contigSuccess: Record<string, number> = {};
    for (const s of strategies) {
      const xs = ok.flatMap((r) => (r.contigSuccess[s] === undefined ? [] : [r.contigSuccess[s]!]));
      if (xs.length > 0) contigSuccess[s] = mean(xs);
    }
    groups.push({
      label,
      params: list[0]!.params,
      runs: list.length,
      errors: list.length - ok.length,
      contigSuccess,
      unusable: mean(ok.map((r) => r.unusable[SWEEP_FRAG_ORDER] ?? 0)),
      meanFreePages: mean(ok.map((r) => r.freePages)),
      meanNetbackPackets: mean(ok.map((r) => r.netbackPackets)),
      digests: new Set(ok.map((r) => r.digest)).size,
    });
  }
  return { groups, strategies };
}

/**
 * Runs every combination of `options.seeds` and `options.params` on a pool of worker threads.
 * Records come back in sweep order whatever the number of workers.
 */
export async function runSweep(options: SweepOptions): Promise<SweepResult> {
  const t0 = performance.now();
  const tasks = sweepTasks(options);
  const workers = Math.max(1, Math.min(options.workers ?? availableParallelism(), tasks.length));
  if (!Number.isSafeInteger(workers) || workers > 1024)
    throw new InvalidArgumentError(
      `--workers: expected 1 to 1024, got ${options.workers}`,
      "EINVAL",
      "workers",
    );
  const { filename, execArgv } = workerSetup();
  const pool = new Piscina<SweepTask, SweepRecord>({
    filename,
    execArgv,
    minThreads: workers,
    maxThreads: workers,
    idleTimeout: 1000,
  });
  const records: (SweepRecord | undefined)[] = new Array(tasks.length);
  let done = 0;
  let next = 0;
  try {
    await Promise.all(
      tasks.map((task) =>
        pool.run(task).then((rec) => {
          records[task.index] = rec;
          done++;
          options.onProgress?.(done, tasks.length);
          while (next < tasks.length && records[next] !== undefined) {
            options.onRecord?.(records[next]!);
            next++;
          }
        }),
      ),
    );
  } finally {
    await pool.destroy();
  }
  const all = records as SweepRecord[];
  const { groups, strategies } = summarise(all);
  const params: Record<string, readonly ParamValue[]> = { ...(options.params ?? {}) };
  return {
    scenario: all[0]?.scenario ?? "",
    seeds: [...options.seeds],
    params,
    records: all,
    groups,
    strategies,
    fragOrder: SWEEP_FRAG_ORDER,
    workers,
    wallMs: performance.now() - t0,
  };
}

/** The summary table as text. */
export function formatSweepSummary(s: SweepResult): string {
  const head = [
    "parameters",
    "runs",
    "errors",
    ...s.strategies.map((x) => `contig ${x}`),
    `unusable o${s.fragOrder}`,
    "free pages",
    "netback pkts",
    "digests",
  ];
  const rows = s.groups.map((g) => [
    g.label,
    String(g.runs),
    String(g.errors),
    ...s.strategies.map((x) =>
      g.contigSuccess[x] === undefined ? "-" : `${(g.contigSuccess[x] * 100).toFixed(1)}%`,
    ),
    g.unusable.toFixed(3),
    g.meanFreePages.toFixed(0),
    g.meanNetbackPackets.toFixed(0),
    String(g.digests),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [
    `sweep ${s.scenario}: ${s.records.length} runs (${s.groups.length} parameter sets x ${s.seeds.length} seeds) on ${s.workers} workers in ${(s.wallMs / 1000).toFixed(1)} s`,
    line(head),
    line(head.map((_, i) => "-".repeat(widths[i]!))),
    ...rows.map(line),
  ].join("\n");
}
