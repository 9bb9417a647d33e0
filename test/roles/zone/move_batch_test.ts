/**
 * `moveBatchUs`: movement updates for a player that come soon after the last ones sent to them wait
 * for the window and go out together in one `MoveUpdates` (fewer datagrams, bounded extra latency).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { botCharacterName, type BotOutcome, runBot } from "../../../src/roles/mod.ts";
import { addClusterHost, Simulation } from "../_sim.ts";

async function walkers(moveBatchUs: number, hook = false) {
  const sim = new Simulation({ seed: 4 });
  const bots = 6;
  const outcomes: BotOutcome[] = [];
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  let observerSeen = 0;
  const seen = (fromCharId: number, sequence: number, atUs: number) => {
    if (atUs > 2_500_000) latencies.push(atUs - sent.get(`${fromCharId}:${sequence}`)!);
  };
  addClusterHost(sim, "server", { zone: { moveBatchUs } });
  for (let i = 0; i < bots; i++) {
    sim.addHost(`bot${i}`, {
      start: async (platform) => {
        await sim.sleep(500_000 + i * 100_000);
        outcomes.push(
          await runBot(platform, {
            server: { address: sim.address("server"), port: 9100 },
            bindAddress: sim.address(`bot${i}`),
            account: `walker${i}`,
            password: "botpassword",
            characterName: botCharacterName("Walker", i),
            script: "walk",
            moveHz: 20,
            durationUs: 4_000_000,
            observer: (e) => {
              if (e.type === "move.sent") sent.set(`${e.charId}:${e.sequence}`, e.atUs);
              else if (e.type === "move.seen") {
                observerSeen++;
                if (!hook) seen(e.fromCharId, e.sequence, e.atUs);
              }
            },
            ...(hook ? { onMoveSeen: seen } : {}),
          }),
        );
      },
    });
  }
  sim.setLinkDefaults({ latency: 1_000 });
  await sim.run({ untilUs: 30_000_000, stopWhen: () => outcomes.length === bots });
  const toBots = sim.linkStats().filter((l) => l.from === "server" && l.to.startsWith("bot"));
  const datagrams = toBots.reduce((n, l) => n + l.sent, 0);
  const updates = outcomes.reduce((n, o) => n + o.counts.moveUpdatesSeen, 0);
  const arrival = [...latencies];
  latencies.sort((a, b) => a - b);
  return {
    arrival,
    observerSeen,
    outcomes,
    datagrams,
    updates,
    maxLatency: latencies.at(-1)!,
    median: latencies[latencies.length >> 1]!,
  };
}

test("a movement batch window sends a player's updates together, one datagram per window at most, within the window", async () => {
  const now = await walkers(0);
  const batched = await walkers(20_000);
  for (const run of [now, batched]) assert.ok(run.outcomes.every((o) => o.ok && o.saved));
  // The bots decode the batches: about as many updates reach them (the latest of each spawn per window).
  assert.ok(batched.updates > 0.9 * now.updates, `${batched.updates} vs ${now.updates} updates`);
  // 100 updates a second reach each bot; with a 20 ms window at most 50 batches a second go out to it.
  assert.ok(batched.datagrams < 0.7 * now.datagrams, `${batched.datagrams} vs ${now.datagrams} datagrams`);
  // An update waits at most the window (plus the two 1 ms hops and the zone's turn); many go at once.
  assert.ok(now.maxLatency < 5_000, `at once: max ${now.maxLatency} µs`);
  assert.ok(batched.maxLatency <= 23_000, `batched: max ${batched.maxLatency} µs`);
  assert.ok(batched.median > 5_000 && batched.median < 15_000, `batched: median ${batched.median} µs`);
});

test("onMoveSeen gets every update the observer's move.seen events would, and the observer none", async () => {
  const events = await walkers(20_000);
  const hook = await walkers(20_000, true);
  assert.ok(events.arrival.length > 1000, `${events.arrival.length} updates`);
  // Same seed, same run: the same updates in the same order, and no event objects.
  assert.deepEqual(hook.arrival, events.arrival);
  assert.ok(events.observerSeen > 1000);
  assert.equal(hook.observerSeen, 0);
});
