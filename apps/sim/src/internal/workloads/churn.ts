/**
 * Seeded random allocation churn: orders, migratetypes and lifetimes drawn from configurable
 * distributions, on random CPUs.
 *
 * @module
 */
import { __GFP_MOVABLE, __GFP_RECLAIMABLE, GFP_HIGHUSER_MOVABLE, GFP_KERNEL } from "@mem/buddy";
import type { Kernel } from "../kernel.js";
import { Rng } from "../rng.js";

/** Churn parameters. */
export interface ChurnParams {
  /** Operations (allocations + frees). */
  readonly ops: number;
  /** Weight of each order, index = order. */
  readonly orders: readonly number[];
  /** Weights of unmovable, movable, reclaimable. */
  readonly migratetypes: readonly [number, number, number];
  /** Mean lifetime of an allocation, in operations (exponential). */
  readonly meanLifetime: number;
  /** Most pages held at once, as a fraction of managed pages. */
  readonly maxFraction: number;
  /** Free everything at the end. */
  readonly freeAtEnd: boolean;
  /** Sample every this many operations (0 = never). */
  readonly sampleEvery: number;
}

/** What a churn did. */
export interface ChurnResult {
  allocs: number;
  frees: number;
  failures: number;
  peakPages: number;
  livePages: number;
}

/** Runs the churn with its own generator seeded by `seed`; `onProgress(done)` every 4096 ops. */
export function churn(
  k: Kernel,
  p: ChurnParams,
  seed: number,
  onProgress?: (done: number) => void,
): ChurnResult {
  const rng = new Rng(seed);
  const gfps = [GFP_KERNEL, GFP_HIGHUSER_MOVABLE, GFP_KERNEL | __GFP_RECLAIMABLE];
  void __GFP_MOVABLE;
  const kinds = ["kernel", "anon", "kernel"] as const;
  const cpus = k.buddy.cpus;
  const maxPages = Math.floor(k.buddy.managedPages * p.maxFraction);
  // Live allocations in a binary heap keyed by expiry op.
  let heapH = new Int32Array(1024);
  let heapT = new Float64Array(1024);
  let n = 0;
  const push = (h: number, t: number): void => {
    if (n === heapH.length) {
      const a = new Int32Array(n * 2);
      a.set(heapH);
      heapH = a;
      const b = new Float64Array(n * 2);
      b.set(heapT);
      heapT = b;
    }
    let i = n++;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (heapT[up]! <= t) break;
      heapH[i] = heapH[up]!;
      heapT[i] = heapT[up]!;
      i = up;
    }
    heapH[i] = h;
    heapT[i] = t;
  };
  const pop = (): number => {
    const top = heapH[0]!;
    n--;
    if (n > 0) {
      const h = heapH[n]!;
      const t = heapT[n]!;
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heapT[c + 1]! < heapT[c]!) c++;
        if (heapT[c]! >= t) break;
        heapH[i] = heapH[c]!;
        heapT[i] = heapT[c]!;
        i = c;
      }
      heapH[i] = h;
      heapT[i] = t;
    }
    return top;
  };
  const res: ChurnResult = { allocs: 0, frees: 0, failures: 0, peakPages: 0, livePages: 0 };
  let held = 0;
  const orderW = p.orders;
  const mtW = p.migratetypes;
  for (let op = 0; op < p.ops; op++) {
    const due = n > 0 && heapT[0]! <= op;
    if (due || (held >= maxPages && n > 0)) {
      const h = pop();
      held -= 2 ** k.handleOrder(h);
      k.freeHandle(h, rng.int(cpus));
      res.frees++;
    } else {
      const order = rng.weighted(orderW);
      const mt = rng.weighted(mtW);
      const h = k.allocPages(kinds[mt]!, gfps[mt]!, order, rng.int(cpus));
      if (h < 0) res.failures++;
      else {
        res.allocs++;
        held += 2 ** order;
        if (held > res.peakPages) res.peakPages = held;
        const life = Math.max(1, Math.round(-Math.log(1 - rng.next()) * p.meanLifetime));
        push(h, op + life);
      }
    }
    if (p.sampleEvery > 0 && op % p.sampleEvery === 0) k.sample();
    if (onProgress !== undefined && (op & 4095) === 4095) onProgress(op + 1);
  }
  if (p.freeAtEnd) {
    while (n > 0) {
      const h = pop();
      held -= 2 ** k.handleOrder(h);
      k.freeHandle(h, 0);
      res.frees++;
    }
  }
  res.livePages = held;
  return res;
}
