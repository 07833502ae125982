/**
 * The `sim` command line, built with commander.
 *
 * Exit codes: 0 success, 1 unexpected error, 2 bad input (machine file, scenario, trace, option),
 * 3 an invariant broke during a run (the operation that broke it is printed).
 *
 * @module
 */
import { DEFAULT_PRESET, InvalidArgumentError, KernelPanic } from "@mem/machine";
import { Command, CommanderError } from "commander";
import { replay, simulateScenario } from "./internal/api.js";
import { bootKernel } from "./internal/boot.js";
import { InvariantError } from "./internal/kernel.js";
import { PROC_FILES } from "./internal/proc.js";
import type { ProgressFn, RunResult } from "./internal/run.js";
import { loadScenario, SCENARIOS } from "./internal/scenarios.js";
import { sweepCommand } from "./sweep/command.js";

/** What a command wrote and how it ended. */
export interface CliResult {
  readonly code: number;
}

/** Exit code for bad input. */
export const EXIT_BAD_INPUT = 2;
/** Exit code for a broken invariant. */
export const EXIT_INVARIANT = 3;

interface CommonOpts {
  machine?: string;
  bootAllocator?: string;
  minFreeKbytes?: number;
  cpus?: number;
  seed?: number;
  json?: boolean;
  quiet?: boolean;
  debug?: boolean;
}

function int(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n))
      throw new InvalidArgumentError(
        `--${name}: expected a non-negative integer, got ${JSON.stringify(v)}`,
        "EINVAL",
        name,
      );
    return n;
  };
}

/** `machineDefault` null: no default (the scenario's machine, else the default preset). */
function common(cmd: Command, machineDefault: string | null = DEFAULT_PRESET): Command {
  return cmd
    .option(
      "-m, --machine <preset|file>",
      "a preset name, a dmesg e820 excerpt, a /proc/iomem copy, or a JSON machine file",
      machineDefault ?? undefined,
    )
    .option("--boot-allocator <rootmem|memblock>", "the boot allocator")
    .option(
      "--min-free-kbytes <N>",
      "vm.min_free_kbytes (0 = Linux's default)",
      int("min-free-kbytes"),
    )
    .option("--cpus <N>", "simulated CPUs", int("cpus"))
    .option("--seed <N>", "seed of every random choice", int("seed"))
    .option("--json", "machine-readable output")
    .option("-q, --quiet", "print only the summary")
    .option("--debug", "run every invariant checker after every operation (slow)");
}

function bootOptions(o: CommonOpts) {
  if (
    o.bootAllocator !== undefined &&
    o.bootAllocator !== "rootmem" &&
    o.bootAllocator !== "memblock"
  )
    throw new InvalidArgumentError(
      `--boot-allocator: expected rootmem or memblock, got ${JSON.stringify(o.bootAllocator)}`,
      "EINVAL",
      "boot-allocator",
    );
  return {
    machine: o.machine,
    bootAllocator: o.bootAllocator as "rootmem" | "memblock" | undefined,
    minFreeKbytes: o.minFreeKbytes,
    cpus: o.cpus,
    seed: o.seed,
    debug: o.debug,
  };
}

function out(s: string): void {
  process.stdout.write(s.endsWith("\n") ? s : `${s}\n`);
}

/** A progress bar on stderr when it is a terminal (cli-progress is imported only then). */
async function progressBar(): Promise<{ fn: ProgressFn | undefined; stop: () => void }> {
  if (!process.stderr.isTTY) return { fn: undefined, stop: () => {} };
  const { SingleBar } = await import("cli-progress");
  let bar: InstanceType<typeof SingleBar> | null = null;
  let current = -1;
  return {
    fn: (index, name, done, total) => {
      if (total < 10_000) return;
      if (index !== current) {
        bar?.stop();
        bar = new SingleBar({
          format: `${name.padEnd(10)} [{bar}] {percentage}% {value}/{total}`,
          stream: process.stderr,
          clearOnComplete: true,
          hideCursor: true,
        });
        bar.start(total, 0);
        current = index;
      }
      bar?.update(done);
    },
    stop: () => bar?.stop(),
  };
}

function summary(r: RunResult): string {
  const lines: string[] = [];
  lines.push(
    `scenario ${r.scenario} on ${r.machine.name} (${r.machine.bootAllocator}, seed ${r.seed})`,
  );
  for (const s of r.steps)
    lines.push(
      `  ${s.do.padEnd(10)} ${String(s.ops).padStart(8)} ops  ${(s.simUs / 1000).toFixed(1).padStart(9)} ms simulated  ${s.wallMs.toFixed(0).padStart(5)} ms wall`,
    );
  lines.push(
    `free pages ${r.buddy.freePages} of ${r.buddy.managedPages} managed; ${r.ops} operations; digest ${r.digest}`,
  );
  return lines.join("\n");
}

function bootCommand(): Command {
  return common(new Command("boot").description("boot a machine and print its boot log")).action(
    (o: CommonOpts) => {
      const k = bootKernel(bootOptions(o));
      if (o.json) {
        const m = k.machine;
        out(
          JSON.stringify(
            {
              machine: m.name,
              bootAllocator: k.bootRecord.bootAllocator,
              lines: k.log.all.map((l) => l.text),
              zones: m.zones.map((z) => ({
                node: z.nid,
                zone: z.name,
                startPfn: z.startPfn,
                spanned: z.spannedPages,
                present: z.presentPages,
                managed: k.buddy.zoneInfo(z.id).managed,
              })),
              reservations: k.reservations,
            },
            null,
            2,
          ),
        );
      } else out(k.log.format());
    },
  );
}

function runCommand(): Command {
  return common(
    new Command("run").description("run a scenario (default: showcase) and report what happened"),
    null,
  )
    .argument(
      "[scenario]",
      `a built-in scenario (${Object.keys(SCENARIOS).join(", ")}) or a JSON scenario file`,
      "showcase",
    )
    .option("--trace <file>", "record every operation to a JSON Lines trace")
    .option("--report <file.html>", "write a self-contained HTML report of the run")
    .action(async (name: string, o: CommonOpts & { trace?: string; report?: string }) => {
      const scenario = loadScenario(name);
      const bar = o.quiet || o.json ? { fn: undefined, stop: () => {} } : await progressBar();
      let r: RunResult;
      try {
        r = simulateScenario(scenario, { ...bootOptions(o), trace: o.trace, onProgress: bar.fn });
      } finally {
        bar.stop();
      }
      if (o.report) {
        const { writeRunReport } = await import("./report/write.js");
        writeRunReport(o.report, r);
        if (!o.json) process.stderr.write(`sim: report written to ${o.report}\n`);
      }
      if (o.json) out(JSON.stringify(r));
      else if (o.quiet) out(summary(r));
      else out(`${[...r.bootLog, ...r.log].join("\n")}\n\n${summary(r)}`);
    });
}

function procCommand(): Command {
  return common(
    new Command("proc").description("print a /proc file after boot, or after a scenario"),
    null,
  )
    .argument("<file>", PROC_FILES.join("|"))
    .option("--scenario <name|file>", "run this scenario first")
    .action((file: string, o: CommonOpts & { scenario?: string }) => {
      if (!(PROC_FILES as readonly string[]).includes(file))
        throw new InvalidArgumentError(
          `proc: unknown file ${JSON.stringify(file)}, expected one of ${PROC_FILES.join(", ")}`,
          "EINVAL",
          "file",
        );
      const scenario = o.scenario ? loadScenario(o.scenario) : null;
      const k = bootKernel({ ...bootOptions(o), machine: o.machine ?? scenario?.machine });
      if (scenario) k.run(scenario);
      const text = k.proc(file);
      if (o.json) out(JSON.stringify({ file, text }));
      else out(text);
    });
}

function replayCommand(): Command {
  return new Command("replay")
    .description("replay a JSON Lines trace and check the final-state digest")
    .argument("<trace>", "a trace written by sim run --trace")
    .option("--json", "machine-readable output")
    .option("--debug", "run every invariant checker after every operation (slow)")
    .action((file: string, o: { json?: boolean; debug?: boolean }) => {
      const r = replay(file, { debug: o.debug ?? false });
      if (o.json)
        out(JSON.stringify({ ops: r.ops, digest: r.digest, expected: r.expected, ok: r.ok }));
      else
        out(
          `replayed ${r.ops} operations: digest ${r.digest}${r.expected === null ? " (no recorded digest)" : r.ok ? " matches the trace" : ` DIFFERS from the trace's ${r.expected}`}`,
        );
      if (!r.ok)
        throw new InvariantError(`replay: digest ${r.digest} != recorded ${r.expected}`, null);
    });
}

function scenariosCommand(): Command {
  return new Command("scenarios")
    .description("list the built-in scenarios")
    .option("--json", "machine-readable output")
    .action((o: { json?: boolean }) => {
      if (o.json) out(JSON.stringify(SCENARIOS, null, 2));
      else
        for (const [name, s] of Object.entries(SCENARIOS))
          out(`${name.padEnd(14)} ${s.description ?? ""}`);
    });
}

/** The commander program. */
export function createProgram(): Command {
  const program = new Command("sim")
    .description("mem: a simulated kernel assembled from the @mem physical-memory packages")
    .showHelpAfterError()
    .exitOverride();
  program.addCommand(bootCommand());
  program.addCommand(runCommand(), { isDefault: true });
  program.addCommand(procCommand());
  program.addCommand(replayCommand());
  program.addCommand(scenariosCommand());
  program.addCommand(sweepCommand());
  for (const c of program.commands) c.exitOverride();
  return program;
}

/**
 * Runs the CLI with `argv` (without node and script) and returns the exit code. Errors from bad
 * input print one clear line on stderr.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
    }
    if (err instanceof InvalidArgumentError) {
      process.stderr.write(`sim: ${err.message}\n`);
      return EXIT_BAD_INPUT;
    }
    if (err instanceof InvariantError || (err instanceof KernelPanic && err.code === "invariant")) {
      const op =
        err instanceof InvariantError && err.op ? ` after operation ${JSON.stringify(err.op)}` : "";
      process.stderr.write(`sim: invariant broken${op}: ${err.message}\n`);
      return EXIT_INVARIANT;
    }
    process.stderr.write(`sim: internal error: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}
