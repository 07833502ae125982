/**
 * The switch of the allocator's fast paths, for tests: an allocator built while `enabled` is false
 * takes the generic paths for everything, so that a test can run the same operations through both
 * and compare every result and the whole state.
 *
 * @module
 */

/** Read by the `BuddyAllocator` constructor. Tests only. */
export const fastPaths: { enabled: boolean } = { enabled: true };
