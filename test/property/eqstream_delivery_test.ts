/**
 * Property 1 (docs/simulator.md, reference/simulation.md): reliable delivery. For any workload and
 * any chaos plan followed by a heal, what each side received is a prefix of what the other sent
 * (no loss, duplicate, reorder or corruption), and after the heal it is complete — or the session
 * reported an explicit close. Never silent loss.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { propertyParameters } from "../_support/property.ts";
import { type Fault, runEqStreamSim } from "../eqstream/_sim_harness.ts";
import { chaosLink, FAST_SESSION } from "./_eqstream.ts";

const partition: fc.Arbitrary<Fault[]> = fc.option(
  fc.record({
    atUs: fc.integer({ min: 0, max: 3_000_000 }),
    forUs: fc.integer({ min: 100_000, max: 9_000_000 }),
  }).map((p) => [{ kind: "partition" as const, ...p }]),
  { nil: [] },
);

test("property 1: each side receives an intact, in-order prefix, complete after heal unless explicitly closed", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      fc.integer({ min: 1, max: 2 }),
      fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 0, max: 30_000 }),
      chaosLink,
      partition,
      async (seed, clients, sizes, intervalUs, link, faults) => {
        const chaosEndUs = faults.reduce((end, f) => Math.max(end, f.atUs + (f.kind === "partition" ? f.forUs : 0)), 0);
        const { clients: outcomes } = await runEqStreamSim({
          seed,
          clients,
          sizes,
          intervalUs,
          link,
          faults,
          session: FAST_SESSION,
          untilUs: chaosEndUs + 60_000_000,
        });
        for (const [c, o] of outcomes.entries()) {
          const label = `client ${c}`;
          // Safety: an intact, in-order prefix each way, nothing beyond what was sent.
          assert.equal(o.corrupt, 0, `${label}: corrupt or out-of-order messages`);
          assert.ok(o.serverGot.length <= o.sent, `${label}: server got more than was sent`);
          assert.ok(o.clientGot.length <= o.serverGot.length, `${label}: echoes of messages never delivered`);
          // Liveness after the heal, or an explicit end.
          const complete = o.clientGot.length === sizes.length;
          const explicit = o.clientClosed !== undefined;
          assert.ok(
            complete || explicit,
            `${label}: silent loss (${o.serverGot.length}/${o.clientGot.length}/${sizes.length})`,
          );
          if (explicit && !complete) {
            assert.ok(
              ["timeout", "idle", "peer", "connect_timeout", "out_of_session"].includes(o.clientClosed!.reason),
              `${label}: closed for ${o.clientClosed!.reason}`,
            );
          }
        }
      },
    ),
    propertyParameters(200),
  );
});
