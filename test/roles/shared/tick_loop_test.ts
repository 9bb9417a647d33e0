import assert from "node:assert/strict";
import { test } from "node:test";
import type { Platform } from "../../../src/platform/platform.ts";
import { RoleError, TickLoop } from "../../../src/roles/mod.ts";
import { seededRng } from "./_rng.ts";

/** A platform whose clock moves only when told; timers fire in order as it moves. */
function manualPlatform() {
  let now = 0;
  let nextId = 1;
  const timers = new Map<number, { at: number; callback: () => void }>();
  const platform = {
    name: "manual",
    clock: { now: () => now, wallMs: () => Math.floor(now / 1000) },
    timers: {
      setTimeout(callback: () => void, delayUs: number) {
        const id = nextId++;
        timers.set(id, { at: now + delayUs, callback });
        return id;
      },
      clearTimeout(id: number) {
        timers.delete(id);
      },
    },
    rng: seededRng(1),
  } as unknown as Platform;
  return {
    platform,
    /** Spends `us` inside the current callback. */
    spend(us: number) {
      now += us;
    },
    runUntil(untilUs: number) {
      for (;;) {
        let first: [number, { at: number; callback: () => void }] | undefined;
        for (const entry of timers) if (first === undefined || entry[1].at < first[1].at) first = entry;
        if (first === undefined || first[1].at > untilUs) break;
        timers.delete(first[0]);
        now = Math.max(now, first[1].at);
        first[1].callback();
      }
      now = Math.max(now, untilUs);
    },
  };
}

test("TickLoop ticks at a fixed rate and measures each tick", () => {
  const manual = manualPlatform();
  const at: number[] = [];
  const loop = new TickLoop(manual.platform, {
    hz: 10,
    onTick: (_n, now) => {
      at.push(now);
      manual.spend(2_000);
    },
  });
  loop.start();
  manual.runUntil(1_000_000);
  assert.deepEqual(at, [100_000, 200_000, 300_000, 400_000, 500_000, 600_000, 700_000, 800_000, 900_000, 1_000_000]);
  const stats = loop.stats();
  assert.equal(stats.ticks, 10);
  assert.equal(stats.durationUs.p50, 2_000);
  assert.equal(stats.overruns, 0);
  assert.equal(stats.skipped, 0);
  loop.stop();
  manual.runUntil(2_000_000);
  assert.equal(loop.stats().ticks, 10);
});

test("TickLoop counts overruns and skips ahead instead of bursting", () => {
  const manual = manualPlatform();
  const at: number[] = [];
  const loop = new TickLoop(manual.platform, {
    hz: 10,
    onTick: (n, now) => {
      at.push(now);
      if (n === 1) manual.spend(350_000);
    },
  });
  loop.start();
  manual.runUntil(1_000_000);
  assert.deepEqual(at, [100_000, 200_000, 600_000, 700_000, 800_000, 900_000, 1_000_000]);
  const stats = loop.stats();
  assert.equal(stats.overruns, 1);
  assert.equal(stats.skipped, 3);
  assert.equal(stats.durationUs.max, 350_000);
});

test("TickLoop refuses a rate outside (0, 1000] Hz with ROLE_BAD_OPTION", () => {
  const { platform } = manualPlatform();
  assert.throws(() => new TickLoop(platform, { hz: 0, onTick: () => {} }), (error: unknown) => {
    assert.ok(error instanceof RoleError);
    assert.equal(error.code, "ROLE_BAD_OPTION");
    assert.equal(error.message, "Invalid tick rate: 0 Hz is not in (0, 1000]");
    return true;
  });
});
