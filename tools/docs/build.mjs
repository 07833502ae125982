// `pnpm docs`: convert every ready @mem package with TypeDoc, validate, write docs/api, and exit
// non-zero when any exported name lacks a TSDoc summary (or the reference has another warning).
// Unlike `typedoc --treatValidationWarningsAsErrors`, the reference is written even when the check
// fails, so a missing comment never hides the rest of the API.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as td from "typedoc";

const here = dirname(fileURLToPath(import.meta.url));

const app = await td.Application.bootstrapWithPlugins(
  { options: join(here, "typedoc.config.mjs") },
  [new td.TypeDocReader(), new td.TSConfigReader()],
);
if (app.logger.hasErrors()) process.exit(1);

const project = await app.convert();
if (!project) process.exit(3);

app.validate(project);
await app.generateOutputs(project);

const { errorCount, warningCount } = app.logger;
if (errorCount > 0 || warningCount > 0) {
  console.error(
    `docs: ${errorCount} errors and ${warningCount} warnings; docs/api was written, but every ` +
      "exported name needs a TSDoc summary and every link must resolve.",
  );
  process.exit(4);
}
console.log(`docs: wrote ${join(here, "..", "..", "docs", "api")} with no warnings`);
