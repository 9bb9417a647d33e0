/**
 * Property 4: retransmission hygiene. The RTO stays within its bounds; every resend is paid for by
 * a drop (of the data or of its acknowledgement) or by a timer (a timeout resends at most two packets
 * before the path answers, a tail probe one); during a partition a session sends only a trickle
 * (exponential backoff, keep-alives, stat requests), not a storm.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { forEachPacket, ProtocolOp } from "../../src/eqstream/packets.ts";
import { DEFAULT_SESSION_OPTIONS } from "../../src/eqstream/options.ts";
import { propertyParameters } from "../_support/property.ts";
import { runEqStreamSim } from "../eqstream/_sim_harness.ts";
import { FAST_SESSION } from "./_eqstream.ts";

/** Sub-packets with one of `ops` in a datagram (its CRC is not checked: corruption is off here). */
function count(bytes: Uint8Array, ops: readonly number[]): number {
  let n = 0;
  try {
    forEachPacket(bytes, 0, bytes.length - 2, (op) => {
      if (ops.includes(op)) n++;
    });
  } catch {
    // A CRC-less or malformed datagram carries none.
  }
  return n;
}

const DATA = [ProtocolOp.Packet, ProtocolOp.Fragment];
const ACKS = [ProtocolOp.Ack, ProtocolOp.OutOfOrderAck];

test("property 4: RTO within bounds, resends paid for by drops or timers, no storm during a partition", async () => {
  const link = fc.record({
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
  });
  const partition = fc.option(
    fc.record({
      atUs: fc.integer({ min: 100_000, max: 1_000_000 }),
      forUs: fc.integer({ min: 500_000, max: 6_000_000 }),
    }),
    { nil: undefined },
  );
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 30 }),
      fc.integer({ min: 0, max: 20_000 }),
      link,
      partition,
      async (seed, sizes, intervalUs, spec, cut) => {
        const drops = { dataUp: 0, ackUp: 0, dataDown: 0, ackDown: 0 };
        const during = { client: 0, server: 0 };
        let rtoMin = Infinity;
        let rtoMax = 0;
        const { clients } = await runEqStreamSim({
          seed,
          sizes,
          intervalUs,
          link: spec,
          faults: cut ? [{ kind: "partition", ...cut }] : [],
          session: FAST_SESSION,
          untilUs: 80_000_000,
          onSim: (sim) =>
            sim.observe((e) => {
              const up = e.from === "client0";
              if (cut && e.sentAtUs >= cut.atUs && e.sentAtUs < cut.atUs + cut.forUs) {
                during[up ? "client" : "server"]++;
              }
              if (e.type !== "drop") return;
              if (up) {
                drops.dataUp += count(e.bytes, DATA);
                drops.ackUp += count(e.bytes, ACKS);
              } else {
                drops.dataDown += count(e.bytes, DATA);
                drops.ackDown += count(e.bytes, ACKS);
              }
            }),
          observe: (_side, _client, stats) => {
            rtoMin = Math.min(rtoMin, stats.rtoUs);
            rtoMax = Math.max(rtoMax, stats.rtoUs);
          },
        });
        const o = clients[0]!;
        assert.ok(rtoMin >= DEFAULT_SESSION_OPTIONS.rtoMinUs, `RTO ${rtoMin} below the floor`);
        assert.ok(rtoMax <= DEFAULT_SESSION_OPTIONS.rtoMaxUs, `RTO ${rtoMax} above the ceiling`);
        const sides = [
          ["client", o.clientStats, drops.dataUp, drops.ackDown],
          ["server", o.serverStats, drops.dataDown, drops.ackUp],
        ] as const;
        for (const [side, stats, dataDrops, ackDrops] of sides) {
          if (stats === undefined) continue;
          const paid = dataDrops + ackDrops + 2 * stats.timeouts + stats.tailLossProbes;
          assert.ok(
            stats.retransmissions <= paid,
            `${side}: ${stats.retransmissions} resends, ${dataDrops} data and ${ackDrops} ack drops, ` +
              `${stats.timeouts} timeouts, ${stats.tailLossProbes} probes`,
          );
        }
        if (cut) {
          // Backoff doubles from the floor to the ceiling; keep-alives and stat requests tick each second;
          // redundant copies of what was in flight go out a few times at most.
          const seconds = cut.forUs / 1e6;
          const bound = Math.ceil(2 * seconds + Math.log2(cut.forUs / DEFAULT_SESSION_OPTIONS.rtoMinUs) + seconds / 3) +
            2 * DEFAULT_SESSION_OPTIONS.redundancy.maxCopies + 12;
          assert.ok(during.client <= bound, `client sent ${during.client} datagrams in a ${seconds} s partition`);
          assert.ok(during.server <= bound, `server sent ${during.server} datagrams in a ${seconds} s partition`);
        }
      },
    ),
    propertyParameters(200),
  );
});
