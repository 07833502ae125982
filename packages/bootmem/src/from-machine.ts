/**
 * Building a boot allocator from a `@mem/machine` Machine: the arch-setup steps a kernel does
 * before it can allocate (register nodes, place and set up the bitmap, free usable RAM, reserve
 * the bitmap; or add memory to memblock).
 *
 * @module
 */
import { InvalidArgumentError, ZONE_DMA } from "@mem/machine";
import type { BootAllocator, BootAllocatorKind, ReleaseTarget } from "./boot-allocator.js";
import { bug, uint } from "./internal/args.js";
import { DEFAULT_MAX_PAGE_ORDER, Memblock } from "./memblock.js";
import { DEFAULT_MAX_DMA_ADDRESS, DEFAULT_SMP_CACHE_BYTES, Rootmem } from "./rootmem.js";

/** What the boot allocators need of a machine; a `Machine` from `@mem/machine` fits. */
export interface BootMachine {
  /** Page size in bytes. */
  readonly pageSize: number;
  /** `BITS_PER_LONG`. */
  readonly wordBits: 32 | 64;
  /** Nodes with their pfn spans (holes included; empty nodes have start = end). */
  readonly nodes: readonly {
    readonly id: number;
    readonly startPfn: number;
    readonly endPfn: number;
  }[];
  /** Usable RAM in pfns, with its node. */
  readonly ramRanges: readonly {
    readonly start: number;
    readonly end: number;
    readonly nid: number;
  }[];
  /** `SMP_CACHE_BYTES` of the machine, when it says. */
  readonly cacheLineSize?: number | undefined;
  /** Zones (for `MAX_DMA_ADDRESS`: the end of the DMA zone). */
  readonly zones?: readonly { readonly type: number; readonly limitPfn: number }[] | undefined;
}

/** Options of {@link fromMachine}. */
export interface FromMachineOptions {
  /** Which allocator. @defaultValue "rootmem" */
  readonly allocator?: BootAllocatorKind | undefined;
  /** Default release target (the buddy allocator's `FreePageSink`). */
  readonly sink?: ReleaseTarget | undefined;
  /** rootmem: pfn of the bitmap. @defaultValue {@link findRamSpot} from 1 MiB up */
  readonly mapPfn?: number | undefined;
  /** Receives log lines as they are printed. */
  readonly printk?: ((line: string) => void) | undefined;
  /** `SMP_CACHE_BYTES`. @defaultValue the machine's `cacheLineSize`, else 64 */
  readonly smpCacheBytes?: number | undefined;
  /** memblock: allocate bottom-up. @defaultValue false */
  readonly bottomUp?: boolean | undefined;
  /** memblock: largest order released. @defaultValue 10 */
  readonly maxOrder?: number | undefined;
}

/** `__pa(MAX_DMA_ADDRESS)` of a machine: the end of its DMA zone (16 MiB when it has none). */
export function maxDmaAddress(machine: BootMachine): number {
  const dma = machine.zones?.find((z) => z.type === ZONE_DMA);
  return dma === undefined ? DEFAULT_MAX_DMA_ADDRESS : dma.limitPfn * machine.pageSize;
}

/**
 * The lowest pfn at or above `minPfn` where `pages` pages fit inside one RAM range, or, when none
 * does, the lowest anywhere; -1 when no range is large enough.
 */
export function findRamSpot(
  ranges: readonly { readonly start: number; readonly end: number }[],
  pages: number,
  minPfn = 0,
): number {
  uint("pages", pages);
  uint("minPfn", minPfn);
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  for (const floor of [minPfn, 0]) {
    for (const r of sorted) {
      const s = Math.max(r.start, floor);
      if (s + pages <= r.end) return s;
    }
  }
  return -1;
}

/**
 * A rootmem allocator set up for `machine`: each node registered, the bitmap placed
 * (`options.mapPfn` or the first RAM spot from 1 MiB up) and set up, every usable RAM range
 * freed, and the bitmap's pages reserved again.
 */
export function rootmemFromMachine(
  machine: BootMachine,
  options: FromMachineOptions = {},
): Rootmem {
  const ps = machine.pageSize;
  const r = new Rootmem({
    pageSize: ps,
    bitsPerLong: machine.wordBits,
    sink: options.sink,
    smpCacheBytes: options.smpCacheBytes ?? machine.cacheLineSize ?? DEFAULT_SMP_CACHE_BYTES,
    maxDmaAddress: maxDmaAddress(machine),
    printk: options.printk,
  });
  for (const node of machine.nodes) r.registerNode(node.id, node.startPfn, node.endPfn);
  const pages = r.mapPages();
  const mapPfn =
    options.mapPfn ?? findRamSpot(machine.ramRanges, pages, Math.ceil((1024 * 1024) / ps));
  if (mapPfn < 0) bug("no-memory", `rootmem: no RAM range holds the ${pages}-page bitmap`);
  r.setup(mapPfn);
  for (const range of machine.ramRanges) {
    if (range.end > range.start) r.free(range.start * ps, (range.end - range.start) * ps);
  }
  for (let p = mapPfn; p < mapPfn + pages; p++) if (!r.isReserved(p)) r.reserve(p * ps, ps);
  return r;
}

/** A memblock allocator for `machine`: every usable RAM range added with its node. */
export function memblockFromMachine(
  machine: BootMachine,
  options: FromMachineOptions = {},
): Memblock {
  const ps = machine.pageSize;
  const m = new Memblock({
    pageSize: ps,
    sink: options.sink,
    smpCacheBytes: options.smpCacheBytes ?? machine.cacheLineSize ?? DEFAULT_SMP_CACHE_BYTES,
    bottomUp: options.bottomUp ?? false,
    maxOrder: options.maxOrder ?? DEFAULT_MAX_PAGE_ORDER,
    printk: options.printk,
  });
  for (const range of machine.ramRanges) {
    if (range.end > range.start) m.add(range.start * ps, (range.end - range.start) * ps, range.nid);
  }
  return m;
}

/**
 * The boot allocator `options.allocator` (rootmem by default) for `machine`, ready for
 * reservations and allocations. Release it with `releaseAll(sink)` or `releaseNode(nid, sink)`.
 */
export function fromMachine(machine: BootMachine, options: FromMachineOptions = {}): BootAllocator {
  const kind = options.allocator ?? "rootmem";
  if (kind === "rootmem") return rootmemFromMachine(machine, options);
  if (kind === "memblock") return memblockFromMachine(machine, options);
  throw new InvalidArgumentError(
    `allocator must be "rootmem" or "memblock", got ${String(kind)}`,
    "EINVAL",
    "allocator",
  );
}
