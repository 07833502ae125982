/**
 * A fragmentation stress: fill a fraction of memory with order-0 allocations of mixed mobility,
 * then free all but every `keepEvery`-th, leaving pinned unmovable pages scattered through every
 * pageblock so that high orders fail for fragmentation, not for lack of memory.
 *
 * @module
 */
import { GFP_HIGHUSER_MOVABLE, GFP_KERNEL } from "@mem/buddy";
import type { Kernel } from "../kernel.js";
import { Rng } from "../rng.js";

/** Parameters. */
export interface FragmentParams {
  /** Fraction of free pages to fill. */
  readonly fill: number;
  /** Keep one allocation in this many. */
  readonly keepEvery: number;
  /** Fraction of the fill that is unmovable kernel memory. */
  readonly unmovable: number;
  readonly sampleEvery: number;
}

/** What it did. */
export interface FragmentResult {
  allocated: number;
  kept: number;
  keptUnmovable: number;
}

/** Runs the stress; the kept allocations stay (their handles are returned). */
export function fragment(
  k: Kernel,
  p: FragmentParams,
  seed: number,
): FragmentResult & { handles: number[] } {
  const rng = new Rng(seed);
  const target = Math.floor(k.buddy.freePageCount * p.fill);
  const hs: number[] = [];
  const cpus = k.buddy.cpus;
  for (let i = 0; i < target; i++) {
    const unmovable = rng.next() < p.unmovable;
    const h = unmovable
      ? k.allocPages("kernel", GFP_KERNEL, 0, rng.int(cpus))
      : k.allocPages("anon", GFP_HIGHUSER_MOVABLE, 0, rng.int(cpus));
    if (h < 0) break;
    hs.push(h);
    if (p.sampleEvery > 0 && i % p.sampleEvery === 0) k.sample();
  }
  const kept: number[] = [];
  let keptUnmovable = 0;
  for (let i = 0; i < hs.length; i++) {
    const h = hs[i]!;
    if (i % p.keepEvery === 0) {
      kept.push(h);
      if (k.kindAt(k.handlePfn(h)) === "kernel") keptUnmovable++;
    } else k.freeHandle(h, rng.int(cpus));
    if (p.sampleEvery > 0 && i % p.sampleEvery === 0) k.sample();
  }
  return { allocated: hs.length, kept: kept.length, keptUnmovable, handles: kept };
}
