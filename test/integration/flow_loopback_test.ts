/**
 * The whole flow in one process on real loopback sockets: a cluster, the admin endpoint and bots.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { startAdminServer } from "../../src/admin/mod.ts";
import { createConsoleLog, createRealPlatform } from "../../src/platform/mod.ts";
import { botCharacterName, type BotScriptName, runBot, startCluster } from "../../src/roles/mod.ts";
import { openSqliteStore } from "../../src/store/mod.ts";
import { assertBotsOk, FlowRecorder } from "./_flow.ts";

const SCRIPTS: readonly BotScriptName[] = ["chat", "chat", "zone-hop", "walk"];

test("bots play the whole flow against a one-process server on loopback", { timeout: 120_000 }, async () => {
  const platform = createRealPlatform(createConsoleLog({ level: "warn" }));
  const store = await openSqliteStore(":memory:", { platform, bcryptCost: 4 });
  const recorder = new FlowRecorder();
  const cluster = await startCluster(platform, {
    store,
    loginPort: 0,
    worldPort: 0,
    zonePort: 0,
    login: { autoCreateAccounts: true },
    observer: recorder.onRole,
  });
  const admin = await startAdminServer({
    port: 0,
    log: platform.log,
    sources: () => [
      { report: () => cluster.login.report() },
      { report: () => cluster.world.report(), notify: (text, ttlUs) => cluster.world.notify(text, { ttlUs }) },
      ...cluster.zones.map((z) => ({ report: () => z.report() })),
    ],
  });
  try {
    // A notice issued before anyone logs in is still shown to players entering within its lifetime.
    const posted = await fetch(`http://127.0.0.1:${admin.address.port}/notify`, {
      method: "POST",
      body: JSON.stringify({ text: "Welcome to Qeynos", ttlSeconds: 120 }),
    });
    assert.equal(posted.status, 200);
    assert.deepEqual(await posted.json(), { id: 1 });
    const names = SCRIPTS.map((_, i) => botCharacterName("Loop", i));
    const outcomes = await Promise.all(SCRIPTS.map((script, i) =>
      runBot(platform, {
        server: cluster.login.address,
        account: `loop${i}`,
        password: "botpassword",
        characterName: names[i]!,
        script,
        durationUs: 3_000_000,
        chatIntervalUs: 400_000,
        hopIntervalUs: 1_200_000,
        peers: names,
        observer: recorder.onBot,
      })
    ));
    assertBotsOk(outcomes, SCRIPTS.length);
    recorder.assertChatExactlyOnce();
    for (const o of outcomes) assert.equal(o.counts.notices, 1, o.account);
    assert.ok(outcomes.find((o) => o.account === "loop2")!.counts.zoneChanges >= 1);
    assert.deepEqual(cluster.world.players(), []);

    const status = await (await fetch(`http://127.0.0.1:${admin.address.port}/status.json`)).json();
    assert.deepEqual(status.roles.map((r: { role: string }) => r.role), ["login", "world", "zone", "zone"]);
    assert.equal(status.roles[0].counters.accepted, SCRIPTS.length);
    const metrics = await (await fetch(`http://127.0.0.1:${admin.address.port}/metrics`)).text();
    assert.match(metrics, /^qeynos_login_counters_accepted\{server="login"\} 4$/m);
    assert.match(metrics, /^qeynos_zone_tick_duration_us_p99\{server="zone-1"\} \d+$/m);
    assert.match(metrics, /^qeynos_world_zone_servers_players\{server="Qeynos",zone_servers="zone-2"\} 0$/m);
    const missing = await fetch(`http://127.0.0.1:${admin.address.port}/nothing`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    const bad = await fetch(`http://127.0.0.1:${admin.address.port}/notify`, { method: "POST", body: "{" });
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
  } finally {
    await admin.close();
    await cluster.close({ graceUs: 2_000_000 });
    await store.close();
  }
});
