/** Do not sleep for descriptor memory (NetBSD value 0). */
export const EX_NOWAIT = 0x0;
/** May sleep for a region descriptor. */
export const EX_WAITOK = 0x1;
/** First fit instead of best fit. */
export const EX_FAST = 0x2;
/** Sleeps are interruptible (here: cancellable with an AbortSignal). */
export const EX_CATCH = 0x4;
/** Create-time: never coalesce adjacent allocations. */
export const EX_NOCOALESCE = 0x8;
/** Fixed extents: take a descriptor from the pool when the freelist is empty. */
export const EX_MALLOCOK = 0x10;
/** On a conflict or no fit, sleep until a free and retry. */
export const EX_WAITSPACE = 0x20;
/** Boundary lines are counted from 0 rather than from the extent start. */
export const EX_BOUNDZERO = 0x40;
/** Create-time: early-boot extent without lock or condition variable (cannot sleep). */
export const EX_EARLY = 0x80;
/** Placeholder alignment argument: no alignment. */
export const EX_NOALIGN = 1;
/** Placeholder boundary argument: no boundary. */
export const EX_NOBOUNDARY = 0;

/** Internal flag: the extent uses caller-provided fixed storage. */
export const EXF_FIXED = 0x1;
/** Internal flag: the extent never coalesces. */
export const EXF_NOCOALESCE = 0x2;
/** Internal flag: early-boot extent. */
export const EXF_EARLY = 0x4;

/** Region descriptor flag: the descriptor came from the pool, not from fixed storage. */
export const ER_ALLOC = 0x1;

/** NetBSD errno: resource temporarily unavailable (no space). */
export const EAGAIN = 35;
/** NetBSD errno: no region descriptor could be obtained. */
export const ENOMEM = 12;
/** NetBSD errno: invalid argument (non-DIAGNOSTIC kernels only). */
export const EINVAL = 22;
/** NetBSD errno: a sleep was interrupted. */
export const EINTR = 4;
