import { defineProject } from "vitest/config";

export default defineProject({
  ssr: { resolve: { conditions: ["@mem/source", "module", "node", "development|production"] } },
  test: { name: "sim", testTimeout: 60_000 },
});
