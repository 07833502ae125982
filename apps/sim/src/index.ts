/**
 * @mem/sim: the simulated kernel, as a library.
 *
 * `boot(options)` returns a {@link Kernel} with its subsystems (`machine`, `bootmem`, `buddy`,
 * `extent`, `pageflags`, `contig`, `xen`, `pageCache`, `isa`, `capture`), their compat objects
 * (`compat`), `proc(name)`, `run(scenario)` and `checkInvariants()`. `simulate(scenario, options)`
 * boots the scenario's machine and runs it (optionally tracing); `replay(trace)` replays a trace.
 * `renderRunReport(result)` turns a run into a self-contained HTML page; `runSweep(options)` runs
 * seeds x parameter values on worker threads.
 *
 * @packageDocumentation
 */
export { createProgram, EXIT_BAD_INPUT, EXIT_INVARIANT, runCli } from "./cli.js";
export {
  boot,
  type ReplayResult,
  replay,
  type SimulateOptions,
  simulate,
  traceHeader,
} from "./internal/api.js";
export { type BootOptions, largeSystemHash } from "./internal/boot.js";
export {
  CONTIG_STRATEGIES,
  ContigDriver,
  type ContigStrategy,
  type DeviceBuffer,
  type LadderRung,
  SharedSlots,
  STRATEGY_CONFIG,
} from "./internal/contig.js";
export { formatLine, KernelLog, type LogLine } from "./internal/dmesg.js";
export { type IsaResult, IsaSoundCard } from "./internal/drivers/isa-sound.js";
export {
  type CaptureResult,
  type CaptureStrategy,
  PciCaptureCard,
} from "./internal/drivers/pci-capture.js";
export { type HibernationResult, hibernate } from "./internal/hibernate.js";
export { hotAdd, hotRemove } from "./internal/hotplug.js";
export {
  type BootRecord,
  type HibernationMaps,
  type HotplugRecord,
  InvariantError,
  Kernel,
  type Reservation,
  type Sample,
} from "./internal/kernel.js";
export { applyOp } from "./internal/ops.js";
export { ACTIVE, CACHE, INACTIVE, PageCache } from "./internal/page-cache.js";
export { iomem, PROC_FILES, type ProcFile, procFile } from "./internal/proc.js";
export { Rng } from "./internal/rng.js";
export type {
  PageMapSnapshot,
  ProgressFn,
  RunResult,
  StepResult,
  ZoneSummary,
} from "./internal/run.js";
export { scenarioSchema } from "./internal/scenario-schema.js";
export {
  loadScenario,
  parseScenario,
  SCENARIOS,
  type Scenario,
  type ScenarioInput,
  type Step,
} from "./internal/scenarios.js";
export { FRAG_ORDERS, KINDS, type Kind, PAGE_STATE_NAMES } from "./internal/state.js";
export {
  FileTrace,
  MemoryTrace,
  type ParsedTrace,
  parseTrace,
  readTrace,
  type TraceHeader,
  type TraceOp,
  type TraceSink,
} from "./internal/trace.js";
export { type NetbackMode, type NetbackStats, XenDriver } from "./internal/xen.js";
export { escapeHtml, jsonForScript } from "./report/html.js";
export {
  type EncodedPageMap,
  encodePageMap,
  MAX_MAP_PIXELS,
  type MapSegment,
  type MapZone,
  stateColor,
} from "./report/page-map.js";
export { renderRunReport } from "./report/run-report.js";
export { renderSweepReport } from "./report/sweep-report.js";
export { type ParamValue, parseParamSpecs, parseSeeds, type SweepBoot } from "./sweep/params.js";
export {
  formatSweepSummary,
  runSweep,
  type SweepGroup,
  type SweepOptions,
  type SweepResult,
} from "./sweep/sweep.js";
export type { SweepRecord, SweepTask } from "./sweep/task.js";
