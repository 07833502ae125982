/**
 * The PCI capture card of FreeBSD PR 55081: a physically contiguous buffer (1 GiB by default)
 * below 4 GiB, allocated without a kernel mapping (`vm_contig_pg_alloc`) and mapped into a user
 * process. The legacy `contigmalloc` path (allocate, then map into the kernel map) is tried first
 * and, on a machine with little kernel virtual space (the `i386-4g` preset), fails there.
 *
 * @module
 */
import type { DeviceDescription } from "@mem/machine";
import type { Kernel } from "../kernel.js";
import type { ContigBuffer, ContigStrategy } from "./contig.js";

/** What the card got. */
export interface CaptureResult {
  readonly device: string;
  readonly bytes: number;
  /** The legacy contigmalloc path: "ok", "no-kva" (kernel map full), "no-pages", or "skipped". */
  readonly legacy: "ok" | "no-kva" | "no-pages" | "skipped";
  /** The split API: whether the pages were found. */
  readonly ok: boolean;
  readonly phys: number;
  /** Strategy that succeeded. */
  readonly strategy: ContigStrategy | null;
  /** User process the buffer is mapped into. */
  readonly pid: number;
}

/** The capture card driver. */
export class PciCaptureCard {
  private readonly k: Kernel;
  /** The device. */
  readonly device: DeviceDescription;
  /** The buffer while attached. */
  buffer: ContigBuffer | null = null;

  constructor(kernel: Kernel) {
    this.k = kernel;
    this.device = kernel.machine.devices.find((d) => d.bus === "pci") ?? {
      name: "capture0",
      bus: "pci",
      dma: { limit: 2 ** 32, alignment: 4096, boundary: 0 },
      bufferSize: 2 ** 30,
    };
  }

  /** Attaches: legacy contigmalloc first (when `legacy`), then the split API and a user mapping. */
  attach(bytesIn?: number, legacy = true): CaptureResult {
    const k = this.k;
    k.depth++;
    let r: CaptureResult;
    try {
      r = this.attachInner(bytesIn, legacy);
    } finally {
      k.depth--;
    }
    k.step({ op: "capture.attach", bytes: bytesIn ?? null, legacy }, 100);
    return r;
  }

  private attachInner(bytesIn: number | undefined, legacy: boolean): CaptureResult {
    const k = this.k;
    const ps = k.machine.pageSize;
    const d = this.device;
    const bytes = bytesIn ?? d.bufferSize ?? 2 ** 30;
    const pages = Math.ceil(bytes / ps);
    const highPfn = Math.floor(d.dma.limit / ps);
    const req = (strategy: ContigStrategy) => ({
      pages,
      lowPfn: 0,
      highPfn,
      alignPages: Math.max(1, Math.ceil(d.dma.alignment / ps)),
      boundaryPages: d.dma.boundary > 0 ? Math.ceil(d.dma.boundary / ps) : 0,
      strategy,
      kind: "contig" as const,
      label: d.name,
    });
    const mib = bytes / 2 ** 20;
    let legacyResult: CaptureResult["legacy"] = "skipped";
    if (legacy) {
      const b = k.contig.allocate(req("launder"));
      if (b === null) {
        legacyResult = "no-pages";
        k.log.print(`${d.name}: contigmalloc(${mib}M): no contiguous pages below 4G`);
      } else if (!k.contig.kmapin(b)) {
        legacyResult = "no-kva";
        k.log.print(
          `${d.name}: contigmalloc(${mib}M): kernel map full (${Math.floor((k.extent.kernelVa.largestFree() * ps) / 2 ** 20)}M of kernel virtual space left); FreeBSD 4.7's contigmalloc1 leaked the wired pages here, the fixed path frees them`,
        );
        k.contig.free(b);
      } else {
        legacyResult = "ok";
        k.log.print(
          `${d.name}: contigmalloc(${mib}M): mapped at kernel va page 0x${b.kvaPage.toString(16)}`,
        );
        k.contig.free(b);
      }
    }
    let buf: ContigBuffer | null = null;
    let strategy: ContigStrategy | null = null;
    for (const s of ["free", "launder", "migrate"] as const) {
      buf = k.contig.allocate(req(s));
      if (buf !== null) {
        strategy = s;
        break;
      }
    }
    const pid = 1000;
    const hex = (v: number): string => `0x${v.toString(16).padStart(8, "0")}`;
    if (buf !== null) {
      k.contig.mapUser(buf, pid);
      k.log.print(
        `${d.name}: vm_contig_pg_alloc(${mib}M, low 0, high ${hex(d.dma.limit)}): [mem ${hex(buf.pfn * ps)}-${hex((buf.pfn + pages) * ps - 1)}] (${strategy === "free" ? "free pages" : strategy === "launder" ? "after laundering the page queues" : "after migrating movable pages"}), no kernel mapping; mapped into pid ${pid}`,
      );
    } else {
      k.log.print(`${d.name}: vm_contig_pg_alloc(${mib}M): no contiguous range below 4G`);
    }
    this.buffer = buf;
    return {
      device: d.name,
      bytes,
      legacy: legacyResult,
      ok: buf !== null,
      phys: buf ? buf.pfn * ps : -1,
      strategy,
      pid: buf ? pid : -1,
    };
  }

  /** Unmaps and frees the buffer. */
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
    this.k.step({ op: "capture.detach" }, 10);
  }
}
