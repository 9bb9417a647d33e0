import assert from "node:assert/strict";
import { test } from "node:test";
import { createBenchCommand } from "../../src/cli/bench.ts";
import { measureDatagrams, measureEvents, measureRatio, simBenchTarget } from "../../src/cli/bench_sim.ts";
import type { Command } from "../../src/cli/command.ts";
import { type CliRun, runCli } from "../_support/cli.ts";

function run(args: string[], commands?: readonly Command[]): Promise<CliRun> {
  return runCli(args, commands === undefined ? {} : { commands });
}

test("qeynos bench lists its targets and refuses an unknown one", async () => {
  const help = await run(["bench", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /^ {2}sim +simulator speed/m);
  assert.match(help.out, /^ {2}eqstream /m);
  const unknown = await run(["bench", "warp"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /Unknown benchmark target 'warp'/);
  const missing = await run(["bench"]);
  assert.equal(missing.code, 2);
});

test("a bench target is one entry in the table", async () => {
  const calls: string[][] = [];
  const fake: Command = {
    name: "fake",
    summary: "test",
    help: "",
    run: (args) => (calls.push(args), Promise.resolve(0)),
  };
  const result = await run(["bench", "fake", "--x", "1"], [createBenchCommand([fake])]);
  assert.equal(result.code, 0);
  assert.deepEqual(calls, [["--x", "1"]]);
});

test("qeynos bench sim prints one JSON line with the three figures", async () => {
  const result = await run([
    "bench",
    "sim",
    "--repeat",
    "1",
    "--events",
    "20000",
    "--datagrams",
    "20000",
    "--sim-seconds",
    "2",
  ]);
  assert.equal(result.code, 0);
  const lines = result.out.split("\n");
  assert.equal(lines.length, 1);
  const figures = JSON.parse(lines[0]!);
  for (const key of ["eventsPerSec", "asyncEventsPerSec", "datagramsPerSec", "simWallRatio"]) {
    assert.ok(figures[key] > 0, key);
  }
  assert.equal(figures.bench, "sim");
  assert.equal((await run(["bench", "sim", "--repeat", "0"])).code, 2);
  assert.equal(simBenchTarget.name, "sim");
});

test("the measurements count what they claim", async () => {
  const events = await measureEvents(10_000);
  assert.equal(events.events, 10_000);
  const asyncEvents = await measureEvents(2_000, 100, true);
  assert.equal(asyncEvents.events, 2_000);
  const datagrams = await measureDatagrams(10_000);
  // Each event delivers (or drops on arrival) one datagram and may send one more.
  assert.ok(datagrams.datagrams > 9000 && datagrams.datagrams < 12_000, `${datagrams.datagrams}`);
  const ratio = await measureRatio(3);
  assert.equal(ratio.simSeconds, 3);
});
