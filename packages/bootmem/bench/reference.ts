/**
 * A bit-at-a-time reference rootmem: one byte per page, every search and release page by page.
 * Same semantics as `Rootmem` (the fixed ones), written as plainly as possible. It is the
 * benchmark baseline and the model of the model-based tests.
 */
import { KernelPanic } from "@mem/machine";

interface RefNode {
  nid: number;
  start: number;
  end: number;
  released: boolean;
}

function bug(code: string, message: string): never {
  throw new KernelPanic(code, message);
}

function isPow2(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1 && 2 ** Math.round(Math.log2(n)) === n;
}

export class ReferenceRootmem {
  readonly log: string[] = [];
  private readonly nodes: RefNode[] = [];
  private min = Number.POSITIVE_INFINITY;
  private max = 0;
  private reserved: Uint8Array = new Uint8Array(0);
  private phase: "registering" | "up" | "down" | "gone" = "registering";
  private mapPfn = -1;
  private mapCount = 0;
  private lastEnd = 0;

  constructor(
    readonly pageSize: number,
    readonly bitsPerLong: 32 | 64 = 64,
  ) {}

  registerNode(nid: number, start: number, end: number): void {
    if (this.phase !== "registering") bug("register-after-setup", "registered after setup");
    if (this.nodes.some((n) => n.nid === nid)) bug("node-registered", "registered twice");
    if (start < end) {
      this.min = Math.min(this.min, start);
      this.max = Math.max(this.max, end);
    }
    this.nodes.push({ nid, start, end, released: false });
  }

  mapPages(): number {
    if (!this.nodes.some((n) => n.start < n.end)) bug("no-memory", "no memory");
    const base = Math.floor(this.min / 64) * 64;
    const long = this.bitsPerLong / 8;
    const bytes = Math.ceil(Math.ceil((this.max - base) / 8) / long) * long;
    return Math.ceil(bytes / this.pageSize);
  }

  setup(mapPfn: number): void {
    if (this.phase !== "registering") bug("setup-twice", "setup twice");
    this.mapCount = this.mapPages();
    this.mapPfn = mapPfn;
    this.reserved = new Uint8Array(this.max - this.min).fill(1);
    this.phase = "up";
    const count = this.nodes.length;
    this.log.push(
      `rootmem: ${this.max - this.min} pages on ${count} node(s) - map @ pfn ${mapPfn.toString(16)}`,
    );
  }

  private inNodes(pfn: number): boolean {
    return this.nodes.some((n) => pfn >= n.start && pfn < n.end);
  }

  private up(): void {
    if (this.phase === "registering") bug("not-set-up", "not set up");
    if (this.phase !== "up") bug("torn-down", "torn down");
  }

  private checkRange(s: number, e: number): void {
    for (let p = s; p < e; p++) if (!this.inNodes(p)) bug("out-of-range", "out of range");
  }

  isReserved(pfn: number): boolean {
    if (this.phase === "registering" || !this.inNodes(pfn)) return true;
    return this.reserved[pfn - this.min] === 1;
  }

  free(addr: number, size: number): void {
    this.up();
    const s = Math.ceil(addr / this.pageSize);
    const e = Math.floor((addr + size) / this.pageSize);
    if (s >= e) return;
    this.checkRange(s, e);
    for (let p = s; p < e; p++) if (this.reserved[p - this.min] === 0) bug("double-free", "double");
    for (let p = s; p < e; p++) this.reserved[p - this.min] = 0;
    const lastPage = Math.floor(this.lastEnd / this.pageSize);
    if (this.lastEnd % this.pageSize !== 0 && lastPage >= s && lastPage < e) this.lastEnd = 0;
  }

  reserve(addr: number, size: number, exclusive = false): number {
    this.up();
    if (size === 0) return 0;
    const s = Math.floor(addr / this.pageSize);
    const e = Math.ceil((addr + size) / this.pageSize);
    this.checkRange(s, e);
    for (let p = s; p < e; p++) {
      if (this.reserved[p - this.min] === 1 && exclusive) {
        for (let q = s; q < p; q++) this.reserved[q - this.min] = 0; // never reached: checked first
        return -16;
      }
    }
    for (let p = s; p < e; p++) this.reserved[p - this.min] = 1;
    return 0;
  }

  allocNode(nid: number, size: number, align: number, goal: number, limit: number): number | null {
    this.up();
    if (size === 0) bug("zero-size", "size 0");
    if (!isPow2(align)) bug("bad-align", "align");
    if (limit !== 0 && goal + size > limit) bug("goal-beyond-limit", "goal");
    let min = this.min;
    let max = this.max;
    if (nid !== -1) {
      const node = this.nodes.find((n) => n.nid === nid);
      if (node === undefined) bug("bad-nid", "nid");
      min = node.start;
      max = node.end;
    }
    const ps = this.pageSize;
    if (limit !== 0) max = Math.min(max, Math.floor(limit / ps));
    const step = Math.max(Math.floor(align / ps), 1);
    const pages = Math.ceil(size / ps);
    const goalPfn = Math.floor(goal / ps);
    const fits = (s: number): boolean => {
      if (s % step !== 0 || s + pages > max) return false;
      for (let p = s; p < s + pages; p++) if (this.isReserved(p)) return false;
      return true;
    };
    let found = -1;
    if (goal !== 0 && goalPfn >= min && goalPfn < max) {
      for (let s = goalPfn; s < max && found < 0; s++) if (fits(s)) found = s;
    }
    for (let s = min; s < max && found < 0; s++) if (fits(s)) found = s;
    if (found < 0) return null;
    let start = found * ps;
    const last = this.lastEnd;
    if (last % ps !== 0 && Math.floor(last / ps) + 1 === found && Math.floor(last / ps) >= min) {
      const merged = Math.ceil(last / align) * align;
      if (merged < start) start = merged;
    }
    const end = start + size;
    for (let p = found; p < Math.ceil(end / ps); p++) this.reserved[p - this.min] = 1;
    this.lastEnd = end;
    return start;
  }

  releaseNode(nid: number, sink: (pfn: number, order: number) => void): number {
    if (this.phase === "registering") bug("not-set-up", "not set up");
    if (this.phase === "gone") bug("released", "released");
    const node = this.nodes.find((n) => n.nid === nid);
    if (node === undefined) bug("bad-nid", "nid");
    if (node.released) bug("double-release", "twice");
    this.phase = "down";
    node.released = true;
    const L = this.bitsPerLong;
    let count = 0;
    let pfn = node.start;
    while (pfn < node.end) {
      const chunkEnd = (Math.floor(pfn / L) + 1) * L;
      let allFree = pfn % L === 0 && chunkEnd <= node.end;
      for (let p = pfn; p < chunkEnd && allFree; p++) if (this.isReserved(p)) allFree = false;
      if (allFree) {
        sink(pfn, Math.log2(L));
        count += L;
      } else {
        for (let p = pfn; p < Math.min(chunkEnd, node.end); p++) {
          if (!this.isReserved(p)) {
            sink(p, 0);
            count++;
          }
        }
      }
      pfn = chunkEnd;
    }
    if (this.nodes.every((n) => n.released)) {
      for (let p = this.mapPfn; p < this.mapPfn + this.mapCount; p++) {
        if (this.inNodes(p) && !this.isReserved(p)) continue;
        sink(p, 0);
        count++;
      }
      this.phase = "gone";
    }
    this.log.push(`rootmem: ${count} pages released on node ${nid}`);
    return count;
  }
}
