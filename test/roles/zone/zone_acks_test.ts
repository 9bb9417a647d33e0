/**
 * Zone sessions delay a lone ack up to 25 ms on both ends (EQStream's own default is 2 ms), so acks
 * ride on updates; both ends must agree, or the side expecting faster acks sends a probe per packet.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { botCharacterName, type BotOutcome, runBot, ZONE_DEFAULTS } from "../../../src/roles/mod.ts";
import { addClusterHost, Simulation } from "../_sim.ts";

/** One bot walking alone in a zone at 5 Hz; what its zone session's datagrams look like from 2.5 s to 4 s. */
async function loneWalker(options: { zoneAckUs?: number; botAckUs?: number }) {
  const sim = new Simulation({ seed: 6 });
  let outcome: BotOutcome | undefined;
  let zonePort = 0;
  addClusterHost(
    sim,
    "server",
    { zone: options.zoneAckUs === undefined ? {} : { session: { ackDelayUs: options.zoneAckUs } } },
    (cluster) => zonePort = cluster.zones[0]!.eqstream.local.port,
  );
  sim.addHost("bot", {
    start: async (platform) => {
      await sim.sleep(500_000);
      outcome = await runBot(platform, {
        server: { address: sim.address("server"), port: 9100 },
        bindAddress: sim.address("bot"),
        account: "walker",
        password: "botpassword",
        characterName: botCharacterName("Walker", 1),
        script: "walk",
        moveHz: 5,
        durationUs: 4_000_000,
        ...(options.botAckUs === undefined ? {} : { session: { ackDelayUs: options.botAckUs } }),
      });
    },
  });
  // After each datagram the bot sends the zone (a move, 200 ms apart), how long until the zone answers.
  const gaps: number[] = [];
  let up = 0;
  let lastUp: number | undefined;
  sim.observe((e) => {
    if (e.type !== "deliver" || e.timeUs < 2_500_000 || e.timeUs > 4_000_000) return;
    if (e.from === "bot" && e.dstPort === zonePort) {
      up++;
      lastUp ??= e.timeUs;
    } else if (e.from === "server" && e.srcPort === zonePort && lastUp !== undefined) {
      gaps.push(e.timeUs - lastUp);
      lastUp = undefined;
    }
  });
  await sim.run({ untilUs: 30_000_000, stopWhen: () => outcome !== undefined });
  assert.ok(outcome?.ok && outcome.saved, outcome?.error);
  gaps.sort((a, b) => a - b);
  return { median: gaps[gaps.length >> 1]!, answers: gaps.length, up };
}

test("zone sessions ack a lone move after 25 ms on both ends, and send each move once", async () => {
  assert.equal(ZONE_DEFAULTS.ackDelayUs, 25_000);
  const run = await loneWalker({});
  assert.ok(run.answers >= 6, `${run.answers} answers`);
  assert.ok(run.median >= 25_000 && run.median < 27_000, `median ${run.median} µs`);
  assert.equal(run.up, run.answers, "one datagram per move: no probe before the ack");
});

test("with EQStream's 2 ms on both ends the zone acks at once; a mismatch draws a probe per move", async () => {
  const fast = await loneWalker({ zoneAckUs: 2_000, botAckUs: 2_000 });
  assert.ok(fast.median >= 2_000 && fast.median < 4_000, `median ${fast.median} µs`);
  assert.equal(fast.up, fast.answers);
  // The bot expects acks within 2 ms (10 ms floor) but the zone waits 25 ms: every move is probed.
  const mismatched = await loneWalker({ botAckUs: 2_000 });
  assert.ok(mismatched.up > 1.5 * mismatched.answers, `${mismatched.up} datagrams for ${mismatched.answers} moves`);
});
