/**
 * The zod schema of a scenario file, built with the ESM zod for the package's public API. The
 * command line does not import this module: it validates scenario files with zod loaded on demand
 * and fills in the built-in scenarios without it.
 *
 * @module
 */
import { z } from "zod";
import { buildScenarioSchema, type Scenario, setScenarioSchema } from "./scenarios.js";

/** The zod schema of a scenario file. */
export const scenarioSchema: z.ZodType<Scenario> = buildScenarioSchema(z);
setScenarioSchema(scenarioSchema);
