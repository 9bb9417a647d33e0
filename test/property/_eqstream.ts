/** Shared pieces of the EQStream property tests. */
import fc from "fast-check";
import type { LinkSpec } from "../../sim/mod.ts";

/** Short timers so that a simulated run stays short. */
export const FAST_SESSION = {
  giveUpUs: 4_000_000,
  idleTimeoutUs: 6_000_000,
  keepAliveUs: 1_000_000,
  statIntervalUs: 1_000_000,
  handshakeTimeoutUs: 4_000_000,
  connectTimeoutUs: 8_000_000,
} as const;

/** A chaotic link: latency distribution, loss (Bernoulli or bursts), duplication, reordering, corruption. */
export const chaosLink: fc.Arbitrary<LinkSpec> = fc.record({
  latency: fc.oneof(
    fc.integer({ min: 0, max: 80_000 }),
    fc.integer({ min: 1_000, max: 60_000 }).map((min) => ({ dist: "uniform" as const, min, max: min + 40_000 })),
    fc.integer({ min: 5_000, max: 50_000 }).map((mean) => ({ dist: "exponential" as const, mean, min: 1_000 })),
  ),
  loss: fc.oneof(
    fc.double({ min: 0, max: 0.3, noNaN: true }),
    fc.record({
      model: fc.constant("gilbert" as const),
      p: fc.double({ min: 0, max: 0.1, noNaN: true }),
      r: fc.double({ min: 0.2, max: 0.9, noNaN: true }),
    }),
  ),
  dup: fc.double({ min: 0, max: 0.1, noNaN: true }),
  reorder: fc.double({ min: 0, max: 0.1, noNaN: true }),
  corrupt: fc.double({ min: 0, max: 0.05, noNaN: true }),
});
