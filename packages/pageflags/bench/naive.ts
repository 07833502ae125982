/**
 * Naive reference: one flat Uint32Array over the whole pfn span, one bit per pfn.
 *
 * It indexes with 32-bit shifts (the fastest flat form), so it refuses spans of 2^32 pfns or
 * more; every benched span is far below that. The package itself never shifts pfns.
 */
export class FlatBitmap {
  readonly words: Uint32Array;
  readonly span: number;

  constructor(span: number) {
    if (!(Number.isInteger(span) && span > 0 && span <= 2 ** 32)) {
      throw new RangeError(`FlatBitmap: span ${span} must be in (0, 2^32]`);
    }
    this.span = span;
    this.words = new Uint32Array(Math.ceil(span / 32));
  }

  set(pfn: number): void {
    this.words[pfn >>> 5] = this.words[pfn >>> 5]! | (1 << (pfn & 31));
  }

  clear(pfn: number): void {
    this.words[pfn >>> 5] = this.words[pfn >>> 5]! & ~(1 << (pfn & 31));
  }

  test(pfn: number): boolean {
    return (this.words[pfn >>> 5]! & (1 << (pfn & 31))) !== 0;
  }

  /** First set pfn >= from, or -1. */
  nextSet(from: number): number {
    const words = this.words;
    if (from >= this.span) return -1;
    let w = from >>> 5;
    let word = words[w]! & (-1 << (from & 31));
    while (word === 0) {
      w++;
      if (w >= words.length) return -1;
      word = words[w]!;
    }
    const pfn = w * 32 + 31 - Math.clz32(word & -word);
    return pfn < this.span ? pfn : -1;
  }

  count(): number {
    let n = 0;
    for (let i = 0; i < this.words.length; i++) {
      let v = this.words[i]!;
      while (v !== 0) {
        v &= v - 1;
        n++;
      }
    }
    return n;
  }

  and(other: FlatBitmap): void {
    for (let i = 0; i < this.words.length; i++) this.words[i] = this.words[i]! & other.words[i]!;
  }

  or(other: FlatBitmap): void {
    for (let i = 0; i < this.words.length; i++) this.words[i] = this.words[i]! | other.words[i]!;
  }

  andNot(other: FlatBitmap): void {
    for (let i = 0; i < this.words.length; i++) this.words[i] = this.words[i]! & ~other.words[i]!;
  }

  clearAll(): void {
    this.words.fill(0);
  }

  /** Bytes of bitmap. */
  bytes(): number {
    return this.words.byteLength;
  }
}

/** Deterministic xorshift32 generator in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}
