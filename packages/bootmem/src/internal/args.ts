/**
 * Argument checks and small exact-arithmetic helpers shared by the allocators.
 *
 * @module
 */
import { assertInt, assertUint, InvalidArgumentError, KernelPanic } from "@mem/machine";

/** Highest node id accepted (Linux's `MAX_NUMNODES` with `NODES_SHIFT` 10). */
export const MAX_NUMNODES = 1024;

/** Checks a byte address / size / pfn: a safe non-negative integer. */
export function uint(name: string, value: unknown): asserts value is number {
  assertUint(name, value);
}

/** Checks `addr + size` stays exact. */
export function safeEnd(addrName: string, addr: number, size: number): number {
  const end = addr + size;
  if (!Number.isSafeInteger(end)) {
    throw new InvalidArgumentError(
      `${addrName} + size must be at most 2^53 - 1, got ${addr} + ${size}`,
      "ERANGE",
      addrName,
    );
  }
  return end;
}

/** Checks a node id: -1 (any node) when `allowAny`, else 0..MAX_NUMNODES-1. */
export function nodeId(name: string, value: unknown, allowAny: boolean): asserts value is number {
  assertInt(name, value);
  const lo = allowAny ? -1 : 0;
  if (value < lo || value >= MAX_NUMNODES) {
    throw new InvalidArgumentError(
      `${name} must be in [${lo}, ${MAX_NUMNODES}), got ${value}`,
      "EINVAL",
      name,
    );
  }
}

/** Rounds `x` up to a multiple of the power of two `a` (exact above 2^32). */
export function alignUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

/** Rounds `x` down to a multiple of the power of two `a` (exact above 2^32). */
export function alignDown(x: number, a: number): number {
  return Math.floor(x / a) * a;
}

/** Throws a {@link @mem/machine!index.KernelPanic} (the kernel's `BUG()`). */
export function bug(code: string, message: string): never {
  throw new KernelPanic(code, message);
}

/** Hex without a prefix, as the kernel's `%lx`. */
export function hex(n: number): string {
  return n.toString(16);
}
