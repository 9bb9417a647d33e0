import { test } from "node:test";
import assert from "node:assert/strict";
import { ShardChannel } from "../../sim/shard_channel.ts";
import { runPair } from "./_shard_pair.ts";

interface HalfResult {
  ok: boolean;
  error?: string;
  logs?: Record<string, string[]>;
  publishes?: number;
  waits?: number;
}

/** Runs `runPair` split over two workers. */
function runHalves(lookaheadUs: number, minLatencyUs: number, ringBytes = 64 * 1024): Promise<HalfResult[]> {
  const buffer = ShardChannel.createBuffer(ringBytes);
  return Promise.all(([0, 1] as const).map((side) =>
    new Promise<HalfResult>((resolve, reject) => {
      const worker = new Worker(new URL("./_shard_worker.ts", import.meta.url).href, { type: "module" });
      worker.onmessage = (event) => {
        resolve(event.data as HalfResult);
        worker.terminate();
      };
      worker.onerror = (event) => {
        event.preventDefault?.();
        reject(new Error(`shard worker ${side} failed: ${event.message}`));
        worker.terminate();
      };
      worker.postMessage({ buffer, side, lookaheadUs, minLatencyUs });
    })
  ));
}

test("two halves in two threads log exactly what one simulation does", async () => {
  const whole = await runPair();
  const [zero, one] = await runHalves(1000, 1000);
  assert.equal(zero!.ok, true, zero!.error);
  assert.equal(one!.ok, true, one!.error);
  // Enough traffic to mean something: loss and duplicates happened, every host heard from both others.
  assert.ok(whole.logs.a!.length > 300 && whole.logs.b!.length > 300 && whole.logs.c!.length > 300);
  assert.deepEqual(zero!.logs!.a, whole.logs.a);
  assert.deepEqual(one!.logs!.b, whole.logs.b);
  assert.deepEqual(one!.logs!.c, whole.logs.c);
  // Hosts run on one side only.
  assert.deepEqual(zero!.logs!.b, []);
  assert.deepEqual(one!.logs!.a, []);
  // Both halves told the other how far they had got hundreds of times, and had to wait for it at times.
  assert.ok(zero!.publishes! > 100 && one!.publishes! > 100, `publishes: ${zero!.publishes}, ${one!.publishes}`);
  assert.ok(zero!.waits! + one!.waits! > 0);
});

test("a ring smaller than the datagrams in flight only makes the writer wait: the run is the same", async () => {
  const whole = await runPair();
  // 1 KiB holds a few dozen of these datagrams: the writers wrap around and wait for room again and again.
  const [zero, one] = await runHalves(1000, 1000, 1024);
  assert.equal(zero!.ok, true, zero!.error);
  assert.equal(one!.ok, true, one!.error);
  assert.deepEqual(zero!.logs!.a, whole.logs.a);
  assert.deepEqual(one!.logs!.b, whole.logs.b);
  assert.deepEqual(one!.logs!.c, whole.logs.c);
});

test("a link faster than the lookahead stops both halves with the reason", async () => {
  const [zero, one] = await runHalves(1000, 200);
  assert.equal(zero!.ok, false);
  assert.equal(one!.ok, false);
  const errors = [zero!.error!, one!.error!];
  assert.ok(errors.some((e) => /less than the shards' lookahead of 1000 µs/.test(e)), errors.join(" | "));
  assert.ok(errors.some((e) => /other half of the simulation stopped/.test(e)), errors.join(" | "));
});

test("a shard channel rejects a bad buffer, ring size or lookahead", () => {
  assert.throws(() => ShardChannel.createBuffer(100), /Invalid shard ring size/);
  assert.throws(() => new ShardChannel(new SharedArrayBuffer(4096), 0, () => true, 500), /Invalid shard buffer/);
  assert.throws(() => new ShardChannel(ShardChannel.createBuffer(1024), 0, () => true, 0), /Invalid shard lookahead/);
});
