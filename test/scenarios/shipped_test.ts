/**
 * The shipped role scenarios: quickstart runs in full through the CLI and replays with the same
 * trace hash; the others run shortened (fewer bots, shorter phases, the same faults) so the suite
 * stays fast. `qeynos scenario run scenarios/<name>.yaml` runs the full files.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readScenarioFile } from "../../sim/scenario/loader.ts";
import { check, loadShipped, metric, run, shippedPath, verdicts } from "./_roles.ts";
import { runCli } from "../_support/cli.ts";

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const { code, all } = await runCli(args);
  return { code, out: all };
}

test("every shipped role scenario is a valid file", async () => {
  for (const name of ["quickstart", "lossy-zone", "partition", "login-storm"]) {
    const scenario = await readScenarioFile(shippedPath(name));
    assert.ok(scenario.workloads.some((w) => w.name === "login"), name);
    assert.ok(scenario.checks.length >= 5, name);
  }
});

test("quickstart passes in the simulator and replays with the same trace hash", async () => {
  const dir = await mkdtemp(join(tmpdir(), "qeynos-quickstart-"));
  try {
    const first = await cli(["scenario", "run", shippedPath("quickstart"), "--out", dir]);
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /^PASSED quickstart seed=1 trace=[0-9a-f]{16}/m);
    const report = JSON.parse(await readFile(join(dir, "report.json"), "utf8"));
    assert.equal(report.checks.length, 10);
    assert.ok(report.checks.every((c: { passed: boolean }) => c.passed));
    const metrics = Object.fromEntries(report.metrics.map((m: { name: string; value: number }) => [m.name, m.value]));
    assert.equal(metrics["roles.bots_ok"], 20);
    assert.ok(metrics["roles.zone_entries"] > 20, "bots changed zones");
    assert.ok(metrics["roles.chat_received"] > 500, "chat lines arrived");
    const replay = await cli(["scenario", "replay", join(dir, "report.json")]);
    assert.equal(replay.code, 0, replay.out);
    assert.match(replay.out, new RegExp(`trace ${report.traceHash} matches`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("lossy-zone (shortened: 25 bots, 30 s) passes under 5 % bursty loss and replays identically", async () => {
  const scenario = loadShipped("lossy-zone", (doc) => {
    doc.duration = { chaos: "20s", heal: "10s" };
    doc.hosts[3].count = 25;
    Object.assign(doc.workload.login, { count: 25, window: "4s", play: "16s" });
  });
  const a = await run(scenario);
  assert.ok(a.passed, verdicts(a));
  const lost = a.report.links.reduce((n, l) => n + l.dropped.loss, 0);
  assert.ok(lost > 1000, `the links lost ${lost} datagrams`);
  assert.ok(metric(a, "roles.zone_entries") > 25, "bots changed zones");
  const b = await run(scenario);
  assert.equal(b.report.traceHash, a.report.traceHash);
  const other = await run(scenario, { seed: 8 });
  assert.notEqual(other.report.traceHash, a.report.traceHash);
});

test("partition (shortened: 12 bots) converges after the world-zone partition and the zone crash", async () => {
  const scenario = loadShipped("partition", (doc) => {
    doc.hosts[3].count = 12;
    doc.duration = { chaos: "45s", heal: "35s" };
    Object.assign(doc.workload.login, { count: 12, window: "4s", play: "35s" });
  });
  const a = await run(scenario);
  assert.ok(a.passed, verdicts(a));
  // The faults bit: sessions broke and bots logged in again.
  assert.ok(metric(a, "roles.bots_failed_attempts") > 0, "some attempts failed");
  assert.equal(metric(a, "roles.bots_ok"), 12);
  assert.match(check(a, "sessions_converge").detail, /agrees with world/);
  const b = await run(scenario);
  assert.equal(b.report.traceHash, a.report.traceHash);
});

test("login-storm (shortened: 150 logins in 3 s) gets every bot into a zone in time", async () => {
  const scenario = loadShipped("login-storm", (doc) => {
    doc.hosts[3].count = 150;
    doc.duration = { chaos: "14s", heal: "6s" };
    Object.assign(doc.workload.login, { count: 150, window: "3s", play: "5s" });
  });
  const a = await run(scenario);
  assert.ok(a.passed, verdicts(a));
  assert.equal(metric(a, "roles.bots_entered"), 150);
  assert.match(check(a, "bots_logged_in").detail, /^150 bots reached a zone/);
});
