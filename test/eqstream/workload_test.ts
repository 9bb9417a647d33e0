import assert from "node:assert/strict";
import { test } from "node:test";
import { loadScenario } from "../../sim/scenario/loader.ts";
import { runScenario } from "../../sim/scenario/runner.ts";
import "../../sim/workloads/all.ts";

const SCENARIO = `
version: 1
name: eqstream-small
seed: 3
duration: { chaos: 6s, heal: 6s }
hosts:
  - { id: server, role: server }
  - { id: bot, role: client, count: 2 }
links:
  default: { latency: 20ms, loss: 0.05, dup: 0.01, reorder: 0.02, corrupt: 0.005 }
faults:
  - { at: 2s, partition: [[server], [bot1]], for: 2s }
workload:
  eqstream: { server: server, clients: "bot*", sessions: 2, rate: 20/s, size: 40..1500 }
checks: [eqstream_in_order, { eqstream_complete: { grace: 3s } }]
`;

test("the eqstream workload keeps every session in order and complete through loss and a partition", async () => {
  const run = await runScenario(loadScenario(SCENARIO, "small.yaml"));
  const verdicts = Object.fromEntries(run.report.checks.map((c) => [c.name, c.passed]));
  assert.deepEqual(verdicts, {
    run_completed: true,
    no_real_time_calls: true,
    no_unhandled_errors: true,
    eqstream_in_order: true,
    eqstream_complete: true,
  });
  const metric = (name: string) => run.report.metrics.find((m) => m.name === name)?.value ?? 0;
  assert.ok(metric("eqstream.delivered") > 300, `only ${metric("eqstream.delivered")} delivered`);
  assert.ok(metric("eqstream.echoed") > 300);
});

test("the same eqstream scenario and seed give the same trace hash", async () => {
  const a = await runScenario(loadScenario(SCENARIO, "small.yaml"));
  const b = await runScenario(loadScenario(SCENARIO, "small.yaml"));
  assert.equal(a.report.traceHash, b.report.traceHash);
  const c = await runScenario(loadScenario(SCENARIO, "small.yaml"), { seed: 4 });
  assert.notEqual(a.report.traceHash, c.report.traceHash);
});

test("a bad eqstream size range is refused with the file and line", () => {
  const text = SCENARIO.replace("size: 40..1500", "size: 1..1500");
  assert.throws(
    () => loadScenario(text, "small.yaml"),
    /small\.yaml:\d+: .*Message sizes must be within 37\.\.500000 bytes/,
  );
});
