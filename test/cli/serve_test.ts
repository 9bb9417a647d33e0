import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loopbackLimits } from "../../src/cli/serve.ts";
import { runCli as run } from "../_support/cli.ts";

test("qeynos serve --help describes both shapes and the default ports", async () => {
  const { code, out } = await run(["serve", "--help"]);
  assert.equal(code, 0);
  assert.match(out, /^Usage: qeynos serve \[options\]/);
  assert.match(out, /--roles LIST/);
  assert.match(out, /login 9100\/udp/);
});

test("qeynos serve refuses bad usage with one line and exit code 2", async () => {
  const cases: [string[], string][] = [
    [["serve", "--frobnicate"], "qeynos: Unknown option '--frobnicate'"],
    [["serve", "--roles", "login"], "qeynos: Option --roles needs --config FILE"],
    [
      ["serve", "--roles", "auth", "--config", "x"],
      "qeynos: Invalid value for --roles: 'auth' (expected login, world and/or zone)",
    ],
    [["serve", "--config", "x"], "qeynos: Option --config needs --roles"],
    [
      ["serve", "--roles", "zone", "--config", "x", "--zones", "3"],
      "qeynos: Option --zones cannot be used with --roles: set it in the configuration file",
    ],
    [
      ["serve", "--login-port", "99999"],
      "qeynos: Invalid value for --login-port: '99999' is not an integer in 0..65535",
    ],
    [["serve", "--log-format", "xml"], "qeynos: Invalid value for --log-format: 'xml' (expected text or json)"],
    [["serve", "extra"], "qeynos: Unexpected argument 'extra'"],
  ];
  for (const [args, message] of cases) {
    const { code, err } = await run(args);
    assert.equal(code, 2, args.join(" "));
    assert.equal(err.split("\n")[0], message);
  }
});

test("qeynos serve --roles reports an unreadable or invalid configuration file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "qeynos-serve-cli-"));
  try {
    const missing = await run(["serve", "--roles", "login", "--config", join(dir, "none.yaml")]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^qeynos: Cannot read .*none\.yaml: /);
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "login:\n  port: many\n");
    const bad = await run(["serve", "--roles", "login", "--config", file]);
    assert.equal(bad.code, 2);
    assert.equal(bad.err, `qeynos: ${file}:2: login.port: expected an integer in 0..65535, got "many"`);
    writeFileSync(file, "world:\n  login: { address: h, port: 1, account: a, password: p }\n");
    const noLogin = await run(["serve", "--roles", "login", "--config", file, "--data-dir", join(dir, "data")]);
    assert.equal(noLogin.code, 2);
    assert.equal(noLogin.err, "qeynos: Cannot run login: the configuration has no login section");
    const noZone = await run(["serve", "--roles", "zone", "--zone", "zone-9", "--config", file]);
    assert.equal(noZone.code, 2);
    assert.equal(noZone.err, "qeynos: Cannot run zone zone-9: the configuration has no zone server of that name");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("loopback binds get per-address limits raised; other addresses keep the defaults", () => {
  assert.deepEqual(loopbackLimits("127.0.0.1", undefined), {
    maxSessionsPerIp: 20_000,
    requestsPerSecondPerIp: 2_000,
    maxHalfOpen: 4_096,
  });
  assert.equal(loopbackLimits("0.0.0.0", undefined), undefined);
  assert.deepEqual(loopbackLimits("127.0.0.1", { maxSessions: 5 }), { maxSessions: 5 });
});
