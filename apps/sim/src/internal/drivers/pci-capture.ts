/**
 * The PCI capture card of FreeBSD PR kern/55081: a physically contiguous buffer (1 GiB by default)
 * below 4 GiB, taken with `vm_contig_pg_alloc` from `@mem/contig/compat` (no kernel mapping) and
 * mapped into a user process. With `legacy`, `contigmalloc` is tried first: the kernel's compat is
 * FreeBSD 4.7's `contigmalloc1`, so on a machine with 1 GiB of kernel virtual space (`i386-4g`) it
 * fails for lack of kernel VA and leaks the wired pages, as the PR reported.
 *
 * @module
 */
import { M_NOWAIT } from "@mem/contig/compat";
import type { DeviceDescription } from "@mem/machine";
import type { DeviceBuffer } from "../contig.js";
import type { Kernel } from "../kernel.js";

/** How the split API's pages were found. */
export type CaptureStrategy = "free" | "launder" | "migrate";

/** What the card got. */
export interface CaptureResult {
  readonly device: string;
  readonly bytes: number;
  /** The legacy contigmalloc path: "ok", "no-kva" (kernel map full), "no-pages", or "skipped". */
  readonly legacy: "ok" | "no-kva" | "no-pages" | "skipped";
  /** Pages the legacy path leaked (FreeBSD 4.7's contigmalloc1 on a full kernel map). */
  readonly leakedPages: number;
  /** The split API: whether the pages were found. */
  readonly ok: boolean;
  readonly phys: number;
  /** How the pages were found: free pages, after laundering, or after migration. */
  readonly strategy: CaptureStrategy | null;
  /** The buffer's kernel address (0: not mapped into the kernel). */
  readonly kernelAddress: number;
  /** User process the buffer is mapped into. */
  readonly pid: number;
}

/** The capture card driver. */
export class PciCaptureCard {
  private readonly k: Kernel;
  /** The device. */
  readonly device: DeviceDescription;
  /** The buffer while attached. */
  buffer: DeviceBuffer | null = null;

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
    const drv = k.contigDriver;
    const api = drv.compat;
    const a = drv.allocator;
    const s = a.stats;
    const ps = k.machine.pageSize;
    const d = this.device;
    const bytes = bytesIn ?? d.bufferSize ?? 2 ** 30;
    const pages = Math.ceil(bytes / ps);
    const limit = d.dma.limit;
    const align = Math.max(ps, d.dma.alignment);
    const boundary = d.dma.boundary;
    const mib = bytes / 2 ** 20;
    const hex = (v: number): string => `0x${v.toString(16).padStart(8, "0")}`;
    const kvaLeft = (): string => {
      const f = drv.kernelMap.largestFree();
      return f >= 2 ** 30
        ? `${Math.floor(f / 2 ** 30)}G`
        : f >= 2 ** 20
          ? `${Math.floor(f / 2 ** 20)}M`
          : `${Math.floor(f / 1024)}K`;
    };
    if (this.buffer !== null) this.detachInner();
    let legacyResult: CaptureResult["legacy"] = "skipped";
    let leakedPages = 0;
    if (legacy) {
      const kva0 = s.kvaFailures;
      const leak0 = s.leakedPages;
      const va = api.contigmalloc(bytes, { name: "devbuf" }, M_NOWAIT, 0, limit, align, boundary);
      if (va !== 0) {
        legacyResult = "ok";
        k.log.print(
          `${d.name}: contigmalloc(${mib}M, M_DEVBUF, M_NOWAIT, 0, ${hex(limit)}): mapped at kernel va ${hex(va)}; contigfree`,
        );
        api.contigfree(va, bytes, { name: "devbuf" });
      } else if (s.kvaFailures > kva0) {
        legacyResult = "no-kva";
        leakedPages = s.leakedPages - leak0;
        k.log.print(
          `${d.name}: contigmalloc(${mib}M, M_DEVBUF, M_NOWAIT, 0, ${hex(limit)}): ${pages} contiguous pages found, but kmem_alloc_pageable: kernel map full (${kvaLeft()} of kernel virtual space left in one piece)`,
        );
        if (leakedPages > 0) {
          const at = drv.findLeak(leakedPages);
          k.log.print(
            `${d.name}: contigmalloc1 (FreeBSD 4.7): the ${leakedPages} wired pages at [mem ${hex(at * ps)}-${hex((at + leakedPages) * ps - 1)}] are not given back ("we almost never run out of kernel virtual space"): leaked`,
          );
        } else k.log.print(`${d.name}: contigmalloc: the pages were freed again (PR 55081's fix)`);
      } else {
        legacyResult = "no-pages";
        k.log.print(
          `${d.name}: contigmalloc(${mib}M): no contiguous pages below ${hex(limit)} after laundering`,
        );
      }
    }
    const before = [s.pageouts + s.cached + s.cacheSteals, s.migrated];
    let idx = api.vm_contig_pg_alloc(bytes, 0, limit, align, boundary);
    let handle = idx >= 0 ? a.handleAt(idx) : null;
    if (handle === null) {
      // Linux's alloc_contig_range (FreeBSD's vm_page_reclaim_contig): migrate movable pages out.
      handle = a.allocate({
        size: bytes,
        high: limit,
        alignment: align,
        boundary,
        reclaim: "migrate",
      });
      idx = handle?.pfn ?? -1;
    }
    let strategy: CaptureStrategy | null = null;
    const pid = 1000;
    let buf: DeviceBuffer | null = null;
    if (handle !== null) {
      strategy =
        s.migrated > before[1]!
          ? "migrate"
          : s.pageouts + s.cached + s.cacheSteals > before[0]!
            ? "launder"
            : "free";
      buf = drv.adopt(d.name, handle.pfn, handle.pages, handle, null);
      drv.mapUser(buf, pid);
      k.log.print(
        `${d.name}: vm_contig_pg_alloc(${mib}M, low 0, high ${hex(limit)}) = page ${idx}: [mem ${hex(handle.physAddr)}-${hex(handle.physAddr + handle.size - 1)}] (${strategy === "free" ? "free pages" : strategy === "launder" ? "after laundering the page queues" : "after migrating movable pages"}); no vm_contig_pg_kmapin: no kernel mapping (kernel map: ${kvaLeft()} free in one piece); mapped into pid ${pid}`,
      );
    } else {
      k.log.print(
        `${d.name}: vm_contig_pg_alloc(${mib}M): no contiguous range below ${hex(limit)}`,
      );
    }
    this.buffer = buf;
    return {
      device: d.name,
      bytes,
      legacy: legacyResult,
      leakedPages,
      ok: buf !== null,
      phys: handle ? handle.physAddr : -1,
      strategy,
      kernelAddress: handle ? handle.kernelAddress : 0,
      pid: buf ? pid : -1,
    };
  }

  private detachInner(): void {
    const b = this.buffer;
    if (b === null) return;
    const drv = this.k.contigDriver;
    drv.disown(b);
    drv.compat.vm_contig_pg_free(b.pfn, b.pages * this.k.machine.pageSize);
    this.buffer = null;
  }

  /** Unmaps and frees the buffer (`vm_contig_pg_free`). */
  detach(): void {
    this.detachInner();
    this.k.step({ op: "capture.detach" }, 10);
  }
}
