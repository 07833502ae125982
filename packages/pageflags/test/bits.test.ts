import { describe, expect, it } from "vitest";
import { clearLeafRange, leafIsZero, popcount32, scanLeaf } from "../src/internal/bits.js";

describe("internal bits", () => {
  it("counts bits of any 32-bit word", () => {
    for (const [w, n] of [
      [0, 0],
      [1, 1],
      [-1, 32],
      [0x80000000 | 0, 1],
      [0x55555555, 16],
      [0x0f0f0f0f, 16],
    ] as const) {
      expect(popcount32(w)).toBe(n);
    }
  });

  it("scans from a bit, across zero words, to the end of a leaf", () => {
    const words = new Int32Array(8);
    words[5] = 1 << 31;
    words[6] = 1 << 3;
    expect(scanLeaf(words, 4, 4, 0)).toBe(63); // leaf at word 4: bit 31 of its 2nd word
    expect(scanLeaf(words, 4, 4, 64)).toBe(67);
    expect(scanLeaf(words, 4, 4, 68)).toBe(-1);
    expect(scanLeaf(words, 4, 4, 128)).toBe(-1);
  });

  it("clears bit ranges inside and across words", () => {
    const words = new Int32Array(4).fill(-1);
    clearLeafRange(words, 0, 3, 5);
    expect(words[0]).toBe(~0b11000);
    clearLeafRange(words, 0, 30, 97);
    expect(words[0]).toBe(~0b11000 & ~(0b11 << 30));
    expect(words[1]).toBe(0);
    expect(words[2]).toBe(0);
    expect(words[3]).toBe(-2);
    clearLeafRange(words, 0, 0, 128);
    expect(leafIsZero(words, 0, 4)).toBe(true);
  });
});
