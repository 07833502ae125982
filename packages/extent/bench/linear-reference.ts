/**
 * The naive reference: NetBSD's algorithm over a sorted linear list, O(n) per operation. It
 * lives in src/internal (the compat layer can run on it with `{ engine: "linear" }`, which is how
 * the equivalence test compares the two); this module re-exports it for the benchmark.
 */
export { LinearEngine } from "../src/internal/linear-engine.js";
