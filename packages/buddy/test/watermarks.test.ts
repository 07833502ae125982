import {
  ALLOC_MIN_RESERVE,
  ALLOC_NON_BLOCK,
  ALLOC_WMARK_MIN,
  calculateMinFreeKbytes,
  fls,
  GFP_ATOMIC,
  GFP_KERNEL,
  intSqrt,
  lowmemReserve,
  multFrac,
  setupZoneWatermarks,
  vmstatThreshold,
  zoneBatchsize,
  zoneHighsize,
} from "@mem/buddy";
import { describe, expect, it } from "vitest";
import { bootedSmall } from "./helpers.js";

describe("calculateMinFreeKbytes", () => {
  it("follows int_sqrt(lowmem_kbytes * 16) with Linux's clamp", () => {
    // 16 GiB of lowmem: 4194304 pages * 4 = 16777216 kB; * 16 = 268435456; sqrt = 16384.
    expect(calculateMinFreeKbytes(4194304, 4096)).toBe(16384);
    // 1 GiB: 1048576 kB * 16 = 16777216; sqrt = 4096 (Linux's table: 1GB -> 4096k).
    expect(calculateMinFreeKbytes(262144, 4096)).toBe(4096);
    // Tiny: 16 pages = 64 kB * 16 = 1024; sqrt 32 -> clamped up to 128.
    expect(calculateMinFreeKbytes(16, 4096)).toBe(128);
    // Huge: 16 TiB -> sqrt(2^34 * 16) = 2^19 = 524288 -> clamped to 262144.
    expect(calculateMinFreeKbytes(2 ** 32, 4096)).toBe(262144);
    // A larger user value wins; a smaller one does not.
    expect(calculateMinFreeKbytes(262144, 4096, 9000)).toBe(9000);
    expect(calculateMinFreeKbytes(262144, 4096, 100)).toBe(4096);
  });

  it("uses exact integer helpers", () => {
    expect(intSqrt(1042304)).toBe(1020); // 1020^2 = 1040400 <= x < 1021^2 = 1042441
    expect(multFrac(3998, 10, 10000)).toBe(3);
    expect(fls(0)).toBe(0);
    expect(fls(2)).toBe(2);
    expect(fls(2 ** 40)).toBe(41);
  });
});

describe("setupZoneWatermarks", () => {
  it("computes the small machine's figures by hand", () => {
    // managed DMA 3998, DMA32 12288; min_free_kbytes = int_sqrt(16286 * 4 * 16) = 1020
    // pages_min = 1020 / 4 = 255
    // DMA:   tmp = 255 * 3998 / 16286 = 62;  d = max(62/4 = 15, 3998*10/10000 = 3) = 15
    // DMA32: tmp = 255 * 12288 / 16286 = 192; d = max(48, 12) = 48
    // Movable (empty): min = clamp(0 / 1024, 32, 128) = 32, d = max(0, 0) = 0
    const w = setupZoneWatermarks(
      [
        { managed: 3998, highOrMovable: false },
        { managed: 12288, highOrMovable: false },
        { managed: 0, highOrMovable: false },
        { managed: 0, highOrMovable: true },
      ],
      1020,
      4096,
    );
    expect(w).toEqual([
      { min: 62, low: 77, high: 92, promo: 107 },
      { min: 192, low: 240, high: 288, promo: 336 },
      { min: 0, low: 0, high: 0, promo: 0 },
      { min: 32, low: 32, high: 32, promo: 32 },
    ]);
  });

  it("uses watermark_scale_factor when it gives the larger gap", () => {
    // 1 GiB zone alone, min_free_kbytes 128: pages_min 32, tmp 32, d = max(8, 262144*10/10000=262)
    expect(setupZoneWatermarks([{ managed: 262144, highOrMovable: false }], 128, 4096)).toEqual([
      { min: 32, low: 294, high: 556, promo: 818 },
    ]);
  });
});

describe("lowmemReserve", () => {
  it("divides the managed pages above by the ratio", () => {
    // x86_64 4 GiB-like node: DMA 3977, DMA32 782305, Normal 262144, Movable 0.
    // DMA (256): j=1 782305/256 = 3055; j=2 (782305+262144)/256 = 4079; j=3 the same.
    // DMA32 (256): j=2 262144/256 = 1024; j=3 1024. Normal (32): j=3 0/32 = 0.
    expect(lowmemReserve([3977, 782305, 262144, 0], [256, 256, 32, 0])).toEqual([
      [0, 3055, 4079, 4079],
      [0, 0, 1024, 1024],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
    // A zone with no managed pages reserves nothing.
    expect(lowmemReserve([0, 100], [256, 256])).toEqual([
      [0, 0],
      [0, 0],
    ]);
  });
});

describe("zoneBatchsize / zoneHighsize", () => {
  it("gives 63 for 1 GiB and more, 31 for 512 MiB, 1 for tiny zones", () => {
    // 1 GiB: min(262144/1024 = 256, 256) / 4 = 64; 64 + 32 = 96 -> 64 - 1 = 63
    expect(zoneBatchsize(262144, 4096)).toBe(63);
    expect(zoneBatchsize(16 * 262144, 4096)).toBe(63);
    // 512 MiB: 128 / 4 = 32; 32 + 16 = 48 -> 32 - 1 = 31
    expect(zoneBatchsize(131072, 4096)).toBe(31);
    // 3998 pages: 3 / 4 = 0 -> 1; 1 + 0 -> 1 - 1 = 0 -> max(1, 0) = 1
    expect(zoneBatchsize(3998, 4096)).toBe(1);
    // 12288 pages: 12 / 4 = 3; 3 + 1 = 4 -> 4 - 1 = 3
    expect(zoneBatchsize(12288, 4096)).toBe(3);
  });

  it("splits the low watermark (or managed / fraction) over the node's CPUs", () => {
    expect(zoneHighsize(12288, 240, 3, 2, 2, 0)).toBe(120); // 240 / 2
    expect(zoneHighsize(12288, 240, 3, 2, 2, 8)).toBe(768); // 12288 / 8 / 2
    expect(zoneHighsize(3998, 5, 63, 2, 2, 0)).toBe(252); // at least batch * 4
    expect(zoneHighsize(800, 80, 1, 0, 4, 0)).toBe(20); // a node without CPUs: all online
  });

  it("computes the vmstat threshold", () => {
    // 2 CPUs: 2 * fls(2) = 4; 16 GiB = 128 * 128 MiB: fls(128) = 8 -> 4 * 9 = 36
    expect(vmstatThreshold(4194304, 4096, 2)).toBe(36);
    expect(vmstatThreshold(3998, 4096, 2)).toBe(4);
    expect(vmstatThreshold(2 ** 30, 4096, 64)).toBe(125);
  });
});

describe("BuddyAllocator watermarks", () => {
  it("sets the small machine's zones as computed by hand", () => {
    const { a } = bootedSmall();
    expect(a.zoneInfo(0)).toMatchObject({
      managed: 3998,
      min: 62,
      low: 77,
      high: 92,
      promo: 107,
      protection: [0, 48, 48, 48], // 12288 / 256 = 48
      batch: 1,
      pcpHigh: 38, // 77 / 2 CPUs
      pcpHighMax: 249, // 3998 / 8 / 2
    });
    expect(a.zoneInfo(1)).toMatchObject({
      managed: 12288,
      min: 192,
      low: 240,
      high: 288,
      promo: 336,
      protection: [0, 0, 0, 0],
      batch: 3,
      pcpHigh: 120,
      pcpHighMax: 768,
    });
    expect(a.minFreeKbytes).toBe(1020);
  });

  it("reproduces __zone_watermark_ok with reserves, lowmem_reserve and orders", () => {
    const { a } = bootedSmall({ pcp: false });
    // DMA zone: 3998 free. Mark 3997 at order 0: 3998 > 3997 -> ok; mark 3998 -> not.
    expect(a.zoneWatermarkOk(0, 0, 3997, 0, ALLOC_WMARK_MIN)).toBe(true);
    expect(a.zoneWatermarkOk(0, 0, 3998, 0, ALLOC_WMARK_MIN)).toBe(false);
    // With highest zone DMA32 the lowmem_reserve of 48 is added: 3998 > 3949 + 48 but not 3950 + 48.
    expect(a.zoneWatermarkOk(0, 0, 3949, 1, ALLOC_WMARK_MIN)).toBe(true);
    expect(a.zoneWatermarkOk(0, 0, 3950, 1, ALLOC_WMARK_MIN)).toBe(false);
    // Order 3 removes 2^3 - 1 = 7 unusable pages: 3991 > 3990 only.
    expect(a.zoneWatermarkOk(0, 3, 3990, 0, ALLOC_WMARK_MIN)).toBe(true);
    expect(a.zoneWatermarkOk(0, 3, 3991, 0, ALLOC_WMARK_MIN)).toBe(false);
    // __GFP_HIGH: min -= min/2 -> 7000 -> 3500; with NON_BLOCK min -= min/4 -> 2625.
    expect(a.zoneWatermarkOk(0, 0, 7000, 0, ALLOC_MIN_RESERVE)).toBe(true);
    expect(a.zoneWatermarkOk(0, 0, 7996, 0, ALLOC_MIN_RESERVE)).toBe(false); // 3998 <= 3998
    // 10658 -> 10658 - 5329 = 5329 -> 5329 - 1332 = 3997: 3998 is above.
    expect(a.zoneWatermarkOk(0, 0, 10658, 0, ALLOC_MIN_RESERVE | ALLOC_NON_BLOCK)).toBe(true);
    // 10660 -> 5330 -> 5330 - 1332 = 3998: not above.
    expect(a.zoneWatermarkOk(0, 0, 10660, 0, ALLOC_MIN_RESERVE | ALLOC_NON_BLOCK)).toBe(false);
    // Order 10 needs a free block of order 10: the DMA zone has 3.
    expect(a.zoneWatermarkOk(0, 10, 0, 0, ALLOC_WMARK_MIN)).toBe(true);
    // Explicit free page count.
    expect(a.zoneWatermarkOk(0, 0, 100, 0, ALLOC_WMARK_MIN, 100)).toBe(false);
  });

  it("lets GFP_ATOMIC dip below the min watermark where GFP_KERNEL fails", () => {
    const { a } = bootedSmall({ pcp: false });
    const dma = 0;
    // Drain DMA32 and DMA with GFP_KERNEL until it fails.
    let n = 0;
    while (a.alloc(GFP_KERNEL, 0) >= 0) n++;
    const free = a.zoneInfo(dma).freePages;
    // GFP_KERNEL stops at the DMA min watermark (62) plus nothing (highest zone is Normal, reserve 48).
    expect(free).toBeLessThanOrEqual(62 + 48 + 1);
    expect(a.alloc(GFP_ATOMIC, 0)).toBeGreaterThan(0);
    expect(n).toBeGreaterThan(15000);
    a.checkInvariants();
  });
});
