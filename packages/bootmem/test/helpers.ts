import { Rootmem } from "@mem/bootmem";

export const PS = 4096;

/** A set-up rootmem with the given nodes (all RAM freed); `reserved` pfns re-reserved. */
export function rootmemWith(
  nodes: [number, number][],
  options: { bitsPerLong?: 32 | 64; reserved?: number[]; mapPfn?: number } = {},
): Rootmem {
  const r = new Rootmem({ pageSize: PS, bitsPerLong: options.bitsPerLong ?? 64 });
  nodes.forEach(([s, e], nid) => {
    r.registerNode(nid, s, e);
  });
  r.setup(options.mapPfn ?? 0x7777);
  for (const [s, e] of nodes) if (e > s) r.free(s * PS, (e - s) * PS);
  for (const p of options.reserved ?? []) r.reserve(p * PS, PS);
  return r;
}

/** A sink that records [pfn, order] pairs. */
export function recorder(): {
  calls: [number, number][];
  fn: (pfn: number, order: number) => void;
} {
  const calls: [number, number][] = [];
  return { calls, fn: (pfn, order) => calls.push([pfn, order]) };
}
