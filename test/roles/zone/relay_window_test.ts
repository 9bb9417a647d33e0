/**
 * `relayWindowUs`: sends to other players wait up to the window so that a player's updates share
 * datagrams (fewer datagrams, a little more latency).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { botCharacterName, type BotOutcome, runBot, startCluster } from "../../../src/roles/mod.ts";
import { memoryStore, Simulation } from "../_sim.ts";

async function walkers(relayWindowUs: number) {
  const sim = new Simulation({ seed: 4 });
  const bots = 6;
  const outcomes: BotOutcome[] = [];
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  sim.addHost("server", {
    start: async (platform) => {
      const store = await memoryStore(platform);
      await startCluster(platform, {
        store,
        address: sim.address("server"),
        hashing: "sync",
        zoneServers: 1,
        login: { autoCreateAccounts: true },
        zone: { relayWindowUs },
      });
    },
  });
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
              else if (e.type === "move.seen" && e.atUs > 2_500_000) {
                latencies.push(e.atUs - sent.get(`${e.fromCharId}:${e.sequence}`)!);
              }
            },
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
  latencies.sort((a, b) => a - b);
  return { outcomes, datagrams, updates, maxLatency: latencies.at(-1)!, median: latencies[latencies.length >> 1]! };
}

test("a relay window makes the updates for one player share datagrams, within the window's latency", async () => {
  const now = await walkers(0);
  const batched = await walkers(40_000);
  for (const run of [now, batched]) assert.ok(run.outcomes.every((o) => o.ok && o.saved));
  // Six bots in view of each other at 20 Hz for 4 s: 100 updates a second reach each bot, 2400 in all.
  assert.ok(now.updates > 2_000 && batched.updates > 2_000, `${now.updates} / ${batched.updates} updates`);
  assert.ok(batched.datagrams < now.datagrams / 2, `${batched.datagrams} vs ${now.datagrams} datagrams`);
  // At once: the two link hops (1 ms each) and the turn the zone waits; with the window at most 40 ms more.
  assert.ok(now.maxLatency < 5_000, `at once: max ${now.maxLatency} µs`);
  assert.ok(
    batched.median > 5_000 && batched.maxLatency <= 45_000,
    `window: ${batched.median} / ${batched.maxLatency} µs`,
  );
});
