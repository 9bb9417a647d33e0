import assert from "node:assert/strict";
import { test } from "node:test";
import { registerCheck } from "../../../sim/scenario/check_registry.ts";
import { loadScenario } from "../../../sim/scenario/loader.ts";
import { renderReportHtml } from "../../../sim/scenario/report_html.ts";
import { runScenario } from "../../../sim/scenario/runner.ts";
import "../../../sim/workloads/all.ts";
import { registerWorkload } from "../../../sim/workloads/registry.ts";

// A workload and a check registered the way protocol and role code extends scenarios.
interface PingConfig {
  readonly from: string[];
  readonly to: string;
  readonly everyUs: number;
}

registerWorkload<PingConfig>({
  name: "ping_test",
  description: "test only: one-way numbered datagrams",
  parse(node, context) {
    const m = node.map(["from", "to", "every"]);
    const to = context.hostsMatching(m.require("to"));
    if (to.length !== 1) m.require("to").fail("Expected exactly one target host");
    return {
      from: context.hostsMatching(m.require("from")),
      to: to[0]!,
      everyUs: m.require("every").duration({ min: 1 }),
    };
  },
  setup(ctx, config) {
    ctx.startOn(config.to, async (p) => {
      await p.udp.bind({ port: 4 }, (bytes) => ctx.emit("ping.received", { seq: bytes[0], atUs: ctx.now() }));
    });
    const series = ctx.series("ping.sent", { unit: "count" });
    for (const from of config.from) {
      ctx.startOn(from, async (p) => {
        const socket = await p.udp.bind({}, () => {});
        let seq = 0;
        const tick = () => {
          socket.send(new Uint8Array([seq++ & 255]), ctx.address(config.to), 4);
          series.record(seq);
          p.timers.setTimeout(tick, config.everyUs);
        };
        tick();
      });
    }
    ctx.metric("ping.hosts", config.from.length);
  },
});

registerCheck<{ afterUs: number }>({
  name: "ping_silence_test",
  kind: "safety",
  description: "test only: nothing arrives after a given time",
  parse(node) {
    return { afterUs: node === undefined ? 0 : node.map(["after"]).require("after").duration() };
  },
  create(ctx, params) {
    ctx.on("ping.received", (event) => {
      const e = event as { seq: number; atUs: number };
      if (e.atUs > params.afterUs) ctx.fail(`ping #${e.seq} arrived at ${e.atUs} µs`);
    });
  },
});

const PING = `version: 1
name: ping
seed: 3
duration: { chaos: 2s, heal: 1s }
hosts: [{ id: a, role: pinger }, { id: b, role: sink }]
links: { default: { latency: 10ms } }
workload:
  ping_test: { from: a, to: b, every: 100ms }
checks:
  - { ping_silence_test: { after: 1s } }
`;

test("a registered workload and check run from a scenario file, with the first violation's time", async () => {
  const run = await runScenario(loadScenario(PING, "ping.yaml"));
  const check = run.report.checks.find((c) => c.name === "ping_silence_test")!;
  assert.equal(check.passed, false);
  // Pings leave every 100 ms from t=0 and take 10 ms: the first after 1 s arrives at 1.01 s.
  assert.equal(check.firstViolationUs, 1_010_000);
  assert.match(check.detail, /^ping #10 arrived at 1010000 µs \(20 violations\)$/);
  assert.equal(run.passed, false);
  assert.deepEqual(run.report.metrics, [{ name: "ping.hosts", value: 1, unit: "" }]);
  assert.equal(run.report.series.find((s) => s.name === "ping.sent")!.points.length, 31); // 0 ms … 3000 ms inclusive
});

test("a workload's parse errors carry the file and line", () => {
  assert.throws(
    () => loadScenario(PING.replace("to: b,", "to: '*',"), "ping.yaml"),
    { message: "ping.yaml:8: Expected exactly one target host" },
  );
});

test("the same scenario and seed give the same report; another seed another hash", async () => {
  const text = `version: 1
name: det
seed: 8
duration: { chaos: 5s, heal: 3s }
hosts: [{ id: s, role: echo-server }, { id: c, role: client, count: 3 }]
links: { default: { latency: { dist: pareto, scale: 5ms, shape: 2 }, loss: 0.05, dup: 0.01, reorder: 0.05 } }
nemesis:
  - { kind: partition, rate: 1/s, duration: 100ms..500ms }
  - { kind: pause, rate: 1/s, duration: 50ms..200ms }
  - { kind: link, rate: 1/s, duration: 200ms..1s, link: { loss: 0.5 } }
  - { kind: clockStep, rate: 1/s, step: -1s..1s }
workload: { echo: { rate: 50/s } }
`;
  const scenario = loadScenario(text, "det.yaml");
  const a = await runScenario(scenario);
  const b = await runScenario(scenario);
  const c = await runScenario(scenario, { seed: 9 });
  assert.equal(a.report.traceHash, b.report.traceHash);
  assert.deepEqual(a.report.resolved.faults, b.report.resolved.faults);
  assert.deepEqual(a.report.metrics, b.report.metrics);
  assert.notEqual(a.report.traceHash, c.report.traceHash);
  assert.notDeepEqual(a.report.resolved.faults, c.report.resolved.faults);
  assert.ok(a.report.resolved.faults.length > 5);
  assert.ok(a.passed, JSON.stringify(a.report.checks));
});

test("faults heal at the end of the chaos phase and crashed hosts come back", async () => {
  const run = await runScenario(loadScenario(
    `version: 1
name: heal
seed: 1
duration: { chaos: 3s, heal: 3s }
hosts: [{ id: s, role: echo-server }, { id: c, role: client }]
links: { default: { latency: 5ms } }
faults:
  - { at: 1s, crash: s }
  - { at: 1s, partition: [[s], [c]] }
  - { at: 2s, link: { from: c, to: s, loss: 1 } }
workload: { echo: { rate: 100/s, timeout: 200ms } }
checks: [{ echo_liveness: { minRatio: 1, grace: 100ms } }]
`,
    "heal.yaml",
  ));
  assert.ok(run.passed, JSON.stringify(run.report.checks));
  assert.equal(run.sim!.hostStatus("s"), "up");
  assert.equal(run.sim!.incarnation("s"), 1);
  assert.deepEqual(run.sim!.linkSpec("c", "s"), { latency: 5000 });
  assert.deepEqual(run.report.timeline.map((t) => t.kind), ["crash", "partition", "link", "heal"]);
});

test("the HTML report is one self-contained page with the verdict, plots and replay command", async () => {
  const run = await runScenario(loadScenario(PING, "ping.yaml"));
  run.report.replay = "qeynos scenario replay out/report.json";
  const html = renderReportHtml(run.report);
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /FAILED 1\/4/);
  assert.match(html, /<code>qeynos scenario replay out\/report\.json<\/code>/);
  assert.match(html, /<svg /);
  assert.match(
    html,
    /<tr class="failed"><td><code>ping_silence_test<\/code><\/td><td>safety<\/td><td class="bad">FAIL<\/td><td class="num">1\.010 s/,
  );
  assert.doesNotMatch(html, /<script|<link |src="http/);
});
