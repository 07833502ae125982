import {
  EAGAIN,
  EINTR,
  EINVAL,
  ENOMEM,
  EX_BOUNDZERO,
  EX_CATCH,
  EX_FAST,
  EX_MALLOCOK,
  EX_NOCOALESCE,
  EX_WAITOK,
  EX_WAITSPACE,
} from "./internal/constants.js";
import { ExtentCore, type OutParam } from "./internal/core.js";
import { InvalidArgumentError } from "./internal/errors.js";

/** How an {@link Extent} is built. */
export interface ExtentOptions {
  /** Name shown by {@link Extent.print}. Default `"extent"`. */
  name?: string;
  /** First unit of the managed range (inclusive). */
  start: number;
  /** Last unit of the managed range (inclusive). */
  end: number;
  /** Merge adjacent allocations into one run (default true). false = EX_NOCOALESCE. */
  coalesce?: boolean;
  /** Fixed storage with exactly this many run descriptors (boot-time extents). */
  fixedDescriptors?: number;
  /** `unsigned long` width whose wrap-around rules apply at the top of the range. Default 64. */
  wordBits?: 32 | 64;
  /** Panic (throw KernelPanic) on the argument errors a DIAGNOSTIC kernel catches. Default false. */
  diagnostic?: boolean;
  /** Run store: "tree" (O(log n), default) or "linear" (NetBSD's list, the reference). */
  engine?: "tree" | "linear";
}

/** A constrained allocation request. */
export interface AllocRequest {
  /** Units to allocate (>= 1). */
  size: number;
  /** Power-of-two alignment of the start (default 1). */
  alignment?: number;
  /** Power-of-two line the allocation must not cross (default 0: none). */
  boundary?: number;
  /** The start is `skew` modulo `alignment` (default 0). */
  skew?: number;
  /** Lowest acceptable start (inclusive, default the extent start). */
  start?: number;
  /** Highest acceptable last unit (inclusive, default the extent end). */
  end?: number;
  /** "best" (smallest leftover, default) or "first" (lowest address). */
  fit?: "best" | "first";
  /** Count boundary lines from 0 instead of from the extent start. */
  boundaryFromZero?: boolean;
  /**
   * After a boundary bump, re-align the start (vmem's behaviour, default true). false keeps
   * NetBSD extent(9)'s behaviour, where the bumped start sits on the line, possibly unaligned.
   */
  realign?: boolean;
  /** Fixed storage only: take a pool descriptor when the fixed ones are used up. */
  mallocOk?: boolean;
}

/** Options of the waiting variants. */
export interface WaitOptions {
  /** Cancels the wait; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** A run of allocated or free units, inclusive at both ends. */
export interface Span {
  /** First unit. */
  start: number;
  /** Last unit. */
  end: number;
}

/**
 * A resource map in the style of NetBSD's extent(9): allocates integer ranges (pages, I/O ports,
 * bus addresses) under alignment, boundary and subregion constraints, and frees any sub-range of
 * an allocated run. Ranges are inclusive. Operations cost O(log n) in the number of runs.
 */
export class Extent {
  /** Sentinel of `alloc`/`allocRegion`: nothing fits or the range is taken (EAGAIN). */
  static readonly NO_SPACE: -1 = -1;
  /** Sentinel of `alloc`/`allocRegion`: the fixed descriptors are used up (ENOMEM). */
  static readonly NO_DESCRIPTOR: -2 = -2;

  private readonly core: ExtentCore;
  private readonly out: OutParam = { value: 0 };

  /** Create a map of [options.start, options.end]. */
  constructor(options: ExtentOptions) {
    if (options === null || typeof options !== "object") {
      throw new InvalidArgumentError("EINVAL_OPTIONS", "Extent: options object required");
    }
    const fd = options.fixedDescriptors;
    if (fd !== undefined && (!Number.isSafeInteger(fd) || fd < 0)) {
      throw new InvalidArgumentError(
        "EINVAL_NUMBER",
        `fixedDescriptors must be a non-negative integer, got ${String(fd)}`,
      );
    }
    const core: { wordBits?: 32 | 64; diagnostic?: boolean; engine?: "tree" | "linear" } = {};
    if (options.wordBits !== undefined) core.wordBits = options.wordBits;
    if (options.diagnostic !== undefined) core.diagnostic = options.diagnostic;
    if (options.engine !== undefined) core.engine = options.engine;
    this.core = new ExtentCore(
      options.name ?? "extent",
      options.start,
      options.end,
      fd ?? null,
      options.coalesce === false ? EX_NOCOALESCE : 0,
      core,
    );
  }

  /** Extent name. */
  get name(): string {
    return this.core.ex_name;
  }
  /** First unit (inclusive). */
  get start(): number {
    return this.core.ex_start;
  }
  /** Last unit (inclusive). */
  get end(): number {
    return this.core.ex_end;
  }
  /** Number of allocated runs (= descriptors in use). */
  get runCount(): number {
    return this.core.engine.count;
  }
  /** Unused fixed descriptors, or null for an extent without fixed storage. */
  get freeDescriptors(): number | null {
    return this.core.freeDescriptors;
  }

  private prepare(
    req: AllocRequest,
  ): [number, number, number, number, number, number, number, boolean] {
    if (req === null || typeof req !== "object") {
      throw new InvalidArgumentError("EINVAL_OPTIONS", "alloc: request object required");
    }
    const c = this.core;
    const size = req.size;
    const alignment = req.alignment ?? 1;
    const boundary = req.boundary ?? 0;
    const skew = req.skew ?? 0;
    const lo = req.start ?? c.ex_start;
    const hi = req.end ?? c.ex_end;
    c.checkNum(size, "size");
    c.checkNum(lo, "start");
    c.checkNum(hi, "end");
    if (lo < c.ex_start || hi > c.ex_end || lo > hi) {
      throw new InvalidArgumentError(
        "EINVAL_RANGE",
        `alloc: subregion [${lo}, ${hi}] must lie inside the extent [${c.ex_start}, ${c.ex_end}]`,
      );
    }
    if (size < 1 || size - 1 > hi - lo) {
      throw new InvalidArgumentError(
        "EINVAL_SIZE",
        `alloc: size ${size} must be in [1, ${hi - lo + 1}]`,
      );
    }
    if (boundary !== 0 && boundary < size) {
      throw new InvalidArgumentError(
        "EINVAL_BOUNDARY",
        `alloc: boundary ${boundary} is smaller than size ${size}`,
      );
    }
    if (req.fit !== undefined && req.fit !== "best" && req.fit !== "first") {
      throw new InvalidArgumentError(
        "EINVAL_FIT",
        `alloc: fit must be "best" or "first", got ${String(req.fit)}`,
      );
    }
    let flags = 0;
    if (req.fit === "first") flags |= EX_FAST;
    if (req.boundaryFromZero) flags |= EX_BOUNDZERO;
    if (req.mallocOk) flags |= EX_MALLOCOK;
    return [lo, hi, size, alignment, skew, boundary, flags, req.realign ?? true];
  }

  /**
   * Allocate `size` units under the request's constraints. Returns the first unit, or
   * {@link Extent.NO_SPACE} / {@link Extent.NO_DESCRIPTOR}. Throws InvalidArgumentError on bad
   * arguments.
   */
  alloc(req: AllocRequest): number {
    const [lo, hi, size, a, skew, b, flags, realign] = this.prepare(req);
    const r = this.core.allocSubregion(
      lo,
      hi,
      size,
      a,
      skew,
      b,
      flags,
      this.out,
      undefined,
      realign,
    ) as number;
    return this.code(r, this.out.value);
  }

  /** Like {@link Extent.alloc}, but waits for a free (and for a descriptor) instead of failing. */
  async allocWait(req: AllocRequest, options: WaitOptions = {}): Promise<number> {
    const [lo, hi, size, a, skew, b, flags, realign] = this.prepare(req);
    const out: OutParam = { value: 0 };
    const r = await this.core.allocSubregion(
      lo,
      hi,
      size,
      a,
      skew,
      b,
      flags | EX_WAITSPACE | EX_WAITOK | EX_CATCH,
      out,
      options.signal,
      realign,
    );
    return this.waited(r, out.value, options.signal);
  }

  /**
   * Allocate exactly [start, start + size - 1]. Returns `start`, {@link Extent.NO_SPACE} when part
   * of it is taken, or {@link Extent.NO_DESCRIPTOR}. Throws when the range leaves the extent.
   */
  allocRegion(start: number, size: number): number {
    this.checkRange(start, size, "allocRegion");
    const r = this.core.allocRegion(start, size, 0) as number;
    return this.code(r, start);
  }

  /** Like {@link Extent.allocRegion}, but waits until the range is free. */
  async allocRegionWait(start: number, size: number, options: WaitOptions = {}): Promise<number> {
    this.checkRange(start, size, "allocRegionWait");
    const r = await this.core.allocRegion(
      start,
      size,
      EX_WAITSPACE | EX_WAITOK | EX_CATCH,
      options.signal,
    );
    return this.waited(r, start, options.signal);
  }

  /**
   * Free [start, start + size - 1], which must lie inside one allocated run (exactly one whole
   * run when not coalescing); otherwise throws KernelPanic and changes nothing. Returns false
   * only when a split needs a descriptor and fixed storage has none left.
   */
  free(start: number, size: number): boolean {
    this.checkRange(start, size, "free");
    return this.core.free(start, size, 0) === 0;
  }

  /** The allocated runs, in address order. */
  *runs(): IterableIterator<Span> {
    const list: Span[] = [];
    this.core.engine.forEach((start, end) => {
      list.push({ start, end });
    });
    yield* list;
  }

  /** The free gaps inside the extent, in address order. */
  *gaps(): IterableIterator<Span> {
    const list: Span[] = [];
    const c = this.core;
    let prev = c.ex_start;
    c.engine.forEach((s, e) => {
      const top = Math.min(s - 1, c.ex_end);
      if (top >= prev) list.push({ start: prev, end: top });
      if (e + 1 > prev) prev = e + 1;
    });
    if (prev <= c.ex_end) list.push({ start: prev, end: c.ex_end });
    yield* list;
  }

  /** Same as {@link Extent.runs}. */
  [Symbol.iterator](): IterableIterator<Span> {
    return this.runs();
  }

  /** Size of the largest free gap (0 when full). O(log n). */
  largestFree(): number {
    return this.core.largestFree();
  }

  /** NetBSD's extent_print text. */
  print(): string {
    return this.core.print();
  }

  private checkRange(start: number, size: number, what: string): void {
    const c = this.core;
    c.checkNum(start, "start");
    c.checkNum(size, "size");
    if (size < 1)
      throw new InvalidArgumentError(
        "EINVAL_SIZE",
        `${what}: size must be at least 1, got ${size}`,
      );
    if (start < c.ex_start || start + size - 1 > c.ex_end) {
      throw new InvalidArgumentError(
        "EINVAL_RANGE",
        `${what}: [${start}, ${start + size - 1}] must lie inside the extent [${c.ex_start}, ${c.ex_end}]`,
      );
    }
  }

  private code(r: number, value: number): number {
    if (r === 0) return value;
    if (r === EAGAIN) return Extent.NO_SPACE;
    if (r === ENOMEM) return Extent.NO_DESCRIPTOR;
    if (r === EINVAL) return Extent.NO_SPACE;
    return Extent.NO_SPACE;
  }

  private waited(r: number, value: number, signal: AbortSignal | undefined): number {
    if (r === 0) return value;
    if ((r === EINTR || r === ENOMEM) && signal?.aborted) throw signal.reason;
    return this.code(r, value);
  }
}
