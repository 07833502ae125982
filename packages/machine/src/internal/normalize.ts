/**
 * Fills defaults into a {@link MachineSpec} and checks everything a kernel would trip over: the
 * result is a {@link MachineDescription} that {@link createMachine} can trust. Bad input is an
 * error naming the field and the value, never a silent fix.
 *
 * @module
 */
import type {
  DeviceDescription,
  MachineDescription,
  MachineSpec,
  MemoryRange,
  NodeDescription,
} from "../description.js";
import { MEMORY_TYPES } from "../description.js";
import { InvalidArgumentError } from "../errors.js";
import { describeValue, isPowerOfTwo } from "../validate.js";
import { ARCH_FACTS } from "./arch.js";

function fail(field: string, message: string): never {
  throw new InvalidArgumentError(`${field}: ${message}`, "EINVAL", field);
}

function uint(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    fail(
      field,
      `expected a non-negative integer no larger than 2^53 - 1, got ${describeValue(value)}`,
    );
  }
  return value;
}

function pow2(field: string, value: unknown, min: number): number {
  const v = uint(field, value);
  if (!isPowerOfTwo(v) || v < min)
    fail(field, `expected a power of two of at least ${min}, got ${describeValue(value)}`);
  return v;
}

function checkRanges<T extends { start: number; end: number }>(
  field: string,
  ranges: readonly T[],
  limit: number,
  what: string,
): void {
  let prevEnd = -1;
  ranges.forEach((r, i) => {
    const start = uint(`${field}[${i}].start`, r.start);
    const end = uint(`${field}[${i}].end`, r.end);
    if (end <= start)
      fail(
        `${field}[${i}]`,
        `${what} ends (${describeValue(end)}) at or before it starts (${describeValue(start)})`,
      );
    if (end > limit)
      fail(
        `${field}[${i}].end`,
        `${what} ends at ${describeValue(end)}, beyond the physical address limit ${describeValue(limit)}`,
      );
    if (start < prevEnd) {
      fail(
        `${field}[${i}]`,
        `${what} starting at ${describeValue(start)} overlaps or is out of order with the previous one (ends ${describeValue(prevEnd)})`,
      );
    }
    prevEnd = end;
  });
}

/**
 * Validates a spec and fills its defaults.
 *
 * @throws {@link InvalidArgumentError} naming the field, for any value a kernel could not boot with.
 */
export function normalizeSpec(spec: MachineSpec): MachineDescription {
  if (spec === null || typeof spec !== "object") fail("machine", "expected an object");
  const arch = spec.arch ?? "x86_64";
  const facts = ARCH_FACTS[arch];
  if (!facts)
    fail(
      "arch",
      `expected one of ${Object.keys(ARCH_FACTS).join(", ")}, got ${describeValue(arch)}`,
    );
  const name = spec.name ?? "machine";
  if (typeof name !== "string" || name.length === 0) fail("name", "expected a non-empty string");
  const pageSize = pow2("pageSize", spec.pageSize ?? facts.pageSize, 4096);
  const wordBits = spec.wordBits ?? facts.wordBits;
  if (wordBits !== 32 && wordBits !== 64)
    fail("wordBits", `expected 32 or 64, got ${describeValue(wordBits)}`);
  const physAddrBits = spec.physAddrBits ?? facts.physAddrBits;
  if (
    typeof physAddrBits !== "number" ||
    !Number.isInteger(physAddrBits) ||
    physAddrBits < 24 ||
    physAddrBits > 52
  ) {
    fail("physAddrBits", `expected an integer from 24 to 52, got ${describeValue(physAddrBits)}`);
  }
  const physLimit = 2 ** physAddrBits;
  const sectionSize = pow2("sectionSize", spec.sectionSize ?? facts.sectionSize, pageSize);
  // A buddy block of the largest order (1024 pages) must never straddle two sections.
  if (sectionSize < pageSize * 1024)
    fail(
      "sectionSize",
      `must be at least 1024 pages (${pageSize * 1024} bytes), got ${describeValue(sectionSize)}`,
    );
  if (sectionSize > physLimit)
    fail("sectionSize", `larger than the physical address space (${describeValue(physLimit)})`);
  const cpus = spec.cpus ?? 2;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 1024)
    fail("cpus", `expected an integer from 1 to 1024, got ${describeValue(cpus)}`);
  const cacheLineSize = pow2("cacheLineSize", spec.cacheLineSize ?? 64, 8);
  if (cacheLineSize > pageSize) {
    fail(
      "cacheLineSize",
      `must not exceed the page size (${pageSize}), got ${describeValue(cacheLineSize)}`,
    );
  }

  if (!Array.isArray(spec.memoryMap) || spec.memoryMap.length === 0)
    fail("memoryMap", "expected a non-empty list of ranges");
  spec.memoryMap.forEach((r, i) => {
    if (!MEMORY_TYPES.includes(r.type))
      fail(
        `memoryMap[${i}].type`,
        `expected one of ${MEMORY_TYPES.join(", ")}, got ${describeValue(r.type)}`,
      );
  });
  checkRanges("memoryMap", spec.memoryMap, physLimit, "range");
  const memoryMap: MemoryRange[] = spec.memoryMap.map((r) => ({
    start: r.start,
    end: r.end,
    type: r.type,
    ...(r.name !== undefined ? { name: String(r.name) } : {}),
  }));
  if (!memoryMap.some((r) => r.type === "usable" && r.end - r.start >= pageSize))
    fail("memoryMap", "has no usable RAM");

  const nodes: NodeDescription[] = (spec.nodes ?? [{ id: 0, start: 0, end: physLimit }]).map(
    (n) => ({ id: n.id, start: n.start, end: n.end }),
  );
  if (nodes.length === 0) fail("nodes", "expected at least one node");
  checkRanges("nodes", nodes, physLimit, "node");
  const seen = new Set<number>();
  nodes.forEach((n, i) => {
    if (!Number.isInteger(n.id) || n.id < 0 || n.id > 1023)
      fail(`nodes[${i}].id`, `expected an integer from 0 to 1023, got ${describeValue(n.id)}`);
    if (seen.has(n.id)) fail(`nodes[${i}].id`, `node ${n.id} is given twice`);
    seen.add(n.id);
    if (n.start % sectionSize !== 0 || (n.end % sectionSize !== 0 && n.end !== physLimit)) {
      fail(
        `nodes[${i}]`,
        `node ranges must be section-aligned (${describeValue(sectionSize)} bytes)`,
      );
    }
  });
  for (const [i, r] of memoryMap.entries()) {
    if (r.type !== "usable") continue;
    const inside = nodes.filter((n) => r.start < n.end && n.start < r.end);
    const covered = inside.reduce(
      (sum, n) => sum + Math.min(n.end, r.end) - Math.max(n.start, r.start),
      0,
    );
    if (covered !== r.end - r.start)
      fail(
        `memoryMap[${i}]`,
        `usable RAM ${describeValue(r.start)}-${describeValue(r.end)} is not wholly inside the nodes`,
      );
  }

  const kv = spec.kernelVirtual ?? facts.kernelVirtual;
  const kernelVirtual = {
    start: uint("kernelVirtual.start", kv.start),
    size: uint("kernelVirtual.size", kv.size),
  };
  if (
    kernelVirtual.size === 0 ||
    kernelVirtual.size % pageSize !== 0 ||
    kernelVirtual.start % pageSize !== 0
  ) {
    fail("kernelVirtual", "start and size must be page-aligned and the size non-zero");
  }
  if (!Number.isSafeInteger(kernelVirtual.start + kernelVirtual.size))
    fail("kernelVirtual", "ends above 2^53 - 1");

  const names = new Set<string>();
  const devices: DeviceDescription[] = (spec.devices ?? []).map((d, i) => {
    if (typeof d.name !== "string" || d.name.length === 0)
      fail(`devices[${i}].name`, "expected a non-empty string");
    if (names.has(d.name))
      fail(`devices[${i}].name`, `device ${describeValue(d.name)} is given twice`);
    names.add(d.name);
    if (!["isa", "pci", "platform", "xen"].includes(d.bus))
      fail(`devices[${i}].bus`, `expected isa, pci, platform or xen, got ${describeValue(d.bus)}`);
    const limit = uint(`devices[${i}].dma.limit`, d.dma?.limit);
    const alignment = pow2(`devices[${i}].dma.alignment`, d.dma.alignment, 1);
    const boundary = uint(`devices[${i}].dma.boundary`, d.dma.boundary);
    if (boundary !== 0 && !isPowerOfTwo(boundary))
      fail(
        `devices[${i}].dma.boundary`,
        `expected 0 or a power of two, got ${describeValue(boundary)}`,
      );
    const bufferSize =
      d.bufferSize === undefined ? undefined : uint(`devices[${i}].bufferSize`, d.bufferSize);
    return {
      name: d.name,
      bus: d.bus,
      dma: { limit, alignment, boundary },
      ...(bufferSize !== undefined ? { bufferSize } : {}),
    };
  });

  return {
    name,
    arch,
    pageSize,
    cacheLineSize,
    wordBits,
    physAddrBits,
    sectionSize,
    cpus,
    nodes,
    kernelVirtual,
    memoryMap,
    devices,
  };
}
