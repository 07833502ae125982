/**
 * Argument checks and the placement arithmetic shared by every search. All arithmetic is on
 * JavaScript numbers (exact to 2^53 - 1): no 32-bit bitwise operator touches an address or a pfn.
 *
 * @module
 */
import {
  assertUint,
  describeValue,
  InvalidArgumentError,
  isPowerOfTwo,
  KernelPanic,
} from "@mem/machine";

/** A request in pages, after validation. */
export interface PageRequest {
  /** Pages wanted. */
  npages: number;
  /** Lowest acceptable first pfn (`ceil(low / pageSize)`). */
  lowPfn: number;
  /** The run must end at or below this pfn (`floor(high / pageSize)`; `high` is exclusive). */
  endPfn: number;
  /** Alignment of the first pfn, in pages (>= 1). */
  alignPages: number;
  /** Boundary in pages (0 = none). */
  boundaryPages: number;
  /** False when no placement can satisfy the boundary (boundary smaller than the size). */
  feasible: boolean;
}

/**
 * The boundary predicate of contigmalloc and `vm_addr_bound_ok`:
 * `((pa ^ (pa + size - 1)) & ~(boundary - 1)) == 0`, i.e. the first and the last byte lie in the
 * same `boundary`-sized window; a boundary of 0 never constrains. Exact above 2^32.
 */
export function boundaryOk(pa: number, size: number, boundary: number): boolean {
  if (boundary === 0) return true;
  return Math.floor(pa / boundary) === Math.floor((pa + size - 1) / boundary);
}

/**
 * Validates FreeBSD-style arguments (bytes) and converts them to pages. `panic` selects the error
 * kind for size 0 and non-power-of-two alignment or boundary: {@link @mem/machine!index.KernelPanic} (the C API panics)
 * or {@link @mem/machine!index.InvalidArgumentError} (the idiomatic API).
 */
export function checkRequest(
  what: string,
  pageSize: number,
  size: unknown,
  low: unknown,
  high: unknown,
  alignment: unknown,
  boundary: unknown,
  panic: boolean,
): PageRequest {
  assertUint("size", size);
  assertUint("low", low);
  assertUint("high", high);
  assertUint("alignment", alignment);
  assertUint("boundary", boundary);
  const fail = (code: string, msg: string, field: string): never => {
    if (panic) throw new KernelPanic(code, `${what}: ${msg}`);
    throw new InvalidArgumentError(`${what}: ${msg}`, code, field);
  };
  if (size === 0) fail("size-zero", "size must not be 0", "size");
  // The C check `(x & (x - 1)) != 0` lets 0 through, which then only matches physical address 0:
  // we reject an alignment of 0 instead. A boundary of 0 means "no boundary".
  if (!isPowerOfTwo(alignment))
    fail(
      "bad-alignment",
      `alignment must be a power of 2, got ${describeValue(alignment)}`,
      "alignment",
    );
  if (boundary !== 0 && !isPowerOfTwo(boundary))
    fail(
      "bad-boundary",
      `boundary must be a power of 2, got ${describeValue(boundary)}`,
      "boundary",
    );
  const npages = Math.ceil(size / pageSize);
  const bytes = npages * pageSize;
  const alignPages = alignment <= pageSize ? 1 : alignment / pageSize;
  const feasible = boundary === 0 || boundary >= bytes;
  const boundaryPages = boundary === 0 ? 0 : Math.max(1, boundary / pageSize);
  return {
    npages,
    lowPfn: Math.ceil(low / pageSize),
    endPfn: Math.floor(high / pageSize),
    alignPages,
    boundaryPages,
    feasible,
  };
}

/**
 * The lowest pfn `q >= p` that is aligned and whose run of `n` pages does not cross a boundary
 * line (`b` pages, 0 = none; the caller guarantees `b >= n` when non-zero).
 */
export function fitFrom(p: number, n: number, a: number, b: number): number {
  let q = Math.ceil(p / a) * a;
  if (b > 0 && Math.floor(q / b) !== Math.floor((q + n - 1) / b)) {
    q = (Math.floor(q / b) + 1) * b;
    q = Math.ceil(q / a) * a;
  }
  return q;
}
