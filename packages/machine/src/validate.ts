/**
 * Argument checks shared by the @mem packages. Each throws an {@link InvalidArgumentError} naming
 * the argument and the value, and returns nothing, so a caller validates everything before it
 * changes any state.
 *
 * @module
 */
import { InvalidArgumentError } from "./errors.js";

/** Renders a value for an error message: numbers in decimal and hex, others as JSON. */
export function describeValue(value: unknown): string {
  if (typeof value === "number") {
    if (Number.isSafeInteger(value) && value >= 0) return `${value} (0x${value.toString(16)})`;
    return String(value);
  }
  if (typeof value === "bigint") return `${value}n`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * Checks that `value` is a safe, non-negative integer (an address, a size, a pfn).
 *
 * @throws {@link InvalidArgumentError} when it is negative, fractional, NaN, infinite or above 2^53 - 1.
 */
export function assertUint(name: string, value: unknown): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(
      `${name} must be a non-negative integer no larger than 2^53 - 1, got ${describeValue(value)}`,
      "EINVAL",
      name,
    );
  }
}

/**
 * Checks that `value` is a safe integer (any sign).
 *
 * @throws {@link InvalidArgumentError} when it is fractional, NaN, infinite or unsafe.
 */
export function assertInt(name: string, value: unknown): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new InvalidArgumentError(
      `${name} must be an integer, got ${describeValue(value)}`,
      "EINVAL",
      name,
    );
  }
}

/** True when `value` is a positive safe integer power of two. Works above 2^32. */
export function isPowerOfTwo(value: number): boolean {
  if (!Number.isSafeInteger(value) || value < 1) return false;
  // Repeated halving stays exact for safe integers, unlike 32-bit `x & (x - 1)`.
  let v = value;
  while (v > 1) {
    if (v % 2 !== 0) return false;
    v /= 2;
  }
  return true;
}

/**
 * Checks that `value` is a positive power of two.
 *
 * @throws {@link InvalidArgumentError} when it is not.
 */
export function assertPowerOfTwo(name: string, value: unknown): asserts value is number {
  if (typeof value !== "number" || !isPowerOfTwo(value)) {
    throw new InvalidArgumentError(
      `${name} must be a power of two, got ${describeValue(value)}`,
      "not-power-of-two",
      name,
    );
  }
}

/**
 * Checks that `order` is an integer in [0, maxOrder).
 *
 * @throws {@link InvalidArgumentError} when it is not.
 */
export function assertOrder(
  name: string,
  order: unknown,
  maxOrder: number,
): asserts order is number {
  if (typeof order !== "number" || !Number.isInteger(order) || order < 0 || order >= maxOrder) {
    throw new InvalidArgumentError(
      `${name} must be an integer order in [0, ${maxOrder}), got ${describeValue(order)}`,
      "EINVAL",
      name,
    );
  }
}

/** log2 of a power of two, exact above 2^32. */
export function log2Exact(value: number): number {
  let shift = 0;
  let v = value;
  while (v > 1) {
    v /= 2;
    shift++;
  }
  return shift;
}
