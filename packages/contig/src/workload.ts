/**
 * A seeded, reproducible fragmenting workload: fills memory with a mix of movable pages (page
 * cache and anonymous memory on the {@link PageQueues}, some dirty) and unmovable kernel blocks,
 * then frees a random share, so that free memory is scattered in small runs. The benchmarks and
 * the simulator use it to put a machine into a realistic state before contiguous requests.
 *
 * @module
 */
import { type BuddyAllocator, GFP_HIGHUSER_MOVABLE, GFP_KERNEL } from "@mem/buddy";
import { assertUint, InvalidArgumentError, PG_dirty } from "@mem/machine";
import { type PageOwner, PageQueues, PQ_ACTIVE, PQ_INACTIVE } from "./page-queues.js";

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Options of {@link fragmentMemory}. */
export interface FragmentOptions {
  /** PRNG seed (default 1). */
  readonly seed?: number;
  /** Share of the free pages to allocate (default 1: until the allocator refuses). */
  readonly fill?: number;
  /** Share of allocated pages (not allocations) that are movable (default 0.6). */
  readonly movable?: number;
  /** Share of movable pages that are dirty (default 0.3). */
  readonly dirty?: number;
  /** Share of allocations freed again, in random order (default 0.3). */
  readonly release?: number;
  /** Largest order of unmovable kernel blocks (default 2). */
  readonly kernelMaxOrder?: number;
}

/** The state {@link fragmentMemory} leaves, with the means to continue it. */
export interface FragmentResult {
  /** The queues holding the movable pages (created if none was given). */
  readonly queues: PageQueues;
  /** Owner tag of the movable pages. */
  readonly ownerTag: number;
  /** Movable pages alive. */
  movablePages(): number;
  /** Unmovable pages alive. */
  unmovablePages(): number;
  /** Dirty pages written through the pager so far. */
  readonly written: { count: number };
  /** Pages migrated so far (the owner was told). */
  readonly migrations: { count: number };
  /** Random frees and allocations keeping the same mix: `steps` operations. */
  churn(steps: number): void;
  /** Current pfn of movable object page `handle` (-1 when gone), as the owner tracks it. */
  whereIs(handle: number): number;
}

/**
 * Fragments `buddy`'s memory like a running system, in three phases:
 *
 * 1. **boot**: the kernel's own memory (`1 - movable` of the pages to fill), unmovable blocks of
 *    order 0 to `kernelMaxOrder` with `GFP_KERNEL`;
 * 2. **growth**: page cache and anonymous memory (order-0 `GFP_HIGHUSER_MOVABLE` pages) take the
 *    rest, until `fill` of the free pages are allocated or the allocator refuses (its watermarks);
 * 3. **release**: a random `release` share of all allocations is freed, scattering free memory
 *    over both kinds of pageblock.
 *
 * The GFP masks let the buddy allocator group pages by mobility as Linux does: kernel blocks come
 * from `MIGRATE_UNMOVABLE` pageblocks (stolen from movable ones, whole pageblocks, when they run
 * out), movable pages from `MIGRATE_MOVABLE` ones. Kernel memory that grew in step with the page
 * cache (the workload's first version interleaved the two) stole a pageblock pair at the growth
 * front every few pageblocks, which left no 1 GiB window free of unmovable pages.
 *
 * Movable pages get the owner tag `"workload"`, a handle in their mapping word and `PG_dirty` for a
 * `dirty` share; every other one is anonymous memory, mapped once (map count 1, reference count
 * 2: laundering skips it, migration moves it), the others are page cache (unmapped). Each goes on
 * the inactive or the active queue; an owner object follows the pages through migration and
 * eviction, and a pager "writes" dirty pages. `churn(steps)` continues with random frees and
 * allocations in the same mix.
 */
export function fragmentMemory(
  buddy: BuddyAllocator,
  queuesIn: PageQueues | null = null,
  options: FragmentOptions = {},
): FragmentResult {
  const seed = options.seed ?? 1;
  assertUint("seed", seed);
  const share = (name: string, v: number): number => {
    if (!(v >= 0 && v <= 1))
      throw new InvalidArgumentError(`${name} must be in [0, 1], got ${v}`, "EINVAL", name);
    return v;
  };
  const fill = share("fill", options.fill ?? 1);
  const movable = share("movable", options.movable ?? 0.6);
  const dirty = share("dirty", options.dirty ?? 0.3);
  const release = share("release", options.release ?? 0.3);
  const kmax = options.kernelMaxOrder ?? 2;
  const machine = buddy.machine;
  const db = machine.pages;
  const rnd = mulberry32(seed);
  const written = { count: 0 };
  const migrations = { count: 0 };
  const queues = queuesIn ?? new PageQueues(machine);
  const tag = machine.registerOwner("workload");
  // Handle -> pfn of each movable page (the owner's "object page table").
  let where = new Float64Array(1 << 16).fill(-1);
  let nextHandle = 1;
  const owner: PageOwner = {
    migratePage(oldPfn: number, newPfn: number): void {
      const h = db.mapping[db.indexOf(newPfn)]!;
      if (where[h] !== oldPfn) throw new Error(`workload owner: handle ${h} was not at ${oldPfn}`);
      where[h] = newPfn;
      migrations.count++;
    },
    evictPage(pfn: number): void {
      const h = db.mapping[db.indexOf(pfn)]!;
      where[h] = -1;
    },
  };
  queues.setOwner(tag, owner);
  queues.setPager({
    writePage(): boolean {
      written.count++;
      return true;
    },
  });
  // Live allocations: movable handles, and kernel blocks as pfn * 16 + order.
  const liveM: number[] = [];
  const liveK: number[] = [];
  let movableCount = 0;
  let unmovableCount = 0;
  let anonToggle = 0;

  const allocMovable = (): boolean => {
    const pfn = buddy.alloc(GFP_HIGHUSER_MOVABLE, 0);
    if (pfn < 0) return false;
    const i = db.indexOf(pfn);
    const h = nextHandle++;
    if (h >= where.length) {
      const grown = new Float64Array(where.length * 2).fill(-1);
      grown.set(where);
      where = grown;
    }
    where[h] = pfn;
    db.owner[i] = tag;
    db.mapping[i] = h;
    if (rnd() < dirty) db.flags[i] = db.flags[i]! | PG_dirty;
    // Every other movable page is anonymous memory, mapped once (the mapping holds a reference).
    anonToggle ^= 1;
    if (anonToggle === 1) {
      db.mapcount[i] = 1;
      db.refcount[i] = 2;
    }
    queues.add(pfn, rnd() < 0.5 ? PQ_INACTIVE : PQ_ACTIVE);
    liveM.push(h);
    movableCount++;
    return true;
  };
  const allocKernel = (): boolean => {
    const order = Math.floor(rnd() * (kmax + 1));
    const pfn = buddy.alloc(GFP_KERNEL, order);
    if (pfn < 0) return false;
    liveK.push(pfn * 16 + order);
    unmovableCount += 2 ** order;
    return true;
  };
  const freeMovable = (k: number): void => {
    const h = liveM[k]!;
    liveM[k] = liveM[liveM.length - 1]!;
    liveM.pop();
    const pfn = where[h]!;
    where[h] = -1;
    movableCount--;
    if (pfn < 0) return; // evicted from the cache: already freed by the taker
    const i = db.indexOf(pfn);
    queues.remove(pfn);
    db.flags[i] = db.flags[i]! & ~PG_dirty;
    db.owner[i] = 0;
    db.mapping[i] = 0;
    db.mapcount[i] = 0; // unmapped: the mapping's reference goes
    db.refcount[i] = 1;
    buddy.free(pfn, 0);
  };
  const freeKernel = (k: number): void => {
    const x = liveK[k]!;
    liveK[k] = liveK[liveK.length - 1]!;
    liveK.pop();
    const order = x % 16;
    buddy.free((x - order) / 16, order);
    unmovableCount -= 2 ** order;
  };
  /** Frees a random allocation (each allocation equally likely). */
  const freeRandom = (): void => {
    const k = Math.floor(rnd() * (liveM.length + liveK.length));
    if (k < liveM.length) freeMovable(k);
    else freeKernel(k - liveM.length);
  };
  // Per-allocation probability giving a `movable` share of pages (kernel blocks average k pages).
  const k = (2 ** (kmax + 1) - 1) / (kmax + 1);
  const pm = movable >= 1 ? 1 : (movable * k) / (1 - movable + movable * k);
  const allocOne = (): boolean => (rnd() < pm ? allocMovable() : allocKernel());

  const target = Math.floor(buddy.freePageCount * fill);
  // 1. Boot: the kernel's own memory.
  const kernelTarget = Math.floor(target * (1 - movable));
  let misses = 0;
  while (unmovableCount < kernelTarget && misses < 64) {
    if (allocKernel()) misses = 0;
    else misses++;
  }
  // 2. Growth: page cache and anonymous memory take the rest.
  misses = 0;
  while (movableCount + unmovableCount < target && misses < 64) {
    if (allocMovable()) misses = 0;
    else misses++;
  }
  // 3. Release: a random share of the allocations.
  const toFree = Math.floor((liveM.length + liveK.length) * release);
  for (let n = 0; n < toFree; n++) freeRandom();

  return {
    queues,
    ownerTag: tag,
    movablePages: () => movableCount,
    unmovablePages: () => unmovableCount,
    written,
    migrations,
    churn(steps: number): void {
      assertUint("steps", steps);
      for (let s = 0; s < steps; s++) {
        if (liveM.length + liveK.length > 0 && rnd() < 0.5) freeRandom();
        else allocOne();
      }
    },
    whereIs: (handle: number): number => where[handle] ?? -1,
  };
}
