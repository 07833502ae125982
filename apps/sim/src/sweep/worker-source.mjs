// The sweep's worker when the sim runs from TypeScript source: tsx compiles the .ts modules and
// the pool starts this thread with --conditions=@mem/source, so @mem/* resolve to their src/.
import { register } from "tsx/esm/api";

register();
const worker = await import("./worker.ts");

export default worker.default;
