/**
 * The two error types every @mem package throws. Expected misses on hot paths (no memory, no fit)
 * never throw: they return a sentinel. What throws is a bug in the caller or a state a kernel would
 * refuse to continue from, and a throw always leaves the state as it was.
 *
 * @module
 */

/**
 * A bad argument: a value of the wrong kind or out of range. The message names the argument and
 * the value.
 */
export class InvalidArgumentError extends Error {
  override readonly name: "InvalidArgumentError" = "InvalidArgumentError";
  /** A stable machine-readable code, e.g. `"EINVAL"` or `"not-power-of-two"`. */
  readonly code: string;
  /** The argument or field path that was bad, e.g. `"pageSize"` or `"nodes[1].end"`. */
  readonly field: string | undefined;

  /**
   * @param message - what was wrong, with the value.
   * @param code - a stable code for programs.
   * @param field - the argument or field path, where there is one.
   */
  constructor(message: string, code = "EINVAL", field?: string) {
    super(message);
    this.code = code;
    this.field = field;
  }
}

/**
 * A condition on which a kernel would panic or BUG(): a double free, a free of memory that was
 * never allocated, a corrupted list. The simulated state is unchanged when this is thrown.
 */
export class KernelPanic extends Error {
  override readonly name: "KernelPanic" = "KernelPanic";
  /** A stable code naming the check that failed, e.g. `"double-free"` or `"bad-page"`. */
  readonly code: string;

  /**
   * @param code - a stable code naming the check.
   * @param message - what the kernel would have printed.
   */
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}
