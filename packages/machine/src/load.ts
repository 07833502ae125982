/**
 * Loading a machine from a preset name, or from a file holding a dmesg e820 excerpt, a copy of
 * `/proc/iomem`, or a JSON machine file; the format is recognised from the content.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { MachineSpec } from "./description.js";
import { InvalidArgumentError } from "./errors.js";
import { parseE820, parseIomem } from "./import-e820.js";
import { createMachine, type Machine } from "./machine.js";
import { parseMachineFile } from "./machine-file.js";
import { PRESETS } from "./presets.js";

/** The formats {@link parseMachineText} recognises. */
export type MachineTextFormat = "json" | "e820" | "iomem";

/** Guesses the format of a machine text, or undefined. */
export function detectMachineFormat(text: string): MachineTextFormat | undefined {
  const t = text.trimStart();
  if (t.startsWith("{")) return "json";
  if (/BIOS-e820:/.test(text)) return "e820";
  if (/^[0-9a-fA-F]+-[0-9a-fA-F]+ : /m.test(text)) return "iomem";
  return undefined;
}

/**
 * Turns a machine text into a spec. e820 and iomem imports describe an x86_64 machine with one
 * node; the physical address width grows to 52 bits if the map needs it.
 *
 * @throws {@link InvalidArgumentError} naming the field or line that is wrong.
 */
export function parseMachineText(text: string, name = "imported"): MachineSpec {
  const format = detectMachineFormat(text);
  if (format === "json") return { name, ...parseMachineFile(text) };
  if (format === undefined) {
    throw new InvalidArgumentError(
      "unrecognised machine text: expected a JSON machine file, BIOS-e820 lines from dmesg, or /proc/iomem",
      "EINVAL",
      "(file)",
    );
  }
  const memoryMap = format === "e820" ? parseE820(text) : parseIomem(text);
  const top = memoryMap.reduce((m, r) => Math.max(m, r.end), 0);
  return { name, arch: "x86_64", physAddrBits: top > 2 ** 46 ? 52 : 46, memoryMap };
}

/**
 * A machine from a preset name or a file path.
 *
 * @throws {@link InvalidArgumentError} for an unknown preset, an unreadable file, or a bad file.
 */
export function loadMachine(presetOrPath: string): Machine {
  return createMachine(loadMachineSpec(presetOrPath));
}

/** The spec behind {@link loadMachine}. */
export function loadMachineSpec(presetOrPath: string): MachineSpec {
  const preset = PRESETS[presetOrPath];
  if (preset) return preset;
  let text: string;
  try {
    text = readFileSync(presetOrPath, "utf8");
  } catch (err) {
    throw new InvalidArgumentError(
      `${JSON.stringify(presetOrPath)} is neither a preset (${Object.keys(PRESETS).join(", ")}) nor a readable file: ${(err as Error).message}`,
      "ENOENT",
      "machine",
    );
  }
  return parseMachineText(text, basename(presetOrPath).replace(/\.[^.]+$/, ""));
}
