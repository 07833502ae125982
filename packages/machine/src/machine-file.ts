/**
 * Machine files: a JSON description of a machine, validated with zod so that a bad file gets an
 * error naming the field and what was expected. Numbers may be written as JSON numbers, hex
 * strings (`"0x100000"`) or sizes (`"64M"`, `"4G"`, `"1T"`; binary units).
 *
 * zod is loaded on the first machine file, not when the package is imported: most programs boot
 * presets, and loading zod costs a fifth of a second of start-up through a TypeScript loader.
 *
 * @module
 */
import { createRequire } from "node:module";
import type { z as Zod } from "zod";
import type { MachineSpec } from "./description.js";
import { MEMORY_TYPES } from "./description.js";
import { InvalidArgumentError } from "./errors.js";

const UNITS: Readonly<Record<string, number>> = {
  K: 2 ** 10,
  M: 2 ** 20,
  G: 2 ** 30,
  T: 2 ** 40,
  P: 2 ** 50,
};

let cached: Zod.ZodType<MachineSpec, unknown> | undefined;

/**
 * The zod schema of a machine file (built, and zod loaded, on the first call).
 */
export function machineFileSchema(): Zod.ZodType<MachineSpec, unknown> {
  cached ??= buildSchema();
  return cached;
}

function buildSchema(): Zod.ZodType<MachineSpec, unknown> {
  const { z } = createRequire(import.meta.url)("zod") as { z: typeof Zod };
  const num = z.union([z.number(), z.string()]).transform((value, ctx): number => {
    let n: number;
    if (typeof value === "number") n = value;
    else if (/^0x[0-9a-fA-F]+$/.test(value)) {
      const big = BigInt(value);
      n = big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.NaN : Number(big);
    } else {
      const m = /^(\d+)([KMGTP])i?B?$/.exec(value);
      n = m ? Number(m[1]) * UNITS[m[2]!]! : Number.NaN;
    }
    if (!Number.isSafeInteger(n) || n < 0) {
      ctx.addIssue({
        code: "custom",
        message: `expected a non-negative integer (a number, "0x..." hex, or a size like "64M"), got ${JSON.stringify(value)}`,
      });
      return z.NEVER;
    }
    return n;
  });

  const range = z.object({ start: num, end: num });

  return z
    .object({
      name: z.string().min(1).optional(),
      arch: z.enum(["x86_64", "i386", "alpha"]).optional(),
      pageSize: num.optional(),
      wordBits: z.union([z.literal(32), z.literal(64)]).optional(),
      physAddrBits: z.number().int().min(24).max(52).optional(),
      sectionSize: num.optional(),
      cpus: z.number().int().min(1).max(1024).optional(),
      cacheLineSize: num.optional(),
      nodes: z
        .array(range.extend({ id: z.number().int().min(0).max(1023) }))
        .min(1)
        .optional(),
      kernelVirtual: z.object({ start: num, size: num }).optional(),
      memoryMap: z
        .array(
          range.extend({
            type: z.enum(MEMORY_TYPES as [string, ...string[]]),
            name: z.string().optional(),
          }),
        )
        .min(1),
      devices: z
        .array(
          z.object({
            name: z.string().min(1),
            bus: z.enum(["isa", "pci", "platform", "xen"]),
            dma: z.object({ limit: num, alignment: num, boundary: num }),
            bufferSize: num.optional(),
          }),
        )
        .optional(),
    })
    .strict() as unknown as Zod.ZodType<MachineSpec, unknown>;
}

/**
 * Parses a machine file's JSON text into a spec.
 *
 * @throws {@link InvalidArgumentError} naming the first bad field (e.g. `memoryMap.2.type`) and
 * what was expected.
 */
export function parseMachineFile(text: string): MachineSpec {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(
      `machine file is not valid JSON: ${(err as Error).message}`,
      "EINVAL",
      "(file)",
    );
  }
  const result = machineFileSchema().safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.length ? issue.path.join(".") : "(root)";
    throw new InvalidArgumentError(`${field}: ${issue.message}`, "EINVAL", field);
  }
  return result.data;
}
