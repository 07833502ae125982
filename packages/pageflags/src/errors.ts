/** errno for "out of memory", as the C returns it negated (`-ENOMEM`). */
export const ENOMEM: number = 12;

/**
 * A caller bug: a bad argument (negative, fractional, NaN, beyond the address width), a bad
 * option, or use of a freed map. Thrown before any state changes.
 */
export class InvalidArgumentError extends Error {
  /** Always "InvalidArgumentError". */
  override readonly name: "InvalidArgumentError" = "InvalidArgumentError";
  /** Short machine-readable reason: "EINVAL" (bad value) or "ERANGE" (beyond the address width). */
  readonly code: string;

  /** Builds the error with its `code` and a message naming the bad value. */
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * A condition on which the kernel would BUG(): a sparse `set` that cannot get a bitmap page
 * ("ENOMEM"), or a `set` on a pfn that has no bitmap page in a non-sparse map ("EFAULT").
 * Thrown before any state changes.
 */
export class KernelPanic extends Error {
  /** Always "KernelPanic". */
  override readonly name: "KernelPanic" = "KernelPanic";
  /** Short machine-readable reason: "ENOMEM" or "EFAULT". */
  readonly code: string;

  /** Builds the panic with its `code` and a message naming the pfn. */
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}
