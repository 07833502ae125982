/**
 * The programmatic API: boot a kernel, run a scenario with its own boot options and an optional
 * trace, replay a trace.
 *
 * @module
 */
import { type BootOptions, bootKernel } from "./boot.js";
import type { Kernel } from "./kernel.js";
import { applyOp } from "./ops.js";
import { type ProgressFn, type RunResult, runScenario } from "./run.js";
import { loadScenario, parseScenario, type Scenario, type ScenarioInput } from "./scenarios.js";
import {
  FileTrace,
  MemoryTrace,
  type ParsedTrace,
  parseTrace,
  readTrace,
  type TraceHeader,
  type TraceSink,
} from "./trace.js";

/** Boots a kernel: machine, boot allocator, buddy allocator, pageflags, extents, drivers. */
export function boot(options: BootOptions = {}): Kernel {
  return bootKernel(options);
}

/** Options of {@link simulate}: boot overrides (win over the scenario's), trace and progress. */
export interface SimulateOptions extends BootOptions {
  /** Write a JSON Lines trace to this path, or record into this MemoryTrace. */
  readonly trace?: string | MemoryTrace | undefined;
  /** Progress callback. */
  readonly onProgress?: ProgressFn | undefined;
}

/** The header a trace of `k` starts with. */
export function traceHeader(k: Kernel, scenario: string): TraceHeader {
  const r = k.bootRecord;
  return {
    type: "header",
    version: 1,
    machine: r.machineSpec,
    bootAllocator: r.bootAllocator,
    minFreeKbytes: r.minFreeKbytes,
    cpus: r.cpus,
    seed: r.seed,
    scenario,
  };
}

/** Boots the scenario's machine (options win over the scenario) and runs it. */
export function simulate(
  scenarioIn: string | ScenarioInput | Scenario,
  options: SimulateOptions = {},
): RunResult {
  const scenario =
    typeof scenarioIn === "string" ? loadScenario(scenarioIn) : parseScenario(scenarioIn);
  return simulateScenario(scenario, options);
}

/**
 * {@link simulate} with a scenario that is already validated (from `loadScenario` or
 * `parseScenario`): it is not validated again (with zod) before it runs.
 */
export function simulateScenario(scenario: Scenario, options: SimulateOptions = {}): RunResult {
  const k = bootKernel({
    machine: options.machine ?? scenario.machine,
    bootAllocator: options.bootAllocator ?? scenario.bootAllocator,
    minFreeKbytes: options.minFreeKbytes ?? scenario.minFreeKbytes,
    cpus: options.cpus ?? scenario.cpus,
    seed: options.seed ?? scenario.seed ?? 1,
    debug: options.debug,
  });
  let sink: TraceSink | null = null;
  if (typeof options.trace === "string")
    sink = new FileTrace(options.trace, traceHeader(k, scenario.name));
  else if (options.trace) sink = options.trace;
  k.trace = sink;
  const result = runScenario(k, scenario, options.onProgress);
  k.trace = null;
  sink?.end(result.digest);
  return result;
}

/** What a replay found. */
export interface ReplayResult {
  readonly ops: number;
  readonly digest: string;
  /** The digest the trace recorded, or null when it has no end line. */
  readonly expected: string | null;
  readonly ok: boolean;
  readonly kernel: Kernel;
}

/** Replays a trace (a path, JSON Lines text with `{ text }`, or a parsed trace). */
export function replay(
  trace: string | { text: string } | ParsedTrace | MemoryTrace,
  options: { debug?: boolean } = {},
): ReplayResult {
  let parsed: ParsedTrace;
  if (typeof trace === "string") parsed = readTrace(trace);
  else if (trace instanceof MemoryTrace) parsed = parseTrace(trace.toJsonl());
  else if ("text" in trace) parsed = parseTrace(trace.text);
  else parsed = trace;
  const h = parsed.header;
  const k = bootKernel({
    machine: h.machine,
    bootAllocator: h.bootAllocator,
    minFreeKbytes: h.minFreeKbytes,
    cpus: h.cpus,
    seed: h.seed,
    debug: options.debug,
  });
  for (const op of parsed.ops) applyOp(k, op);
  const digest = k.digest();
  const expected = parsed.end?.digest ?? null;
  return {
    ops: parsed.ops.length,
    digest,
    expected,
    ok: expected === null || expected === digest,
    kernel: k,
  };
}
