import assert from "node:assert/strict";
import { test } from "node:test";
import { ServerRole } from "../../src/servertalk/control.ts";
import { Link } from "../../src/servertalk/link.ts";
import { LSInfo, LSStatus } from "../../src/servertalk/messages.ts";
import { Router } from "../../src/servertalk/router.ts";
import { ServertalkServer } from "../../src/servertalk/server.ts";
import { Simulation } from "../../sim/mod.ts";

const INFO = { name: "w", address: "", port: 1, protocolVersion: "", serverVersion: "", serverType: 0, dbVersion: 0 };

async function scenario(asyncMode: "auto" | "always") {
  const sim = new Simulation({ seed: 7, asyncMode });
  const seen: string[] = [];
  sim.addHost("login", {
    start: async (platform) => {
      const server = new ServertalkServer(platform, { name: "login", role: ServerRole.Login, requireAuth: false });
      // Asynchronous handlers: their continuations must run at the virtual time of their message.
      server.handle(LSInfo, async (ctx) => {
        await Promise.resolve();
        seen.push(`info@${platform.clock.now()}`);
        ctx.reply({ worldId: 1, name: ctx.message.name });
      });
      server.handle(LSStatus, async (ctx) => {
        await Promise.resolve();
        seen.push(`status ${ctx.message.numPlayers}@${platform.clock.now()}`);
      });
      await server.listen({ address: "0.0.0.0", port: 9100 });
    },
  });
  sim.addHost("world", {
    // A bare link driven by callbacks only: nothing asynchronous on this side.
    start: async (platform) => {
      const connection = await platform.tcp.connect({ address: sim.address("login"), port: 9100 });
      const link = new Link(platform, connection, {
        side: "dialer",
        router: new Router(),
        hooks: {
          onOpen: (open) => {
            open.request(LSInfo, INFO).catch(() => {});
            for (let i = 0; i < 3; i++) {
              open.send(LSStatus, { status: 1, numPlayers: i, numZones: 0, worldMaxLevel: 1 });
            }
          },
        },
      });
      link.start({ buildId: "", role: ServerRole.World, name: "w1", account: "", password: "", instance: "" });
    },
  });
  await sim.run({ untilUs: 2_000_000 });
  return { seen, late: sim.lateAsyncCalls, hash: sim.traceHash() };
}

test("in the simulator, asynchronous handlers run at their message's virtual time, with no late calls", async () => {
  const auto = await scenario("auto");
  const always = await scenario("always");
  assert.equal(auto.late, 0);
  assert.deepEqual(auto.seen, always.seen);
  assert.equal(auto.hash, always.hash);
  assert.equal(auto.seen.length, 4);
  assert.match(auto.seen[0]!, /^info@\d+$/);
});
