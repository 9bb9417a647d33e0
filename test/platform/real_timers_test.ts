import assert from "node:assert/strict";
import { test } from "node:test";
import { realClock } from "../../src/platform/real_clock.ts";
import { createRealTimers } from "../../src/platform/real_timers.ts";

test("real timers never fire early, and a cleared timer never fires", async () => {
  const timers = createRealTimers();
  const start = realClock.now();
  const fired: string[] = [];
  const done = Promise.withResolvers<number>();
  const cancelled = timers.setTimeout(() => fired.push("cancelled"), 1_000);
  timers.setTimeout(() => {
    fired.push("kept");
    done.resolve(realClock.now());
  }, 5_000);
  timers.clearTimeout(cancelled);
  timers.clearTimeout(12345); // unknown ids are ignored
  const firedAt = await done.promise;
  assert.ok(firedAt - start >= 5_000, `fired after ${firedAt - start} µs`);
  assert.deepEqual(fired, ["kept"]);
});

test("realClock.now() is monotonic integer microseconds", () => {
  let previous = realClock.now();
  for (let i = 0; i < 1000; i++) {
    const now = realClock.now();
    assert.ok(Number.isInteger(now));
    assert.ok(now >= previous);
    previous = now;
  }
  assert.ok(Math.abs(realClock.wallMs() - Date.now()) < 1000);
});

test("a real timer of 0 µs runs on the next event-loop turn, before a 1 ms timer, and can be cleared", async () => {
  const timers = createRealTimers();
  const order: string[] = [];
  const done = Promise.withResolvers<void>();
  timers.setTimeout(() => {
    order.push("1ms");
    done.resolve();
  }, 1_000);
  timers.setTimeout(() => order.push("asap"), 0);
  const cleared = timers.setTimeout(() => order.push("cleared"), 0);
  timers.clearTimeout(cleared);
  order.push("sync");
  await done.promise;
  assert.deepEqual(order, ["sync", "asap", "1ms"]);
});

test("a deferred real callback runs on the next event-loop turn, after this turn's microtasks", async () => {
  const timers = createRealTimers();
  const order: string[] = [];
  const done = Promise.withResolvers<void>();
  timers.defer(() => {
    order.push("deferred");
    done.resolve();
  });
  queueMicrotask(() => order.push("microtask"));
  order.push("sync");
  await done.promise;
  assert.deepEqual(order, ["sync", "microtask", "deferred"]);
});
