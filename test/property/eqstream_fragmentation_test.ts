/**
 * Property 2: fragmentation. Messages of any size from 0 to the limit — including the sizes at the
 * datagram boundaries, ±1 — round-trip under loss, duplication and reordering; no datagram exceeds
 * the negotiated max length; no reassembly state is left behind.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { propertyParameters } from "../_support/property.ts";
import { runEqStreamSim } from "../eqstream/_sim_harness.ts";
import type { SessionStats } from "../../src/eqstream/stats.ts";

const MAX_MESSAGE = 70_000;
/** The largest payload the server can echo: its zlib worst case must stay within the limit. */
const LARGEST = 69_900;
/** What a unit's body may hold in a datagram of `length` bytes (see UNIT_OVERHEAD in session.ts). */
const bodyMax = (length: number) => length - 16;

/** Payload sizes around the boundaries of a negotiated length: one unit, one fragment, two, AppCombined. */
function boundarySizes(length: number): number[] {
  const u = bodyMax(length);
  // Client → server app bytes are the opcode byte plus the payload.
  const around = [u, u - 4 + u, 253, 254, 255, 256].flatMap((b) => [b - 2, b - 1, b]);
  return [0, 1, ...around, LARGEST].filter((n) => n >= 0 && n <= LARGEST);
}

test("property 2: every size class round-trips within the negotiated datagram size, leaving no reassembly state", async () => {
  const lengths = fc.constantFrom(128, 256, 512, 1400);
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      lengths,
      lengths,
      fc.array(fc.oneof(fc.nat(40), fc.integer({ min: 0, max: LARGEST })), { minLength: 1, maxLength: 6 }),
      fc.double({ min: 0, max: 0.15, noNaN: true }),
      fc.double({ min: 0, max: 0.1, noNaN: true }),
      fc.double({ min: 0, max: 0.1, noNaN: true }),
      async (seed, clientLength, serverLength, picks, loss, dup, reorder) => {
        const negotiated = Math.min(clientLength, serverLength);
        const boundaries = boundarySizes(negotiated);
        const sizes = picks.map((p) => (p <= 40 ? boundaries[p % boundaries.length]! : p));
        let largest = 0;
        const last: { client?: SessionStats; server?: SessionStats } = {};
        const { clients } = await runEqStreamSim({
          seed,
          sizes,
          link: { latency: { dist: "uniform", min: 5_000, max: 30_000 }, loss, dup, reorder },
          session: { maxMessageBytes: MAX_MESSAGE, maxDatagramBytes: clientLength },
          serverSession: { maxMessageBytes: MAX_MESSAGE, maxDatagramBytes: serverLength },
          untilUs: 300_000_000,
          onSim: (sim) =>
            sim.observe((event) => {
              largest = Math.max(largest, event.bytes.length);
            }),
          observe: (side, _client, stats) => {
            last[side] = stats;
          },
        });
        const o = clients[0]!;
        assert.equal(o.corrupt, 0);
        assert.equal(o.serverGot.length, sizes.length, `server got ${o.serverGot.length} of ${sizes.length}`);
        assert.equal(o.clientGot.length, sizes.length, `client got ${o.clientGot.length} of ${sizes.length}`);
        assert.ok(largest <= negotiated, `a ${largest}-byte datagram on a ${negotiated}-byte session`);
        assert.equal(last.client?.maxDatagramBytes, negotiated);
        assert.equal(last.client?.reassemblyBytes, 0);
        assert.equal(last.server?.reassemblyBytes, 0);
      },
    ),
    propertyParameters(200),
  );
});
