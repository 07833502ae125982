import { type CoreOptions, ExtentCore, type OutParam } from "./core.js";
import { InvalidArgumentError, KernelPanic } from "./errors.js";

/** The C `struct extent *`: exposes `ex_name`, `ex_start`, `ex_end`, `ex_flags`. */
export type extent = ExtentCore;

/** Options of {@link extent_create} beyond the C arguments. */
export interface ExtentCreateOptions extends CoreOptions {}

const HEADER: Record<32 | 64, number> = { 32: 52, 64: 104 };
const REGION: Record<32 | 64, number> = { 32: 20, 64: 40 };

/**
 * EXTENT_FIXED_STORAGE_SIZE(n): bytes of fixed storage that hold the extent header and exactly
 * `n` region descriptors (`ALIGN(sizeof(struct extent_fixed)) + n * ALIGN(sizeof(struct
 * extent_region))`, with a modelled ILP32 or LP64 layout).
 */
export function EXTENT_FIXED_STORAGE_SIZE(n: number, wordBits: 32 | 64 = 64): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new InvalidArgumentError(
      "EINVAL_NUMBER",
      `EXTENT_FIXED_STORAGE_SIZE: n must be a non-negative integer, got ${String(n)}`,
    );
  }
  return HEADER[wordBits] + REGION[wordBits] * n;
}

/**
 * extent_create: a map of [start, end] (inclusive). `storage` null gives a normal extent; any
 * object gives a fixed extent with as many descriptors as `storagesize` holds. Honours
 * EX_NOCOALESCE and EX_EARLY (other flags are ignored, as in NetBSD).
 */
export function extent_create(
  name: string,
  start: number,
  end: number,
  storage: object | null,
  storagesize: number,
  flags: number,
  options: ExtentCreateOptions = {},
): extent {
  let n: number | null = null;
  const wb = options.wordBits ?? 64;
  if (storage !== null && storage !== undefined) {
    if (!Number.isSafeInteger(storagesize) || storagesize < 0) {
      throw new InvalidArgumentError(
        "EINVAL_NUMBER",
        `extent_create: storagesize must be a non-negative integer, got ${String(storagesize)}`,
      );
    }
    const h = HEADER[wb] ?? HEADER[64];
    if (storagesize < h) {
      throw new KernelPanic(
        "PANIC_CREATE_STORAGE",
        `extent_create: fixed extent, bad storagesize 0x${storagesize.toString(16)}`,
      );
    }
    n = Math.floor((storagesize - h) / (REGION[wb] ?? REGION[64]));
  } else if (storagesize !== 0) {
    throw new KernelPanic("PANIC_CREATE_STORAGE", "extent_create: storage provided for non-fixed");
  }
  return new ExtentCore(name, start, end, n, flags, options);
}

/** extent_destroy: release every region descriptor; the extent cannot be used afterwards. */
export function extent_destroy(ex: extent): void {
  ex.destroy();
}

function checkOut(result: OutParam): void {
  if (result === null || typeof result !== "object") {
    throw new KernelPanic("PANIC_NULL_RESULT", "extent_alloc_subregion: NULL result pointer");
  }
}

/**
 * extent_alloc_subregion1: allocate `size` units inside [substart, subend], aligned to
 * `alignment` with `skew`, not crossing a `boundary` line. Returns 0 (start in `result.value`),
 * EAGAIN, ENOMEM or EINVAL, or a Promise of one when the call sleeps (EX_WAITOK / EX_WAITSPACE).
 */
export function extent_alloc_subregion1(
  ex: extent,
  substart: number,
  subend: number,
  size: number,
  alignment: number,
  skew: number,
  boundary: number,
  flags: number,
  result: OutParam,
  signal?: AbortSignal,
): number | Promise<number> {
  checkOut(result);
  return ex.allocSubregion(
    substart,
    subend,
    size,
    alignment,
    skew,
    boundary,
    flags,
    result,
    signal,
  );
}

/** extent_alloc_subregion: {@link extent_alloc_subregion1} with skew 0. */
export function extent_alloc_subregion(
  ex: extent,
  substart: number,
  subend: number,
  size: number,
  alignment: number,
  boundary: number,
  flags: number,
  result: OutParam,
  signal?: AbortSignal,
): number | Promise<number> {
  checkOut(result);
  return ex.allocSubregion(substart, subend, size, alignment, 0, boundary, flags, result, signal);
}

/** extent_alloc: allocate anywhere in the extent, skew 0. */
export function extent_alloc(
  ex: extent,
  size: number,
  alignment: number,
  boundary: number,
  flags: number,
  result: OutParam,
  signal?: AbortSignal,
): number | Promise<number> {
  return extent_alloc1(ex, size, alignment, 0, boundary, flags, result, signal);
}

/** extent_alloc1: allocate anywhere in the extent, with skew. */
export function extent_alloc1(
  ex: extent,
  size: number,
  alignment: number,
  skew: number,
  boundary: number,
  flags: number,
  result: OutParam,
  signal?: AbortSignal,
): number | Promise<number> {
  checkOut(result);
  return ex.allocSubregion(
    ex.ex_start,
    ex.ex_end,
    size,
    alignment,
    skew,
    boundary,
    flags,
    result,
    signal,
  );
}

/** extent_alloc_region: allocate exactly [start, start + size - 1]. 0, EAGAIN, ENOMEM or EINVAL. */
export function extent_alloc_region(
  ex: extent,
  start: number,
  size: number,
  flags: number,
  signal?: AbortSignal,
): number | Promise<number> {
  return ex.allocRegion(start, size, flags, signal);
}

/**
 * extent_free: free [start, start + size - 1], which must lie inside one run (a whole run on an
 * EX_NOCOALESCE extent), else throws KernelPanic. 0, or ENOMEM when no spare descriptor.
 */
export function extent_free(
  ex: extent,
  start: number,
  size: number,
  flags: number,
  signal?: AbortSignal,
): number | Promise<number> {
  return ex.free(start, size, flags, signal);
}

/** extent_print: the kernel's text, byte for byte, returned rather than printed. */
export function extent_print(ex: extent): string {
  return ex.print();
}
