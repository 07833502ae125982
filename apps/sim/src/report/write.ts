/**
 * Writing reports to disk for the CLI.
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import { InvalidArgumentError } from "@mem/machine";
import type { RunResult } from "../internal/run.js";
import type { SweepResult } from "../sweep/sweep.js";
import { renderRunReport } from "./run-report.js";
import { renderSweepReport } from "./sweep-report.js";

/** Writes `html` to `file`; a write error is bad input naming `--report`. */
export function writeHtml(file: string, html: string): void {
  try {
    writeFileSync(file, html);
  } catch (e) {
    throw new InvalidArgumentError(
      `--report: cannot write ${JSON.stringify(file)}: ${(e as Error).message}`,
      "EINVAL",
      "report",
    );
  }
}

/** Writes the run's HTML report to `file`. */
export function writeRunReport(file: string, r: RunResult): void {
  writeHtml(file, renderRunReport(r));
}

/** Writes the sweep's HTML report to `file`. */
export function writeSweepReport(file: string, s: SweepResult): void {
  writeHtml(file, renderSweepReport(s));
}
