/**
 * The roles on separate simulated hosts over the simulated TCP: a world ↔ zone partition, a zone
 * host crash and restart, and a login ↔ world partition longer than the heartbeat timeout. Bots keep
 * playing or come back; nothing is lost or duplicated, and the world list follows reality.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Simulation } from "../../sim/mod.ts";
import {
  botCharacterName,
  type BotOutcome,
  type LoginServer,
  runBot,
  startLogin,
  startWorld,
  startZone,
  type WorldServer,
  type ZoneServer,
} from "../../src/roles/mod.ts";
import type { Store } from "../../src/store/mod.ts";
import { memoryStore, runSim } from "../roles/_sim.ts";
import { assertBotsOk, FlowRecorder } from "./_flow.ts";

test("roles on separate hosts ride out partitions and a zone crash without losing or duplicating a character", async () => {
  const sim = new Simulation({ seed: 4242 });
  for (const host of ["login", "world", "zone1", "zone2"]) sim.addHost(host);
  const recorder = new FlowRecorder();
  const { promise: storeReady, resolve: setStore } = Promise.withResolvers<Store>();
  let login: LoginServer | undefined;
  let world: WorldServer | undefined;
  const zones: Record<string, ZoneServer> = {};
  const link = { heartbeatIntervalUs: 2_000_000, heartbeatTimeoutUs: 6_000_000 };

  sim.onStart("login", async (platform) => {
    const store = await memoryStore(platform);
    await store.servers.create({ name: "world-qeynos", kind: "world", password: "world-password" });
    await store.servers.create({ name: "zone-servers", kind: "zone", password: "zone-password" });
    setStore(store);
    login = await startLogin(platform, {
      store,
      address: sim.address("login"),
      servertalk: { address: sim.address("login"), port: 9101 },
      autoCreateAccounts: true,
      hashing: "sync",
      link,
      observer: recorder.onRole,
    });
  });
  sim.onStart("world", async (platform) => {
    world = await startWorld(platform, {
      store: await storeReady,
      address: sim.address("world"),
      servertalk: { address: sim.address("world"), port: 9201 },
      login: { address: sim.address("login"), port: 9101, account: "world-qeynos", password: "world-password", link },
      hashing: "sync",
      link,
      statusIntervalUs: 2_000_000,
      observer: recorder.onRole,
    });
  });
  for (const host of ["zone1", "zone2"]) {
    sim.onStart(host, async (platform) => {
      await storeReady;
      zones[host] = await startZone(platform, {
        name: host,
        address: sim.address(host),
        world: { address: sim.address("world"), port: 9201, account: "zone-servers", password: "zone-password", link },
        linkDeadUs: 5_000_000,
        observer: recorder.onRole,
      });
    });
  }
  const outcomes: BotOutcome[] = [];
  const count = 4;
  const names = Array.from({ length: count }, (_, i) => botCharacterName("Part", i));
  for (let i = 0; i < count; i++) {
    const host = `bot${i}`;
    sim.addHost(host, {
      start: async (platform) => {
        await sim.sleep(2_000_000 + i * 100_000);
        outcomes.push(
          await runBot(platform, {
            server: { address: sim.address("login"), port: 9100 },
            account: `part${i}`,
            password: "botpassword",
            characterName: names[i]!,
            script: "walk",
            durationUs: 25_000_000,
            attempts: 4,
            retryDelayUs: 1_000_000,
            session: { giveUpUs: 3_000_000, idleTimeoutUs: 4_000_000, keepAliveUs: 1_000_000 },
            bindAddress: sim.address(host),
            observer: recorder.onBot,
          }),
        );
      },
    });
  }
  sim.setLinkDefaults({ latency: { dist: "normal", mean: 15_000, sd: 3_000, min: 3_000 }, loss: 0.01 });

  await runSim(sim, async () => {
    await sim.sleep(4_000_000);
    assert.equal(world!.players().length, count, "every bot is in a zone");
    const hosting = Object.keys(zones).find((h) => zones[h]!.playerCount > 0)!;

    // 1. World and zones cannot talk for 4 s (shorter than the 6 s heartbeat timeout): play goes on.
    const cut = sim.partition([["world"], ["zone1", "zone2"]]);
    await sim.sleep(4_000_000);
    cut.heal();
    await sim.sleep(2_000_000);
    assert.equal(world!.players().length, count);
    assert.equal(zones[hosting]!.playerCount, count);

    // 2. The zone host holding everyone crashes and comes back: bots log in again, nobody is doubled.
    sim.crash(hosting);
    await sim.sleep(3_000_000);
    sim.restart(hosting);
    const deadline = sim.now + 30_000_000;
    while (world!.players().filter((p) => p.place === "in_zone").length < count && sim.now < deadline) {
      await sim.sleep(500_000);
    }
    const players = world!.players();
    assert.equal(players.length, count, JSON.stringify(players));
    assert.equal(new Set(players.map((p) => p.charId)).size, count);

    // 3. Login and world cannot talk for longer than the heartbeat timeout: the list shows the world down,
    //    then up again once the world has re-registered.
    const split = sim.partition([["login"], ["world"]]);
    const start = sim.now;
    while (login!.worlds()[0]!.up && sim.now - start < 20_000_000) await sim.sleep(250_000);
    assert.equal(login!.worlds()[0]!.up, false);
    assert.ok(sim.now - start <= 8_500_000, `down after ${sim.now - start} µs (heartbeat timeout 6 s)`);
    split.heal();
    while (!login!.worlds()[0]!.up && sim.now - start < 60_000_000) await sim.sleep(250_000);
    assert.equal(login!.worlds()[0]!.up, true, "the world registered again");
    assert.equal(login!.worlds()[0]!.numZones, 2);

    while (outcomes.length < count) await sim.sleep(1_000_000);
  }, 400_000_000);

  assertBotsOk(outcomes, count);
  assert.ok(outcomes.some((o) => o.attempts > 1), "the crash made bots log in again");
  assert.deepEqual(world!.players(), []);
  const store = await storeReady;
  assert.equal((await store.stats()).characters, count);
  recorder.assertChatExactlyOnce();
  const refusals = recorder.roleEvents.filter((e) => e.type === "character.save_refused");
  for (const r of refusals) assert.notEqual((r as { reason: string }).reason, "unknown zone");
});
