import assert from "node:assert/strict";
import { test } from "node:test";
import { runCli as run } from "../_support/cli.ts";

test("qeynos bench zone --sim prints one JSON line with latency, tick time, CPU and the sim/wall ratio", async () => {
  const result = await run(["bench", "zone", "--sim", "--bots", "12", "--seconds", "2", "--spread", "60"]);
  assert.equal(result.code, 0, result.err);
  const lines = result.out.trim().split("\n");
  assert.equal(lines.length, 1);
  const r = JSON.parse(lines[0]!);
  assert.equal(r.bench, "zone");
  assert.equal(r.mode, "sim");
  assert.equal(r.bots, 12);
  assert.equal(r.inZone, 12);
  assert.equal(r.failedBots, 0);
  assert.equal(r.seconds, 2);
  assert.equal(r.movesPerSec, 120, "12 bots at 10 Hz");
  // Everyone spawns within 60 units of the centre: most of the others are in view (radius 100).
  assert.ok(r.updatesPerMove > 6 && r.updatesPerMove <= 11, `updates per move ${r.updatesPerMove}`);
  assert.ok(r.moveLatencyMs.count > 1000);
  // Latency is the simulated link (0.5-1.5 ms each way) plus the zone's relay, which holds an update up to its
  // 20 ms movement batch window when the last ones for that player left less than 20 ms before.
  assert.ok(r.moveLatencyMs.p50 >= 1 && r.moveLatencyMs.p99 < 25, JSON.stringify(r.moveLatencyMs));
  assert.equal(r.tickMs.count, 20, "10 Hz ticks over 2 s");
  assert.ok(r.simWallRatio > 0 && r.cpu > 0);
});

test("qeynos bench zone refuses --sim with --live and bad numbers", async () => {
  const both = await run(["bench", "zone", "--sim", "--live"]);
  assert.equal(both.code, 2);
  assert.match(both.err, /Give --sim or --live, not both/);
  const bad = await run(["bench", "zone", "--bots", "1"]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /Invalid value for --bots: '1' is not an integer in 2\.\.20000/);
  const help = await run(["bench", "zone", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /^Usage: qeynos bench zone/);
});

test("qeynos bench zone --shards 2 runs the simulation in two threads: the same figures", async () => {
  const args = ["bench", "zone", "--sim", "--bots", "12", "--seconds", "2", "--spread", "60", "--latency-ms", "2-4"];
  const one = await run(args);
  const two = await run([...args, "--shards", "2"]);
  assert.equal(one.code, 0, one.err);
  assert.equal(two.code, 0, two.err);
  const a = JSON.parse(one.out.trim());
  const b = JSON.parse(two.out.trim());
  assert.deepEqual(a.linkLatencyMs, [2, 4]);
  assert.equal(b.shards, 2);
  // Each half says how often it had to wait for the other.
  assert.equal(b.shardWaitsPerSec.length, 2);
  assert.ok(b.shardWaitsPerSec.every((n: number) => Number.isInteger(n) && n >= 0), `${b.shardWaitsPerSec}`);
  // The same simulation, but for the order of datagrams that arrive in the same microsecond from both halves.
  assert.equal(b.inZone, a.inZone);
  assert.equal(b.movesPerSec, a.movesPerSec);
  for (const key of ["updatesPerSec", "datagramsPerSec", "eventsPerSec"]) {
    assert.ok(Math.abs(b[key] - a[key]) <= a[key] * 0.01, `${key}: ${b[key]} vs ${a[key]}`);
  }
  // Every bot's latency samples, from both halves (the bots are split), are in the figures.
  assert.ok(Math.abs(b.moveLatencyMs.count - a.moveLatencyMs.count) <= a.moveLatencyMs.count * 0.01);
  assert.ok(Math.abs(b.moveLatencyMs.p50 - a.moveLatencyMs.p50) <= a.moveLatencyMs.p50 * 0.1);
  assert.equal(b.failedBots, 0);
  // The link latency shows in the movement latency: at least the two one-way trips of 2 ms.
  assert.ok(a.moveLatencyMs.p50 >= 4, JSON.stringify(a.moveLatencyMs));
  const bad = await run(["bench", "zone", "--latency-ms", "3-1"]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /Invalid value for --latency-ms: '3-1'/);
  const live = await run(["bench", "zone", "--live", "--shards", "2"]);
  assert.equal(live.code, 2);
  assert.match(live.err, /--shards and --latency-ms are for --sim/);
});
