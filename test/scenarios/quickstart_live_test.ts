/**
 * The quickstart scenario with `--live` (shortened: 6 bots, 11 s of real time): the same roles and
 * bots on real loopback sockets, each pair of UDP sockets joined by a netem proxy with the file's link
 * specs. `qeynos scenario run scenarios/quickstart.yaml --live` runs the full file (50 s).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { liveEnvironment } from "../../src/cli/_live_scenario.ts";
import { runScenario } from "../../sim/scenario/runner.ts";
import type { ScenarioEnvironment } from "../../sim/scenario/context.ts";
import { RoleGame } from "../../sim/workloads/roles/mod.ts";
import { loadShipped, verdicts } from "./_roles.ts";

test("quickstart passes live over loopback through impairment proxies", { timeout: 60_000 }, async () => {
  const scenario = loadShipped("quickstart", (doc) => {
    doc.duration = { chaos: "8s", heal: "3s" };
    doc.hosts[3].count = 6;
    doc.workload.login = { count: 6, window: "1s", start: "1s", play: "6s" };
    doc.workload.chat = { clients: "bot*", rate: "1/s" };
    doc.workload["zone-hop"] = { clients: ["bot1", "bot2"], every: "2s" };
  });
  let env: ScenarioEnvironment | undefined;
  const run = await runScenario(scenario, {
    environment: (seed, s) => (env = liveEnvironment(seed, s)),
  });
  assert.equal(run.report.mode, "live");
  assert.ok(run.passed, verdicts(run));
  const game = RoleGame.find(env!)!;
  const bots = game.botList();
  assert.equal(bots.length, 6);
  assert.ok(bots.every((b) => b.outcome?.ok === true), bots.map((b) => `${b.account}: ${b.lastError}`).join("; "));
  assert.ok(bots.reduce((n, b) => n + b.entries, 0) > 6, "bots changed zones");
  assert.ok(game.totals.chatReceived > 20, `chat lines received: ${game.totals.chatReceived}`);
  // Every bot's datagrams went through a proxy with the file's 20 ms latency.
  const toLogin = run.report.links.filter((l) => l.to === "login" && l.from.startsWith("bot"));
  assert.equal(toLogin.length, 6);
  assert.ok(toLogin.every((l) => l.latencyUs.min >= 5_000), JSON.stringify(toLogin.map((l) => l.latencyUs.min)));
});
