/**
 * Property 3: sequence wrap-around. Sequence numbers cross 65535 → 0 with order and acks intact:
 * every run starts both directions just below the wrap (the EQ2 default is 0; both ends must agree),
 * and one long run sends more than 65 536 packets from 0.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { propertyParameters } from "../_support/property.ts";
import { runEqStreamSim } from "../eqstream/_sim_harness.ts";

test("property 3: order, content and acks survive the u16 wrap under loss, duplication and reordering", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      fc.integer({ min: 65_536 - 400, max: 65_535 }),
      fc.integer({ min: 300, max: 700 }),
      fc.double({ min: 0, max: 0.2, noNaN: true }),
      fc.double({ min: 0, max: 0.1, noNaN: true }),
      fc.double({ min: 0, max: 0.1, noNaN: true }),
      async (seed, initialSequence, count, loss, dup, reorder) => {
        // 300-byte messages travel one per sequence number (too big to share an AppCombined).
        const sizes = new Array<number>(count).fill(300);
        const { clients } = await runEqStreamSim({
          seed,
          sizes,
          intervalUs: 200,
          link: { latency: { dist: "uniform", min: 2_000, max: 10_000 }, loss, dup, reorder },
          session: { initialSequence },
          untilUs: 600_000_000,
        });
        const o = clients[0]!;
        assert.equal(o.corrupt, 0);
        assert.equal(o.serverGot.length, count);
        assert.equal(o.clientGot.length, count);
        assert.equal(o.clientClosed, undefined);
      },
    ),
    propertyParameters(200),
  );
});

test("property 3: more than 65 536 packets from sequence 0 keep order and acks right", async () => {
  const count = 66_000;
  const { clients } = await runEqStreamSim({
    seed: 3,
    sizes: new Array<number>(count).fill(300),
    intervalUs: 50,
    echo: false,
    link: { latency: 1_000, loss: 0.01 },
    untilUs: 600_000_000,
  });
  const o = clients[0]!;
  assert.equal(o.corrupt, 0);
  assert.equal(o.serverGot.length, count);
  assert.ok((o.clientStats?.packetsSent ?? 0) > 0);
});
