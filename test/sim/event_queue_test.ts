import assert from "node:assert/strict";
import { test } from "node:test";
import { EventQueue, PHASE } from "../../sim/_event_queue.ts";

const noop = () => {};

test("EventQueue pops by time, then phase, then insertion order", () => {
  const q = new EventQueue();
  q.push(20, PHASE.timer, 0, -1, noop, "t20");
  q.push(10, PHASE.timer, 0, -1, noop, "t10-timer-a");
  q.push(10, PHASE.network, 0, -1, noop, "t10-network");
  q.push(10, PHASE.timer, 0, -1, noop, "t10-timer-b");
  q.push(10, PHASE.control, 0, -1, noop, "t10-control");
  q.push(5, PHASE.timer, 0, -1, noop, "t5");
  const order: unknown[] = [];
  for (let e = q.pop(); e !== undefined; e = q.pop()) order.push(e.arg);
  assert.deepEqual(order, ["t5", "t10-control", "t10-network", "t10-timer-a", "t10-timer-b", "t20"]);
});

test("EventQueue orders events given a sequence number by it, after those of the same instant without", () => {
  const q = new EventQueue();
  const late = 2 ** 52;
  q.push(10, PHASE.network, 0, -1, noop, "given-2", late + 2);
  q.push(10, PHASE.network, 0, -1, noop, "given-1", late + 1);
  q.push(10, PHASE.network, 0, -1, noop, "queued-a");
  q.push(9, PHASE.network, 0, -1, noop, "given-earlier", late + 3);
  q.push(10, PHASE.network, 0, -1, noop, "queued-b");
  q.push(10, PHASE.timer, 0, -1, noop, "timer");
  const order: unknown[] = [];
  for (let e = q.pop(); e !== undefined; e = q.pop()) order.push(e.arg);
  assert.deepEqual(order, ["given-earlier", "queued-a", "queued-b", "given-1", "given-2", "timer"]);
});

test("EventQueue never returns a cancelled event and keeps its size right", () => {
  const q = new EventQueue();
  const events = Array.from({ length: 5000 }, (_, i) => q.push(i % 97, PHASE.timer, 0, -1, noop, i));
  for (const e of events) if ((e.arg as number) % 3 !== 0) q.cancel(e);
  assert.equal(q.size, 1667);
  let last = -1;
  let count = 0;
  for (let e = q.pop(); e !== undefined; e = q.pop()) {
    assert.equal((e.arg as number) % 3, 0);
    assert.ok(e.time >= last);
    last = e.time;
    count++;
  }
  assert.equal(count, 1667);
  assert.equal(q.size, 0);
});

test("EventQueue.requeue() puts a popped event behind events already at that time", () => {
  const q = new EventQueue();
  const first = q.push(1, PHASE.timer, 0, -1, noop, "first");
  q.push(2, PHASE.timer, 0, -1, noop, "second");
  assert.equal(q.pop(), first);
  q.requeue(first, 2, PHASE.timer);
  assert.equal(q.pop()?.arg, "second");
  assert.equal(q.pop()?.arg, "first");
});

test("EventQueue.cancel() of a popped event does not disturb the count", () => {
  const q = new EventQueue();
  const a = q.push(1, PHASE.timer, 0, -1, noop, "a");
  q.push(2, PHASE.timer, 0, -1, noop, "b");
  q.pop();
  q.cancel(a);
  assert.equal(q.size, 1);
  assert.equal(q.peek()?.arg, "b");
});

test("EventQueue random workloads pop in sorted order", () => {
  const q = new EventQueue();
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % 1000;
  const live: Array<{ time: number; seq: number }> = [];
  for (let i = 0; i < 20_000; i++) {
    const e = q.push(next(), next() % 3, 0, -1, noop, i);
    if (next() < 200) q.cancel(e);
    else live.push({ time: e.key, seq: e.seq });
  }
  live.sort((a, b) => a.time - b.time || a.seq - b.seq);
  for (const expected of live) {
    const e = q.pop()!;
    assert.equal(e.key, expected.time);
    assert.equal(e.seq, expected.seq);
  }
  assert.equal(q.pop(), undefined);
});
