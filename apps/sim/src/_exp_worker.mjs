import { register } from "tsx/esm/api";

register();
const mod = await import("./index.ts");
export default async function (x) {
  const r = mod.simulate("fragmentation", { machine: "small", seed: x });
  return r.digest;
}
