import assert from "node:assert/strict";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { registerWorkload } from "../../sim/workloads/registry.ts";
import { runCli as run } from "../_support/cli.ts";

const SCENARIO = `version: 1
name: cli-echo
seed: 5
duration: { chaos: 4s, heal: 4s }
hosts:
  - { id: server, role: echo-server }
  - { id: client, role: client, count: 2 }
links:
  default: { latency: 20ms, jitter: 5ms, loss: 0.02 }
faults:
  - { at: 1s, partition: [[server], [client1]], for: 1s }
nemesis:
  - { kind: crash, rate: 2/s, duration: 100ms..300ms, hosts: "client*" }
workload:
  echo: { rate: 20/s, size: 64..256, timeout: 500ms }
checks: [echo_integrity, partitions_respected, { echo_liveness: { minRatio: 0.8, grace: 1s } }]
`;

async function scenarioFile(text = SCENARIO): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), "qeynos-scenario-"));
  const file = join(dir, "s.yaml");
  await writeFile(file, text);
  return { dir, file };
}

test("scenario run writes report.json and report.html and exits 0 when every check passes", async () => {
  const { dir, file } = await scenarioFile();
  const out = join(dir, "out");
  const result = await run(["scenario", "run", file, "--out", out]);
  assert.equal(result.code, 0, result.out + result.err);
  assert.match(result.out, /^PASSED cli-echo seed=5 trace=[0-9a-f]{16}/);
  const report = JSON.parse(await readFile(join(out, "report.json"), "utf8"));
  assert.equal(report.seed, 5);
  assert.match(report.traceHash, /^[0-9a-f]{16}$/);
  assert.equal(report.simSeconds, 8);
  assert.ok(report.wallSeconds > 0);
  assert.ok(report.checks.length >= 6);
  for (const check of report.checks) assert.deepEqual(Object.keys(check).slice(0, 3), ["name", "kind", "passed"]);
  assert.ok(report.resolved.faults.some((f: { source: string }) => f.source === "nemesis"));
  assert.equal(report.replay, `qeynos scenario replay ${join(out, "report.json")}`);
  const html = await readFile(join(out, "report.html"), "utf8");
  assert.match(html, /<svg /);
  assert.match(html, /PASSED/);
  assert.ok(html.includes(report.traceHash));
  assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/);
});

test("scenario replay reruns exactly; a tampered hash is reported as divergence", async () => {
  const { dir, file } = await scenarioFile();
  const out = join(dir, "out");
  assert.equal((await run(["scenario", "run", file, "--out", out, "--seed", "11"])).code, 0);
  const replay = await run(["scenario", "replay", join(out, "report.json")]);
  assert.equal(replay.code, 0, replay.out);
  assert.match(replay.out, /^REPLAYED cli-echo seed=11: trace [0-9a-f]{16} matches/);
  const report = JSON.parse(await readFile(join(out, "report.json"), "utf8"));
  report.traceHash = "0000000000000000";
  await writeFile(join(out, "tampered.json"), JSON.stringify(report));
  const tampered = await run(["scenario", "replay", join(out, "tampered.json")]);
  assert.equal(tampered.code, 1);
  assert.match(tampered.out, /^DIVERGED .* differs from the recorded 0000000000000000/);
});

test("scenario run exits 1 when a check fails and names the first violation", async () => {
  const { dir, file } = await scenarioFile(SCENARIO.replace("loss: 0.02", "loss: 1"));
  const result = await run(["scenario", "run", file, "--out", join(dir, "out")]);
  assert.equal(result.code, 1);
  assert.match(result.out, /^FAILED cli-echo/);
  assert.match(result.out, /FAIL {2}echo_liveness {2,}at 8\.000s: 0\/\d+ answered/);
});

test("scenario run exits 2 with file:line for an invalid file", async () => {
  const { file } = await scenarioFile(SCENARIO.replace("rate: 20/s", "rate: 20/s, color: red"));
  const result = await run(["scenario", "run", file]);
  assert.equal(result.code, 2);
  assert.equal(
    result.err,
    `${file}:15: Unknown key 'color' in workload.echo (expected one of: servers, clients, port, rate, size, timeout, maxOutstanding)`,
  );
  const missing = await run(["scenario", "run", join(tmpdir(), "no-such-scenario.yaml")]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /no-such-scenario\.yaml:1: Cannot read the scenario file/);
  const usage = await run(["scenario", "run", "--bogus"]);
  assert.equal(usage.code, 2);
  assert.match(usage.err, /Unknown option '--bogus'/);
});

test("scenario run --runs writes one report per seed and a summary", async () => {
  const { dir, file } = await scenarioFile();
  const out = join(dir, "out");
  const result = await run(["scenario", "run", file, "--out", out, "--runs", "3", "--seed", "100"]);
  assert.equal(result.code, 0, result.out + result.err);
  const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8"));
  assert.deepEqual(summary.runs.map((r: { seed: number }) => r.seed), [100, 101, 102]);
  assert.equal(new Set(summary.runs.map((r: { traceHash: string }) => r.traceHash)).size, 3);
  for (const seed of [100, 101, 102]) {
    const report = JSON.parse(await readFile(join(out, `seed-${seed}`, "report.json"), "utf8"));
    assert.equal(report.seed, seed);
  }
  assert.match(result.err, /\[#+\] 3\/3 seeds, 0 failed, ETA 0s/);
  assert.match(await readFile(join(out, "summary.html"), "utf8"), /ALL PASSED/);
});

test("scenario check-determinism confirms equal hashes", async () => {
  const { file } = await scenarioFile();
  const result = await run(["scenario", "check-determinism", file, "--seed", "9"]);
  assert.equal(result.code, 0, result.out);
  assert.match(result.out, /^DETERMINISTIC cli-echo seed=9: both runs [0-9a-f]{16} after \d+ events/);
});

// A workload that leaks state between runs: the second run sends different sizes.
let leaked = 0;
registerWorkload<null>({
  name: "leaky_test_workload",
  description: "test only: carries state from one run into the next",
  parse: () => null,
  setup(ctx) {
    const run = leaked++;
    ctx.startOn("a", async (p) => {
      const socket = await p.udp.bind({}, () => {});
      for (let i = 0; i < 20; i++) {
        await new Promise<void>((resolve) => p.timers.setTimeout(resolve, 1000));
        socket.send(new Uint8Array(i === 12 ? 10 + run : 10), ctx.address("b"), 9);
      }
    });
  },
});

test("scenario check-determinism shows the first divergent event", async () => {
  const { file } = await scenarioFile(`version: 1
name: leaky
seed: 1
duration: 1s
hosts: [{ id: a, role: x }, { id: b, role: y }]
workload: { leaky_test_workload: }
`);
  const result = await run(["scenario", "check-determinism", file]);
  assert.equal(result.code, 1);
  assert.match(result.out, /^NON-DETERMINISTIC leaky seed=1/);
  // The 13th datagram is the first thing that differs: 11 bytes instead of 10.
  assert.match(
    result.out,
    /First divergent event:\n {2}both .*\n {2}both .*\n {2}both .*\n {2}run 1 {2}#\d+ at 0\.013000s datagram on b a -> b, 10 bytes/,
  );
  assert.match(result.out, /run 2 {2}#\d+ at 0\.013000s datagram on b a -> b, 11 bytes/);
});

test("scenario list names the workloads and checks", async () => {
  const result = await run(["scenario", "list"]);
  assert.equal(result.code, 0);
  assert.match(result.out, /^ {2}echo {2,}datagram echo/m);
  assert.match(result.out, /^ {2}echo_liveness {2,}liveness/m);
});

test("the shipped echo scenarios pass and replay with identical hashes", async () => {
  for (const name of ["echo_lossy", "echo_live"]) {
    const file = new URL(`../../scenarios/${name}.yaml`, import.meta.url).pathname;
    const dir = await mkdtemp(join(tmpdir(), "qeynos-shipped-"));
    const result = await run(["scenario", "run", file, "--out", dir]);
    assert.equal(result.code, 0, result.out);
    const replay = await run(["scenario", "replay", join(dir, "report.json")]);
    assert.equal(replay.code, 0, replay.out);
    assert.match(replay.out, /matches/);
  }
});
