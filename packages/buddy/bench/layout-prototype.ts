/**
 * A layout prototype, not part of `bench/index.ts`: what touching one random page's hot fields
 * costs when they live in seven typed arrays (the `@mem/machine` page database: flags, refcount,
 * mapcount, private, mapping, next, prev) against one interleaved array with a stride of eight
 * words (one 32-byte line per page, as Linux's `struct page`). The mixed-order buddy benchmark
 * touches several random pages per operation, so this bounds what an interleaved database could
 * gain there. CPU time (`process.cpuUsage`), so that other jobs on the machine count less.
 *
 * Run: `npx tsx bench/layout-prototype.ts`.
 */
const N = 1 << 21;
const flags = new Uint32Array(N);
const refcount = new Int32Array(N);
const mapcount = new Int32Array(N);
const priv = new Uint32Array(N);
const mapping = new Uint32Array(N);
const next = new Uint32Array(N);
const prev = new Uint32Array(N);
const page = new Uint32Array(N * 8);

const idx = new Uint32Array(1 << 16);
let seed = 1;
for (let k = 0; k < idx.length; k++) {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  idx[k] = seed % N;
}

function separate(): number {
  let acc = 0;
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k]!;
    if (flags[i] === 0 && refcount[i] === 0 && mapcount[i] === 0) {
      priv[i] = k;
      mapping[i] = k;
      next[i] = 0;
      prev[i] = 0;
    }
    acc += flags[i]!;
  }
  return acc;
}

function interleaved(): number {
  let acc = 0;
  for (let k = 0; k < idx.length; k++) {
    const b = idx[k]! * 8;
    if (page[b] === 0 && page[b + 1] === 0 && page[b + 2] === 0) {
      page[b + 3] = k;
      page[b + 4] = k;
      page[b + 5] = 0;
      page[b + 6] = 0;
    }
    acc += page[b]!;
  }
  return acc;
}

function medianNs(fn: () => number): number {
  const t: number[] = [];
  let sink = 0;
  for (let r = 0; r < 41; r++) {
    const c = process.cpuUsage();
    for (let j = 0; j < 10; j++) sink += fn();
    const u = process.cpuUsage(c);
    t.push(((u.user + u.system) * 1e3) / (10 * idx.length));
  }
  if (sink < 0) console.log(sink);
  t.sort((a, b) => a - b);
  return t[20]!;
}

const a = medianNs(separate);
const b = medianNs(interleaved);
console.log(
  `random page touch: seven typed arrays ${a.toFixed(1)} ns, interleaved ${b.toFixed(1)} ns (${(a / b).toFixed(2)}x)`,
);
