import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { addressFlag, UsageError } from "../../src/cli/command.ts";
import { COMMANDS } from "../../src/cli/commands.ts";
import { VERSION } from "../../src/version.ts";
import { runCli as run } from "../_support/cli.ts";

test("qeynos --version prints the version of package.json and deno.json", async () => {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  const deno = JSON.parse(readFileSync(new URL("../../deno.json", import.meta.url), "utf8"));
  assert.equal(pkg.version, VERSION);
  assert.equal(deno.version, VERSION);
  for (const flag of ["--version", "-V"]) {
    const { code, out } = await run([flag]);
    assert.equal(code, 0);
    assert.equal(out, `qeynos ${VERSION}`);
  }
});

test("qeynos --help lists every command", async () => {
  const { code, out } = await run(["--help"]);
  assert.equal(code, 0);
  for (const command of COMMANDS) assert.match(out, new RegExp(`^  ${command.name} `, "m"));
});

test("an unknown command prints a one-line error and the usage, and exits 2", async () => {
  const { code, err } = await run(["frobnicate"]);
  assert.equal(code, 2);
  assert.equal(err.split("\n")[0], "qeynos: Unknown command 'frobnicate'");
  assert.match(err, /Usage: qeynos <command>/);
});

test("an unknown top-level flag exits 2", async () => {
  const { code, err } = await run(["--frobnicate"]);
  assert.equal(code, 2);
  assert.equal(err.split("\n")[0], "qeynos: Unknown option '--frobnicate'");
});

test("every command answers --help with its usage and exits 0", async () => {
  for (const command of COMMANDS) {
    const { code, out } = await run([command.name, "--help"]);
    assert.equal(code, 0, command.name);
    assert.match(out, new RegExp(`^Usage: qeynos ${command.name}`), command.name);
  }
});

test("every command refuses an unknown flag with exit 2 and its own usage", async () => {
  for (const command of COMMANDS) {
    const { code, err } = await run([command.name, "--no-such-flag"]);
    assert.equal(code, 2, command.name);
    assert.equal(err.split("\n")[0], "qeynos: Unknown option '--no-such-flag'", command.name);
    assert.match(err, new RegExp(`Usage: qeynos ${command.name}`), command.name);
  }
});

test("qeynos doctor passes on this machine", async () => {
  const { code, out } = await run(["doctor", "--json"]);
  const report = JSON.parse(out);
  assert.equal(code, 0, out);
  assert.deepEqual(report.findings.map((f: { check: string }) => f.check), [
    "runtime",
    "lz4",
    "zlib",
    "sqlite",
    "udp",
    "tcp",
  ]);
});

test("addressFlag() parses HOST:PORT and [v6]:PORT, and refuses anything else naming the flag", () => {
  assert.deepEqual(addressFlag("server", "127.0.0.1:9100", "usage"), { address: "127.0.0.1", port: 9100 });
  assert.deepEqual(addressFlag("server", "[::1]:9100", "usage"), { address: "::1", port: 9100 });
  assert.deepEqual(addressFlag("server", undefined, "usage", { fallback: "localhost:1" }), {
    address: "localhost",
    port: 1,
  });
  assert.deepEqual(addressFlag("listen", "127.0.0.1:0", "usage", { allowPortZero: true }), {
    address: "127.0.0.1",
    port: 0,
  });
  for (const bad of ["localhost", "127.0.0.1:0", "127.0.0.1:65536", ":80", "a b:1", "::1:80", "host:-1"]) {
    assert.throws(() => addressFlag("server", bad, "usage"), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.message, `Invalid value for --server: '${bad}' (expected HOST:PORT)`);
      return true;
    });
  }
  assert.throws(() => addressFlag("target", undefined, "usage"), { message: "Missing --target HOST:PORT" });
});
