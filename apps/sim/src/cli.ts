/**
 * The `sim` command line, built with commander.
 *
 * Exit codes: 0 success, 1 unexpected error, 2 bad input (machine file, scenario, option), 3 an
 * invariant broke during a run.
 *
 * @module
 */
import { bootLines, DEFAULT_PRESET, InvalidArgumentError, loadMachine } from "@mem/machine";
import { Command, CommanderError } from "commander";
import { KernelLog } from "./internal/dmesg.js";

/** What a command wrote and how it ended. */
export interface CliResult {
  readonly code: number;
}

/** Exit code for bad input. */
export const EXIT_BAD_INPUT = 2;
/** Exit code for a broken invariant. */
export const EXIT_INVARIANT = 3;

function bootCommand(): Command {
  return new Command("boot")
    .description("boot a machine and print its boot log (memory map, zones, nodes)")
    .option(
      "-m, --machine <preset|file>",
      "a preset name, a dmesg e820 excerpt, a /proc/iomem copy, or a JSON machine file",
      DEFAULT_PRESET,
    )
    .option("--json", "machine-readable output")
    .action((opts: { machine: string; json?: boolean }) => {
      const machine = loadMachine(opts.machine);
      const log = new KernelLog();
      log.print(...bootLines(machine));
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({ machine: machine.name, lines: log.all.map((l) => l.text), zones: machine.zones.map((z) => ({ node: z.nid, zone: z.name, startPfn: z.startPfn, spanned: z.spannedPages, present: z.presentPages })) }, null, 2)}\n`,
        );
      } else {
        process.stdout.write(`${log.format()}\n`);
      }
    });
}

/** The commander program. */
export function createProgram(): Command {
  const program = new Command("sim")
    .description("mem: a simulated kernel assembled from the @mem physical-memory packages")
    .showHelpAfterError()
    .exitOverride();
  program.addCommand(bootCommand(), { isDefault: true });
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
    process.stderr.write(`sim: internal error: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}
