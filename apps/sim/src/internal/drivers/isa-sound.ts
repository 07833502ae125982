/**
 * The ISA sound card of the first seed: a 16 KiB DMA buffer, 8 KiB aligned, not crossing a 64 KiB
 * line, below 16 MiB, taken with NetBSD's `uvm_pglistalloc` from `@mem/contig/compat` over an
 * extent that mirrors the free pages (Thorpe's 1997 design). The mirror is a `ContigAllocator`
 * with `search: "extent"`, attached while the card allocates: keeping it attached all the time
 * would add an extent update to every page allocation and free of the kernel.
 *
 * @module
 */
import type { ContigCompat } from "@mem/contig/compat";
import type { DeviceDescription } from "@mem/machine";
import type { DeviceBuffer } from "../contig.js";
import type { Kernel } from "../kernel.js";

/** What the card got. */
export interface IsaResult {
  readonly device: string;
  readonly ok: boolean;
  /** Physical address, or -1. */
  readonly phys: number;
  readonly bytes: number;
  /** Free runs in the extent mirror when the request ran. */
  readonly mirrorRuns: number;
  /** `uvm_pglistalloc`'s return value (0, ENOMEM 12, EINVAL 22). */
  readonly error: number;
  /** The constraints. */
  readonly alignment: number;
  readonly boundary: number;
  readonly limit: number;
}

/** The ISA sound card driver. */
export class IsaSoundCard {
  private readonly k: Kernel;
  /** The device. */
  readonly device: DeviceDescription;
  /** The buffer while attached. */
  buffer: DeviceBuffer | null = null;
  /** The last attach. */
  result: IsaResult | null = null;
  /** The compat API whose `uvm_pglistalloc` took the buffer (its allocator detached after). */
  private pglist: ContigCompat | null = null;

  constructor(kernel: Kernel) {
    this.k = kernel;
    this.device = kernel.machine.devices.find((d) => d.bus === "isa") ?? {
      name: "sb16",
      bus: "isa",
      dma: { limit: 16 * 2 ** 20, alignment: 8192, boundary: 65536 },
      bufferSize: 16384,
    };
  }

  /** Attaches the card: `uvm_pglistalloc(16K, 0, 16M, 8K, 64K, &rlist, 1, 0)` over the mirror. */
  attach(): IsaResult {
    const k = this.k;
    const ps = k.machine.pageSize;
    const d = this.device;
    const bytes = d.bufferSize ?? 16384;
    if (this.buffer !== null) this.detachInner();
    const api = k.contigDriver.mirrorCompat();
    let mirrorRuns = 0;
    const rlist: number[] = [];
    let error: number;
    try {
      const mirror = api.allocator.mirror;
      if (mirror !== null)
        for (const g of mirror.gaps()) if (g.start < d.dma.limit / ps) mirrorRuns++;
      error = api.uvm_pglistalloc(
        bytes,
        0,
        d.dma.limit,
        d.dma.alignment,
        d.dma.boundary,
        rlist,
        1,
        0,
      );
    } finally {
      api.allocator.detach();
    }
    let buf: DeviceBuffer | null = null;
    if (error === 0 && rlist.length > 0) {
      buf = k.contigDriver.adopt(d.name, rlist[0]!, rlist.length, null, rlist);
      this.pglist = api;
    }
    this.buffer = buf;
    const phys = buf ? buf.pfn * ps : -1;
    this.result = {
      device: d.name,
      ok: buf !== null,
      phys,
      bytes,
      mirrorRuns,
      error,
      alignment: d.dma.alignment,
      boundary: d.dma.boundary,
      limit: d.dma.limit,
    };
    k.step({ op: "isa.attach" }, 20);
    const hex = (v: number): string => `0x${v.toString(16).padStart(8, "0")}`;
    k.log.print(
      buf
        ? `${d.name}: ISA DMA buffer ${bytes / 1024}K at [mem ${hex(phys)}-${hex(phys + bytes - 1)}] (uvm_pglistalloc: align ${d.dma.alignment / 1024}K, boundary ${d.dma.boundary / 1024}K, below ${d.dma.limit / 2 ** 20}M; ${mirrorRuns} free runs below it in the extent mirror)`
        : `${d.name}: uvm_pglistalloc: no ${bytes / 1024}K DMA buffer below ${d.dma.limit / 2 ** 20}M (error ${error})`,
    );
    return this.result;
  }

  private detachInner(): void {
    const b = this.buffer;
    if (b === null || this.pglist === null) return;
    this.k.contigDriver.disown(b);
    this.pglist.uvm_pglistfree(b.rlist!);
    this.buffer = null;
    this.pglist = null;
  }

  /** Detaches the card and frees its buffer (`uvm_pglistfree`). */
  detach(): void {
    this.detachInner();
    this.k.step({ op: "isa.detach" }, 10);
  }
}
