import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { openSqliteStore } from "../../src/store/sqlite.ts";
import { STORE_ERROR_CODES } from "../../src/store/store_error.ts";
import { defineRepositorySuite } from "./_repository_suite.ts";
import { rejectsWith, tempDir, testPlatform } from "./_support.ts";

defineRepositorySuite({
  name: "SQLite",
  fresh() {
    const dir = tempDir();
    const path = join(dir.path, "qeynos.db");
    return Promise.resolve({
      open: (options) => openSqliteStore(path, options),
      raw(sql: string) {
        const db = new DatabaseSync(path);
        try {
          db.exec(sql);
        } finally {
          db.close();
        }
        return Promise.resolve();
      },
      failingTriggerSql: `create trigger test_fail before insert on audit_log when new.action = 'test.fail'
        begin select raise(abort, 'refused by test trigger'); end`,
      cleanup() {
        dir.remove();
        return Promise.resolve();
      },
    });
  },
});

const PASSWORD = "correct horse";

test("SQLite store runs in WAL mode with synchronous FULL and foreign keys on", async () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, "qeynos.db");
    const store = await openSqliteStore(path, { platform: testPlatform(), busyTimeoutMs: 1234 });
    assert.deepEqual(await store.settings(), { journalMode: "wal", synchronous: "full" });
    await store.close();
    const normal = await openSqliteStore(path, { platform: testPlatform(), synchronous: "normal" });
    assert.deepEqual(await normal.settings(), { journalMode: "wal", synchronous: "normal" });
    await normal.close();
    const raw = new DatabaseSync(path);
    raw.exec("pragma foreign_keys = on");
    assert.throws(
      () =>
        raw.prepare(
          "insert into characters (account_id, world_id, name, name_key, race_id, class_id, gender, level, zone, x, y, z, heading, appearance, created_ms, updated_ms) values (999, 1, 'A', 'a', 1, 1, 1, 1, 'z', 0, 0, 0, 0, '{}', 0, 0)",
        ).run(),
      /FOREIGN KEY constraint failed/,
      "the schema declares the foreign key the store relies on",
    );
    raw.close();
  } finally {
    dir.remove();
  }
});

test("openSqliteStore() refuses a file that is not a database and an unopenable path", async () => {
  const dir = tempDir();
  try {
    const junk = join(dir.path, "junk.db");
    writeFileSync(junk, "this is plain text, not a SQLite database, padded to be long enough to have a header");
    await rejectsWith(
      openSqliteStore(junk, { platform: testPlatform() }),
      STORE_ERROR_CODES.UNAVAILABLE,
      `Cannot open SQLite database '${junk}': file is not a database`,
    );
    const missing = join(dir.path, "no", "such", "dir", "qeynos.db");
    await rejectsWith(
      openSqliteStore(missing, { platform: testPlatform() }),
      STORE_ERROR_CODES.UNAVAILABLE,
      new RegExp(`^Cannot open SQLite database '${missing}': unable to open database file`),
    );
  } finally {
    dir.remove();
  }
});

test("openSqliteStore() checks its options", async () => {
  await rejectsWith(
    openSqliteStore(":memory:", { platform: testPlatform(), busyTimeoutMs: -1 }),
    STORE_ERROR_CODES.INVALID_ARGUMENT,
    "Invalid busyTimeoutMs: -1 is not an integer in 0..600000",
  );
  await rejectsWith(
    openSqliteStore(":memory:", { platform: testPlatform(), bcryptCost: 3 }),
    STORE_ERROR_CODES.INVALID_ARGUMENT,
    "Invalid bcryptCost: 3 is not an integer in 4..15",
  );
  await rejectsWith(
    openSqliteStore(":memory:", { platform: testPlatform(), limits: { maxCharactersPerAccount: 0 } }),
    STORE_ERROR_CODES.INVALID_ARGUMENT,
    "Invalid maxCharactersPerAccount: 0 is not an integer in 1..9007199254740991",
  );
});

test("an in-memory SQLite store works for simulations", async () => {
  const store = await openSqliteStore(":memory:", { platform: testPlatform(), bcryptCost: 4 });
  await store.accounts.create({ name: "Ephemeral", password: PASSWORD });
  assert.equal((await store.accounts.authenticate("ephemeral", PASSWORD)).ok, true);
  await store.close();
});

test("SqliteStore.backup() writes a consistent copy that opens as a store", async () => {
  const dir = tempDir();
  try {
    const store = await openSqliteStore(join(dir.path, "qeynos.db"), { platform: testPlatform(), bcryptCost: 4 });
    const account = await store.accounts.create({ name: "Backed", password: PASSWORD });
    await store.characters.create({
      accountId: account.id,
      worldId: 1,
      name: "Copy",
      race: 1,
      class: 1,
      gender: 0,
      zone: "qeynos",
    });
    const target = join(dir.path, "backup.db");
    // A transaction under way when the backup is asked for: the copy holds all of it or none of it.
    const writing = store.transaction(async (tx) => {
      await tx.accounts.create({ name: "InFlight", password: PASSWORD });
      await tx.audit.record({ actor: "test", action: "in.flight" });
    });
    const result = await store.backup(target);
    await writing;
    assert.equal(result.path, target);
    assert.ok(result.bytes > 0);
    await rejectsWith(
      store.backup(target),
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      `Cannot back up to '${target}': the file exists`,
    );
    await store.close();
    const copy = await openSqliteStore(target, { platform: testPlatform(), bcryptCost: 4, migrate: "check" });
    assert.equal((await copy.accounts.authenticate("backed", PASSWORD)).ok, true);
    assert.equal((await copy.characters.findByName(1, "copy"))?.accountId, account.id);
    assert.equal((await copy.accounts.findByName("inflight")) !== undefined, (await copy.audit.list()).length === 1);
    await copy.close();
  } finally {
    dir.remove();
  }
});

test("operations outside a SQLite transaction wait for it to end", async () => {
  const store = await openSqliteStore(":memory:", { platform: testPlatform(), bcryptCost: 4 });
  let seen: Promise<unknown> | undefined;
  await store.transaction(async (tx) => {
    seen = store.accounts.findByName("waiter");
    await tx.accounts.create({ name: "Waiter", password: PASSWORD });
  });
  assert.equal(((await seen) as { name?: string } | undefined)?.name, "Waiter");
  await store.close();
});

test("maxPendingOperations bounds the operations waiting for a SQLite transaction", async () => {
  const store = await openSqliteStore(":memory:", {
    platform: testPlatform(),
    bcryptCost: 4,
    limits: { maxPendingOperations: 2 },
  });
  const waiting: Promise<unknown>[] = [];
  await store.transaction(async () => {
    waiting.push(store.accounts.list(), store.accounts.list());
    await rejectsWith(
      store.accounts.list(),
      STORE_ERROR_CODES.BUSY,
      "Cannot queue database operation: 2 already wait (limit 2)",
    );
  });
  assert.deepEqual(await Promise.all(waiting), [[], []]);
  await store.close();
});

test("a second connection that cannot get the write lock in time gets STORE_BUSY", async () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, "qeynos.db");
    const first = await openSqliteStore(path, { platform: testPlatform(), bcryptCost: 4 });
    const second = await openSqliteStore(path, { platform: testPlatform(), bcryptCost: 4, busyTimeoutMs: 50 });
    await first.transaction(async (tx) => {
      await tx.audit.record({ actor: "first", action: "holding" });
      await rejectsWith(
        second.audit.record({ actor: "second", action: "blocked" }),
        STORE_ERROR_CODES.BUSY,
        "Database is busy: database is locked",
      );
    });
    await second.audit.record({ actor: "second", action: "after" });
    assert.deepEqual((await first.audit.list()).map((e) => e.actor), ["second", "first"]);
    await first.close();
    await second.close();
  } finally {
    dir.remove();
  }
});

test("authenticate() spends about the same time on unknown names as on wrong passwords", async () => {
  // Cost 10 makes one bcrypt take tens of milliseconds; without the dummy hash an unknown name
  // would answer in well under a millisecond, so the bound below has a wide margin on a busy machine.
  const store = await openSqliteStore(":memory:", {
    platform: testPlatform(),
    bcryptCost: 10,
    lockout: { maxFailures: 0 },
  });
  await store.accounts.create({ name: "Existing", password: PASSWORD });
  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < 5; i++) {
    let started = performance.now();
    await store.accounts.authenticate("existing", "wrong password");
    known.push(performance.now() - started);
    started = performance.now();
    await store.accounts.authenticate("missing", "wrong password");
    unknown.push(performance.now() - started);
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[2]!;
  console.log(`authenticate median: existing ${median(known).toFixed(1)} ms, unknown ${median(unknown).toFixed(1)} ms`);
  assert.ok(median(unknown) > median(known) * 0.25, `unknown ${median(unknown)} ms vs existing ${median(known)} ms`);
  await store.close();
});

test("with hashing 'sync' every store operation settles on microtasks alone", async () => {
  const settle = async <T>(promise: Promise<T>): Promise<{ done: boolean; value?: T }> => {
    let state: { done: boolean; value?: T } = { done: false };
    promise.then((value) => state = { done: true, value });
    // Microtask turns only: an operation waiting for a timer or an event-loop turn cannot finish here.
    for (let i = 0; i < 200; i++) await Promise.resolve();
    return state;
  };
  const sync = await openSqliteStore(":memory:", { platform: testPlatform(), bcryptCost: 4, hashing: "sync" });
  assert.equal((await settle(sync.accounts.create({ name: "Simulated", password: PASSWORD }))).done, true);
  const login = await settle(sync.accounts.authenticate("simulated", PASSWORD));
  assert.equal(login.done && login.value?.ok, true);
  assert.equal((await settle(sync.accounts.authenticate("unknown", PASSWORD))).done, true);
  await sync.close();
  // The default spreads bcrypt over event-loop turns, which the same check observes.
  const sliced = await openSqliteStore(":memory:", { platform: testPlatform(), bcryptCost: 4 });
  const pending = sliced.accounts.create({ name: "Sliced", password: PASSWORD });
  assert.equal((await settle(pending)).done, false);
  await pending;
  await sliced.close();
});
