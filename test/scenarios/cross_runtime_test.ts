/**
 * A report replays on the other runtime: the trace of a seed does not depend on whether Deno or Bun
 * ran it (random variates and bot movement use src/platform/portable_math.ts, not Math.sin & co).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { runtimeName } from "../../src/platform/mod.ts";

const root = new URL("../../", import.meta.url).pathname;

function runCli(runtime: string, args: string[]): { status: number | null; output: string } {
  const command = runtime === "deno" ? ["deno", "run", "-A", "src/main.ts", ...args] : ["bun", "src/main.ts", ...args];
  const result = spawnSync(command[0]!, command.slice(1), { cwd: root, encoding: "utf8", env: process.env });
  return {
    status: result.status,
    output: `${result.stdout ?? ""}${result.stderr ?? ""}${result.error?.message ?? ""}`,
  };
}

const here = runtimeName();
const other = here === "deno" ? "bun" : "deno";
const otherMissing = spawnSync(other, ["--version"]).status !== 0;

test("a scenario report made on one runtime replays with the same trace hash on the other", {
  skip: otherMissing ? `${other} is not on PATH` : false,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), "qeynos-cross-"));
  try {
    // Walking bots, zone hops, chat and 1 % loss with jitter: trigonometry and variates on every path.
    const made = runCli(here, ["scenario", "run", "scenarios/quickstart.yaml", "--out", dir]);
    assert.equal(made.status, 0, made.output);
    const report = JSON.parse(await readFile(join(dir, "report.json"), "utf8"));
    const replayed = runCli(other, ["scenario", "replay", join(dir, "report.json")]);
    assert.equal(replayed.status, 0, replayed.output);
    assert.match(replayed.output, new RegExp(`trace ${report.traceHash} matches`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
