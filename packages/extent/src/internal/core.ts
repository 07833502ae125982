import { alignUp, isPow2, MOD32, MOD64 } from "./arith.js";
import {
  EAGAIN,
  EINTR,
  EINVAL,
  ENOMEM,
  EX_BOUNDZERO,
  EX_CATCH,
  EX_EARLY,
  EX_FAST,
  EX_MALLOCOK,
  EX_NOCOALESCE,
  EX_WAITOK,
  EX_WAITSPACE,
  EXF_EARLY,
  EXF_FIXED,
  EXF_NOCOALESCE,
} from "./constants.js";
import {
  type Engine,
  FREE_NOT_FOUND,
  FREE_RUN_RELEASED,
  FREE_SPARE_USED,
  INS_NEW_RELEASED,
  INS_NEXT_RELEASED,
  REL_KIND_ALLOC,
} from "./engine.js";
import { InvalidArgumentError, KernelPanic } from "./errors.js";
import { FIND_FOUND, FIND_OVERFLOW, Query } from "./fit.js";
import { LinearEngine } from "./linear-engine.js";
import { TreeEngine } from "./tree-engine.js";

/** Options shared by the compat and idiomatic constructors. */
export interface CoreOptions {
  /** Width of `unsigned long`: 32 or 64 (default 64). */
  wordBits?: 32 | 64;
  /** Behave like a DIAGNOSTIC kernel (panic on argument errors). Default false. */
  diagnostic?: boolean;
  /** Run store: the O(log n) index (default) or NetBSD's linear list (the reference). */
  engine?: "tree" | "linear";
}

/** An out-parameter: the C `u_long *result`. */
export interface OutParam {
  value: number;
}

const NEED_WAIT = -2;
const NO_DESC = -1;

interface Waiter {
  active: boolean;
  step: () => number | undefined;
  cancel: () => number;
  resolve: (v: number) => void;
  reject: (e: unknown) => void;
}

function hex(v: number): string {
  return `0x${v.toString(16)}`;
}

/**
 * The extent itself: NetBSD's `struct extent` with its descriptor accounting, sleeps and
 * argument checks, over a pluggable run store. Both public APIs are thin layers over this class.
 */
export class ExtentCore {
  /** Extent name. */
  readonly ex_name: string;
  /** First address (inclusive). */
  readonly ex_start: number;
  /** Last address (inclusive). */
  readonly ex_end: number;
  /** Internal EXF_* flags. */
  readonly ex_flags: number;
  /** Word width in bits. */
  readonly wordBits: 32 | 64;
  /** DIAGNOSTIC behaviour. */
  readonly diagnostic: boolean;
  /** Largest value a `u_long` argument may take here. */
  readonly maxValue: number;
  /** The run store. */
  readonly engine: Engine;
  /** Free fixed-storage descriptors (kinds, LIFO); null for a normal extent. */
  readonly freelist: number[] | null;
  private flwanted = false;
  private readonly q: Query = new Query();
  private readonly mod: number;
  private readonly waiters: Waiter[] = [];
  private wakePending = false;
  private waking = false;
  private destroyed = false;

  /** Create an extent; `fixedDescriptors` is null for a normal extent. */
  constructor(
    name: string,
    start: number,
    end: number,
    fixedDescriptors: number | null,
    flags: number,
    options: CoreOptions = {},
  ) {
    const wordBits = options.wordBits ?? 64;
    if (wordBits !== 32 && wordBits !== 64) {
      throw new InvalidArgumentError(
        "EINVAL_WORDBITS",
        `wordBits must be 32 or 64, got ${String(wordBits)}`,
      );
    }
    this.wordBits = wordBits;
    this.mod = wordBits === 32 ? MOD32 : MOD64;
    this.maxValue = wordBits === 32 ? MOD32 - 1 : Number.MAX_SAFE_INTEGER;
    this.diagnostic = options.diagnostic ?? false;
    if (typeof name !== "string")
      throw new KernelPanic("PANIC_CREATE_NAME", "extent_create: name == NULL");
    this.checkNum(start, "start");
    this.checkNum(end, "end");
    this.checkFlags(flags);
    if (end < start) {
      throw new KernelPanic(
        "PANIC_CREATE_RANGE",
        `extent_create: end < start (start ${hex(start)}, end ${hex(end)})`,
      );
    }
    this.ex_name = name;
    this.ex_start = start;
    this.ex_end = end;
    let f = 0;
    if (fixedDescriptors !== null) f |= EXF_FIXED;
    if (flags & EX_NOCOALESCE) f |= EXF_NOCOALESCE;
    if (flags & EX_EARLY) f |= EXF_EARLY;
    this.ex_flags = f;
    this.freelist = fixedDescriptors === null ? null : new Array<number>(fixedDescriptors).fill(0);
    this.engine =
      options.engine === "linear" ? new LinearEngine(start) : new TreeEngine(start, end);
    const q = this.q;
    q.exStart = start;
    q.exEnd = end;
    q.mod = this.mod;
  }

  // ---------------------------------------------------------------- validation

  /** Throw unless `v` is an integer in [0, maxValue]. */
  checkNum(v: number, what: string): void {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > this.maxValue) {
      throw new InvalidArgumentError(
        "EINVAL_NUMBER",
        `${what} must be an integer in [0, ${hex(this.maxValue)}] (a ${this.wordBits}-bit u_long, exact to 2^53 - 1), got ${String(v)}`,
      );
    }
  }

  private checkFlags(flags: number): void {
    if (typeof flags !== "number" || !Number.isInteger(flags) || flags < 0 || flags > 0xffff) {
      throw new InvalidArgumentError(
        "EINVAL_FLAGS",
        `flags must be a small non-negative integer, got ${String(flags)}`,
      );
    }
  }

  private checkAlive(): void {
    if (this.destroyed)
      throw new KernelPanic(
        "PANIC_DESTROYED",
        `extent \`${this.ex_name}' used after extent_destroy`,
      );
  }

  // ---------------------------------------------------------------- descriptors

  private takeDesc(flags: number): number {
    const fl = this.freelist;
    if (fl === null) return 1;
    if (fl.length > 0) return fl.pop()!;
    if (flags & EX_MALLOCOK) return 1;
    if ((flags & EX_WAITOK) === 0) return NO_DESC;
    return NEED_WAIT;
  }

  /** Put a descriptor back exactly where it came from, without waking anyone (panic paths). */
  private untake(kind: number, fromList: boolean): void {
    if (fromList) this.freelist!.push(kind);
  }

  private releaseDesc(kind: number): void {
    const fl = this.freelist;
    if (fl === null) return;
    if (kind === 1) {
      if (this.flwanted) fl.push(1);
    } else fl.push(0);
    if ((this.ex_flags & EXF_EARLY) === 0) {
      this.flwanted = false;
      this.wakePending = true;
    }
  }

  private releaseInsert(bits: number, newKind: number): void {
    if (bits & INS_NEXT_RELEASED) this.releaseDesc(bits & REL_KIND_ALLOC ? 1 : 0);
    if (bits & INS_NEW_RELEASED) this.releaseDesc(newKind);
  }

  // ---------------------------------------------------------------- sleeping

  private sleep(w: Waiter, flags: number, signal: AbortSignal | undefined): Promise<number> {
    if (this.ex_flags & EXF_EARLY) {
      w.cancel();
      throw new KernelPanic(
        "PANIC_EARLY_SLEEP",
        `extent \`${this.ex_name}': EX_EARLY extent cannot sleep`,
      );
    }
    return new Promise<number>((resolve, reject) => {
      w.resolve = resolve;
      w.reject = reject;
      if (flags & EX_CATCH && signal !== undefined) {
        const onAbort = (): void => {
          if (!w.active) return;
          w.active = false;
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve(w.cancel());
          this.runWakeups();
        };
        if (signal.aborted) {
          onAbort();
          return;
        }
        signal.addEventListener("abort", onAbort, { once: true });
      }
      this.waiters.push(w);
    });
  }

  /** Retry sleepers after a broadcast (a free, or a descriptor returned to fixed storage). */
  private runWakeups(): void {
    if (this.waiters.length === 0) {
      this.wakePending = false;
      return;
    }
    if (this.waking) return;
    this.waking = true;
    try {
      while (this.wakePending) {
        this.wakePending = false;
        const list = this.waiters.slice();
        for (const w of list) {
          if (!w.active) continue;
          let r: number | undefined;
          try {
            r = w.step();
          } catch (err) {
            w.active = false;
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.reject(err);
            continue;
          }
          if (r !== undefined) {
            w.active = false;
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(r);
          }
        }
      }
    } finally {
      this.waking = false;
    }
  }

  /** Number of sleeping callers. */
  get sleepers(): number {
    return this.waiters.length;
  }

  /** Free fixed descriptors (null for a normal extent). */
  get freeDescriptors(): number | null {
    return this.freelist === null ? null : this.freelist.length;
  }

  private newWaiter(): Waiter {
    return {
      active: true,
      step: () => undefined,
      cancel: () => EINTR,
      resolve: () => {},
      reject: () => {},
    };
  }

  // ---------------------------------------------------------------- operations

  /** extent_alloc_subregion1 (plus `realign`, the vmem boundary rule, for the idiomatic API). */
  allocSubregion(
    substart: number,
    subend: number,
    size: number,
    alignment: number,
    skew: number,
    boundary: number,
    flags: number,
    out: OutParam,
    signal?: AbortSignal,
    realign = false,
  ): number | Promise<number> {
    this.checkAlive();
    this.checkNum(substart, "substart");
    this.checkNum(subend, "subend");
    this.checkNum(size, "size");
    this.checkNum(alignment, "alignment");
    this.checkNum(skew, "skew");
    this.checkNum(boundary, "boundary");
    this.checkFlags(flags);
    if (size < 1)
      throw new InvalidArgumentError("EINVAL_SIZE", `size must be at least 1, got ${size}`);
    if (!isPow2(alignment)) {
      throw new InvalidArgumentError(
        "EINVAL_ALIGN",
        `alignment must be a power of two, got ${alignment}`,
      );
    }
    if (boundary !== 0 && !isPow2(boundary)) {
      throw new InvalidArgumentError(
        "EINVAL_BOUNDARY",
        `boundary must be 0 or a power of two, got ${boundary}`,
      );
    }
    const mod = this.mod;
    if (this.diagnostic) {
      if (
        substart < this.ex_start ||
        substart > this.ex_end ||
        subend > this.ex_end ||
        subend < this.ex_start
      ) {
        throw new KernelPanic(
          "PANIC_BAD_SUBREGION",
          `extent_alloc_subregion: bad subregion (extent \`${this.ex_name}', ex_start ${hex(this.ex_start)}, ex_end ${hex(this.ex_end)}, substart ${hex(substart)}, subend ${hex(subend)})`,
        );
      }
      if (size - 1 > subend - substart) {
        throw new KernelPanic(
          "PANIC_BAD_SIZE",
          `extent_alloc_subregion: bad size (extent \`${this.ex_name}', size ${hex(size)})`,
        );
      }
      if (boundary !== 0 && boundary < size) {
        throw new KernelPanic(
          "PANIC_BAD_BOUNDARY",
          `extent_alloc_subregion: bad boundary (extent \`${this.ex_name}', size ${hex(size)}, boundary ${hex(boundary)})`,
        );
      }
      if (alignUp(substart, alignment, skew, mod) < this.ex_start) {
        throw new KernelPanic(
          "PANIC_ALIGN_OVERFLOW",
          `extent_alloc_subregion: overflow after alignment (extent \`${this.ex_name}' (${hex(this.ex_start)} - ${hex(this.ex_end)}), alignment ${hex(alignment)})`,
        );
      }
    }
    const kind = this.takeDesc(flags);
    if (kind === NO_DESC) return ENOMEM;
    if (kind !== NEED_WAIT) {
      const r = this.trySub(
        substart,
        subend,
        size,
        alignment,
        skew,
        boundary,
        flags,
        out,
        realign,
        kind,
      );
      if (r !== undefined) {
        if (this.wakePending) this.runWakeups();
        return r;
      }
      if (flags & EX_CATCH && signal?.aborted) {
        this.releaseDesc(kind);
        this.runWakeups();
        return EINTR;
      }
    }
    const w = this.newWaiter();
    let held = kind;
    const space = (): number | undefined =>
      this.trySub(substart, subend, size, alignment, skew, boundary, flags, out, realign, held);
    return this.sleepFor(
      w,
      kind === NEED_WAIT,
      flags,
      signal,
      space,
      (k) => {
        held = k;
      },
      () => held,
    );
  }

  /** One attempt of the search and insert; undefined means "sleep for space". */
  private trySub(
    substart: number,
    subend: number,
    size: number,
    alignment: number,
    skew: number,
    boundary: number,
    flags: number,
    out: OutParam,
    realign: boolean,
    kind: number,
  ): number | undefined {
    const q = this.q;
    q.substart = substart;
    q.subend = subend;
    q.size = size;
    q.align = alignment;
    q.alignInv = 1 / alignment;
    q.skew = skew;
    q.boundary = boundary;
    q.boundaryInv = boundary === 0 ? 0 : 1 / boundary;
    q.base = flags & EX_BOUNDZERO ? 0 : this.ex_start;
    q.fast = (flags & EX_FAST) !== 0;
    q.realign = realign;
    const r = this.engine.find(q);
    if (r === FIND_FOUND) {
      const start = q.result;
      const bits = this.engine.insert(
        start,
        start + size - 1,
        (this.ex_flags & EXF_NOCOALESCE) === 0,
        kind,
      );
      if (bits !== 0) this.releaseInsert(bits, kind);
      out.value = start;
      return 0;
    }
    if (r === FIND_OVERFLOW) {
      this.releaseDesc(kind);
      return EINVAL;
    }
    if (flags & EX_WAITSPACE) return undefined;
    this.releaseDesc(kind);
    return EAGAIN;
  }

  /**
   * Sleep: first (if `needDesc`) for a fixed descriptor, then for space. `setHeld`/`getHeld`
   * track the descriptor the sleeper holds, which a cancelled space wait gives back.
   */
  private sleepFor(
    w: Waiter,
    needDesc: boolean,
    flags: number,
    signal: AbortSignal | undefined,
    space: () => number | undefined,
    setHeld: (k: number) => void,
    getHeld: () => number,
  ): Promise<number> | number {
    const spaceCancel = (): number => {
      this.releaseDesc(getHeld());
      return EINTR;
    };
    if (!needDesc) {
      w.step = space;
      w.cancel = spaceCancel;
      return this.sleep(w, flags, signal);
    }
    w.step = () => {
      const fl = this.freelist!;
      if (fl.length === 0) {
        this.flwanted = true;
        return undefined;
      }
      setHeld(fl.pop()!);
      w.step = space;
      w.cancel = spaceCancel;
      return space();
    };
    // An interrupted wait for a descriptor makes the allocator return NULL: ENOMEM.
    w.cancel = () => ENOMEM;
    if (this.ex_flags & EXF_EARLY) return this.sleep(w, flags, signal);
    this.flwanted = true;
    if (flags & EX_CATCH && signal?.aborted) return ENOMEM;
    return this.sleep(w, flags, signal);
  }

  /** extent_alloc_region. */
  allocRegion(
    start: number,
    size: number,
    flags: number,
    signal?: AbortSignal,
  ): number | Promise<number> {
    this.checkAlive();
    this.checkNum(start, "start");
    this.checkNum(size, "size");
    this.checkFlags(flags);
    if (size < 1)
      throw new InvalidArgumentError("EINVAL_SIZE", `size must be at least 1, got ${size}`);
    let end = start + size - 1;
    const wrapped = end >= this.mod;
    if (wrapped) end -= this.mod;
    if (this.diagnostic) {
      if (wrapped) {
        throw new KernelPanic(
          "PANIC_OVERFLOW",
          `extent_alloc_region: overflow (extent \`${this.ex_name}', start ${hex(start)}, size ${hex(size)})`,
        );
      }
      if (start < this.ex_start || end > this.ex_end) {
        throw new KernelPanic(
          "PANIC_OUTSIDE",
          `extent_alloc_region: region lies outside extent (extent \`${this.ex_name}' (${hex(this.ex_start)} - ${hex(this.ex_end)}), start ${hex(start)}, end ${hex(end)})`,
        );
      }
    } else {
      if (start < this.ex_start || end > this.ex_end) return EINVAL;
      if (wrapped) {
        throw new InvalidArgumentError(
          "EINVAL_OVERFLOW",
          `extent_alloc_region: start ${hex(start)} + size ${hex(size)} wraps past the top of the word`,
        );
      }
    }
    // Same steps as allocSubregion's, written out again: a shared helper would need a closure
    // for the attempt, one allocation per call on the alloc paths.
    const kind = this.takeDesc(flags);
    if (kind === NO_DESC) return ENOMEM;
    if (kind !== NEED_WAIT) {
      const r = this.tryRegion(start, end, flags, kind);
      if (r !== undefined) {
        if (this.wakePending) this.runWakeups();
        return r;
      }
      if (flags & EX_CATCH && signal?.aborted) {
        this.releaseDesc(kind);
        this.runWakeups();
        return EINTR;
      }
    }
    const w = this.newWaiter();
    let held = kind;
    return this.sleepFor(
      w,
      kind === NEED_WAIT,
      flags,
      signal,
      () => this.tryRegion(start, end, flags, held),
      (k) => {
        held = k;
      },
      () => held,
    );
  }

  private tryRegion(start: number, end: number, flags: number, kind: number): number | undefined {
    if (this.engine.conflicts(start, end)) {
      if (flags & EX_WAITSPACE) return undefined;
      this.releaseDesc(kind);
      return EAGAIN;
    }
    const bits = this.engine.insert(start, end, (this.ex_flags & EXF_NOCOALESCE) === 0, kind);
    if (bits !== 0) this.releaseInsert(bits, kind);
    return 0;
  }

  /** extent_free. */
  free(start: number, size: number, flags: number, signal?: AbortSignal): number | Promise<number> {
    this.checkAlive();
    this.checkNum(start, "start");
    this.checkNum(size, "size");
    this.checkFlags(flags);
    if (size < 1)
      throw new InvalidArgumentError("EINVAL_SIZE", `size must be at least 1, got ${size}`);
    let end = start + size - 1;
    const wrapped = end >= this.mod;
    if (wrapped) end -= this.mod;
    if (this.diagnostic && (start < this.ex_start || end > this.ex_end)) {
      throw new KernelPanic(
        "PANIC_NOT_WITHIN",
        `extent_free: extent \`${this.ex_name}', region not within extent (start ${hex(start)}, size ${hex(size)})`,
      );
    }
    if (wrapped) {
      throw new KernelPanic(
        "PANIC_OVERFLOW",
        `extent_free: overflow (extent \`${this.ex_name}', start ${hex(start)}, size ${hex(size)})`,
      );
    }
    const coalesce = (this.ex_flags & EXF_NOCOALESCE) === 0;
    if (!coalesce) {
      const r = this.doFree(start, end, false, 0, false);
      if (this.wakePending) this.runWakeups();
      return r;
    }
    const fl = this.freelist;
    const fromList = fl !== null && fl.length > 0;
    const k = this.takeDesc(flags);
    if (k === NO_DESC) return ENOMEM;
    if (k !== NEED_WAIT) {
      const r = this.doFree(start, end, true, k, fromList);
      if (this.wakePending) this.runWakeups();
      return r;
    }
    const w = this.newWaiter();
    w.step = () => {
      const list = this.freelist!;
      if (list.length === 0) {
        this.flwanted = true;
        return undefined;
      }
      return this.doFree(start, end, true, list.pop()!, true);
    };
    w.cancel = () => ENOMEM;
    if (this.ex_flags & EXF_EARLY) return this.sleep(w, flags, signal);
    this.flwanted = true;
    if (flags & EX_CATCH && signal?.aborted) return ENOMEM;
    return this.sleep(w, flags, signal);
  }

  private doFree(
    start: number,
    end: number,
    coalesce: boolean,
    spare: number,
    fromList: boolean,
  ): number {
    const r = this.engine.free(start, end, coalesce, spare);
    if (r === FREE_NOT_FOUND) {
      if (coalesce) this.untake(spare, fromList);
      throw new KernelPanic(
        "PANIC_NOT_FOUND",
        `extent_free: region not found (extent \`${this.ex_name}', start ${hex(start)}, end ${hex(end)})`,
      );
    }
    if (r & FREE_RUN_RELEASED) this.releaseDesc(r & REL_KIND_ALLOC ? 1 : 0);
    if (coalesce && (r & FREE_SPARE_USED) === 0) this.releaseDesc(spare);
    if ((this.ex_flags & EXF_EARLY) === 0) this.wakePending = true;
    return 0;
  }

  /**
   * Descriptor accounting, for invariant checks: runs, fixed descriptors in runs and on the
   * freelist, pool descriptors in runs and on the freelist.
   */
  audit(): {
    runs: number;
    fixedInRuns: number;
    fixedFree: number;
    poolInRuns: number;
    poolFree: number;
  } {
    let runs = 0;
    let fixedInRuns = 0;
    let poolInRuns = 0;
    this.engine.forEach((_s, _e, k) => {
      runs++;
      if (k === 0) fixedInRuns++;
      else poolInRuns++;
    });
    let fixedFree = 0;
    let poolFree = 0;
    for (const k of this.freelist ?? []) {
      if (k === 0) fixedFree++;
      else poolFree++;
    }
    return { runs, fixedInRuns, fixedFree, poolInRuns, poolFree };
  }

  /** Size of the largest free gap inside the extent. */
  largestFree(): number {
    return this.engine.largestGap(this.ex_end);
  }

  /** extent_print, returned as text. */
  print(): string {
    let s = `extent \`${this.ex_name}' (${hex(this.ex_start)} - ${hex(this.ex_end)}), flags = ${hex(this.ex_flags)}\n`;
    this.engine.forEach((a, b) => {
      s += `     ${hex(a)} - ${hex(b)}\n`;
    });
    return s;
  }

  /** extent_destroy: return every descriptor; the extent cannot be used afterwards. */
  destroy(): void {
    this.checkAlive();
    if (this.waiters.length > 0) {
      throw new KernelPanic(
        "PANIC_DESTROY_WAITERS",
        `extent_destroy: extent \`${this.ex_name}' has ${this.waiters.length} sleepers`,
      );
    }
    for (const k of this.engine.clear()) this.releaseDesc(k);
    this.wakePending = false;
    this.destroyed = true;
  }
}
