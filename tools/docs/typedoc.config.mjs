// TypeDoc configuration for `pnpm docs`: the API reference of every @mem library, generated into
// docs/api from the TSDoc comments. TypeDoc runs on this package's own TypeScript 6 (the repo
// compiles with TypeScript 7, which has no JS compiler API) and reads each package's tsconfig.json,
// so the `@mem/source` condition resolves sibling packages from source and no build is needed.
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const packagesDir = join(root, "packages");

// A package is documented once it has its public entry and its README (the last thing a package
// gets before it is called finished); packages still being written are skipped, and named, so
// that nobody mistakes a missing package for a documented one.
const order = ["machine", "extent", "pageflags", "bootmem", "buddy", "contig", "xen-foreign"];
const names = readdirSync(packagesDir).sort((a, b) => {
  const ia = order.indexOf(a);
  const ib = order.indexOf(b);
  return (ia < 0 ? order.length : ia) - (ib < 0 ? order.length : ib) || a.localeCompare(b);
});
const ready = names.filter(
  (name) =>
    existsSync(join(packagesDir, name, "src", "index.ts")) &&
    existsSync(join(packagesDir, name, "README.md")),
);
const skipped = names.filter((name) => !ready.includes(name));
if (skipped.length > 0) {
  console.warn(
    `docs: skipping packages with no src/index.ts or README.md yet: ${skipped.join(", ")}`,
  );
}

/** @type {Partial<import("typedoc").TypeDocOptions>} */
const config = {
  name: "mem API reference",
  entryPointStrategy: "packages",
  entryPoints: ready.map((name) => relative(here, join(packagesDir, name))),
  packageOptions: {
    // Both public entries of each package: the idiomatic API and the C-named compat subpath.
    entryPoints: ["src/index.ts", "src/compat.ts"],
    tsconfig: "tsconfig.json",
    excludeInternal: true,
    excludePrivate: true,
    // Source links need a git remote to point at; the reference links names to each other only.
    disableSources: true,
  },
  out: relative(here, join(root, "docs", "api")),
  readme: "none",
  disableSources: true,
  // Every exported name needs a TSDoc summary, every type the API shows must be exported, and
  // every {@link} must resolve. build.mjs writes the reference anyway, then fails on any warning.
  validation: { notExported: true, invalidLink: true, notDocumented: true },
};

export default config;
