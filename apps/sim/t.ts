import { boot } from "./src/index.ts";

const k = boot();
let t = performance.now();
const r = k.run({ name: "c", sampleEvery: 0, steps: [{ do: "churn", ops: 1_000_000 }] });
console.log("churn 1e6 ms", performance.now() - t);
const k2 = boot();
t = performance.now();
const r2 = k2.run("showcase");
console.log(
  "showcase ms",
  performance.now() - t,
  r2.steps.map((s) => `${s.do} ${s.wallMs.toFixed(0)}`).join(", "),
);
