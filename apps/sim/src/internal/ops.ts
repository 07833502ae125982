/**
 * Replaying a recorded operation: the dispatcher from a trace line to the kernel method that
 * recorded it.
 *
 * @module
 */
import { InvalidArgumentError } from "@mem/machine";
import type { ContigStrategy } from "./contig.js";
import { hibernate } from "./hibernate.js";
import { hotAdd, hotRemove } from "./hotplug.js";
import type { Kernel } from "./kernel.js";
import type { Kind } from "./state.js";
import type { TraceOp } from "./trace.js";
import type { NetbackMode } from "./xen.js";

function num(op: TraceOp, f: string): number {
  const v = op[f];
  if (typeof v !== "number" || !Number.isFinite(v))
    throw new InvalidArgumentError(
      `trace op ${op.op}: ${f}: expected a number, got ${JSON.stringify(v)}`,
      "EINVAL",
      f,
    );
  return v;
}

/** Applies one recorded operation to `k`. */
export function applyOp(k: Kernel, op: TraceOp): void {
  switch (op.op) {
    case "alloc": {
      const h = k.allocPages(op.kind as Kind, num(op, "gfp"), num(op, "order"), num(op, "cpu"));
      if (h !== op.h)
        throw new InvalidArgumentError(
          `replay diverged: alloc gave handle ${h}, the trace ${String(op.h)}`,
          "EINVAL",
          "h",
        );
      return;
    }
    case "free":
      k.freeHandle(num(op, "h"), num(op, "cpu"));
      return;
    case "pc.read":
      k.pageCache.read(num(op, "file"), num(op, "offset"), op.write === true);
      return;
    case "pc.writeback":
      k.pageCache.writeback(num(op, "n"));
      return;
    case "pc.reclaim":
      k.pageCache.reclaim(num(op, "n"));
      return;
    case "pc.dropall":
      k.pageCache.dropAll();
      return;
    case "migrate":
      k.migrateHandle(num(op, "h"), num(op, "avoidStart"), num(op, "avoidEnd"));
      return;
    case "contig.ladder":
      k.contigDriver.runLadder(
        op.sizes as number[],
        op.strategies as ContigStrategy[],
        num(op, "attempts"),
        num(op, "highPfn"),
      );
      return;
    case "isa.attach":
      k.isa.attach();
      return;
    case "isa.detach":
      k.isa.detach();
      return;
    case "capture.attach":
      k.capture.attach(typeof op.bytes === "number" ? op.bytes : undefined, op.legacy !== false);
      return;
    case "capture.detach":
      k.capture.detach();
      return;
    case "net.start":
      k.xenDriver.start(op.mode as NetbackMode, num(op, "seed"), num(op, "guestPages"));
      return;
    case "net.send":
      k.xenDriver.send(num(op, "packets"));
      return;
    case "net.quiesce":
      k.xenDriver.quiesce();
      return;
    case "hibernate":
      hibernate(k);
      return;
    case "hotplug.add":
      hotAdd(k, num(op, "sections"), num(op, "startPfn"));
      return;
    case "hotplug.remove":
      hotRemove(k, num(op, "startPfn"), num(op, "endPfn"));
      return;
    default:
      throw new InvalidArgumentError(`trace: unknown op ${JSON.stringify(op.op)}`, "EINVAL", "op");
  }
}
