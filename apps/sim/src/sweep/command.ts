/**
 * `sim sweep`: the command line of parameter sweeps. The sweep itself (piscina, zod, the report)
 * is imported when the command runs, so that the other commands do not load it.
 *
 * @module
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { availableParallelism } from "node:os";
import { InvalidArgumentError } from "@mem/machine";
import { Command } from "commander";
import type { TOP_PARAMS } from "./params.js";

interface SweepOpts {
  scenario: string;
  seeds: string;
  param: string[];
  out?: string;
  report?: string;
  workers?: string;
  machine?: string;
  bootAllocator?: string;
  minFreeKbytes?: string;
  cpus?: string;
  json?: boolean;
  quiet?: boolean;
}

function topOption(
  params: typeof TOP_PARAMS,
  name: string,
  value: string | undefined,
): string | number | undefined {
  if (value === undefined) return undefined;
  const r = params[name]!.safeParse(value);
  if (!r.success)
    throw new InvalidArgumentError(
      `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${r.error.issues[0]!.message} (got ${JSON.stringify(value)})`,
      "EINVAL",
      name,
    );
  return r.data as string | number;
}

/** The `sweep` command. */
export function sweepCommand(): Command {
  return new Command("sweep")
    .description(
      "run a scenario over seeds x parameter values on worker threads; JSON Lines records and a summary",
    )
    .requiredOption("-s, --scenario <name|file>", "a built-in scenario or a JSON scenario file")
    .option("--seeds <spec>", "seeds: 1..100, 1,2,3 or 1..10,20", "1..8")
    .option(
      "-p, --param <key=v1,v2>",
      "a parameter and its values (repeatable): machine, bootAllocator, minFreeKbytes, cpus, sampleEvery, <step>.<field> (e.g. fragment.fill=0.1,0.4) or steps.<i>.<field>",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option("-o, --out <file.jsonl>", "write one JSON Lines record per run")
    .option("--report <file.html>", "write an HTML report with the sweep's charts")
    .option(
      "-w, --workers <N>",
      `worker threads (default: one per core, ${availableParallelism()} here)`,
    )
    .option("-m, --machine <preset|file>", "the machine of every run (unless a --param sets it)")
    .option("--boot-allocator <rootmem|memblock>", "the boot allocator")
    .option("--min-free-kbytes <N>", "vm.min_free_kbytes")
    .option("--cpus <N>", "simulated CPUs")
    .option("--json", "print the records as JSON Lines instead of the summary")
    .option("-q, --quiet", "no progress bar")
    .action(async (o: SweepOpts) => {
      const [{ SingleBar }, { writeSweepReport }, params_, { formatSweepSummary, runSweep }] =
        await Promise.all([
          import("cli-progress"),
          import("../report/write.js"),
          import("./params.js"),
          import("./sweep.js"),
        ]);
      const { parseParamSpecs, parseSeeds } = params_;
      const option = (name: string, value: string | undefined) =>
        topOption(params_.TOP_PARAMS, name, value);
      const seeds = parseSeeds(o.seeds);
      const params = parseParamSpecs(o.param);
      let workers: number | undefined;
      if (o.workers !== undefined) {
        if (!/^\d+$/.test(o.workers) || Number(o.workers) < 1 || Number(o.workers) > 1024)
          throw new InvalidArgumentError(
            `--workers: expected an integer from 1 to 1024, got ${JSON.stringify(o.workers)}`,
            "EINVAL",
            "workers",
          );
        workers = Number(o.workers);
      }
      const boot = {
        machine: option("machine", o.machine) as string | undefined,
        bootAllocator: option("bootAllocator", o.bootAllocator) as
          | "rootmem"
          | "memblock"
          | undefined,
        minFreeKbytes: option("minFreeKbytes", o.minFreeKbytes) as number | undefined,
        cpus: option("cpus", o.cpus) as number | undefined,
      };
      let fd = -1;
      if (o.out) {
        try {
          fd = openSync(o.out, "w");
        } catch (e) {
          throw new InvalidArgumentError(
            `--out: cannot write ${JSON.stringify(o.out)}: ${(e as Error).message}`,
            "EINVAL",
            "out",
          );
        }
      }
      const bar =
        process.stderr.isTTY && !o.quiet
          ? new SingleBar({
              format: "sweep [{bar}] {percentage}% {value}/{total} runs, ETA {eta_formatted}",
              stream: process.stderr,
              clearOnComplete: true,
              hideCursor: true,
            })
          : null;
      let started = false;
      try {
        const result = await runSweep({
          scenario: o.scenario,
          seeds,
          params,
          workers,
          ...boot,
          onProgress: (done, total) => {
            if (!bar) return;
            if (!started) {
              bar.start(total, 0);
              started = true;
            }
            bar.update(done);
          },
          onRecord: (r) => {
            const line = `${JSON.stringify(r)}\n`;
            if (fd >= 0) writeSync(fd, line);
            if (o.json) process.stdout.write(line);
          },
        });
        bar?.stop();
        if (o.report) writeSweepReport(o.report, result);
        if (!o.json) process.stdout.write(`${formatSweepSummary(result)}\n`);
        const failed = result.records.filter((r) => r.error !== undefined);
        if (failed.length > 0) {
          // A run that cannot boot or panics is a finding of the sweep, not a failure of it.
          for (const r of failed.slice(0, 5))
            process.stderr.write(
              `sim: warning: run ${r.index} (seed ${r.seed}) failed: ${r.error}\n`,
            );
          if (failed.length > 5)
            process.stderr.write(`sim: warning: ${failed.length} runs failed\n`);
        }
      } finally {
        bar?.stop();
        if (fd >= 0) closeSync(fd);
      }
    });
}
