/**
 * The whole flow on the simulator: login, world and two zone servers on one host, six bots on their
 * own hosts over a lossy, jittery network, walking, chatting and hopping zones; a notice mid-way.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Simulation } from "../../sim/mod.ts";
import {
  botCharacterName,
  type BotOutcome,
  type BotScriptName,
  type Cluster,
  runBot,
  startCluster,
} from "../../src/roles/mod.ts";
import type { Store } from "../../src/store/mod.ts";
import { memoryStore } from "../roles/_sim.ts";
import { assertBotsOk, FlowRecorder } from "./_flow.ts";

const SCRIPTS: readonly BotScriptName[] = ["chat", "chat", "chat", "chat", "zone-hop", "walk"];

async function runFlow(seed: number) {
  const sim = new Simulation({ seed });
  const recorder = new FlowRecorder();
  const outcomes: BotOutcome[] = [];
  const names = SCRIPTS.map((_, i) => botCharacterName("Bot", i));
  let cluster: Cluster | undefined;
  let store: Store | undefined;
  sim.addHost("server", {
    start: async (platform) => {
      store = await memoryStore(platform);
      cluster = await startCluster(platform, {
        store,
        address: sim.address("server"),
        hashing: "sync",
        observer: recorder.onRole,
        login: { autoCreateAccounts: true },
      });
    },
  });
  SCRIPTS.forEach((script, i) => {
    const host = `bot${i}`;
    sim.addHost(host, {
      start: async (platform) => {
        await sim.sleep(500_000 + i * 250_000);
        outcomes.push(
          await runBot(platform, {
            server: { address: sim.address("server"), port: 9100 },
            account: `bot${i}`,
            password: "botpassword",
            characterName: names[i]!,
            script,
            durationUs: 8_000_000,
            chatIntervalUs: 700_000,
            hopIntervalUs: 2_500_000,
            peers: names,
            bindAddress: sim.address(host),
            observer: recorder.onBot,
          }),
        );
      },
    });
  });
  sim.setLinkDefaults({ latency: { dist: "normal", mean: 20_000, sd: 5_000, min: 5_000 }, jitter: 2_000, loss: 0.02 });
  sim.at(4_000_000, () => void cluster!.world.notify("The gates close at dusk", { ttlUs: 60_000_000 }));
  const result = await sim.run({ untilUs: 120_000_000, stopWhen: () => outcomes.length === SCRIPTS.length });
  return { sim, result, recorder, outcomes, cluster: cluster!, store: store! };
}

test("bots play the whole flow on a lossy simulated network: every line once, every character saved", async () => {
  const run = await runFlow(2024);
  assert.equal(run.result.reason, "stopped", `ended ${run.result.reason} at ${run.result.simTimeUs} µs`);
  assertBotsOk(run.outcomes, SCRIPTS.length);
  const chat = run.recorder.assertChatExactlyOnce();
  assert.ok(chat.lines >= 30, `only ${chat.lines} chat lines`);
  assert.ok(chat.deliveries >= 60, `only ${chat.deliveries} deliveries`);
  run.recorder.assertRoutedLinesReachedZones();
  for (const o of run.outcomes) {
    assert.equal(o.counts.notices, 1, `${o.account} saw the notice once`);
    assert.ok(o.counts.movesSent > 0);
  }
  const hopper = run.outcomes.find((o) => o.account === "bot4")!;
  assert.ok(hopper.counts.zoneChanges >= 2, `zone changes: ${hopper.counts.zoneChanges}`);
  assert.ok(run.outcomes.some((o) => o.counts.moveUpdatesSeen > 0));
  // Nobody is left in the world; each character exists once and was saved at logout.
  assert.deepEqual(run.cluster.world.players(), []);
  assert.deepEqual(run.cluster.zones.map((z) => z.playerCount), [0, 0]);
  const saves = run.recorder.roleEvents.filter((e) => e.type === "character.saved");
  const characters = await Promise.all(
    run.outcomes.map((o) => run.store.characters.findByName(run.cluster.world.worldId, o.character)),
  );
  assert.deepEqual(characters.map((c) => c?.name), run.outcomes.map((o) => o.character));
  for (const c of characters) assert.ok(saves.some((e) => (e as { charId: number }).charId === c!.id));
  assert.equal((await run.store.stats()).characters, SCRIPTS.length);
});

test("the same seed gives the same trace hash and the same outcomes", async () => {
  const a = await runFlow(77);
  const b = await runFlow(77);
  assert.equal(a.sim.traceHash(), b.sim.traceHash());
  const strip = (outcomes: BotOutcome[]) => outcomes.map((o) => JSON.stringify(o)).sort();
  assert.deepEqual(strip(a.outcomes), strip(b.outcomes));
  assert.equal(a.recorder.roleEvents.length, b.recorder.roleEvents.length);
});
