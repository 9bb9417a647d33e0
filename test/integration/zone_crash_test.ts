/**
 * A zone process killed with SIGKILL while players are in it: world notices at once (the TCP link
 * resets), the players log in again and are placed on the surviving zone server, and no character is
 * lost or duplicated.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import process from "node:process";
import { createConsoleLog, createRealPlatform } from "../../src/platform/mod.ts";
import { botCharacterName, type BotEvent, runBot } from "../../src/roles/mod.ts";
import { openStore } from "../../src/store/mod.ts";
import { assertBotsOk } from "./_flow.ts";
import { createDeployment } from "./_deployment.ts";
import type { ServeProcess } from "./_serve_process.ts";

test("killing a zone process loses and duplicates no character; its players come back on the other zone", {
  timeout: 180_000,
}, async () => {
  const deployment = await createDeployment({ zones: 2 });
  const processes: ServeProcess[] = [];
  try {
    const core = deployment.start("login,world");
    processes.push(core);
    await core.waitFor(/serve: ready/);
    const zones = [deployment.start("zone", "zone-1"), deployment.start("zone", "zone-2")];
    processes.push(...zones);
    for (const zone of zones) await zone.waitFor(/zone: registered with world/);

    const platform = createRealPlatform(createConsoleLog({ level: "warn" }));
    const count = 4;
    const names = Array.from({ length: count }, (_, i) => botCharacterName("Crash", i));
    const entered: Extract<BotEvent, { type: "entered" }>[] = [];
    const botsDone = Promise.all(names.map((name, i) =>
      runBot(platform, {
        server: { address: "127.0.0.1", port: deployment.ports.login },
        account: `crash${i}`,
        password: "botpassword",
        characterName: name,
        script: "walk",
        durationUs: 5_000_000,
        attempts: 2,
        retryDelayUs: 300_000,
        // Notice a dead zone within a few seconds rather than the default 30 s.
        session: { giveUpUs: 2_000_000, idleTimeoutUs: 3_000_000, keepAliveUs: 500_000 },
        observer: (e) => {
          if (e.type === "entered") entered.push(e);
        },
      })
    ));
    while (entered.length < count) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // Everyone is in the same instance (world fills instances before booting more); kill its process.
    const hosting = zones.findIndex((z) => /zone: instance booted/.test(z.log()));
    assert.ok(hosting >= 0, "one zone booted an instance");
    const victim = zones[hosting]!;
    process.kill(victim.child.pid!, "SIGKILL");
    assert.equal(await victim.stop("SIGKILL"), null);

    const outcomes = await botsDone;
    assertBotsOk(outcomes, count);
    assert.ok(outcomes.every((o) => o.attempts === 2), `attempts: ${outcomes.map((o) => o.attempts)}`);
    const survivor = zones[1 - hosting]!;
    assert.match(survivor.log(), /zone: instance booted/);
    assert.match(core.log(), /world: zone server down zoneServer=zone-\d/);

    // The store holds each character exactly once, in a known zone.
    const store = await openStore(
      { dataDir: join(deployment.dir, "data") },
      { platform, migrate: "none" },
    );
    try {
      const characters = [];
      for (let i = 0; i < count; i++) {
        const account = await store.accounts.findByName(`crash${i}`);
        assert.ok(account);
        const list = await store.characters.listByAccount(account.id);
        assert.deepEqual(list.map((c) => c.name), [names[i]]);
        characters.push(list[0]!);
      }
      assert.equal((await store.stats()).characters, count);
      for (const c of characters) assert.ok(["qeynos", "antonica", "commonlands"].includes(c.zone));
    } finally {
      await store.close();
    }
    const status = await (await fetch(`http://127.0.0.1:${deployment.ports.admin[0]}/status.json`)).json();
    const world = status.roles.find((r: { role: string }) => r.role === "world");
    assert.equal(world.players, 0);
    for (const p of [survivor, core]) assert.equal(await p.stop("SIGTERM"), 0, p.log());
  } finally {
    for (const p of processes) await p.stop("SIGKILL");
    deployment.cleanup();
  }
});
