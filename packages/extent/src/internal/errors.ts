/**
 * Thrown for a bad argument: a number that is not a safe non-negative integer, a zero size, an
 * alignment or boundary that is not a power of two, and so on. The map is left unchanged.
 */
export class InvalidArgumentError extends Error {
  /** Machine-readable reason. */
  readonly code: string;
  /** Build the error with a machine-readable code and a message naming the bad value. */
  constructor(code: string, message: string) {
    super(message);
    this.name = "InvalidArgumentError";
    this.code = code;
  }
}

/**
 * Thrown where the NetBSD kernel would panic (a free of a range that is not wholly inside one
 * allocated run, a DIAGNOSTIC argument check, ...). The map is left exactly as it was.
 */
export class KernelPanic extends Error {
  /** Machine-readable reason. */
  readonly code: string;
  /** Build the error with a machine-readable code and the kernel's panic message. */
  constructor(code: string, message: string) {
    super(message);
    this.name = "KernelPanic";
    this.code = code;
  }
}
