/**
 * Fixed-size blocks of 32-bit words in one growable Int32Array, with a free list. Blocks are
 * addressed by their first word offset; a freed block is zeroed before reuse. Keeping every
 * bitmap page in one typed array makes a lookup two or three typed-array loads.
 */
export class BlockArena {
  words: Int32Array = new Int32Array(0);
  private readonly blockWords: number;
  private top = 0;
  private readonly freeList: number[] = [];

  constructor(blockWords: number) {
    this.blockWords = blockWords;
  }

  /** Blocks handed out and not freed. */
  get used(): number {
    return this.top / this.blockWords - this.freeList.length;
  }

  /** Makes sure `n` more blocks can be taken without failing. */
  reserve(n: number): void {
    const fresh = n - this.freeList.length;
    if (fresh <= 0) return;
    const need = this.top + fresh * this.blockWords;
    if (need <= this.words.length) return;
    const grown = Math.max(
      need,
      Math.ceil((this.words.length * 1.25) / this.blockWords) * this.blockWords,
    );
    const next = new Int32Array(grown);
    next.set(this.words.subarray(0, this.top));
    this.words = next;
  }

  /** Takes a zeroed block (call `reserve` first); returns its first word offset. */
  take(): number {
    const reused = this.freeList.pop();
    if (reused !== undefined) return reused;
    const base = this.top;
    this.top += this.blockWords;
    return base;
  }

  /** Zeroes the block at `base` and puts it on the free list. */
  give(base: number): void {
    this.words.fill(0, base, base + this.blockWords);
    this.freeList.push(base);
  }

  /** Drops every block and the memory behind them. */
  reset(): void {
    this.words = new Int32Array(0);
    this.top = 0;
    this.freeList.length = 0;
  }
}
