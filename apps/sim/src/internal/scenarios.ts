/**
 * Scenarios: a machine, boot options and a list of steps, validated with zod so that a bad
 * scenario file gets an error naming the field and what was expected.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { InvalidArgumentError } from "@mem/machine";
import type { z } from "zod";

/**
 * Each step's parameters in the order the validated step lists them, with their defaults
 * (`undefined`: optional, no default). The zod schema takes its defaults from here, and the
 * built-in scenarios are filled in from here without loading zod (it costs about 0.2 s at start).
 */
const STEP_DEFAULTS = {
  churn: {
    ops: 100_000,
    orders: [60, 15, 10, 5, 4, 3, 2, 1],
    migratetypes: [30, 60, 10],
    meanLifetime: 2000,
    maxFraction: 0.5,
    freeAtEnd: false,
  },
  pagecache: {
    ops: 50_000,
    files: 64,
    pagesPerFile: 2048,
    writeRatio: 0.3,
    writebackEvery: 1000,
    maxFraction: 0.3,
  },
  fragment: { fill: 0.2, keepEvery: 16, unmovable: 0.3 },
  isa: {},
  capture: { bytes: undefined, legacy: true, detach: false },
  ladder: {
    sizes: [65536, 2 ** 20, 16 * 2 ** 20, 256 * 2 ** 20, 2 ** 30],
    strategies: ["free", "launder", "migrate"],
    attempts: 1,
  },
  netback: { packets: 2000, mode: "destructor" },
  hibernate: {},
  hotplug: { sections: 1, cacheOps: 4000 },
  sample: {},
} as const satisfies Record<string, Record<string, unknown>>;

/** Scenario-level defaults. */
const SCENARIO_DEFAULTS = { description: "", sampleEvery: 2000 } as const;

const copy = <T>(v: T): T => (Array.isArray(v) ? ([...v] as T) : v);

/** Builds the scenario schema with the given zod namespace. */
export function buildScenarioSchema(zod: typeof import("zod").z): z.ZodType<Scenario> {
  const z = zod;
  const D = STEP_DEFAULTS;
  const count = z.number().int().nonnegative();
  const fraction = z.number().min(0).max(1);

  const step = z.discriminatedUnion("do", [
    z.object({
      do: z.literal("churn"),
      ops: count.default(D.churn.ops),
      orders: z
        .array(z.number().nonnegative())
        .min(1)
        .max(11)
        .default(() => [...D.churn.orders]),
      migratetypes: z
        .tuple([z.number().nonnegative(), z.number().nonnegative(), z.number().nonnegative()])
        .default((): [number, number, number] => [...D.churn.migratetypes]),
      meanLifetime: z.number().positive().default(D.churn.meanLifetime),
      maxFraction: fraction.default(D.churn.maxFraction),
      freeAtEnd: z.boolean().default(D.churn.freeAtEnd),
    }),
    z.object({
      do: z.literal("pagecache"),
      ops: count.default(D.pagecache.ops),
      files: z.number().int().positive().default(D.pagecache.files),
      pagesPerFile: z
        .number()
        .int()
        .positive()
        .max(2 ** 24)
        .default(D.pagecache.pagesPerFile),
      writeRatio: fraction.default(D.pagecache.writeRatio),
      writebackEvery: count.default(D.pagecache.writebackEvery),
      maxFraction: fraction.default(D.pagecache.maxFraction),
    }),
    z.object({
      do: z.literal("fragment"),
      fill: fraction.default(D.fragment.fill),
      keepEvery: z.number().int().positive().default(D.fragment.keepEvery),
      unmovable: fraction.default(D.fragment.unmovable),
    }),
    z.object({ do: z.literal("isa") }),
    z.object({
      do: z.literal("capture"),
      bytes: z.number().int().positive().optional(),
      legacy: z.boolean().default(D.capture.legacy),
      detach: z.boolean().default(D.capture.detach),
    }),
    z.object({
      do: z.literal("ladder"),
      sizes: z
        .array(z.number().int().positive())
        .min(1)
        .default(() => [...D.ladder.sizes]),
      strategies: z
        .array(z.enum(["linear", "launder", "extent", "indexed", "migrate", "free"]))
        .min(1)
        .default(() => [...D.ladder.strategies]),
      attempts: z.number().int().positive().default(D.ladder.attempts),
    }),
    z.object({
      do: z.literal("netback"),
      packets: count.default(D.netback.packets),
      mode: z.enum(["destructor", "callback"]).default(D.netback.mode),
    }),
    z.object({ do: z.literal("hibernate") }),
    z.object({
      do: z.literal("hotplug"),
      sections: z.number().int().positive().max(64).default(D.hotplug.sections),
      cacheOps: count.default(D.hotplug.cacheOps),
    }),
    z.object({ do: z.literal("sample") }),
  ]);

  return z.object({
    name: z.string().min(1),
    description: z.string().default(SCENARIO_DEFAULTS.description),
    machine: z.string().min(1).optional(),
    bootAllocator: z.enum(["rootmem", "memblock"]).optional(),
    minFreeKbytes: count.optional(),
    cpus: z.number().int().positive().max(1024).optional(),
    seed: count.optional(),
    sampleEvery: count.default(SCENARIO_DEFAULTS.sampleEvery),
    steps: z.array(step).min(1),
  }) as unknown as z.ZodType<Scenario>;
}

/** One validated step (defaults filled in). */
export type Step =
  | {
      do: "churn";
      ops: number;
      orders: number[];
      migratetypes: [number, number, number];
      meanLifetime: number;
      maxFraction: number;
      freeAtEnd: boolean;
    }
  | {
      do: "pagecache";
      ops: number;
      files: number;
      pagesPerFile: number;
      writeRatio: number;
      writebackEvery: number;
      maxFraction: number;
    }
  | { do: "fragment"; fill: number; keepEvery: number; unmovable: number }
  | { do: "isa" }
  | { do: "capture"; bytes?: number | undefined; legacy: boolean; detach: boolean }
  | {
      do: "ladder";
      sizes: number[];
      strategies: ("linear" | "launder" | "extent" | "indexed" | "migrate" | "free")[];
      attempts: number;
    }
  | { do: "netback"; packets: number; mode: "destructor" | "callback" }
  | { do: "hibernate" }
  | { do: "hotplug"; sections: number; cacheOps: number }
  | { do: "sample" };

/** A validated scenario. */
export interface Scenario {
  name: string;
  description: string;
  machine?: string | undefined;
  bootAllocator?: "rootmem" | "memblock" | undefined;
  minFreeKbytes?: number | undefined;
  cpus?: number | undefined;
  seed?: number | undefined;
  sampleEvery: number;
  steps: Step[];
}

/** A step as written: `do` and any of its parameters (the rest take defaults). */
export interface StepInput {
  readonly do: Step["do"];
  readonly [param: string]: unknown;
}

/** A scenario as written (defaults filled in by {@link parseScenario}). */
export interface ScenarioInput {
  readonly name: string;
  readonly description?: string;
  readonly machine?: string;
  readonly bootAllocator?: "rootmem" | "memblock";
  readonly minFreeKbytes?: number;
  readonly cpus?: number;
  readonly seed?: number;
  readonly sampleEvery?: number;
  readonly steps: readonly StepInput[];
}

let schema: z.ZodType<Scenario> | null = null;

/**
 * Registers the scenario schema built with the ESM zod (`scenario-schema.ts`, imported by the
 * package's index); otherwise the first validation loads zod on demand.
 */
export function setScenarioSchema(s: z.ZodType<Scenario>): void {
  schema ??= s;
}

function scenarioSchema(): z.ZodType<Scenario> {
  if (schema === null) {
    const zod = createRequire(import.meta.url)("zod") as { z: typeof z };
    schema = buildScenarioSchema(zod.z);
  }
  return schema;
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 40)}...` : s;
}

/** Validates `input`; throws an `InvalidArgumentError` naming the first bad field. */
export function parseScenario(input: unknown, source = "scenario"): Scenario {
  const r = scenarioSchema().safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.path.map(String).join(".");
  let got: unknown = input;
  for (const p of issue.path)
    got = (got as Record<string | number, unknown> | undefined)?.[p as string];
  throw new InvalidArgumentError(
    `${source}: ${path || "(root)"}: ${issue.message} (got ${describe(got)})`,
    "EINVAL",
    path,
  );
}

/**
 * A built-in scenario with its defaults filled in from {@link STEP_DEFAULTS}, without zod: the
 * same object {@link parseScenario} returns for it (a test checks every built-in), for input that
 * is known to be valid.
 */
export function builtinScenario(name: string): Scenario | null {
  const b = Object.hasOwn(SCENARIOS, name) ? SCENARIOS[name] : undefined;
  if (b === undefined) return null;
  const out: Record<string, unknown> = { name: b.name };
  out.description = b.description ?? SCENARIO_DEFAULTS.description;
  for (const k of ["machine", "bootAllocator", "minFreeKbytes", "cpus", "seed"] as const)
    if (b[k] !== undefined) out[k] = b[k];
  out.sampleEvery = b.sampleEvery ?? SCENARIO_DEFAULTS.sampleEvery;
  out.steps = b.steps.map((st) => {
    const step: Record<string, unknown> = { do: st.do };
    for (const [k, d] of Object.entries(STEP_DEFAULTS[st.do])) {
      const v = st[k] ?? d;
      if (v !== undefined) step[k] = copy(v);
    }
    return step;
  });
  return out as unknown as Scenario;
}

const GiB = 2 ** 30;
const MiB = 2 ** 20;

/** The built-in scenarios. */
export const SCENARIOS: Record<string, ScenarioInput> = {
  showcase: {
    name: "showcase",
    description:
      "everything on the default preset: churn, page cache, fragmentation, ISA DMA, the 1 GiB capture buffer, the contig ladder, Xen netback, hotplug, hibernation",
    sampleEvery: 4000,
    steps: [
      { do: "churn", ops: 40_000, maxFraction: 0.3 },
      { do: "pagecache", ops: 30_000, files: 32, pagesPerFile: 4096 },
      { do: "isa" },
      { do: "fragment", fill: 0.04, keepEvery: 16 },
      { do: "capture", legacy: false },
      {
        do: "ladder",
        sizes: [65536, MiB, 16 * MiB],
        strategies: ["linear", "launder", "extent", "indexed", "migrate"],
        attempts: 1,
      },
      { do: "netback", packets: 1000 },
      { do: "hotplug", sections: 1, cacheOps: 3000 },
      { do: "hibernate" },
    ],
  },
  churn: {
    name: "churn",
    description: "seeded random allocation churn: 10^6 operations of mixed orders and migratetypes",
    sampleEvery: 20_000,
    steps: [{ do: "churn", ops: 1_000_000 }],
  },
  pagecache: {
    name: "pagecache",
    description: "a page-cache workload with writeback and reclaim",
    steps: [{ do: "pagecache", ops: 100_000 }],
  },
  fragmentation: {
    name: "fragmentation",
    description: "fragmentation stress, then the contiguous-allocation ladder per strategy",
    sampleEvery: 10_000,
    steps: [
      { do: "pagecache", ops: 40_000, maxFraction: 0.4 },
      { do: "fragment", fill: 0.4, keepEvery: 32, unmovable: 0.2 },
      { do: "ladder", strategies: ["linear", "launder", "extent", "indexed", "migrate"] },
    ],
  },
  devices: {
    name: "devices",
    description: "the ISA sound card and the PCI capture card",
    steps: [{ do: "pagecache", ops: 20_000 }, { do: "isa" }, { do: "capture" }],
  },
  "capture-i386": {
    name: "capture-i386",
    description:
      "FreeBSD PR 55081 on i386-4g: contigmalloc fails for kernel VA, the split API works",
    machine: "i386-4g",
    steps: [
      { do: "pagecache", ops: 20_000 },
      { do: "capture", bytes: GiB },
    ],
  },
  netback: {
    name: "netback",
    description: "Xen netfront/netback with foreign pages and destructors",
    steps: [
      { do: "churn", ops: 20_000 },
      { do: "netback", packets: 20_000 },
    ],
  },
  hotplug: {
    name: "hotplug",
    description: "a section added, filled with page cache, its pages migrated out, removed",
    steps: [
      { do: "churn", ops: 20_000 },
      { do: "hotplug", sections: 2, cacheOps: 20_000 },
    ],
  },
  hibernate: {
    name: "hibernate",
    description: "Suspend2 hibernation: pageset1, pageset2 and nosave maps, the image written",
    steps: [
      { do: "churn", ops: 30_000 },
      { do: "pagecache", ops: 30_000 },
      { do: "isa" },
      { do: "netback", packets: 500 },
      { do: "hibernate" },
    ],
  },
};

/** A built-in scenario by name, or a scenario file (JSON), validated. */
export function loadScenario(nameOrPath: string): Scenario {
  const builtin = builtinScenario(nameOrPath);
  if (builtin) return builtin;
  let text: string;
  try {
    text = readFileSync(nameOrPath, "utf8");
  } catch {
    throw new InvalidArgumentError(
      `scenario: ${JSON.stringify(nameOrPath)} is neither a built-in scenario (${Object.keys(SCENARIOS).join(", ")}) nor a readable file`,
      "EINVAL",
      "scenario",
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new InvalidArgumentError(
      `${nameOrPath}: expected a JSON scenario (${(e as Error).message})`,
      "EINVAL",
      "scenario",
    );
  }
  return parseScenario(data, nameOrPath);
}
