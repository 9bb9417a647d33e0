import assert from "node:assert/strict";
import { test } from "node:test";
import "../../../sim/workloads/all.ts";
import { loadScenario } from "../../../sim/scenario/loader.ts";

const BASE = `version: 1
name: t
seed: 7
duration: { chaos: 10s, heal: 5s }
hosts:
  - { id: server, role: echo-server }
  - { id: bot, role: client, count: 3 }
`;

function rejects(text: string, expected: string): void {
  assert.throws(() => loadScenario(text, "t.yaml"), (error: Error & { code?: string }) => {
    assert.equal(error.code, "SIM_SCENARIO_INVALID");
    assert.equal(error.message, expected);
    return true;
  });
}

test("loadScenario() reads a full scenario", () => {
  const s = loadScenario(
    BASE + `links:
  default: { latency: { dist: normal, mean: 40ms, sd: 8ms }, loss: 1%, dup: 0.002, mtu: 512, bandwidth: 10mbit, queue: 20ms }
  overrides:
    - { from: "bot*", to: server, loss: { model: gilbert, p: 0.01, r: 0.3, bad: 0.5 } }
faults:
  - { at: 3s, partition: [[server], [bot1]], for: 2s }
  - { at: 1s, crash: bot2, silent: true, for: 1s }
  - { at: 4s, link: { from: server, to: role:client, loss: 0.5 }, for: 1s }
  - { at: 5s, clockStep: { host: bot3, by: -2s } }
nemesis:
  - { kind: partition, rate: 1/5s, duration: 1s..2s }
workload:
  echo: { rate: 5/s, size: 64..128 }
checks: [echo_integrity, { echo_liveness: { minRatio: 0.8 } }, { sometimes: [echo.duplicate] }]
report: { formats: [json], sample: 100ms }
simulation: { asyncMode: always, tcp: { window: 32KiB, rto: 100ms } }
`,
    "t.yaml",
  );
  assert.deepEqual(s.hosts.map((h) => h.id), ["server", "bot1", "bot2", "bot3"]);
  assert.equal(s.chaosUs, 10_000_000);
  assert.equal(s.healUs, 5_000_000);
  assert.deepEqual(s.linkDefault, {
    latency: { dist: "normal", mean: 40_000, sd: 8_000 },
    loss: 0.01,
    dup: 0.002,
    mtu: 512,
    bandwidth: 10_000_000,
    queueBytes: 25_000,
  });
  assert.deepEqual(s.overrides[0]!.from, ["bot1", "bot2", "bot3"]);
  assert.deepEqual(s.faults.map((f) => [f.atUs, f.action.kind, f.forUs]), [
    [1_000_000, "crash", 1_000_000],
    [3_000_000, "partition", 2_000_000],
    [4_000_000, "link", 1_000_000],
    [5_000_000, "clockStep", undefined],
  ]);
  assert.deepEqual(s.faults[2]!.action, {
    kind: "link",
    from: ["server"],
    to: ["bot1", "bot2", "bot3"],
    spec: { loss: 0.5 },
  });
  assert.equal(s.nemesis[0]!.ratePerSec, 0.2);
  assert.deepEqual(s.workloads.map((w) => w.name), ["echo"]);
  assert.deepEqual(s.checks.map((c) => c.name), ["echo_integrity", "echo_liveness", "sometimes"]);
  assert.deepEqual(s.report, { formats: ["json"], sampleEveryUs: 100_000 });
  assert.deepEqual(s.simulation, { asyncMode: "always", tcp: { windowBytes: 32_768, rtoUs: 100_000 } });
  assert.match(s.source.hash, /^[0-9a-f]{64}$/);
});

test("an unknown key is refused at its own line", () => {
  rejects(
    BASE + "colour: blue\n",
    "t.yaml:8: Unknown key 'colour' (expected one of: version, name, description, seed, duration, hosts, links, faults, nemesis, workload, checks, report, simulation)",
  );
  rejects(
    BASE + "links:\n  default:\n    latency: 5ms\n    lossy: 0.1\n",
    "t.yaml:11: Unknown key 'lossy' in links.default (expected one of: latency, jitter, loss, dup, corrupt, corruptBits, mtu, mtuMode, reorder, reorderDelay, bandwidth, queue, overhead)",
  );
});

test("bad values are refused with the file, line and offending value", () => {
  rejects(
    BASE.replace("chaos: 10s", "chaos: 10"),
    "t.yaml:4: Expected a duration like 30s, 250ms or 500us in duration.chaos, got 10",
  );
  rejects(
    BASE + "links: { default: { loss: 1.5 } }\n",
    "t.yaml:8: Expected a probability in 0..1 (or a percentage) in links.default.loss, got 1.5",
  );
  rejects(
    BASE + "links:\n  default:\n    latency: { dist: lognormal, mean: 3ms }\n",
    't.yaml:10: Expected one of constant, uniform, normal, exponential, pareto, mix in links.default.latency.dist, got "lognormal"',
  );
  rejects(
    BASE.replace("version: 1", "version: 2"),
    "t.yaml:1: Unsupported scenario version 2 (this build reads version 1)",
  );
  rejects(
    BASE + "faults:\n  - { at: 12s, crash: server }\n",
    "t.yaml:9: A fault must start during the chaos phase (before 10s); the heal phase has none",
  );
  rejects(BASE + "faults:\n  - { at: 1s, crash: nobody }\n", "t.yaml:9: No host matches 'nobody'");
  rejects(
    BASE + "faults:\n  - { at: 1s, crash: server, pause: bot1 }\n",
    "t.yaml:9: A fault has one action, got crash and pause",
  );
  rejects(BASE + "faults:\n  - { at: 1s, restart: server, for: 2s }\n", "t.yaml:9: 'for' does not apply to restart");
  rejects(
    BASE + "faults:\n  - { at: 1s, partition: [[server], [server, bot1]] }\n",
    "t.yaml:9: Host 'server' is in two partition groups",
  );
  // Other test files may register workloads in the same process, so only the start is fixed.
  assert.throws(
    () => loadScenario(BASE + "workload:\n  teleport: {}\n", "t.yaml"),
    /^ScenarioError: t\.yaml:9: Unknown workload 'teleport' \(known: (.*, )?echo(, .*)?\)$/,
  );
  assert.throws(
    () => loadScenario(BASE + "checks: [no_such_check]\n", "t.yaml"),
    /^ScenarioError: t\.yaml:8: Unknown check 'no_such_check' \(known: .*echo_integrity, echo_liveness, .*sometimes.*\)$/,
  );
  rejects(
    BASE + "workload:\n  echo: { rate: fast }\n",
    't.yaml:9: Expected a rate like 10/s or 1/5s in workload.echo.rate, got "fast"',
  );
  rejects(
    BASE + "links: { default: { queue: 5ms } }\n",
    "t.yaml:8: A queue given as a time needs a bandwidth on the same link",
  );
  rejects(BASE + "nemesis:\n  - { kind: crash, rate: 1/s }\n", "t.yaml:9: Missing key 'duration' in nemesis[0]");
});

test("structural mistakes are refused", () => {
  rejects("", "t.yaml:1: The scenario file is empty");
  rejects(
    "version: 1\nname: [oops\n",
    "t.yaml:3: Invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]",
  );
  rejects(
    BASE.replace(
      "  - { id: server, role: echo-server }\n",
      "  - { id: server, role: echo-server }\n  - { id: server, role: x }\n",
    ),
    "t.yaml:7: Duplicate host id 'server'",
  );
  rejects(BASE + "name: again\n", "t.yaml:8: Invalid YAML: Map keys must be unique");
  rejects("version: 1\nname: t\nduration: 5s\nhosts: []\n", "t.yaml:4: A scenario needs at least one host");
});

test("count expands hosts and patterns match ids, groups and roles", () => {
  const s = loadScenario(BASE + "workload:\n  echo: { clients: bot, servers: role:echo-server }\n", "t.yaml");
  const config = s.workloads[0]!.config as { clients: string[]; servers: string[] };
  assert.deepEqual(config.clients, ["bot1", "bot2", "bot3"]);
  assert.deepEqual(config.servers, ["server"]);
});

test("a scenario may not declare more than MAX_HOSTS hosts", () => {
  rejects(BASE.replace("count: 3", "count: 10000"), "t.yaml:7: Too many hosts: more than 10000");
  rejects(
    BASE.replace("count: 3", "count: 10001"),
    "t.yaml:7: Expected an integer in 1..10000 in hosts[1].count, got 10001",
  );
});
