import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parseServeConfig } from "../../src/roles/config.ts";
import { RoleError } from "../../src/roles/mod.ts";

const env = (vars: Record<string, string>) => ({
  env: (name: string) => vars[name],
  readFile: (path: string) => {
    if (path === "/secrets/zone") return "zone-secret\nignored second line\n";
    throw new Error("ENOENT: no such file");
  },
});

function refused(text: string, message: string): void {
  assert.throws(() => parseServeConfig(text, "qeynos.yaml", env({})), (error: unknown) => {
    assert.ok(error instanceof RoleError);
    assert.equal(error.code, "ROLE_BAD_CONFIG");
    assert.equal(error.message, message);
    return true;
  });
}

test("the example configuration parses into role options (milliseconds become microseconds)", () => {
  const text = readFileSync(new URL("../../config/qeynos.yaml", import.meta.url), "utf8");
  const config = parseServeConfig(
    text,
    "config/qeynos.yaml",
    env({
      QEYNOS_WORLD_PASSWORD: "world-secret",
      QEYNOS_ZONE_PASSWORD: "zone-secret",
    }),
  );
  assert.deepEqual(config.store, { dataDir: "./data" });
  assert.equal(config.login?.port, 9100);
  assert.deepEqual(config.login?.servertalk, { address: "127.0.0.1", port: 9101 });
  assert.equal(config.login?.autoCreateAccounts, false);
  assert.deepEqual(config.world?.login, {
    address: "127.0.0.1",
    port: 9101,
    account: "world-qeynos",
    password: "world-secret",
  });
  assert.equal(config.world?.keyTtlUs, 30_000_000);
  assert.deepEqual(config.world?.zones, ["qeynos", "antonica", "commonlands"]);
  assert.deepEqual(config.zones.map((z) => [z.name, z.port, z.world.password]), [
    ["zone-1", 9300, "zone-secret"],
    ["zone-2", 9301, "zone-secret"],
  ]);
  assert.equal(config.zones[0]?.linkDeadUs, 30_000_000);
  assert.equal(config.zones[0]?.moveBatchUs, 20_000);
  assert.deepEqual(config.zones[0]?.admin, { port: 9182 });
});

test("a password may come from a file (its first line)", () => {
  const config = parseServeConfig(
    "zones:\n  - name: z\n    world: { address: h, port: 1, account: a, passwordFile: /secrets/zone }\n",
    "f.yaml",
    env({}),
  );
  assert.equal(config.zones[0]?.world.password, "zone-secret");
});

test("configuration errors name the file, the line and the key", () => {
  refused(
    "login:\n  port: 9100\n  prot: 1\n",
    "qeynos.yaml:3: login.prot: unknown key (expected one of address, port, servertalk, autoCreateAccounts, clientVersions, worldStatusTimeoutMs, limits, link, admin)",
  );
  refused("login:\n  port: 70000\n", "qeynos.yaml:2: login.port: expected an integer in 0..65535, got 70000");
  refused("world:\n  name: W\n", "qeynos.yaml:2: world: login (how to reach the login server) is required");
  refused(
    "world:\n  login: { address: h, port: 1, account: a, passwordEnv: NOPE }\n",
    "qeynos.yaml:2: world.login.passwordEnv: NOPE is not set",
  );
  refused(
    "world:\n  login: { address: h, port: 1, account: a, password: x, passwordEnv: Y }\n",
    "qeynos.yaml:2: world.login: give exactly one of password, passwordEnv (a variable's name) or passwordFile",
  );
  refused(
    "zones:\n  - name: z\n    world: { address: h, port: 1, account: a, passwordFile: /nope }\n",
    "qeynos.yaml:3: zones[0].world.passwordFile: cannot read /nope: ENOENT: no such file",
  );
  refused(
    "zones:\n  - { name: z, world: { address: h, port: 1, account: a, password: p } }\n  - { name: z, world: { address: h, port: 1, account: a, password: p } }\n",
    "qeynos.yaml:2: zones[1].name: zone server z is listed twice",
  );
  refused("store: { dataDir: a, databaseUrl: b }\n", "qeynos.yaml:1: store: give dataDir or databaseUrl, not both");
  refused(
    "login: [1, 2\n",
    "qeynos.yaml:1: Flow sequence in block collection must be sufficiently indented and end with a ]",
  );
  refused("- 1\n", "qeynos.yaml:1: expected a mapping of keys to values");
});
