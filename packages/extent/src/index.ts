export {
  type AllocRequest,
  Extent,
  type ExtentOptions,
  type Span,
  type WaitOptions,
} from "./extent.js";
export { InvalidArgumentError, KernelPanic } from "./internal/errors.js";
