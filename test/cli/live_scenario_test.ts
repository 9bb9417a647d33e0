import assert from "node:assert/strict";
import { test } from "node:test";
import { liveEnvironment } from "../../src/cli/_live_scenario.ts";
import { loadScenario } from "../../sim/scenario/loader.ts";
import { runScenario } from "../../sim/scenario/runner.ts";
import "../../sim/workloads/all.ts";

const LIVE = `version: 1
name: live-test
seed: 4
duration: { chaos: 1500ms, heal: 1500ms }
hosts:
  - { id: server, role: echo-server }
  - { id: client, role: client, count: 2 }
links:
  default: { latency: 5ms, loss: 0.1 }
faults:
  - { at: 300ms, partition: [[server], [client1]], for: 700ms }
workload:
  echo: { rate: 100/s, size: 64..256, timeout: 300ms }
checks: [echo_integrity, { echo_liveness: { minRatio: 0.6, grace: 300ms } }]
`;

test("a live run drives the workload over real loopback sockets through impairment proxies", async () => {
  const run = await runScenario(loadScenario(LIVE, "live.yaml"), { environment: liveEnvironment });
  const r = run.report;
  assert.equal(r.mode, "live");
  assert.equal(r.deterministic, false);
  assert.ok(r.wallSeconds >= 2.9, `wall ${r.wallSeconds}`);
  assert.ok(run.passed, JSON.stringify(r.checks));
  const up = r.links.find((l) => l.from === "client1" && l.to === "server")!;
  const other = r.links.find((l) => l.from === "client2" && l.to === "server")!;
  assert.ok(up.dropped.partition > 20, `client1 partition drops ${up.dropped.partition}`);
  assert.equal(other.dropped.partition, 0);
  // Loss of 10 % per direction, measured on real traffic.
  assert.ok(other.dropped.loss / other.sent > 0.03 && other.dropped.loss / other.sent < 0.2, JSON.stringify(other));
  assert.ok(other.latencyUs.min >= 5000);
  const replies = r.metrics.find((m) => m.name === "echo.replies")!.value;
  assert.ok(replies > 300, `${replies} replies`);
});
