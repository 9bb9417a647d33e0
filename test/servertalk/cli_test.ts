import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runtimeName } from "../../src/platform/mod.ts";
import { runCli as run } from "../_support/cli.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

test("qeynos servertalk --help and qeynos bench servertalk --help print their usage", async () => {
  const help = await run(["servertalk", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /^Usage: qeynos servertalk serve/);
  const bench = await run(["bench", "servertalk", "--help"]);
  assert.equal(bench.code, 0);
  assert.match(bench.out, /^Usage: qeynos bench servertalk/);
  assert.match((await run(["bench", "--help"])).out, /servertalk/);
});

test("qeynos servertalk refuses bad usage with one line and exit status 2", async () => {
  const cases: Array<[string[], RegExp]> = [
    [["servertalk"], /^qeynos: Missing subcommand: serve, world or ping/],
    [["servertalk", "talk"], /^qeynos: Unknown subcommand 'talk'/],
    [["servertalk", "serve", "--bogus"], /^qeynos: Unknown option '--bogus'/],
    [["servertalk", "serve", "--target", "x:1"], /^qeynos: Option --target does not apply to servertalk serve/],
    [["servertalk", "world", "--target", "127.0.0.1:9100"], /^qeynos: Missing --name NAME/],
    [
      ["servertalk", "ping", "--target", "nowhere"],
      /^qeynos: Invalid value for --target: 'nowhere' \(expected HOST:PORT\)/,
    ],
    [["servertalk", "serve", "--account", "nopassword"], /^qeynos: Invalid --account/],
    [
      ["bench", "servertalk", "--size", "10"],
      /^qeynos: Invalid value for --size: '10' is not an integer in 64\.\.65536/,
    ],
    [["bench", "servertalk", "--message", "poem"], /^qeynos: Invalid value for --message: 'poem' is not zone or chat/],
  ];
  for (const [args, message] of cases) {
    const result = await run(args);
    assert.equal(result.code, 2, args.join(" "));
    assert.match(result.err, message, args.join(" "));
    assert.match(result.err, /Usage: qeynos/);
  }
});

test("qeynos bench servertalk --in-process prints its line and exits: both ends close what they opened", async () => {
  const args = runtimeName() === "deno" ? ["run", "-A", "src/main.ts"] : ["src/main.ts"];
  const child = spawn(process.execPath, [...args, "bench", "servertalk", "--in-process", "--seconds", "1"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Uint8Array) => out += new TextDecoder().decode(chunk));
  child.stderr.on("data", (chunk: Uint8Array) => err += new TextDecoder().decode(chunk));
  // The measurement takes a few seconds; a process kept alive by an open socket would run on forever.
  const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  clearTimeout(killer);
  assert.equal(code, 0, `exit ${code}: ${err}`);
  const result = JSON.parse(out.trim().split("\n").at(-1)!);
  assert.equal(result.receiver, "in-process");
  assert.ok(result.msgsPerSec > 0 && result.rttP50Us > 0);
});
