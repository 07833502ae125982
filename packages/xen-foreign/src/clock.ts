/**
 * Simulated time, in microseconds, driven by whoever runs the simulation (`tick(us)`).
 *
 * @module
 */
import { assertUint } from "@mem/machine";

/** Kernel ticks per second of the modelled XenLinux (2.6.18's x86 default `CONFIG_HZ`). */
export const HZ = 250;
/** Microseconds per second. */
export const USEC_PER_SEC = 1_000_000;

/** A clock that only moves when told to. */
export class SimClock {
  /** Current simulated time in microseconds. */
  nowUs: number;

  /** @param startUs - the initial time. */
  constructor(startUs = 0) {
    assertUint("startUs", startUs);
    this.nowUs = startUs;
  }

  /** Advances the clock by `us` microseconds; returns the new time. */
  tick(us: number): number {
    assertUint("us", us);
    this.nowUs += us;
    return this.nowUs;
  }

  /** Current time in jiffies. */
  get jiffies(): number {
    return Math.floor((this.nowUs * HZ) / USEC_PER_SEC);
  }
}
