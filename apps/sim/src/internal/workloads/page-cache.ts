/**
 * A page-cache workload: reads and writes over a set of files with a skewed (hot/cold) access
 * pattern, periodic writeback and reclaim when free memory runs low.
 *
 * @module
 */
import type { Kernel } from "../kernel.js";
import { Rng } from "../rng.js";

/** Parameters. */
export interface PageCacheParams {
  readonly ops: number;
  readonly files: number;
  readonly pagesPerFile: number;
  /** Fraction of accesses that write. */
  readonly writeRatio: number;
  /** Write back every this many operations. */
  readonly writebackEvery: number;
  /** Keep the cache below this fraction of managed pages (reclaim above it). */
  readonly maxFraction: number;
  readonly sampleEvery: number;
}

/** What it did. */
export interface PageCacheResult {
  reads: number;
  writes: number;
  failures: number;
}

/** Runs the workload. */
export function pageCacheWorkload(
  k: Kernel,
  p: PageCacheParams,
  seed: number,
  onProgress?: (done: number) => void,
): PageCacheResult {
  const rng = new Rng(seed);
  const pc = k.pageCache;
  const cap = Math.floor(k.buddy.managedPages * p.maxFraction);
  const res: PageCacheResult = { reads: 0, writes: 0, failures: 0 };
  for (let op = 0; op < p.ops; op++) {
    // 80 % of accesses go to the first 20 % of each file.
    const file = rng.int(p.files);
    const hot = rng.next() < 0.8;
    const span = Math.max(1, Math.floor(p.pagesPerFile * 0.2));
    const offset = hot ? rng.int(span) : span + rng.int(Math.max(1, p.pagesPerFile - span));
    const write = rng.next() < p.writeRatio;
    if (pc.read(file, offset, write) < 0) res.failures++;
    if (write) res.writes++;
    else res.reads++;
    if (p.writebackEvery > 0 && op % p.writebackEvery === p.writebackEvery - 1) pc.writeback(256);
    if (pc.size > cap) pc.reclaim(pc.size - cap + 32);
    if (p.sampleEvery > 0 && op % p.sampleEvery === 0) k.sample();
    if (onProgress !== undefined && (op & 4095) === 4095) onProgress(op + 1);
  }
  return res;
}
