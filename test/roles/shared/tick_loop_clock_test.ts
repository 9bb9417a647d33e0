import assert from "node:assert/strict";
import { test } from "node:test";
import { TickLoop } from "../../../src/roles/mod.ts";
import { Simulation } from "../_sim.ts";

test("TickLoop measures tick durations with the duration clock it is given, and resetStats() starts afresh", async () => {
  const sim = new Simulation({ seed: 1 });
  let measured = 0;
  let loop: TickLoop | undefined;
  sim.addHost("zone", {
    start: (platform) => {
      loop = new TickLoop(platform, {
        hz: 10,
        // Each tick "takes" 3 ms on this clock while simulated time stands still.
        onTick: () => void (measured += 3_000),
        durationClock: { now: () => measured },
      });
      loop.start();
    },
  });
  await sim.run({ untilUs: 1_050_000 });
  const stats = loop!.stats();
  assert.equal(stats.ticks, 10);
  assert.equal(stats.durationUs.count, 10);
  assert.equal(stats.durationUs.min, 3_000);
  assert.equal(stats.durationUs.max, 3_000);
  assert.equal(stats.overruns, 0);
  assert.equal(stats.lagUs.max, 0, "scheduling follows the simulated clock");
  loop!.resetStats();
  const fresh = loop!.stats();
  assert.equal(fresh.durationUs.count, 0);
  assert.equal(fresh.lagUs.count, 0);
  assert.equal(fresh.ticks, 10, "the tick count is kept");
});
