/**
 * A kernel log in simulated time: each line is stamped `[    S.UUUUUU]` like dmesg.
 *
 * @module
 */

/** One log line with its simulated time in microseconds. */
export interface LogLine {
  readonly timeUs: number;
  readonly text: string;
}

/** Collects log lines; the clock only moves forward. */
export class KernelLog {
  private readonly lines: LogLine[] = [];
  private nowUs = 0;

  /** Current simulated time in microseconds. */
  get now(): number {
    return this.nowUs;
  }

  /** Moves the clock forward by `us` microseconds. */
  advance(us: number): void {
    this.nowUs += us;
  }

  /** Logs `text` (one or many lines) at the current time. */
  print(...texts: string[]): void {
    for (const t of texts) this.lines.push({ timeUs: this.nowUs, text: t });
  }

  /** Every line so far. */
  get all(): readonly LogLine[] {
    return this.lines;
  }

  /** The log as dmesg prints it. */
  format(): string {
    return this.lines.map(formatLine).join("\n");
  }
}

/** `[    0.000000] text`. */
export function formatLine(line: LogLine): string {
  const s = Math.floor(line.timeUs / 1e6);
  const us = Math.round(line.timeUs - s * 1e6);
  return `[${String(s).padStart(5)}.${String(us).padStart(6, "0")}] ${line.text}`;
}
