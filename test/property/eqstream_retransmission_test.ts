/**
 * Property 4: retransmission hygiene. The RTO stays within its bounds; every resend is paid for by
 * a drop — of the packet, or of the ack that carried the news of its delivery — or by a timer (a
 * timeout or a tail probe pays for at most four resends: its own, and the recovery rounds before an
 * ack shows it was needless); during a partition
 * a session sends only a trickle (exponential backoff, keep-alives, stat requests), not a storm.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { forEachPacket, ProtocolOp, readU16 } from "../../src/eqstream/packets.ts";
import { DEFAULT_SESSION_OPTIONS } from "../../src/eqstream/options.ts";
import { propertyParameters } from "../_support/property.ts";
import { runEqStreamSim } from "../eqstream/_sim_harness.ts";
import { FAST_SESSION } from "./_eqstream.ts";

/** What a datagram carries: data packets, cumulative acks, selective acks (its CRC is not checked). */
function contents(bytes: Uint8Array): { data: number; seqs: number[]; acks: number[]; sacks: number } {
  const out = { data: 0, seqs: [] as number[], acks: [] as number[], sacks: 0 };
  try {
    forEachPacket(bytes, 0, bytes.length - 2, (op, b, start) => {
      if (op === ProtocolOp.Packet || op === ProtocolOp.Fragment) {
        out.data++;
        out.seqs.push(readU16(b, start + 2));
      } else if (op === ProtocolOp.Ack) out.acks.push(readU16(b, start + 2));
      else if (op === ProtocolOp.OutOfOrderAck) out.sacks++;
    });
  } catch {
    // A CRC-less datagram (session request or response) carries none.
  }
  return out;
}

/**
 * Counts, per direction, the data packets in dropped datagrams and the packets whose delivery news a
 * dropped datagram carried: one per selective ack, and for a cumulative ack the packets it covered
 * beyond the last cumulative ack that did arrive.
 */
class DropLedger {
  dataDrops = 0;
  ackNews = 0;
  #lastDeliveredAck = -1;

  data(type: "deliver" | "drop", bytes: Uint8Array): void {
    if (type === "drop") this.dataDrops += contents(bytes).data;
  }

  acks(type: "deliver" | "drop", bytes: Uint8Array): void {
    const { acks, sacks } = contents(bytes);
    if (type === "deliver") {
      for (const ack of acks) this.#lastDeliveredAck = ack;
      return;
    }
    this.ackNews += sacks;
    for (const ack of acks) {
      const covered = this.#lastDeliveredAck < 0 ? ack + 1 : (ack - this.#lastDeliveredAck) & 0xffff;
      if (covered < 0x8000) this.ackNews += covered;
    }
  }
}

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
        const toServer = new DropLedger();
        const toClient = new DropLedger();
        // Datagrams sent during the partition that carried nothing new (first transmissions are the
        // application's doing, not the protocol's).
        const during = { client: 0, server: 0 };
        const seen = { client: new Set<number>(), server: new Set<number>() };
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
              const side = up ? "client" : "server";
              const fresh = contents(e.bytes).seqs.filter((seq) => !seen[side].has(seq));
              for (const seq of fresh) seen[side].add(seq);
              if (cut && fresh.length === 0 && e.sentAtUs >= cut.atUs && e.sentAtUs < cut.atUs + cut.forUs) {
                during[side]++;
              }
              // Client → server datagrams carry the client's data and its acks of the server's data.
              (up ? toServer : toClient).data(e.type, e.bytes);
              (up ? toClient : toServer).acks(e.type, e.bytes);
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
          ["client", o.clientStats, toServer.dataDrops, toServer.ackNews],
          ["server", o.serverStats, toClient.dataDrops, toClient.ackNews],
        ] as const;
        for (const [side, stats, dataDrops, ackDrops] of sides) {
          if (stats === undefined) continue;
          const paid = dataDrops + ackDrops + 4 * (stats.timeouts + stats.tailLossProbes);
          assert.ok(
            stats.retransmissions <= paid,
            `${side}: ${stats.retransmissions} resends, ${dataDrops} data drops, ${ackDrops} lost ack news, ` +
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
