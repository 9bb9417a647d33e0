/**
 * Zone changes between two instances hosted by the same zone server (world hands the character back
 * to the server it is leaving).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { botCharacterName, type BotOutcome, runBot } from "../../../src/roles/mod.ts";
import { addClusterHost, Simulation } from "../_sim.ts";

test("a player changes zone between two instances of one zone server and is answered, not dropped", async () => {
  const sim = new Simulation({ seed: 11 });
  let outcome: BotOutcome | undefined;
  addClusterHost(sim, "server");
  sim.addHost("bot", {
    start: async (platform) => {
      await sim.sleep(500_000);
      outcome = await runBot(platform, {
        server: { address: sim.address("server"), port: 9100 },
        bindAddress: sim.address("bot"),
        account: "hopper",
        password: "botpassword",
        characterName: botCharacterName("Hopper", 1),
        script: "zone-hop",
        durationUs: 7_000_000,
        hopIntervalUs: 2_000_000,
        zones: ["qeynos", "antonica"],
      });
    },
  });
  sim.setLinkDefaults({ latency: 10_000 });
  await sim.run({ untilUs: 60_000_000, stopWhen: () => outcome !== undefined });
  assert.ok(outcome, "the bot finished");
  assert.equal(outcome.error, undefined);
  assert.equal(outcome.ok, true);
  assert.equal(outcome.saved, true);
  assert.ok(outcome.counts.zoneChanges >= 2, `zone changes: ${outcome.counts.zoneChanges}`);
});
