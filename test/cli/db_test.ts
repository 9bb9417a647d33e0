import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { MIGRATIONS } from "../../src/store/migrations/mod.ts";
import { openSqliteStore } from "../../src/store/sqlite.ts";
import { testPlatform } from "../store/_support.ts";
import { runCli as run } from "../_support/cli.ts";

async function withDataDir(body: (dir: string, data: string[]) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "qeynos-db-"));
  try {
    await body(dir, ["--data-dir", dir]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("qeynos db migrate creates the database once, and status reports it", async () => {
  await withDataDir(async (dir, data) => {
    let r = await run(["db", "status", ...data]);
    assert.deepEqual([r.code, r.out], [
      1,
      `No database at ${join(dir, "qeynos.db")} (it is created by 'qeynos db migrate' or the first write)`,
    ]);
    r = await run(["db", "migrate", ...data]);
    assert.deepEqual([r.code, r.out], [0, "Applied migration 1 (initial)\nSchema is at version 1 (latest)"]);
    r = await run(["db", "migrate", ...data]);
    assert.deepEqual([r.code, r.out], [0, "Schema is at version 1; nothing to apply"]);
    await run(["account", "add", "Status", "--password", "long enough", ...data]);
    r = await run(["db", "status", ...data]);
    assert.equal(r.code, 0);
    assert.match(
      r.out,
      new RegExp(
        [
          "^backend     sqlite",
          `location    ${join(dir, "qeynos.db").replaceAll(".", "\\.")}`,
          "schema      version 1 of 1 \\(current\\)",
          "sqlite      \\d+ bytes, journal wal, synchronous full",
          "accounts    1 player, 0 world, 0 zone \\(0 disabled\\)",
          "characters  0 \\(0 deleted\\)",
          "bans        0 active",
          "audit log   1 entries$",
        ].join("\n"),
      ),
    );
    r = await run(["db", "status", "--json", ...data]);
    const report = JSON.parse(r.out);
    assert.equal(r.code, 0);
    assert.equal(report.state, "current");
    assert.deepEqual(report.stats.accounts, { player: 1, world: 0, zone: 0 });
    assert.equal(report.sqlite.journalMode, "wal");
  });
});

test("qeynos db status exits 1 for an outdated or a newer schema", async () => {
  await withDataDir(async (dir, data) => {
    const path = join(dir, "qeynos.db");
    const newer = await openSqliteStore(path, {
      platform: testPlatform(),
      migrations: [...MIGRATIONS, {
        version: 2,
        name: "from_the_future",
        statements: () => ["create table future (x integer)"],
      }],
    });
    await newer.close();
    let r = await run(["db", "status", ...data]);
    assert.equal(r.code, 1);
    assert.match(r.out, /^schema {6}version 2 of 1 \(too new\)$/m);
    assert.match(r.out, /written by a newer Qeynos/);
    r = await run(["db", "migrate", ...data]);
    assert.deepEqual([r.code, r.err], [
      1,
      "qeynos: Cannot use database: its schema version 2 is newer than this build supports (1); upgrade Qeynos",
    ]);
    r = await run(["account", "add", "Refused", "--password", "long enough", ...data]);
    assert.equal(r.code, 1);
    assert.match(r.err, /newer than this build supports/);
  });
  await withDataDir(async (dir, data) => {
    const empty = await openSqliteStore(join(dir, "qeynos.db"), { platform: testPlatform(), migrate: "none" });
    await empty.close();
    const r = await run(["db", "status", "--json", ...data]);
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.out).state, "empty");
  });
});

test("qeynos db backup writes a copy that opens with the same data, and refuses to overwrite", async () => {
  await withDataDir(async (dir, data) => {
    const target = join(dir, "copy.db");
    let r = await run(["db", "backup", target, ...data]);
    assert.deepEqual([r.code, r.err], [1, `qeynos: No database at ${join(dir, "qeynos.db")}`]);
    await run(["account", "add", "Saved", "--password", "long enough", ...data]);
    r = await run(["db", "backup", target, ...data]);
    assert.equal(r.code, 0);
    assert.match(
      r.out,
      new RegExp(`^Backed up .*qeynos\\.db to ${target.replaceAll(".", "\\.")} \\(\\d+ bytes, schema version 1\\)$`),
    );
    const copy = await openSqliteStore(target, { platform: testPlatform(), migrate: "check" });
    assert.equal((await copy.accounts.authenticate("saved", "long enough")).ok, true);
    await copy.close();
    r = await run(["db", "backup", target, ...data]);
    assert.deepEqual([r.code, r.err], [1, `qeynos: Cannot back up to '${target}': the file exists`]);
  });
});

test("qeynos db refuses bad usage with exit 2", async () => {
  const cases: [string[], string][] = [
    [[], "qeynos: Missing subcommand: migrate, status or backup"],
    [["vacuum"], "qeynos: Unknown subcommand 'vacuum'"],
    [["backup"], "qeynos: Expected exactly one FILE for db backup"],
    [["migrate", "extra"], "qeynos: Unexpected argument 'extra'"],
    [["migrate", "--json"], "qeynos: Option --json applies to db status only"],
    [["status", "--data-dir", ""], "qeynos: Invalid value for --data-dir: empty"],
  ];
  for (const [args, first] of cases) {
    const r = await run(["db", ...args]);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.err.split("\n")[0], first, args.join(" "));
    assert.match(r.err, /Usage: qeynos db <subcommand>/);
  }
});

const pgUrl = process.env.QEYNOS_TEST_POSTGRES_URL;
test(
  "qeynos db and account commands work against PostgreSQL with --database-url",
  pgUrl ? {} : { skip: "QEYNOS_TEST_POSTGRES_URL is not set" },
  async () => {
    const url = pgUrl!;
    let r = await run(["db", "migrate", "--database-url", url]);
    assert.equal(r.code, 0, r.err);
    const name = `cli-${crypto.randomUUID().slice(0, 8)}`;
    r = await run(["account", "add", name, "--kind", "zone", "--password", "long enough", "--database-url", url]);
    assert.equal(r.code, 0, r.err);
    r = await run(["account", "list", "--json", "--database-url", url]);
    assert.ok(JSON.parse(r.out).accounts.some((a: { name: string }) => a.name === name));
    r = await run(["db", "status", "--json", "--database-url", url]);
    const report = JSON.parse(r.out);
    assert.deepEqual([r.code, report.backend, report.state], [0, "postgres", "current"]);
    assert.ok(!r.out.includes(new URL(url).password));
    r = await run(["db", "backup", "/tmp/never-written.db", "--database-url", url]);
    assert.deepEqual([r.code, r.err], [
      1,
      "qeynos: db backup copies the SQLite store only; back up PostgreSQL with pg_dump",
    ]);
    assert.equal(existsSync("/tmp/never-written.db"), false);
  },
);
