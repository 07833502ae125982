/**
 * Hibernation in the Suspend2 manner: the page cache is pageset2 (written first, in place), every
 * other saved page is pageset1 (copied atomically into pages pageset2 frees up), and pages never
 * saved (device buffers, foreign pages, the maps themselves) are nosave; all three are dynamically
 * allocated pageflags maps. The image size is computed and written to the disk.
 *
 * @module
 */
import { KernelPanic } from "@mem/machine";
import type { Kernel } from "./kernel.js";
import {
  STATE_CONTIG,
  STATE_DMA,
  STATE_FOREIGN,
  STATE_FREE,
  STATE_GUEST,
  STATE_HOLE,
  STATE_ISOLATED,
  STATE_PAGECACHE,
  STATE_PAGECACHE_DIRTY,
  STATE_PAGEFLAGS,
  STATE_PCP,
} from "./state.js";

/** What a hibernation cycle did. */
export interface HibernationResult {
  readonly pageset1: number;
  readonly pageset2: number;
  readonly nosave: number;
  /** Pages of the pageflags maps' bitmaps and tables (image metadata). */
  readonly metadataPages: number;
  readonly imagePages: number;
  readonly imageBytes: number;
  /** Free pages the atomic copy of pageset1 needed beyond what pageset2 gives back. */
  readonly extraPagesNeeded: number;
  /** Page-cache pages freed to make room. */
  readonly reclaimed: number;
  readonly ok: boolean;
}

/** Runs one suspend-to-disk and resume cycle. */
export function hibernate(k: Kernel): HibernationResult {
  const { pageset1, pageset2, nosave } = k.pageflags;
  const ps = k.machine.pageSize;
  k.depth++;
  let result: HibernationResult;
  try {
    k.xenDriver.quiesce();
    k.buddy.drain();
    k.log.print("Suspend2: Initiating a software suspend cycle.");
    pageset1.clearAll();
    pageset2.clearAll();
    nosave.clearAll();
    const st = k.pageStates();
    let off = 0;
    let n1 = 0;
    let n2 = 0;
    let nn = 0;
    for (const r of k.machine.presentPfnRanges()) {
      for (let pfn = r.start; pfn < r.end; pfn++) {
        const s = st[off + pfn - r.start]!;
        if (s === STATE_HOLE || s >= STATE_FREE || s === STATE_PCP || s === STATE_ISOLATED)
          continue;
        if (s === STATE_PAGECACHE || s === STATE_PAGECACHE_DIRTY) {
          pageset2.set(pfn);
          n2++;
        } else if (
          s === STATE_DMA ||
          s === STATE_CONTIG ||
          s === STATE_FOREIGN ||
          s === STATE_GUEST ||
          s === STATE_PAGEFLAGS
        ) {
          nosave.set(pfn);
          nn++;
        } else {
          pageset1.set(pfn);
          n1++;
        }
      }
      off += r.end - r.start;
    }
    pageset1.andNot(nosave);
    const c1 = pageset1.count();
    const c2 = pageset2.count();
    if (c1 !== n1 || c2 !== n2)
      throw new KernelPanic("invariant", `hibernate: map counts ${c1}/${c2} != ${n1}/${n2}`);
    const metadataPages = pageset1.pagesUsed() + pageset2.pagesUsed() + nosave.pagesUsed();
    // The atomic copy of pageset1 goes into free pages plus the pages pageset2 occupies.
    let free = k.buddy.freePageCount;
    const need = Math.max(0, n1 - n2 + metadataPages + 64);
    let reclaimed = 0;
    if (free < need - n2) {
      reclaimed = k.pageCache.reclaim(need - n2 - free);
      free = k.buddy.freePageCount;
    }
    const ok = free + n2 >= need;
    const imagePages = n1 + n2 + metadataPages;
    k.log.print(
      `Suspend2: pageset1 ${n1} pages, pageset2 ${n2} pages, nosave ${nn} pages; header and maps ${metadataPages} pages`,
    );
    if (ok) {
      k.pageCache.disk.writes += imagePages;
      k.pageCache.disk.imageWrites += imagePages;
      k.log.advance(imagePages * 2);
      k.log.print(
        `Suspend2: Writing image: ${imagePages} pages (${Math.round((imagePages * ps) / 1024)}K). Image written; powering down.`,
      );
      k.log.advance(1_000_000);
      k.log.print(`Suspend2: Resuming: read ${imagePages} pages. Resume complete.`);
      k.pageCache.disk.reads += imagePages;
    } else {
      k.log.print(
        `Suspend2: not enough free memory for the atomic copy (${free} free, ${need - n2} needed); aborting.`,
      );
    }
    result = {
      pageset1: n1,
      pageset2: n2,
      nosave: nn,
      metadataPages,
      imagePages,
      imageBytes: imagePages * ps,
      extraPagesNeeded: Math.max(0, n1 - n2),
      reclaimed,
      ok,
    };
  } finally {
    k.depth--;
  }
  k.step({ op: "hibernate" }, 100);
  return result;
}
