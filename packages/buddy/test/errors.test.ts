import { GFP_KERNEL } from "@mem/buddy";
import { InvalidArgumentError, KernelPanic, PG_lru } from "@mem/machine";
import { describe, expect, it } from "vitest";
import { bootedSmall } from "./helpers.js";

function setup() {
  const { m, a } = bootedSmall({ checkPages: true });
  const single = a.alloc(GFP_KERNEL, 0);
  const block = a.alloc(GFP_KERNEL, 3);
  return { m, a, single, block };
}

function unchanged(
  a: ReturnType<typeof setup>["a"],
  fn: () => void,
  type: unknown,
  code?: string,
  check = true,
) {
  const before = a.stateDigest();
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(type as never);
  if (code !== undefined) expect((err as { code: string }).code).toBe(code);
  expect((err as Error).message.length).toBeGreaterThan(10);
  expect(a.stateDigest()).toBe(before);
  if (check) a.checkInvariants();
}

describe("BuddyAllocator bad input", () => {
  it("rejects a double free of a single page and of a block", () => {
    const { a, single, block } = setup();
    a.free(single, 0);
    unchanged(a, () => a.free(single, 0), KernelPanic, "double-free");
    a.free(block, 3);
    a.drain();
    unchanged(a, () => a.free(block, 3), KernelPanic);
  });

  it("rejects a free with the wrong order", () => {
    const { a, single, block } = setup();
    unchanged(a, () => a.free(block, 2), KernelPanic, "wrong-order");
    unchanged(a, () => a.free(block, 0), KernelPanic, "wrong-order");
    unchanged(a, () => a.free(single, 1), KernelPanic, "wrong-order");
    unchanged(a, () => a.free(block + 3, 0), KernelPanic, "bad-page"); // a tail page
  });

  it("rejects a pfn outside every zone and a reserved page", () => {
    const { a } = setup();
    unchanged(a, () => a.free(20000, 0), KernelPanic, "bad-pfn"); // hole past RAM: no zone
    unchanged(a, () => a.free(1 << 30, 0), KernelPanic, "bad-pfn"); // no section
    unchanged(a, () => a.free(0, 0), KernelPanic, "bad-pfn"); // page 0: no zone
    unchanged(a, () => a.free(200, 0), KernelPanic, "bad-page"); // 0x9fc00-0x100000: reserved
  });

  it("rejects NaN, fractions, negatives, Infinity and unsafe numbers", () => {
    const { a, single } = setup();
    for (const bad of [Number.NaN, 1.5, -1, Number.POSITIVE_INFINITY, 2 ** 53, "7" as never]) {
      unchanged(a, () => a.free(bad, 0), InvalidArgumentError);
      unchanged(a, () => a.getPage(bad), InvalidArgumentError);
      unchanged(a, () => a.free(single, bad), InvalidArgumentError);
      unchanged(a, () => a.alloc(GFP_KERNEL, bad), InvalidArgumentError);
    }
    unchanged(a, () => a.free(single, 11), InvalidArgumentError);
    unchanged(a, () => a.alloc(3, 0), InvalidArgumentError); // DMA | HIGHMEM
    unchanged(a, () => a.alloc(GFP_KERNEL | 0x18, 0), InvalidArgumentError); // both mobility bits
    unchanged(a, () => a.alloc(-1, 0), InvalidArgumentError);
  });

  it("rejects freeing a mapped page or one with flags that must be clear", () => {
    const { a, m, single, block } = setup();
    const i = m.pages.indexOf(single);
    m.pages.mapcount[i] = 1;
    unchanged(a, () => a.free(single, 0), KernelPanic, "bad-page");
    m.pages.mapcount[i] = 0;
    m.pages.flags[i] = PG_lru;
    unchanged(a, () => a.free(single, 0), KernelPanic, "bad-page");
    m.pages.flags[i] = 0;
    const t = m.pages.indexOf(block + 5);
    m.pages.refcount[t] = 1;
    unchanged(a, () => a.free(block, 3), KernelPanic, "bad-page", false);
    m.pages.refcount[t] = 0;
    a.free(single, 0);
    a.free(block, 3);
    a.checkInvariants();
  });

  it("rejects get_page and put_page on free pages", () => {
    const { a, single } = setup();
    a.free(single, 0);
    unchanged(a, () => a.getPage(single), KernelPanic, "bad-page");
    unchanged(a, () => a.putPage(single), KernelPanic, "bad-page");
    unchanged(a, () => a.putPage(10000), KernelPanic, "bad-page"); // inside a free block
  });

  it("rejects a bad boot hand-over without changing anything", () => {
    const { a } = setup();
    unchanged(a, () => a.freePagesBootmem(4096, 3), KernelPanic, "bad-page"); // already free
    unchanged(a, () => a.freePagesBootmem(4097, 3), InvalidArgumentError); // unaligned
    unchanged(a, () => a.freeBootmemRange(150, 170), KernelPanic); // crosses into the hole
  });
});
