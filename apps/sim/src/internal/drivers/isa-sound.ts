/**
 * The ISA sound card of the first seed: a 16 KiB DMA buffer, 8 KiB aligned, not crossing a 64 KiB
 * line, below 16 MiB, found with `uvm_pglistalloc`'s constraints over an extent that mirrors the
 * free pages of the ISA-reachable range (NetBSD's design from Thorpe's 1997 mail).
 *
 * @module
 */
import { Extent } from "@mem/extent";
import type { DeviceDescription } from "@mem/machine";
import type { Kernel } from "../kernel.js";
import type { ContigBuffer } from "./contig.js";

/** What the card got. */
export interface IsaResult {
  readonly device: string;
  readonly ok: boolean;
  /** Physical address, or -1. */
  readonly phys: number;
  readonly bytes: number;
  /** Free runs in the mirror when the request ran. */
  readonly mirrorRuns: number;
}

/** The ISA sound card driver. */
export class IsaSoundCard {
  private readonly k: Kernel;
  /** The device. */
  readonly device: DeviceDescription;
  /** The buffer while attached. */
  buffer: ContigBuffer | null = null;
  /** The last attach. */
  result: IsaResult | null = null;

  constructor(kernel: Kernel) {
    this.k = kernel;
    this.device = kernel.machine.devices.find((d) => d.bus === "isa") ?? {
      name: "sb16",
      bus: "isa",
      dma: { limit: 16 * 2 ** 20, alignment: 8192, boundary: 65536 },
      bufferSize: 16384,
    };
  }

  /**
   * The extent mirror of the free pages below the device's DMA limit, in pages: everything
   * allocated, then each free run freed (per-CPU lists drained first).
   */
  buildMirror(): Extent {
    const k = this.k;
    const ps = k.machine.pageSize;
    const limitPfn = Math.floor(this.device.dma.limit / ps);
    const ex = new Extent({ name: "vm_page_ex", start: 0, end: limitPfn - 1 });
    ex.allocRegion(0, limitPfn);
    k.buddy.drain();
    let runStart = -1;
    let runEnd = -1;
    const blocks = k.buddy.freeBlocks().filter((b) => b.pfn < limitPfn);
    for (const b of blocks) {
      const e = Math.min(b.pfn + 2 ** b.order, limitPfn);
      if (b.pfn === runEnd) runEnd = e;
      else {
        if (runStart >= 0) ex.free(runStart, runEnd - runStart);
        runStart = b.pfn;
        runEnd = e;
      }
    }
    if (runStart >= 0) ex.free(runStart, runEnd - runStart);
    return ex;
  }

  /** Attaches the card: `uvm_pglistalloc(16K, 0, 16M, 8K, 64K)` over the mirror. */
  attach(): IsaResult {
    const k = this.k;
    const ps = k.machine.pageSize;
    const d = this.device;
    const bytes = d.bufferSize ?? 16384;
    const pages = Math.ceil(bytes / ps);
    const ex = this.buildMirror();
    const mirrorRuns = [...ex.gaps()].length;
    const at = ex.alloc({
      size: pages,
      alignment: Math.max(1, Math.ceil(d.dma.alignment / ps)),
      boundary: d.dma.boundary > 0 ? Math.max(1, Math.ceil(d.dma.boundary / ps)) : 0,
    });
    let buf: ContigBuffer | null = null;
    if (at >= 0 && k.buddy.allocContigRange(at, at + pages)) {
      buf = k.contig.adopt(at, pages, "dma", d.name);
    }
    this.buffer = buf;
    const phys = buf ? buf.pfn * ps : -1;
    this.result = { device: d.name, ok: buf !== null, phys, bytes, mirrorRuns };
    k.step({ op: "isa.attach" }, 20);
    const hex = (v: number): string => `0x${v.toString(16).padStart(8, "0")}`;
    k.log.print(
      buf
        ? `${d.name}: ISA DMA buffer ${bytes / 1024}K at [mem ${hex(phys)}-${hex(phys + bytes - 1)}] (uvm_pglistalloc: align ${d.dma.alignment / 1024}K, boundary ${d.dma.boundary / 1024}K, below ${d.dma.limit / 2 ** 20}M; ${mirrorRuns} free runs in the extent mirror)`
        : `${d.name}: uvm_pglistalloc: no ${bytes / 1024}K DMA buffer below ${d.dma.limit / 2 ** 20}M`,
    );
    return this.result;
  }

  /** Detaches the card and frees its buffer. */
  detach(): void {
    if (this.buffer) {
      this.k.depth++;
      try {
        this.k.contig.free(this.buffer);
      } finally {
        this.k.depth--;
      }
      this.buffer = null;
    }
    this.k.step({ op: "isa.detach" }, 10);
  }
}
