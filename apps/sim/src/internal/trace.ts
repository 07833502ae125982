/**
 * JSON Lines traces: a header (machine spec and boot options), one line per subsystem operation,
 * and an end line with the final-state digest. Replaying the operations on a fresh boot of the same
 * machine must reach the same digest.
 *
 * @module
 */
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { InvalidArgumentError, type MachineSpec } from "@mem/machine";

/** The first line of a trace. */
export interface TraceHeader {
  readonly type: "header";
  readonly version: 1;
  readonly machine: MachineSpec;
  readonly bootAllocator: "rootmem" | "memblock";
  readonly minFreeKbytes: number;
  readonly cpus: number;
  readonly seed: number;
  readonly scenario: string;
}

/** One recorded operation: `op` names it, the other fields are its arguments. */
export interface TraceOp {
  readonly op: string;
  readonly [key: string]: unknown;
}

/** The last line of a trace. */
export interface TraceEnd {
  readonly type: "end";
  readonly ops: number;
  readonly digest: string;
}

/** Where operations are recorded. */
export interface TraceSink {
  /** Records one operation. */
  record(op: TraceOp): void;
  /** Writes the end line and closes. */
  end(digest: string): void;
  /** Operations recorded so far. */
  readonly count: number;
}

/** A trace written to a file, buffered. */
export class FileTrace implements TraceSink {
  private readonly fd: number;
  private buf: string[] = [];
  private n = 0;

  /** Opens `path` (truncating it) and writes the header. */
  constructor(path: string, header: TraceHeader) {
    this.fd = openSync(path, "w");
    this.buf.push(JSON.stringify(header));
  }

  get count(): number {
    return this.n;
  }

  record(op: TraceOp): void {
    this.buf.push(JSON.stringify(op));
    this.n++;
    if (this.buf.length >= 8192) this.flush();
  }

  private flush(): void {
    if (this.buf.length === 0) return;
    writeSync(this.fd, `${this.buf.join("\n")}\n`);
    this.buf = [];
  }

  end(digest: string): void {
    const e: TraceEnd = { type: "end", ops: this.n, digest };
    this.buf.push(JSON.stringify(e));
    this.flush();
    closeSync(this.fd);
  }
}

/** A trace kept in memory (tests, notebooks). */
export class MemoryTrace implements TraceSink {
  /** The header. */
  readonly header: TraceHeader;
  /** The operations. */
  readonly ops: TraceOp[] = [];
  /** The end line, once ended. */
  endLine: TraceEnd | null = null;

  constructor(header: TraceHeader) {
    this.header = header;
  }

  get count(): number {
    return this.ops.length;
  }

  record(op: TraceOp): void {
    this.ops.push(op);
  }

  end(digest: string): void {
    this.endLine = { type: "end", ops: this.ops.length, digest };
  }

  /** The trace as JSON Lines text. */
  toJsonl(): string {
    const lines = [JSON.stringify(this.header), ...this.ops.map((o) => JSON.stringify(o))];
    if (this.endLine) lines.push(JSON.stringify(this.endLine));
    return `${lines.join("\n")}\n`;
  }
}

/** A parsed trace. */
export interface ParsedTrace {
  readonly header: TraceHeader;
  readonly ops: TraceOp[];
  readonly end: TraceEnd | null;
}

function bad(message: string, field: string): never {
  throw new InvalidArgumentError(message, "EINVAL", field);
}

/** Parses JSON Lines trace text; errors name the line and what was expected. */
export function parseTrace(text: string, name = "trace"): ParsedTrace {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  if (lines.length === 0) bad(`${name}: empty, expected a header line`, "header");
  const parse = (k: number): Record<string, unknown> => {
    try {
      const v: unknown = JSON.parse(lines[k]!);
      if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not an object");
      return v as Record<string, unknown>;
    } catch (e) {
      return bad(
        `${name}: line ${k + 1}: expected a JSON object (${(e as Error).message})`,
        `line ${k + 1}`,
      );
    }
  };
  const h = parse(0);
  if (h.type !== "header" || h.version !== 1)
    bad(`${name}: line 1: expected {"type":"header","version":1,...}`, "header.type");
  if (typeof h.machine !== "object" || h.machine === null)
    bad(`${name}: line 1: header.machine: expected a machine spec object`, "header.machine");
  if (h.bootAllocator !== "rootmem" && h.bootAllocator !== "memblock")
    bad(
      `${name}: line 1: header.bootAllocator: expected "rootmem" or "memblock"`,
      "header.bootAllocator",
    );
  for (const f of ["minFreeKbytes", "cpus", "seed"]) {
    const v = h[f];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
      bad(
        `${name}: line 1: header.${f}: expected a non-negative integer, got ${JSON.stringify(v)}`,
        `header.${f}`,
      );
  }
  const ops: TraceOp[] = [];
  let end: TraceEnd | null = null;
  for (let k = 1; k < lines.length; k++) {
    const o = parse(k);
    if (o.type === "end") {
      if (typeof o.digest !== "string")
        bad(`${name}: line ${k + 1}: end.digest: expected a string`, "end.digest");
      end = o as unknown as TraceEnd;
      continue;
    }
    if (typeof o.op !== "string")
      bad(`${name}: line ${k + 1}: op: expected a string`, `line ${k + 1}.op`);
    ops.push(o as TraceOp);
  }
  return { header: h as unknown as TraceHeader, ops, end };
}

/** Reads and parses a trace file. */
export function readTrace(path: string): ParsedTrace {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    return bad(`cannot read trace ${path}: ${(e as Error).message}`, "trace");
  }
  return parseTrace(text, path);
}
