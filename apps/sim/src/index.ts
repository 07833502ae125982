/**
 * @mem/sim: the simulated kernel, as a library.
 *
 * @packageDocumentation
 */
export { createProgram, EXIT_BAD_INPUT, EXIT_INVARIANT, runCli } from "./cli.js";
export { formatLine, KernelLog, type LogLine } from "./internal/dmesg.js";
