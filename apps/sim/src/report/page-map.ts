/**
 * The memory map picture's data: the run's one-byte-per-page snapshot laid out in rows of pixels,
 * a power-of-two block of pages per pixel (the state most of its pages are in) so that a 16 Mi-page
 * machine still draws as at most {@link MAX_MAP_PIXELS} pixels, run-length encoded for the page.
 * Each present pfn range starts a new row; a hole between ranges larger than an eighth of the
 * present memory is drawn as a band of a few rows instead of to scale.
 *
 * @module
 */
import type { PageMapSnapshot, ZoneSummary } from "../internal/run.js";

/** The most pixels the map draws. */
export const MAX_MAP_PIXELS: number = 2 ** 19;
/** The pixel byte for "no pfn here" (the end of a row). */
export const NO_STATE = 255;

/** A run of pfns drawn as consecutive pixels from `pixel`, starting on a row. */
export interface MapSegment {
  readonly startPfn: number;
  readonly endPfn: number;
  /** First pixel. */
  readonly pixel: number;
  /** Pixels it covers. */
  readonly pixels: number;
  /** A hole drawn as one row, not to scale. */
  readonly gap: boolean;
}

/** A zone on the map. */
export interface MapZone {
  readonly label: string;
  readonly nid: number;
  readonly name: string;
  readonly startPfn: number;
  readonly endPfn: number;
  /** Pixel where it starts, or -1 if it is not drawn. */
  readonly pixel: number;
}

/** The encoded map the report's script draws into an ImageData once. */
export interface EncodedPageMap {
  readonly width: number;
  readonly height: number;
  /** Pages per pixel (a power of two). */
  readonly pagesPerPixel: number;
  readonly segments: MapSegment[];
  readonly zones: MapZone[];
  /** State names by byte. */
  readonly legend: readonly string[];
  /** CSS colour per state byte (`#rrggbb`). */
  readonly colors: string[];
  /** Pixels as runs of (state byte, LEB128 run length), base64. */
  readonly rle: string;
  /** Pages per state (from the snapshot). */
  readonly counts: Record<string, number>;
}

const FIXED_COLORS: Readonly<Record<string, string>> = {
  hole: "#d9dce1",
  reserved: "#4b5563",
  kernel: "#dc2626",
  user: "#2563eb",
  pagecache: "#16a34a",
  "pagecache-dirty": "#84cc16",
  "dma-buffer": "#f97316",
  "contig-buffer": "#9333ea",
  foreign: "#db2777",
  "xen-guest": "#0891b2",
  "free-pcp": "#facc15",
  isolated: "#111827",
  pageflags: "#92400e",
};

function hsl(h: number, s: number, l: number): string {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number): string => {
    const k = (n + h / 30) % 12;
    const c = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(c * 255)
      .toString(16)
      .padStart(2, "0");
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

/**
 * The colour of a state by its legend name: fixed colours for owners, and for `free-order-N` a
 * light ramp from warm (order 0, fragmented) to cool (order 10, whole).
 */
export function stateColor(name: string): string {
  const fixed = FIXED_COLORS[name];
  if (fixed) return fixed;
  const m = /^free-order-(\d+)$/.exec(name);
  if (m) {
    const o = Math.min(Number(m[1]), 12);
    return hsl(48 + o * 15, 0.75, 0.86 - o * 0.012);
  }
  return "#ffffff";
}

function pow2ceil(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function pushVarint(out: number[], n: number): void {
  let v = n;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** Run-length encodes `bytes` as (byte, LEB128 length) pairs. */
export function rleEncode(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let j = i + 1;
    while (j < bytes.length && bytes[j] === b) j++;
    out.push(b);
    pushVarint(out, j - i);
    i = j;
  }
  return Uint8Array.from(out);
}

/** Decodes {@link rleEncode}'s output into `length` bytes. */
export function rleDecode(rle: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let p = 0;
  let i = 0;
  while (i < rle.length) {
    const b = rle[i++]!;
    let n = 0;
    let mul = 1;
    for (;;) {
      const c = rle[i++]!;
      n += (c % 128) * mul;
      if (c < 128) break;
      mul *= 128;
    }
    out.fill(b, p, p + n);
    p += n;
  }
  return out;
}

/** Encodes a run's page-map snapshot for the report; `maxPixels` bounds the picture. */
export function encodePageMap(
  snapshot: PageMapSnapshot,
  zones: readonly ZoneSummary[],
  maxPixels: number = MAX_MAP_PIXELS,
): EncodedPageMap {
  const states = Buffer.from(snapshot.states, "base64");
  const ranges = [...snapshot.ranges].sort((a, b) => a.startPfn - b.startPfn);
  let present = 0;
  for (const r of ranges) present += r.endPfn - r.startPfn;
  // Pieces in pfn order: ranges, and the holes between them (to scale when small).
  const pieces: { startPfn: number; endPfn: number; gap: boolean; offset: number }[] = [];
  let drawnPages = 0;
  ranges.forEach((r, i) => {
    const prev = ranges[i - 1];
    if (prev && r.startPfn > prev.endPfn) {
      const gapPages = r.startPfn - prev.endPfn;
      const gap = gapPages > present / 8;
      pieces.push({ startPfn: prev.endPfn, endPfn: r.startPfn, gap, offset: -1 });
      if (!gap) drawnPages += gapPages;
    }
    pieces.push({ startPfn: r.startPfn, endPfn: r.endPfn, gap: false, offset: r.offset });
    drawnPages += r.endPfn - r.startPfn;
  });
  let ppp = 1;
  while (drawnPages / ppp > maxPixels) ppp *= 2;
  const estimate = Math.max(1, Math.ceil(drawnPages / ppp));
  const width = Math.min(1024, Math.max(64, pow2ceil(Math.sqrt(estimate * 2))));
  // A hole not to scale: a band of rows tall enough to see.
  const gapRows = Math.max(1, Math.min(12, Math.ceil(estimate / width / 48)));
  // Merge a small hole with the ranges around it so they share rows.
  const segments: MapSegment[] = [];
  let pixel = 0;
  const layout: { seg: MapSegment; parts: typeof pieces }[] = [];
  let run: typeof pieces = [];
  const flush = (): void => {
    if (run.length === 0) return;
    const startPfn = run[0]!.startPfn;
    const endPfn = run.at(-1)!.endPfn;
    const pixels = Math.ceil((endPfn - startPfn) / ppp);
    const seg = { startPfn, endPfn, pixel, pixels, gap: false };
    layout.push({ seg, parts: run });
    segments.push(seg);
    pixel += Math.ceil(pixels / width) * width;
    run = [];
  };
  for (const p of pieces) {
    if (p.gap) {
      flush();
      const seg = {
        startPfn: p.startPfn,
        endPfn: p.endPfn,
        pixel,
        pixels: width * gapRows,
        gap: true,
      };
      segments.push(seg);
      layout.push({ seg, parts: [] });
      pixel += width * gapRows;
    } else run.push(p);
  }
  flush();
  const height = Math.max(1, pixel / width);
  const pixels = new Uint8Array(width * height).fill(NO_STATE);
  const counts = new Uint32Array(256);
  for (const { seg, parts } of layout) {
    if (seg.gap) {
      pixels.fill(0, seg.pixel, seg.pixel + seg.pixels);
      continue;
    }
    for (const part of parts) {
      const first = Math.floor((part.startPfn - seg.startPfn) / ppp);
      const last = Math.ceil((part.endPfn - seg.startPfn) / ppp);
      for (let px = first; px < last; px++) {
        const lo = Math.max(part.startPfn, seg.startPfn + px * ppp);
        const hi = Math.min(part.endPfn, seg.startPfn + (px + 1) * ppp);
        const at = seg.pixel + px;
        if (part.offset < 0) {
          if (pixels[at] === NO_STATE) pixels[at] = 0;
          continue;
        }
        if (ppp === 1) {
          pixels[at] = states[part.offset + (lo - part.startPfn)]!;
          continue;
        }
        // The state most pages of the block are in (ties: the lower byte).
        const base = part.offset - part.startPfn;
        for (let pfn = lo; pfn < hi; pfn++) counts[states[base + pfn]!]!++;
        let best = pixels[at] === NO_STATE ? -1 : pixels[at]!;
        let bestCount = best < 0 ? 0 : 1;
        for (let pfn = lo; pfn < hi; pfn++) {
          const s = states[base + pfn]!;
          const c = counts[s]!;
          if (c > bestCount || (c === bestCount && s < best)) {
            best = s;
            bestCount = c;
          }
        }
        for (let pfn = lo; pfn < hi; pfn++) counts[states[base + pfn]!] = 0;
        pixels[at] = best;
      }
    }
  }
  const pixelOf = (pfn: number): number => {
    for (const s of segments)
      if (pfn < s.endPfn)
        return s.gap || pfn < s.startPfn ? s.pixel : s.pixel + Math.floor((pfn - s.startPfn) / ppp);
    return -1;
  };
  return {
    width,
    height,
    pagesPerPixel: ppp,
    segments,
    zones: zones.map((z) => ({
      label: z.label,
      nid: z.nid,
      name: z.name,
      startPfn: z.startPfn,
      endPfn: z.startPfn + z.spannedPages,
      pixel: pixelOf(z.startPfn),
    })),
    legend: snapshot.legend,
    colors: snapshot.legend.map(stateColor),
    rle: Buffer.from(rleEncode(pixels)).toString("base64"),
    counts: snapshot.counts,
  };
}
