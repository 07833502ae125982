/**
 * Sweep input: the seed list (`1..100`, `1,5,9`, `1..10,20`), the parameters (`key=v1,v2`) and how
 * each parameter maps onto the boot options or the scenario's steps. Keys and values are validated
 * with zod; a bad one throws an `InvalidArgumentError` naming the parameter.
 *
 * @module
 */
import { InvalidArgumentError } from "@mem/machine";
import { z } from "zod";
import { resolveMachineSpec } from "../internal/boot.js";
import { parseScenario, type Scenario } from "../internal/scenarios.js";

/** A parameter value: numbers and booleans are parsed, anything else stays a string. */
export type ParamValue = string | number | boolean;

/** The most runs one sweep may ask for. */
export const MAX_SWEEP_RUNS = 1_000_000;

/** The boot options a run gets (on top of the scenario's). */
export interface SweepBoot {
  readonly machine?: string | undefined;
  readonly bootAllocator?: "rootmem" | "memblock" | undefined;
  readonly minFreeKbytes?: number | undefined;
  readonly cpus?: number | undefined;
}

const intFrom = (min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === "string" && /^\s*-?\d+(\.\d*)?\s*$/.test(v) ? Number(v) : v),
    z.number().int().min(min).max(max),
  );

/** Parameters that are boot options or scenario fields, with their schemas. */
export const TOP_PARAMS: Readonly<Record<string, z.ZodType>> = {
  machine: z.string().min(1),
  bootAllocator: z.enum(["rootmem", "memblock"]),
  minFreeKbytes: intFrom(0, 2 ** 31),
  cpus: intFrom(1, 1024),
  sampleEvery: intFrom(0, 2 ** 31),
};

const STEP_KINDS = [
  "churn",
  "pagecache",
  "fragment",
  "isa",
  "capture",
  "ladder",
  "netback",
  "hibernate",
  "hotplug",
  "sample",
] as const;

const keySchema = z.union([
  z.enum(Object.keys(TOP_PARAMS) as [string, ...string[]]),
  z.string().regex(new RegExp(`^(${STEP_KINDS.join("|")})\\.[A-Za-z]+$`)),
  z.string().regex(/^steps\.\d+\.[A-Za-z]+$/),
]);

function bad(field: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError(`--${field}: ${message}`, "EINVAL", field);
}

const seedsSchema = z
  .string()
  .trim()
  .regex(/^\d+(\.\.\d+)?(,\d+(\.\.\d+)?)*$/, "expected seeds like 1..100, 1,2,3 or 1..10,20");

/** Parses `1..100`, `1,5,9` or `1..10,20` into the list of seeds (in order, duplicates dropped). */
export function parseSeeds(spec: string): number[] {
  const r = seedsSchema.safeParse(spec);
  if (!r.success) throw bad("seeds", `${r.error.issues[0]!.message}, got ${JSON.stringify(spec)}`);
  const out: number[] = [];
  const seen = new Set<number>();
  for (const part of r.data.split(",")) {
    const [a, b] = part.split("..").map(Number) as [number, number | undefined];
    const hi = b ?? a;
    if (!Number.isSafeInteger(a) || !Number.isSafeInteger(hi) || hi < a)
      throw bad("seeds", `bad range ${JSON.stringify(part)} (expected low..high, low <= high)`);
    if (hi - a + out.length >= MAX_SWEEP_RUNS)
      throw bad("seeds", `at most ${MAX_SWEEP_RUNS} seeds, got ${JSON.stringify(spec)}`);
    for (let s = a; s <= hi; s++)
      if (!seen.has(s)) {
        seen.add(s);
        out.push(s);
      }
  }
  return out;
}

/** A value as written on the command line: `true`/`false`, a number, or a string. */
export function parseValue(text: string): ParamValue {
  const t = text.trim();
  if (t === "true") return true;
  if (t === "false") return false;
  if (/^-?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(t)) return Number(t);
  return t;
}

/** Parses repeated `key=v1,v2` options into key → values (in order). */
export function parseParamSpecs(specs: readonly string[]): Record<string, ParamValue[]> {
  const out: Record<string, ParamValue[]> = {};
  for (const spec of specs) {
    const eq = spec.indexOf("=");
    const key = eq < 0 ? spec : spec.slice(0, eq);
    if (eq < 0 || eq === spec.length - 1)
      throw bad("param", `expected key=v1,v2,..., got ${JSON.stringify(spec)}`);
    const values = spec
      .slice(eq + 1)
      .split(",")
      .map((v) => v.trim());
    if (values.some((v) => v === ""))
      throw bad(`param ${key}`, `empty value in ${JSON.stringify(spec)}`);
    if (out[key]) throw bad(`param ${key}`, "given twice");
    out[key] = values.map(parseValue);
  }
  return out;
}

/** Every combination of `params` (the first key varies slowest), `[{}]` for none. */
export function combinations(
  params: Readonly<Record<string, readonly ParamValue[]>>,
): Record<string, ParamValue>[] {
  let out: Record<string, ParamValue>[] = [{}];
  for (const [key, values] of Object.entries(params))
    out = out.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  return out;
}

/** A validated run: its scenario with the step parameters applied, and its boot options. */
export interface AppliedParams {
  readonly scenario: Scenario;
  readonly boot: SweepBoot;
}

/**
 * Applies one combination to `base` (a validated scenario) and `boot`; validates keys and values
 * (a step key must name a step of the scenario and a field of that step).
 */
export function applyParams(
  base: Scenario,
  boot: SweepBoot,
  combo: Readonly<Record<string, ParamValue>>,
): AppliedParams {
  const raw = JSON.parse(JSON.stringify(base)) as Record<string, unknown> & {
    steps: Record<string, unknown>[];
  };
  const b: Record<string, unknown> = { ...boot };
  const stepKeys: { key: string; index: number; field: string }[] = [];
  for (const [key, value] of Object.entries(combo)) {
    const field = `param ${key}`;
    const k = keySchema.safeParse(key);
    if (!k.success)
      throw bad(
        field,
        `unknown parameter; expected one of ${Object.keys(TOP_PARAMS).join(", ")}, <step>.<field> (e.g. fragment.fill, churn.ops) or steps.<i>.<field>`,
      );
    const top = TOP_PARAMS[key];
    if (top) {
      const r = top.safeParse(typeof value === "string" ? value : String(value));
      if (!r.success)
        throw bad(field, `${r.error.issues[0]!.message} (got ${JSON.stringify(value)})`);
      if (key === "machine") {
        try {
          resolveMachineSpec(r.data as string);
        } catch (e) {
          throw bad(field, (e as Error).message);
        }
      }
      if (key === "sampleEvery") raw.sampleEvery = r.data;
      else b[key] = r.data;
      continue;
    }
    const parts = key.split(".");
    const fieldName = parts.at(-1)!;
    let indices: number[];
    if (parts[0] === "steps") {
      const i = Number(parts[1]);
      if (i >= raw.steps.length)
        throw bad(field, `the scenario has ${raw.steps.length} steps (0..${raw.steps.length - 1})`);
      indices = [i];
    } else {
      indices = raw.steps.flatMap((s, i) => (s.do === parts[0] ? [i] : []));
      if (indices.length === 0) throw bad(field, `scenario ${base.name} has no ${parts[0]} step`);
    }
    for (const i of indices) {
      raw.steps[i]![fieldName] = value;
      stepKeys.push({ key, index: i, field: fieldName });
    }
  }
  let scenario: Scenario;
  try {
    scenario = parseScenario(raw, base.name);
  } catch (e) {
    const bad0 = e as InvalidArgumentError;
    const hit = stepKeys.find((s) => bad0.message.includes(`steps.${s.index}.${s.field}`));
    throw hit ? bad(`param ${hit.key}`, bad0.message) : e;
  }
  for (const s of stepKeys)
    if (!(s.field in (scenario.steps[s.index] as object)))
      throw bad(
        `param ${s.key}`,
        `a ${scenario.steps[s.index]!.do} step has no field ${JSON.stringify(s.field)}; it has ${Object.keys(scenario.steps[s.index]!).join(", ")}`,
      );
  return { scenario, boot: b as SweepBoot };
}
