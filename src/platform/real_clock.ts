import type { Clock } from "./platform.ts";

/** The runtime's monotonic clock in integer microseconds, and its wall clock. */
export const realClock: Clock = {
  now: () => Math.floor(performance.now() * 1000),
  wallMs: () => Date.now(),
};
