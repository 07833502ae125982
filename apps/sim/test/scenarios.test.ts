import { describe, expect, it } from "vitest";
import { loadScenario, parseScenario, SCENARIOS, scenarioSchema } from "../src/index.js";
import { builtinScenario } from "../src/internal/scenarios.js";

describe("built-in scenarios without zod", () => {
  it("fills in the same defaults, in the same order, as the zod schema", () => {
    for (const [name, input] of Object.entries(SCENARIOS)) {
      const viaZod = parseScenario(input, name);
      const fast = builtinScenario(name);
      expect(JSON.stringify(fast)).toBe(JSON.stringify(viaZod));
      expect(fast).toEqual(viaZod);
      expect(JSON.stringify(loadScenario(name))).toBe(JSON.stringify(viaZod));
      expect(scenarioSchema.parse(input)).toEqual(viaZod);
    }
  });

  it("fills every default of every step kind like the schema", () => {
    const kinds = [
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
    const s = parseScenario({ name: "all", steps: kinds.map((k) => ({ do: k })) });
    const saved = SCENARIOS.__all;
    SCENARIOS.__all = { name: "all", steps: kinds.map((k) => ({ do: k })) };
    try {
      expect(JSON.stringify(builtinScenario("__all"))).toBe(JSON.stringify(s));
    } finally {
      if (saved === undefined) delete SCENARIOS.__all;
    }
  });

  it("is not a built-in for inherited names", () => {
    expect(builtinScenario("toString")).toBeNull();
    expect(builtinScenario("nope")).toBeNull();
  });
});
