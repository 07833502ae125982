/**
 * `unsigned long` arithmetic of a 32-bit or 64-bit machine on JavaScript numbers.
 *
 * All inputs are integers in [0, min(2^W - 1, 2^53 - 1)]. On 32-bit words every intermediate value
 * is exact. On 64-bit words sums stay below 2^55, so the only wrap that can happen is an underflow
 * below 0, which maps to a huge value (inexact, but larger than every legal address, which is all
 * the comparisons need).
 */

/** 2^32 and 2^64 as numbers. */
export const MOD32 = 4294967296;
/** 2^64 as a number (exact: a power of two). */
export const MOD64: number = 2 ** 64;

/** Reduce `v` (in (-MOD, 2*MOD)) modulo `mod`. */
export function wrap(v: number, mod: number): number {
  if (v < 0) return v + mod;
  if (v >= mod) return v - mod;
  return v;
}

/** `x mod a` (floored, in [0, a)) for an integer x and a power of two a, exact, without `%`. */
export function modP2(x: number, a: number): number {
  return x - Math.floor(x / a) * a;
}

/** Smallest y >= x with y = skew (mod a), modulo the word (the kernel's EXTENT_ALIGN). */
export function alignUp(x: number, a: number, skew: number, mod: number): number {
  if (a === 1) return x;
  // (skew - x) mod a in [0, a), exact: a is a power of two, so v / a, its floor and the product
  // are exact, and the difference is an integer below a (cheaper than `%`, a call to fmod).
  const v = skew - x;
  const r = v - Math.floor(v / a) * a;
  const y = x + r;
  return y >= mod ? y - mod : y;
}

/**
 * {@link alignUp} with `inv` = 1 / a precomputed: a power of two has an exact reciprocal, so
 * `v * inv` is exactly `v / a` and the result is the same, without a floating-point division on
 * the search's hot path (a division costs several times a multiplication).
 */
export function alignUpInv(x: number, a: number, inv: number, skew: number, mod: number): number {
  if (a === 1) return x;
  const v = skew - x;
  const r = v - Math.floor(v * inv) * a;
  const y = x + r;
  return y >= mod ? y - mod : y;
}

/** Overflow-safe `x + y <= z` (the kernel's LE_OV). */
export function leOv(x: number, y: number, z: number, mod: number): boolean {
  const t = x + y;
  return t < mod && t <= z;
}

/** True when `v` is a power of two (v >= 1). */
export function isPow2(v: number): boolean {
  if (v < 1) return false;
  // alignments and boundaries below 2^30 fit a 32-bit word: the usual test is exact there
  if (v <= 0x40000000) return (v & (v - 1)) === 0;
  // exact for integers up to 2^53: a power of two has log2 integral
  return 2 ** Math.round(Math.log2(v)) === v;
}
