import {
  buddyinfo,
  extfragIndex,
  fillContigPageInfo,
  fragmentationIndex,
  GFP_KERNEL,
  pagetypeinfo,
  unusableFreeIndex,
  unusableIndex,
  vmstat,
  zoneinfo,
} from "@mem/buddy";
import { describe, expect, it } from "vitest";
import { bootedSmall } from "./helpers.js";

function workload() {
  const { m, a } = bootedSmall();
  const p0 = a.alloc(GFP_KERNEL, 0);
  a.alloc(GFP_KERNEL, 3);
  a.free(p0, 0);
  return { m, a };
}

describe("buddyinfo", () => {
  it("prints free blocks per order with Linux's widths and trailing space", () => {
    const { a } = workload();
    expect(buddyinfo(a)).toMatchInlineSnapshot(`
      "Node 0, zone      DMA      2      2      2      2      2      1      1      0      1      1      3 
      Node 0, zone    DMA32      1      0      1      0      1      1      1      1      1      1     11 
      "
    `);
  });
});

describe("pagetypeinfo", () => {
  it("prints the pageblock header, free counts per type and block counts", () => {
    const { a } = workload();
    expect(pagetypeinfo(a)).toMatchInlineSnapshot(`
      "Page block order: 9
      Pages per block:  512

      Free pages count per migrate type at order       0      1      2      3      4      5      6      7      8      9     10 
      Node    0, zone      DMA, type    Unmovable      0      0      0      0      0      0      0      0      0      0      0 
      Node    0, zone      DMA, type      Movable      2      2      2      2      2      1      1      0      1      1      3 
      Node    0, zone      DMA, type  Reclaimable      0      0      0      0      0      0      0      0      0      0      0 
      Node    0, zone      DMA, type   HighAtomic      0      0      0      0      0      0      0      0      0      0      0 
      Node    0, zone      DMA, type      Isolate      0      0      0      0      0      0      0      0      0      0      0 
      Node    0, zone    DMA32, type    Unmovable      1      0      1      0      1      1      1      1      1      1      0 
      Node    0, zone    DMA32, type      Movable      0      0      0      0      0      0      0      0      0      0     11 
      Node    0, zone    DMA32, type  Reclaimable      0      0      0      0      0      0      0      0      0      0      0 
      Node    0, zone    DMA32, type   HighAtomic      0      0      0      0      0      0      0      0      0      0      0 
      Node    0, zone    DMA32, type      Isolate      0      0      0      0      0      0      0      0      0      0      0 

      Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic      Isolate 
      Node 0, zone      DMA            0            8            0            0            0 
      Node 0, zone    DMA32            2           22            0            0            0 
      "
    `);
  });
});

describe("zoneinfo", () => {
  it("prints watermarks, protection and pagesets, and stops early for empty zones", () => {
    const { a } = workload();
    expect(zoneinfo(a)).toMatchInlineSnapshot(`
      "Node 0, zone      DMA
        per-node stats
            nr_inactive_anon 0
            nr_active_anon 0
            nr_inactive_file 0
            nr_active_file 0
            nr_unevictable 0
        pages free     3998
              boost    0
              min      62
              low      77
              high     92
              promo    107
              spanned  4095
              present  3998
              managed  3998
              cma      0
              protection: (0, 48, 48, 48)
            nr_free_pages 3998
            nr_zone_inactive_anon 0
            nr_zone_active_anon 0
            nr_zone_inactive_file 0
            nr_zone_active_file 0
            nr_zone_unevictable 0
            nr_zone_write_pending 0
            nr_mlock     0
            nr_bounce    0
            nr_zspages   0
            nr_free_cma  0
        pagesets
          cpu: 0
                    count:    0
                    high:     38
                    batch:    1
                    high_min: 38
                    high_max: 249
        vm stats threshold: 4
          cpu: 1
                    count:    0
                    high:     38
                    batch:    1
                    high_min: 38
                    high_max: 249
        vm stats threshold: 4
        node_unreclaimable:  0
        start_pfn:           1
      Node 0, zone    DMA32
        pages free     12277
              boost    0
              min      192
              low      240
              high     288
              promo    336
              spanned  12288
              present  12288
              managed  12288
              cma      0
              protection: (0, 0, 0, 0)
            nr_free_pages 12277
            nr_zone_inactive_anon 0
            nr_zone_active_anon 0
            nr_zone_inactive_file 0
            nr_zone_active_file 0
            nr_zone_unevictable 0
            nr_zone_write_pending 0
            nr_mlock     0
            nr_bounce    0
            nr_zspages   0
            nr_free_cma  0
        pagesets
          cpu: 0
                    count:    3
                    high:     120
                    batch:    3
                    high_min: 120
                    high_max: 768
        vm stats threshold: 4
          cpu: 1
                    count:    0
                    high:     120
                    batch:    3
                    high_min: 120
                    high_max: 768
        vm stats threshold: 4
        node_unreclaimable:  0
        start_pfn:           4096
      Node 0, zone   Normal
        pages free     0
              boost    0
              min      0
              low      0
              high     0
              promo    0
              spanned  0
              present  0
              managed  0
              cma      0
              protection: (0, 0, 0, 0)
      Node 0, zone  Movable
        pages free     0
              boost    0
              min      32
              low      32
              high     32
              promo    32
              spanned  0
              present  0
              managed  0
              cma      0
              protection: (0, 0, 0, 0)
      "
    `);
  });
});

describe("vmstat", () => {
  it("prints nr_free_pages, pgalloc per zone type and pgfree", () => {
    const { a } = workload();
    expect(vmstat(a)).toMatchInlineSnapshot(`
      "nr_free_pages 16275
      pgalloc_dma 0
      pgalloc_dma32 9
      pgalloc_normal 0
      pgalloc_movable 0
      pgfree 1
      "
    `);
  });
});

describe("fragmentationIndex", () => {
  it("reproduces the worked example of the notes", () => {
    // {order0: 100, order1: 50}: 200 pages in 150 blocks.
    const nr = [100, 50, 0, 0];
    // order 2: 1000 - (1000 + 200000 / 4) / 150 = 1000 - 51000/150 = 1000 - 340 = 660
    expect(fragmentationIndex(2, fillContigPageInfo(nr, 2))).toBe(660);
    // order 3: 1000 - (1000 + 25000) / 150 = 1000 - 173 = 827
    expect(fragmentationIndex(3, fillContigPageInfo(nr, 3))).toBe(827);
    // order 1 would succeed: -1000; nothing free: 0
    expect(fragmentationIndex(1, fillContigPageInfo(nr, 1))).toBe(-1000);
    expect(fragmentationIndex(1, fillContigPageInfo([0, 0], 1))).toBe(0);
  });

  it("computes unusable_free_index", () => {
    const nr = [100, 50, 0, 0];
    // order 1: (200 - 50 * 2) * 1000 / 200 = 500; order 0: 0; order 2: 1000
    expect(unusableFreeIndex(1, fillContigPageInfo(nr, 1))).toBe(500);
    expect(unusableFreeIndex(0, fillContigPageInfo(nr, 0))).toBe(0);
    expect(unusableFreeIndex(2, fillContigPageInfo(nr, 2))).toBe(1000);
    expect(unusableFreeIndex(2, fillContigPageInfo([0], 2))).toBe(1000);
  });

  it("prints the debugfs files as %d.%03d", () => {
    const { a } = workload();
    expect(extfragIndex(a)).toMatchInlineSnapshot(`
      "Node 0, zone      DMA -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 
      Node 0, zone    DMA32 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 
      "
    `);
    expect(unusableIndex(a)).toMatchInlineSnapshot(`
      "Node 0, zone      DMA 0.000 0.000 0.001 0.003 0.007 0.015 0.023 0.039 0.039 0.103 0.231 
      Node 0, zone    DMA32 0.000 0.000 0.000 0.000 0.000 0.001 0.004 0.009 0.019 0.040 0.082 
      "
    `);
  });
});
