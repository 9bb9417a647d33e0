import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { createAccountCommand, parseDuration } from "../../src/cli/account.ts";
import { UsageError } from "../../src/cli/command.ts";
import { COMMANDS } from "../../src/cli/commands.ts";
import { runtimeName } from "../../src/platform/mod.ts";
import { openSqliteStore } from "../../src/store/sqlite.ts";
import { testPlatform } from "../store/_support.ts";
import { type CliRun, runCli } from "../_support/cli.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Runs main() with an account command whose standard input is `stdin`, capturing output. */
function run(args: string[], stdin = ""): Promise<CliRun> {
  const account = createAccountCommand({
    readStdinLine: () => Promise.resolve(stdin.split("\n")[0]!.replace(/\r$/, "")),
    randomBytes: (length) => crypto.getRandomValues(new Uint8Array(length)),
  });
  return runCli(args, { commands: COMMANDS.map((c) => c.name === "account" ? account : c) });
}

/** A temporary data directory for one test. */
async function withDataDir(body: (dir: string, flag: string[]) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "qeynos-cli-"));
  try {
    await body(dir, ["--data-dir", dir]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function openData(dir: string) {
  return await openSqliteStore(join(dir, "qeynos.db"), { platform: testPlatform(), migrate: "check" });
}

test("qeynos account add creates player and server accounts with the password given", async () => {
  await withDataDir(async (dir, data) => {
    let r = await run(["account", "add", "Antonia", "--password", "bayle-of-qeynos", ...data]);
    assert.deepEqual([r.code, r.out], [0, "Created player account 'Antonia' (id 1)"]);
    r = await run(
      ["account", "add", "world-1", "--kind", "world", "--password-stdin", ...data],
      "world secret\nignored",
    );
    assert.deepEqual([r.code, r.out], [0, "Created world account 'world-1' (id 2)"]);
    r = await run(["account", "add", ...data, "zone-1", "--kind=zone", "--password-stdin"], "zone secret 1\r\n");
    assert.deepEqual([r.code, r.out], [0, "Created zone account 'zone-1' (id 3)"]);
    const store = await openData(dir);
    assert.equal((await store.accounts.authenticate("antonia", "bayle-of-qeynos")).ok, true);
    assert.equal((await store.servers.authenticate("world-1", "world secret", { kind: "world" })).ok, true);
    assert.equal((await store.servers.authenticate("zone-1", "zone secret 1", { kind: "zone" })).ok, true);
    const audit = await store.audit.list({ action: "account.create" });
    assert.deepEqual(audit.map((e) => [e.target, e.detail]).reverse(), [
      ["Antonia", { id: 1, kind: "player" }],
      ["world-1", { id: 2, kind: "world" }],
      ["zone-1", { id: 3, kind: "zone" }],
    ]);
    assert.match(audit[0]!.actor, /^cli(:[A-Za-z0-9_.-]+)?$/);
    await store.close();
  });
});

test("qeynos account add without a password option prints a generated one that works", async () => {
  await withDataDir(async (dir, data) => {
    const r = await run(["account", "add", "Lucan", ...data]);
    assert.equal(r.code, 0);
    const match = /^Created player account 'Lucan' \(id 1\)\nPassword: ([A-Za-z0-9]{20})$/.exec(r.out);
    assert.ok(match, r.out);
    const store = await openData(dir);
    assert.equal((await store.accounts.authenticate("lucan", match[1]!)).ok, true);
    await store.close();
  });
});

test("qeynos account add refuses a taken name, a bad name and a short password with exit 1", async () => {
  await withDataDir(async (_dir, data) => {
    await run(["account", "add", "Taken", "--password", "long enough", ...data]);
    const cases: [string[], string][] = [
      [["taken", "--password", "long enough"], "qeynos: Cannot create account: name 'taken' is taken"],
      [
        ["no way", "--password", "long enough"],
        "qeynos: Invalid account name 'no way': only ASCII letters, digits, '_', '-' and '.' are allowed, starting with a letter or digit",
      ],
      [["Shorty", "--password", "short"], "qeynos: Invalid password: 5 bytes is shorter than the minimum 8"],
    ];
    for (const [args, message] of cases) {
      const r = await run(["account", "add", ...args, ...data]);
      assert.deepEqual([r.code, r.err, r.out], [1, message, ""]);
    }
    const r = await run(["account", "add", "Emptyin", "--password-stdin", ...data], "");
    assert.deepEqual([r.code, r.err], [1, "qeynos: Invalid password: 0 bytes is shorter than the minimum 8"]);
  });
});

test("qeynos account refuses bad usage with exit 2 and the usage", async () => {
  await withDataDir(async (_dir, data) => {
    const cases: [string[], string][] = [
      [[], "qeynos: Missing subcommand: add, list, disable, enable, ban or unban"],
      [["frob"], "qeynos: Unknown subcommand 'frob'"],
      [["add"], "qeynos: Missing NAME for 'account add'"],
      [["add", "a1", "a2"], "qeynos: Unexpected argument 'a2'"],
      [["add", "Abc", "--kind", "god"], "qeynos: Invalid value for --kind: 'god' (expected player, world or zone)"],
      [
        ["add", "Abc", "--password", "x", "--password-stdin"],
        "qeynos: Options --password and --password-stdin cannot be used together",
      ],
      [["add", "Abc", "--reason", "x"], "qeynos: Option --reason does not apply to 'account add'"],
      [["list", "--kind", "zone"], "qeynos: Option --kind does not apply to 'account list'"],
      [["ban", "Abc"], "qeynos: Missing --reason for 'account ban'"],
      [["ban", "Abc", "--ip", "10.0.0.1", "--reason", "x"], "qeynos: Unexpected argument 'Abc'"],
      [
        ["ban", "Abc", "--reason", "x", "--for", "10y"],
        "qeynos: Invalid value for --for: '10y' (expected e.g. 90s, 30m, 12h, 7d, 2w or 1d12h, at most 3650d)",
      ],
      [["unban"], "qeynos: Missing NAME for 'account unban'"],
      [
        ["list", "--data-dir", "x", "--database-url", "postgres://h/db"],
        "qeynos: Options --data-dir and --database-url cannot be used together",
      ],
      [
        ["list", "--database-url", "mysql://h/db"],
        "qeynos: Invalid value for --database-url: expected postgres://…, got 'mysql://h/db'",
      ],
    ];
    for (const [args, first] of cases) {
      const located = args.includes("--data-dir") || args.includes("--database-url");
      const r = await run(["account", ...args, ...(located ? [] : data)]);
      assert.equal(r.code, 2, args.join(" "));
      assert.equal(r.err.split("\n")[0], first, args.join(" "));
      assert.match(r.err, /Usage: qeynos account <subcommand>/);
    }
  });
});

test("parseDuration() reads unit sums and bounds them", () => {
  assert.equal(parseDuration("90s", ""), 90_000);
  assert.equal(parseDuration("1d12h", ""), 129_600_000);
  assert.equal(parseDuration("2w", ""), 1_209_600_000);
  assert.equal(parseDuration("3650d", ""), 315_360_000_000);
  for (const bad of ["", "0s", "3651d", "5", "m5", "1.5h", "-1d", "1d 2h"]) {
    assert.throws(() => parseDuration(bad, ""), UsageError, bad);
  }
});

test("qeynos account disable and enable switch an account and are audited", async () => {
  await withDataDir(async (dir, data) => {
    await run(["account", "add", "Switch", "--password", "long enough", ...data]);
    await run(["account", "add", "world-2", "--kind", "world", "--password", "long enough", ...data]);
    let r = await run(["account", "disable", "SWITCH", ...data]);
    assert.deepEqual([r.code, r.out], [0, "Disabled player account 'Switch'"]);
    r = await run(["account", "disable", "world-2", ...data]);
    assert.deepEqual([r.code, r.out], [0, "Disabled world account 'world-2'"]);
    let store = await openData(dir);
    assert.deepEqual(await store.accounts.authenticate("switch", "long enough"), { ok: false, reason: "disabled" });
    assert.deepEqual(await store.servers.authenticate("world-2", "long enough"), { ok: false, reason: "disabled" });
    await store.close();
    r = await run(["account", "enable", "switch", ...data]);
    assert.deepEqual([r.code, r.out], [0, "Enabled player account 'Switch'"]);
    store = await openData(dir);
    assert.equal((await store.accounts.authenticate("switch", "long enough")).ok, true);
    assert.deepEqual(
      (await store.audit.list()).map((e) => `${e.action} ${e.target}`).slice(0, 3),
      ["account.enable Switch", "account.disable world-2", "account.disable Switch"],
    );
    await store.close();
    r = await run(["account", "disable", "nobody", ...data]);
    assert.deepEqual([r.code, r.err], [1, "qeynos: No account named 'nobody'"]);
  });
});

test("qeynos account ban and unban work on accounts and IP networks", async () => {
  await withDataDir(async (dir, data) => {
    await run(["account", "add", "Griefer", "--password", "long enough", ...data]);
    let r = await run(["account", "ban", "griefer", "--reason", "harassment", "--for", "2d", ...data]);
    assert.equal(r.code, 0);
    assert.match(r.out, /^Banned account 'Griefer' until \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(ban 1\): harassment$/);
    r = await run(["account", "ban", "--ip", "203.0.113.77/24", "--reason", "bot farm", ...data]);
    assert.deepEqual([r.code, r.out], [0, "Banned 203.0.113.0/24 until unbanned (ban 2): bot farm"]);
    r = await run(["account", "ban", "--ip", "300.1.1.1", "--reason", "x", ...data]);
    assert.deepEqual([r.code, r.err], [1, "qeynos: Invalid IP address '300.1.1.1': '300' is not a number in 0..255"]);

    let store = await openData(dir);
    const account = await store.accounts.findByName("griefer");
    const [accountBan] = await store.bans.active({ accountId: account!.id });
    assert.ok(accountBan !== undefined && accountBan.expiresMs !== null);
    assert.ok(Math.abs(accountBan.expiresMs - accountBan.createdMs - 2 * 86_400_000) < 5_000);
    assert.deepEqual((await store.bans.active({ ip: "203.0.113.1" })).map((b) => b.reason), ["bot farm"]);
    assert.deepEqual(
      (await store.audit.list({ action: "ban.add" })).map((e) => e.target),
      ["203.0.113.0/24", "Griefer"],
    );
    await store.close();

    r = await run(["account", "list", ...data]);
    assert.equal(r.code, 0);
    assert.match(r.out, /^ID +NAME +KIND +STATE +BAN +CREATED +LAST LOGIN\n1 +Griefer +player +enabled +until /);
    assert.match(r.out, /\n\nActive IP bans:\n {2}203\.0\.113\.0\/24 {2}permanent {2}bot farm \(by cli/);

    r = await run(["account", "unban", "Griefer", ...data]);
    assert.deepEqual([r.code, r.out], [0, "Lifted 1 ban on account 'Griefer'"]);
    r = await run(["account", "unban", "Griefer", ...data]);
    assert.deepEqual([r.code, r.err], [1, "qeynos: No active ban on account 'Griefer'"]);
    r = await run(["account", "unban", "--ip", "203.0.113.0/24", ...data]);
    assert.deepEqual([r.code, r.out], [0, "Lifted 1 ban on 203.0.113.0/24"]);
    store = await openData(dir);
    assert.deepEqual(await store.bans.list({ activeAt: Date.now() }), []);
    assert.equal((await store.audit.list({ action: "ban.lift" })).length, 2);
    await store.close();
  });
});

test("qeynos account list prints every kind of account, as a table or JSON", async () => {
  await withDataDir(async (_dir, data) => {
    let r = await run(["account", "list", ...data]);
    assert.deepEqual([r.code, r.out], [0, `No accounts (no database at ${join(_dir, "qeynos.db")})`]);
    await run(["account", "add", "Player1", "--password", "long enough", ...data]);
    await run(["account", "add", "world-1", "--kind", "world", "--password", "long enough", ...data]);
    await run(["account", "disable", "world-1", ...data]);
    r = await run(["account", "list", "--json", ...data]);
    assert.equal(r.code, 0);
    const listed = JSON.parse(r.out);
    assert.deepEqual(
      listed.accounts.map((
        a: { name: string; kind: string; enabled: boolean; ban: unknown },
      ) => [a.name, a.kind, a.enabled, a.ban]),
      [["Player1", "player", true, null], ["world-1", "world", false, null]],
    );
    assert.deepEqual(listed.ipBans, []);
    r = await run(["account", "list", ...data]);
    const lines = r.out.split("\n");
    assert.equal(lines.length, 3);
    assert.match(lines[2]!, /^2 +world-1 +world +disabled +- +\d{4}-.*Z +never$/);
  });
});

test("qeynos account add --password-stdin reads a real standard input", async () => {
  const dir = mkdtempSync(join(tmpdir(), "qeynos-cli-"));
  try {
    const args = runtimeName() === "deno" ? ["run", "-A", "src/main.ts"] : ["src/main.ts"];
    const child = spawn(
      process.execPath,
      [...args, "account", "add", "Piped", "--password-stdin", "--data-dir", dir],
      { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Uint8Array) => out += new TextDecoder().decode(chunk));
    child.stderr.on("data", (chunk: Uint8Array) => err += new TextDecoder().decode(chunk));
    child.stdin.end("piped password\n");
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    assert.equal(code, 0, err);
    assert.equal(out, "Created player account 'Piped' (id 1)\n");
    const store = await openData(dir);
    assert.equal((await store.accounts.authenticate("piped", "piped password")).ok, true);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
