/**
 * C names for the machine's page-frame helpers, for code ported from a kernel:
 * `pfn_valid`, `pfn_valid_range`, `PFN_UP`, `PFN_DOWN`, `PFN_PHYS`, `PHYS_PFN`, and the page flag
 * tests over a machine's page frame database.
 *
 * @packageDocumentation
 */
export {
  ClearPageReserved,
  PageBuddy,
  PageReserved,
  PFN_DOWN,
  PFN_PHYS,
  PFN_UP,
  PHYS_PFN,
  page_count,
  pfn_valid,
  pfn_valid_range,
  SetPageReserved,
} from "./internal/compat-names.js";
export * from "./page-flags.js";
