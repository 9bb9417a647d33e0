import assert from "node:assert/strict";
import { test } from "node:test";
import { ServerRole } from "../../../src/servertalk/mod.ts";
import { storeAuthenticator } from "../../../src/roles/mod.ts";
import { memoryStore, Simulation } from "../_sim.ts";

test("storeAuthenticator() with sync hashing checks server passwords without reading the real clock", async () => {
  const sim = new Simulation({ seed: 5 });
  const results: boolean[] = [];
  sim.addHost("login", {
    start: async (platform) => {
      const store = await memoryStore(platform);
      await store.servers.create({ name: "world-one", kind: "world", password: "world-one-password" });
      const auth = storeAuthenticator(store, { hashing: "sync" });
      for (const password of ["world-one-password", "wrong-password"]) {
        const result = await auth.authenticate({
          account: "world-one",
          password,
          name: "Qeynos",
          role: ServerRole.World,
          address: "10.0.0.2",
          nowUs: platform.clock.now(),
          wallMs: platform.clock.wallMs(),
        });
        results.push(result.ok);
      }
    },
  });
  await sim.run({ untilUs: 1_000_000 });
  assert.deepEqual(results, [true, false]);
  assert.deepEqual(sim.violations().recorded.map((v) => v.api), []);
});
