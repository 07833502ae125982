/**
 * The sweep's piscina worker: runs one task per call.
 *
 * @module
 */
import { runTask, type SweepRecord, type SweepTask } from "./task.js";

/** Runs `task` (piscina calls the default export). */
export default function sweepWorker(task: SweepTask): SweepRecord {
  return runTask(task);
}
