/**
 * One role per process: `qeynos serve --roles login`, `--roles world` and `--roles zone` with one
 * configuration file, talking TCP servertalk on loopback; bots play through all three.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createConsoleLog, createRealPlatform } from "../../src/platform/mod.ts";
import { botCharacterName, runBot } from "../../src/roles/mod.ts";
import { assertBotsOk } from "./_flow.ts";
import { createDeployment } from "./_deployment.ts";
import type { ServeProcess } from "./_serve_process.ts";

test(
  "login, world and a zone in three processes over TCP servertalk serve bots end to end",
  { timeout: 180_000 },
  async () => {
    const deployment = await createDeployment({ zones: 1 });
    const processes: ServeProcess[] = [];
    try {
      const login = deployment.start("login");
      processes.push(login);
      await login.waitFor(/serve: ready/);
      const world = deployment.start("world");
      processes.push(world);
      await world.waitFor(/world: registered with login/);
      const zone = deployment.start("zone");
      processes.push(zone);
      await zone.waitFor(/zone: registered with world/);
      assert.match(
        login.log(),
        new RegExp(
          `login: started eqstream="udp 127\\.0\\.0\\.1:${deployment.ports.login}" ` +
            `servertalk="tcp 127\\.0\\.0\\.1:${deployment.ports.loginTcp}"`,
        ),
      );
      assert.match(world.log(), new RegExp(`servertalk="tcp 127\\.0\\.0\\.1:${deployment.ports.worldTcp}"`));

      const platform = createRealPlatform(createConsoleLog({ level: "warn" }));
      const names = [0, 1, 2].map((i) => botCharacterName("Multi", i));
      const outcomes = await Promise.all(names.map((name, i) =>
        runBot(platform, {
          server: { address: "127.0.0.1", port: deployment.ports.login },
          account: `multi${i}`,
          password: "botpassword",
          characterName: name,
          script: i === 0 ? "chat" : "walk",
          durationUs: 2_000_000,
          peers: names,
        })
      ));
      assertBotsOk(outcomes, 3);
      assert.ok(outcomes.every((o) => o.counts.moveUpdatesSeen > 0), "the bots saw each other move");

      const status = await (await fetch(`http://127.0.0.1:${deployment.ports.admin[1]}/status.json`)).json();
      assert.equal(status.roles[0].role, "world");
      assert.equal(status.roles[0].counters.entered, 3);
      assert.equal(status.roles[0].counters.saves, 3);

      // SIGTERM drains each process and it exits 0.
      for (const p of [zone, world, login]) assert.equal(await p.stop("SIGTERM"), 0, p.log());
      assert.match(zone.log(), /zone: draining/);
      assert.match(world.log(), /serve: stopped/);
    } finally {
      for (const p of processes) await p.stop("SIGKILL");
      deployment.cleanup();
    }
  },
);
