/**
 * The repository test suite every backend must pass. Each backend's test file calls
 * {@linkcode defineRepositorySuite} once with a way to make a fresh, empty database.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import bcrypt from "bcryptjs";
import type { SqlStoreOptions } from "../../src/store/_sql_store.ts";
import { MIGRATIONS } from "../../src/store/migrations/mod.ts";
import type { Migration } from "../../src/store/migrations/mod.ts";
import type { Store } from "../../src/store/store.ts";
import { STORE_ERROR_CODES } from "../../src/store/store_error.ts";
import { rejectsWith, type TestPlatform, testPlatform } from "./_support.ts";

/** A fresh, empty database of one backend. */
export interface Database {
  /** Opens a store on it (any number of times; each must be closed). */
  open(options: Omit<SqlStoreOptions, "platform"> & { platform: TestPlatform }): Promise<Store>;
  /** Runs raw SQL on it outside any store (to install test triggers). */
  raw(sql: string): Promise<void>;
  /** SQL that makes inserts into audit_log with action 'test.fail' fail inside the database. */
  readonly failingTriggerSql: string;
  cleanup(): Promise<void>;
}

/** A backend under test, or the reason it is skipped. */
export interface Backend {
  readonly name: string;
  readonly skip?: string;
  fresh(): Promise<Database>;
}

const M2: Migration = {
  version: 2,
  name: "add_notes",
  statements: (d) => [`create table notes (id ${d.idColumn}, body text not null)`],
};
const M3_BROKEN: Migration = {
  version: 3,
  name: "broken",
  statements: () => ["create table half_done (id integer)", "create table syntax error here ("],
};

/** bcrypt test vector (cost 5) from the crypt_blowfish test suite: "U*U". */
const KNOWN_HASH = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
const PASSWORD = "correct horse";

/** Registers the whole suite for `backend` as flat tests named `"<backend>: …"`. */
export function defineRepositorySuite(backend: Backend): void {
  const options = backend.skip === undefined ? {} : { skip: backend.skip };

  /** Runs `body` with a fresh store (cost 4 bcrypt for speed) and cleans up. */
  function storeTest(
    name: string,
    body: (store: Store, platform: TestPlatform, db: Database) => Promise<void>,
    storeOptions: Omit<SqlStoreOptions, "platform"> = {},
  ): void {
    test(`${backend.name}: ${name}`, options, async () => {
      const db = await backend.fresh();
      const platform = testPlatform();
      const store = await db.open({ platform, bcryptCost: 4, ...storeOptions });
      try {
        await body(store, platform, db);
      } finally {
        await store.close();
        await db.cleanup();
      }
    });
  }

  /** Runs `body` with a fresh database and no store open. */
  function databaseTest(name: string, body: (db: Database, platform: TestPlatform) => Promise<void>): void {
    test(`${backend.name}: ${name}`, options, async () => {
      const db = await backend.fresh();
      try {
        await body(db, testPlatform());
      } finally {
        await db.cleanup();
      }
    });
  }

  // ---- accounts ------------------------------------------------------------------------------

  storeTest("accounts.create() stores a player account found by id and by name in any case", async (store, p) => {
    const created = await store.accounts.create({ name: "Antonia.Bayle", password: PASSWORD });
    assert.deepEqual(created, {
      id: created.id,
      name: "Antonia.Bayle",
      kind: "player",
      enabled: true,
      createdMs: p.nowMs,
      lastLoginMs: null,
    });
    assert.deepEqual(await store.accounts.get(created.id), created);
    assert.deepEqual(await store.accounts.findByName("antonia.BAYLE"), created);
    assert.equal(await store.accounts.findByName("nobody"), undefined);
    assert.equal(await store.accounts.findByName("x"), undefined, "an invalid name is simply not found");
    assert.equal(await store.accounts.get(created.id + 1000), undefined);
  });

  storeTest("accounts.create() refuses a name taken in another case or by a server account", async (store) => {
    await store.accounts.create({ name: "Lucan", password: PASSWORD });
    await store.servers.create({ name: "world-1", kind: "world", password: PASSWORD });
    await rejectsWith(
      store.accounts.create({ name: "LUCAN", password: PASSWORD }),
      STORE_ERROR_CODES.DUPLICATE_NAME,
      "Cannot create account: name 'LUCAN' is taken",
    );
    await rejectsWith(
      store.accounts.create({ name: "World-1", password: PASSWORD }),
      STORE_ERROR_CODES.DUPLICATE_NAME,
      "Cannot create account: name 'World-1' is taken",
    );
    await rejectsWith(
      store.servers.create({ name: "lucan", kind: "zone", password: PASSWORD }),
      STORE_ERROR_CODES.DUPLICATE_NAME,
      "Cannot create account: name 'lucan' is taken",
    );
  });

  storeTest(
    "account names are limited to 3..32 letters, digits, '_', '-', '.' starting alphanumeric",
    async (store) => {
      await rejectsWith(
        store.accounts.create({ name: "ab", password: PASSWORD }),
        STORE_ERROR_CODES.INVALID_NAME,
        "Invalid account name 'ab': length 2 is outside 3..32",
      );
      await rejectsWith(
        store.accounts.create({ name: "a".repeat(33), password: PASSWORD }),
        STORE_ERROR_CODES.INVALID_NAME,
        `Invalid account name '${"a".repeat(33)}': length 33 is outside 3..32`,
      );
      await rejectsWith(
        store.accounts.create({ name: "bad name", password: PASSWORD }),
        STORE_ERROR_CODES.INVALID_NAME,
        "Invalid account name 'bad name': only ASCII letters, digits, '_', '-' and '.' are allowed, starting with a letter or digit",
      );
      await rejectsWith(
        store.accounts.create({ name: "_under", password: PASSWORD }),
        STORE_ERROR_CODES.INVALID_NAME,
        /starting with a letter or digit$/,
      );
      await rejectsWith(
        store.accounts.create({ name: "tab\there", password: PASSWORD }),
        STORE_ERROR_CODES.INVALID_NAME,
        "Invalid account name 'tab\\u0009here': only ASCII letters, digits, '_', '-' and '.' are allowed, starting with a letter or digit",
      );
      const longest = await store.accounts.create({ name: "A".repeat(32), password: PASSWORD });
      assert.equal(longest.name.length, 32);
    },
  );

  storeTest("new passwords must be 8..72 UTF-8 bytes without NUL, and errors never echo them", async (store) => {
    const short = await rejectsWith(
      store.accounts.create({ name: "shorty", password: "secret7" }),
      STORE_ERROR_CODES.INVALID_PASSWORD,
      "Invalid password: 7 bytes is shorter than the minimum 8",
    );
    assert.ok(!short.message.includes("secret7"));
    await rejectsWith(
      store.accounts.create({ name: "longy", password: "é".repeat(37) }),
      STORE_ERROR_CODES.INVALID_PASSWORD,
      "Invalid password: 74 bytes exceeds bcrypt's limit 72",
    );
    await rejectsWith(
      store.accounts.create({ name: "nully", password: "abcd\0efgh" }),
      STORE_ERROR_CODES.INVALID_PASSWORD,
      "Invalid password: contains a NUL character",
    );
    await rejectsWith(
      store.accounts.create({ name: "hashy", passwordHash: "$2b$10$tooshort" }),
      STORE_ERROR_CODES.INVALID_PASSWORD,
      "Invalid password hash: expected a 60-character bcrypt hash ($2a$, $2b$ or $2y$, cost 04..31)",
    );
    const exact = await store.accounts.create({ name: "exact", password: "x".repeat(72) });
    assert.equal((await store.accounts.authenticate("exact", "x".repeat(72))).ok, true);
    assert.equal(
      (await store.accounts.authenticate("exact", "x".repeat(73))).ok,
      false,
      "a password bcrypt would truncate never matches",
    );
    assert.ok(exact.id > 0);
  });

  storeTest("minPasswordBytes is an option", async (store) => {
    await store.accounts.create({ name: "tiny", password: "abc" });
    await rejectsWith(
      store.accounts.create({ name: "tinier", password: "ab" }),
      STORE_ERROR_CODES.INVALID_PASSWORD,
      "Invalid password: 2 bytes is shorter than the minimum 3",
    );
  }, { limits: { minPasswordBytes: 3 } });

  storeTest("an account created from a bcrypt hash of another implementation authenticates", async (store) => {
    await store.servers.create({ name: "legacy-world", kind: "world", passwordHash: KNOWN_HASH });
    assert.equal((await store.servers.authenticate("legacy-world", "U*U")).ok, true);
    assert.equal((await store.servers.authenticate("legacy-world", "U*U")).ok, true, "still valid after the rehash");
    assert.deepEqual(await store.servers.authenticate("legacy-world", "U*U*"), { ok: false, reason: "wrong_password" });
  });

  storeTest("accounts.list() pages by id and bounds the page size", async (store) => {
    const names = ["alpha", "bravo", "charlie", "delta", "echo"];
    for (const name of names) await store.accounts.create({ name, password: PASSWORD });
    await store.servers.create({ name: "zone-1", kind: "zone", password: PASSWORD });
    const first = await store.accounts.list({ limit: 2 });
    assert.deepEqual(first.map((a) => a.name), ["alpha", "bravo"]);
    const rest = await store.accounts.list({ afterId: first[1]!.id, limit: 10 });
    assert.deepEqual(rest.map((a) => a.name), ["charlie", "delta", "echo"]);
    assert.deepEqual((await store.servers.list()).map((a) => a.name), ["zone-1"]);
    await rejectsWith(
      store.accounts.list({ limit: 0 }),
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      "Invalid limit: 0 is not an integer in 1..1000",
    );
    await rejectsWith(
      store.accounts.list({ limit: 1001 }),
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      "Invalid limit: 1001 is not an integer in 1..1000",
    );
  });

  storeTest("a disabled account is refused only once its password is right", async (store) => {
    const account = await store.accounts.create({ name: "Frostfell", password: PASSWORD });
    const disabled = await store.accounts.setEnabled(account.id, false);
    assert.equal(disabled.enabled, false);
    assert.deepEqual(await store.accounts.authenticate("frostfell", PASSWORD), { ok: false, reason: "disabled" });
    assert.deepEqual(await store.accounts.authenticate("frostfell", "wrong guess"), {
      ok: false,
      reason: "wrong_password",
    });
    await store.accounts.setEnabled(account.id, true);
    assert.equal((await store.accounts.authenticate("frostfell", PASSWORD)).ok, true);
    await rejectsWith(
      store.accounts.setEnabled(account.id + 100, false),
      STORE_ERROR_CODES.NOT_FOUND,
      `Cannot update account: no player account with id ${account.id + 100}`,
    );
    const world = await store.servers.create({ name: "world-2", kind: "world", password: PASSWORD });
    await rejectsWith(
      store.accounts.setEnabled(world.id, false),
      STORE_ERROR_CODES.NOT_FOUND,
      `Cannot update account: no player account with id ${world.id}`,
    );
  });

  storeTest("setPassword() replaces the password", async (store) => {
    const account = await store.accounts.create({ name: "Rename", password: PASSWORD });
    await store.accounts.setPassword(account.id, { password: "a new password" });
    assert.deepEqual(await store.accounts.authenticate("rename", PASSWORD), { ok: false, reason: "wrong_password" });
    assert.equal((await store.accounts.authenticate("rename", "a new password")).ok, true);
    await rejectsWith(
      store.accounts.setPassword(account.id + 100, { password: "a new password" }),
      STORE_ERROR_CODES.NOT_FOUND,
      `Cannot update account: no player account with id ${account.id + 100}`,
    );
  });

  storeTest("authenticate() tells unknown names from wrong passwords and stamps the login time", async (store, p) => {
    const account = await store.accounts.create({ name: "Qeynos", password: PASSWORD });
    assert.deepEqual(await store.accounts.authenticate("nobody-here", PASSWORD), {
      ok: false,
      reason: "unknown_account",
    });
    assert.deepEqual(await store.accounts.authenticate("no such name!", PASSWORD), {
      ok: false,
      reason: "unknown_account",
    });
    assert.deepEqual(await store.accounts.authenticate("qeynos", "not it"), { ok: false, reason: "wrong_password" });
    p.nowMs += 60_000;
    const result = await store.accounts.authenticate("QEYNOS", PASSWORD);
    assert.deepEqual(result, { ok: true, created: false, account: { ...account, lastLoginMs: p.nowMs } });
    assert.equal((await store.accounts.get(account.id))!.lastLoginMs, p.nowMs);
  });

  storeTest("five failures in the window lock a name, existing or not, until the lock ends", async (store, p) => {
    await store.accounts.create({ name: "Target", password: PASSWORD });
    for (let i = 0; i < 4; i++) {
      assert.equal((await store.accounts.authenticate("target", `guess ${i}`)).ok, false);
      assert.equal((await store.accounts.authenticate("ghost", `guess ${i}`)).ok, false);
      p.nowMs += 1000;
    }
    assert.deepEqual(await store.accounts.authenticate("target", "guess 5"), { ok: false, reason: "wrong_password" });
    assert.deepEqual(await store.accounts.authenticate("ghost", "guess 5"), { ok: false, reason: "unknown_account" });
    const lockedUntilMs = p.nowMs + 300_000;
    assert.deepEqual(await store.accounts.authenticate("target", PASSWORD), {
      ok: false,
      reason: "locked",
      lockedUntilMs,
    });
    assert.deepEqual(await store.accounts.authenticate("GHOST", PASSWORD), {
      ok: false,
      reason: "locked",
      lockedUntilMs,
    });
    p.nowMs = lockedUntilMs;
    assert.equal((await store.accounts.authenticate("target", PASSWORD)).ok, true);
    assert.deepEqual(await store.accounts.authenticate("ghost", PASSWORD), { ok: false, reason: "unknown_account" });
  });

  storeTest("failures outside the window do not add up, and a success clears them", async (store, p) => {
    await store.accounts.create({ name: "Patient", password: PASSWORD });
    for (let i = 0; i < 4; i++) await store.accounts.authenticate("patient", "wrong");
    assert.equal((await store.accounts.authenticate("patient", PASSWORD)).ok, true);
    for (let i = 0; i < 4; i++) await store.accounts.authenticate("patient", "wrong");
    p.nowMs += 300_001;
    for (let i = 0; i < 4; i++) await store.accounts.authenticate("patient", "wrong");
    assert.equal((await store.accounts.authenticate("patient", PASSWORD)).ok, true);
  });

  storeTest("the lockout follows its options and maxFailures 0 disables it", async (store) => {
    await store.accounts.create({ name: "Nolock", password: PASSWORD });
    for (let i = 0; i < 20; i++) await store.accounts.authenticate("nolock", "wrong");
    assert.equal((await store.accounts.authenticate("nolock", PASSWORD)).ok, true);
  }, { lockout: { maxFailures: 0 } });

  storeTest("auto-create makes an account for an unknown valid name and a fit password", async (store, p) => {
    const created = await store.accounts.authenticate("Newcomer", PASSWORD, { autoCreate: true });
    assert.equal(created.ok, true);
    assert.ok(
      created.ok && created.created && created.account.name === "Newcomer" && created.account.lastLoginMs === p.nowMs,
    );
    const again = await store.accounts.authenticate("newcomer", PASSWORD, { autoCreate: true });
    assert.ok(again.ok && !again.created);
    assert.deepEqual(await store.accounts.authenticate("newcomer", "wrong one", { autoCreate: true }), {
      ok: false,
      reason: "wrong_password",
    });
    assert.deepEqual(await store.accounts.authenticate("Shortpw", "short", { autoCreate: true }), {
      ok: false,
      reason: "unknown_account",
    });
    assert.deepEqual(await store.accounts.authenticate("bad name", PASSWORD, { autoCreate: true }), {
      ok: false,
      reason: "unknown_account",
    });
    await store.servers.create({ name: "world-3", kind: "world", password: PASSWORD });
    assert.deepEqual(await store.accounts.authenticate("world-3", PASSWORD, { autoCreate: true }), {
      ok: false,
      reason: "unknown_account",
    });
    assert.equal(await store.accounts.findByName("shortpw"), undefined);
  });

  storeTest(
    "an IP ban refuses every login from the network; an account ban needs the right password",
    async (store) => {
      const account = await store.accounts.create({ name: "Banned", password: PASSWORD });
      const ipBan = await store.bans.add({ ip: "192.0.2.0/24" }, { reason: "botting", actor: "gm" });
      assert.deepEqual(await store.accounts.authenticate("banned", "wrong", { ip: "192.0.2.77" }), {
        ok: false,
        reason: "banned",
        ban: ipBan,
      });
      assert.deepEqual(await store.accounts.authenticate("nobody", PASSWORD, { ip: "::ffff:192.0.2.1" }), {
        ok: false,
        reason: "banned",
        ban: ipBan,
      });
      assert.equal((await store.accounts.authenticate("banned", PASSWORD, { ip: "192.0.3.1" })).ok, true);
      const accountBan = await store.bans.add({ accountId: account.id }, { reason: "exploit", actor: "gm" });
      assert.deepEqual(await store.accounts.authenticate("banned", "wrong"), { ok: false, reason: "wrong_password" });
      assert.deepEqual(await store.accounts.authenticate("banned", PASSWORD), {
        ok: false,
        reason: "banned",
        ban: accountBan,
      });
    },
  );

  storeTest("servers.authenticate() sees only server accounts, of the asked kind", async (store) => {
    const world = await store.servers.create({ name: "Antonica", kind: "world", password: PASSWORD });
    const zone = await store.servers.create({ name: "zone-a", kind: "zone", password: PASSWORD });
    await store.accounts.create({ name: "player1", password: PASSWORD });
    assert.deepEqual(world.kind, "world");
    assert.deepEqual(zone.kind, "zone");
    const ok = await store.servers.authenticate("antonica", PASSWORD, { kind: "world" });
    assert.ok(ok.ok && ok.account.id === world.id && ok.account.kind === "world");
    assert.deepEqual(await store.servers.authenticate("antonica", PASSWORD, { kind: "zone" }), {
      ok: false,
      reason: "unknown_account",
    });
    assert.deepEqual(await store.servers.authenticate("player1", PASSWORD), { ok: false, reason: "unknown_account" });
    assert.equal(await store.servers.findByName("player1"), undefined);
    assert.equal(await store.accounts.findByName("antonica"), undefined);
    assert.deepEqual((await store.servers.get(zone.id))?.name, "zone-a");
    assert.equal(await store.accounts.get(zone.id), undefined);
    const disabled = await store.servers.setEnabled(zone.id, false);
    assert.equal(disabled.enabled, false);
    assert.deepEqual(await store.servers.authenticate("zone-a", PASSWORD), { ok: false, reason: "disabled" });
  });

  storeTest(
    "servers.credentials() gives a server account with its hash for servertalk's authenticator",
    async (store) => {
      const world = await store.servers.create({ name: "Creds-World", kind: "world", password: PASSWORD });
      await store.servers.setEnabled(world.id, false);
      await store.accounts.create({ name: "creds-player", password: PASSWORD });
      const credentials = await store.servers.credentials("creds-world");
      assert.ok(credentials !== undefined);
      assert.deepEqual({ ...credentials, passwordHash: "" }, { ...world, enabled: false, passwordHash: "" });
      assert.match(credentials.passwordHash, /^\$2b\$04\$[./A-Za-z0-9]{53}$/);
      assert.equal(await bcrypt.compare(PASSWORD, credentials.passwordHash), true);
      assert.equal(await store.servers.credentials("creds-player"), undefined);
      assert.equal(await store.servers.credentials("nobody"), undefined);
      assert.equal(await store.servers.credentials("not a name"), undefined);
    },
  );

  storeTest("no log line carries a password or a hash", async (store, p) => {
    await store.accounts.create({ name: "Secretive", password: PASSWORD });
    await store.accounts.authenticate("secretive", PASSWORD);
    await store.accounts.authenticate("secretive", "another secret");
    await store.accounts.authenticate("Autocreated", "auto secret", { autoCreate: true });
    await store.servers.create({ name: "hashed", kind: "world", passwordHash: KNOWN_HASH });
    const text = p.log.lines.join("\n");
    for (const secret of [PASSWORD, "another secret", "auto secret", KNOWN_HASH, "$2b$", "$2a$"]) {
      assert.ok(!text.includes(secret), `log mentions ${secret}`);
    }
  });

  // ---- characters ----------------------------------------------------------------------------

  async function player(store: Store, name = "Owner") {
    return await store.accounts.create({ name, password: PASSWORD });
  }

  storeTest(
    "characters.create() fills defaults and the character is found by id, name and account",
    async (store, p) => {
      const owner = await player(store);
      const character = await store.characters.create({
        accountId: owner.id,
        worldId: 1,
        name: "Gorak",
        race: 3,
        class: 12,
        gender: 1,
        zone: "qeynos_harbor",
        appearance: { hair: 4, colors: [1, 2, 3] },
      });
      assert.deepEqual(character, {
        id: character.id,
        accountId: owner.id,
        worldId: 1,
        name: "Gorak",
        race: 3,
        class: 12,
        gender: 1,
        level: 1,
        zone: "qeynos_harbor",
        x: 0,
        y: 0,
        z: 0,
        heading: 0,
        appearance: { hair: 4, colors: [1, 2, 3] },
        createdMs: p.nowMs,
        updatedMs: p.nowMs,
        deletedMs: null,
      });
      assert.deepEqual(await store.characters.get(character.id), character);
      assert.deepEqual(await store.characters.findByName(1, "GORAK"), character);
      assert.equal(await store.characters.findByName(2, "Gorak"), undefined);
      assert.equal(await store.characters.findByName(1, "Go"), undefined);
      const other = await store.characters.create({
        accountId: owner.id,
        worldId: 2,
        name: "Gorak",
        race: 1,
        class: 1,
        gender: 0,
        level: 20,
        zone: "freeport",
        x: -1.25,
        y: 2.5,
        z: 1e6,
        heading: 359.5,
      });
      assert.deepEqual([other.level, other.x, other.y, other.z, other.heading], [20, -1.25, 2.5, 1e6, 359.5]);
      assert.deepEqual((await store.characters.listByAccount(owner.id)).map((c) => c.id), [character.id, other.id]);
      assert.deepEqual((await store.characters.listByAccount(owner.id, { worldId: 2 })).map((c) => c.id), [other.id]);
    },
  );

  storeTest("character names are unique per world case-insensitively and freed by deletion", async (store, p) => {
    const a = await player(store, "OwnerA");
    const b = await player(store, "OwnerB");
    const base = { worldId: 7, race: 1, class: 1, gender: 0, zone: "qeynos" } as const;
    const first = await store.characters.create({ ...base, accountId: a.id, name: "Firiona" });
    await rejectsWith(
      store.characters.create({ ...base, accountId: b.id, name: "FIRIONA" }),
      STORE_ERROR_CODES.DUPLICATE_NAME,
      "Cannot create character: name 'FIRIONA' is taken on world 7",
    );
    p.nowMs += 5;
    await store.characters.delete(first.id);
    const deleted = await store.characters.get(first.id);
    assert.equal(deleted?.deletedMs, p.nowMs);
    assert.equal(await store.characters.findByName(7, "firiona"), undefined);
    assert.deepEqual(await store.characters.listByAccount(a.id), []);
    const second = await store.characters.create({ ...base, accountId: b.id, name: "firiona" });
    assert.notEqual(second.id, first.id);
    await rejectsWith(
      store.characters.delete(first.id),
      STORE_ERROR_CODES.NOT_FOUND,
      `Cannot delete character: no live character with id ${first.id}`,
    );
  });

  storeTest("a character needs an existing player account", async (store) => {
    const world = await store.servers.create({ name: "world-9", kind: "world", password: PASSWORD });
    const base = { worldId: 1, name: "Orphan", race: 1, class: 1, gender: 0, zone: "qeynos" } as const;
    await rejectsWith(
      store.characters.create({ ...base, accountId: 424242 }),
      STORE_ERROR_CODES.NOT_FOUND,
      "Cannot create character: no player account with id 424242",
    );
    await rejectsWith(
      store.characters.create({ ...base, accountId: world.id }),
      STORE_ERROR_CODES.NOT_FOUND,
      `Cannot create character: no player account with id ${world.id}`,
    );
  });

  storeTest("maxCharactersPerAccount limits live characters per account and world", async (store) => {
    const owner = await player(store);
    const base = { accountId: owner.id, worldId: 1, race: 1, class: 1, gender: 0, zone: "qeynos" } as const;
    const first = await store.characters.create({ ...base, name: "Alpha" });
    await store.characters.create({ ...base, name: "Bravo" });
    await rejectsWith(
      store.characters.create({ ...base, name: "Charlie" }),
      STORE_ERROR_CODES.LIMIT_EXCEEDED,
      `Cannot create character: account ${owner.id} already has 2 characters on world 1 (limit 2)`,
    );
    await store.characters.create({ ...base, worldId: 2, name: "Charlie" });
    await store.characters.delete(first.id);
    await store.characters.create({ ...base, name: "Delta" });
  }, { limits: { maxCharactersPerAccount: 2 } });

  storeTest("character fields are checked: name, ranges, coordinates, zone and appearance size", async (store) => {
    const owner = await player(store);
    const base = { accountId: owner.id, worldId: 1, name: "Valid", race: 1, class: 1, gender: 0, zone: "qeynos" };
    await rejectsWith(
      store.characters.create({ ...base, name: "Bad1" }),
      STORE_ERROR_CODES.INVALID_NAME,
      "Invalid character name 'Bad1': only ASCII letters are allowed",
    );
    await rejectsWith(
      store.characters.create({ ...base, name: "A".repeat(21) }),
      STORE_ERROR_CODES.INVALID_NAME,
      `Invalid character name '${"A".repeat(21)}': length 21 is outside 3..20`,
    );
    await rejectsWith(
      store.characters.create({ ...base, level: 0 }),
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      "Invalid level: 0 is not an integer in 1..1000",
    );
    await rejectsWith(
      store.characters.create({ ...base, race: 256 }),
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      "Invalid race: 256 is not an integer in 0..255",
    );
    await rejectsWith(
      store.characters.create({ ...base, worldId: 0 }),
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      "Invalid worldId: 0 is not an integer in 1..2147483647",
    );
    await rejectsWith(
      store.characters.create({ ...base, x: Number.NaN }),
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      "Invalid x: NaN is not a finite number within ±10000000",
    );
    await rejectsWith(
      store.characters.create({ ...base, zone: "no spaces" }),
      STORE_ERROR_CODES.INVALID_NAME,
      "Invalid zone name 'no spaces': only ASCII letters, digits and '_' are allowed",
    );
    await rejectsWith(
      store.characters.create({ ...base, appearance: { blob: "x".repeat(100) } }),
      STORE_ERROR_CODES.LIMIT_EXCEEDED,
      "Cannot store appearance: 111 bytes of JSON exceeds limit 64",
    );
    await rejectsWith(
      store.characters.create({ ...base, appearance: [1, 2] as unknown as Record<string, unknown> }),
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      "Invalid appearance: expected a JSON object",
    );
    assert.deepEqual(await store.characters.listByAccount(owner.id), []);
  }, { limits: { maxAppearanceBytes: 64 } });

  storeTest("characters.update() and savePosition() change a live character only", async (store, p) => {
    const owner = await player(store);
    const character = await store.characters.create({
      accountId: owner.id,
      worldId: 1,
      name: "Mover",
      race: 1,
      class: 1,
      gender: 0,
      zone: "qeynos",
    });
    p.nowMs += 10;
    const updated = await store.characters.update(character.id, { level: 12, appearance: { hat: true }, heading: 45 });
    assert.deepEqual(updated, {
      ...character,
      level: 12,
      appearance: { hat: true },
      heading: 45,
      updatedMs: p.nowMs,
    });
    p.nowMs += 10;
    await store.characters.savePosition(character.id, { zone: "antonica", x: 10.5, y: -3, z: 7.25, heading: 180 });
    const moved = await store.characters.get(character.id);
    assert.deepEqual(
      [moved?.zone, moved?.x, moved?.y, moved?.z, moved?.heading, moved?.updatedMs, moved?.level],
      ["antonica", 10.5, -3, 7.25, 180, p.nowMs, 12],
    );
    await rejectsWith(
      store.characters.update(character.id, { name: "Renamed" } as never),
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      "Invalid character patch: unknown field 'name'",
    );
    await rejectsWith(
      store.characters.update(character.id, { level: 1001 }),
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      "Invalid level: 1001 is not an integer in 1..1000",
    );
    await store.characters.delete(character.id);
    await rejectsWith(
      store.characters.update(character.id, { level: 2 }),
      STORE_ERROR_CODES.NOT_FOUND,
      `Cannot update character: no live character with id ${character.id}`,
    );
    await rejectsWith(
      store.characters.savePosition(character.id, { zone: "qeynos", x: 0, y: 0, z: 0, heading: 0 }),
      STORE_ERROR_CODES.NOT_FOUND,
      `Cannot save character: no live character with id ${character.id}`,
    );
  });

  // ---- bans ----------------------------------------------------------------------------------

  storeTest("an account ban with an expiry is active strictly before it", async (store, p) => {
    const account = await player(store, "Timed");
    const expiresMs = p.nowMs + 3_600_000;
    const ban = await store.bans.add({ accountId: account.id }, { reason: "cool down", actor: "gm:lucan", expiresMs });
    assert.deepEqual(ban, {
      id: ban.id,
      accountId: account.id,
      ip: null,
      reason: "cool down",
      actor: "gm:lucan",
      createdMs: p.nowMs,
      expiresMs,
      liftedMs: null,
      liftedBy: null,
    });
    assert.deepEqual(await store.bans.active({ accountId: account.id }), [ban]);
    assert.deepEqual(await store.bans.active({ accountId: account.id }, expiresMs - 1), [ban]);
    assert.deepEqual(await store.bans.active({ accountId: account.id }, expiresMs), []);
    await rejectsWith(
      store.bans.add({ accountId: account.id }, { reason: "late", actor: "gm", expiresMs: p.nowMs }),
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      `Invalid expiresMs: ${p.nowMs} is not after now (${p.nowMs})`,
    );
    p.nowMs = expiresMs;
    assert.equal((await store.accounts.authenticate("timed", PASSWORD)).ok, true);
  });

  storeTest("IP bans match every address of their IPv4 or IPv6 network, longest-lasting first", async (store, p) => {
    const wide = await store.bans.add({ ip: "10.0.0.0/8" }, {
      reason: "range",
      actor: "gm",
      expiresMs: p.nowMs + 1000,
    });
    const narrow = await store.bans.add({ ip: "10.1.2.3" }, { reason: "single", actor: "gm" });
    const v6 = await store.bans.add({ ip: "2001:DB8::/32" }, { reason: "v6", actor: "gm" });
    assert.equal(wide.ip, "10.0.0.0/8");
    assert.equal(narrow.ip, "10.1.2.3/32");
    assert.equal(v6.ip, "2001:db8::/32");
    assert.deepEqual((await store.bans.active({ ip: "10.1.2.3" })).map((b) => b.id), [narrow.id, wide.id]);
    assert.deepEqual((await store.bans.active({ ip: "10.255.255.255" })).map((b) => b.id), [wide.id]);
    assert.deepEqual(await store.bans.active({ ip: "11.0.0.0" }), []);
    assert.deepEqual((await store.bans.active({ ip: "2001:db8:ffff::1" })).map((b) => b.id), [v6.id]);
    assert.deepEqual(await store.bans.active({ ip: "2001:db9::1" }), []);
    assert.deepEqual(await store.bans.active({}), []);
    await rejectsWith(
      store.bans.add({ ip: "10.0.0.256" }, { reason: "x", actor: "gm" }),
      STORE_ERROR_CODES.INVALID_ADDRESS,
      "Invalid IP address '10.0.0.256': '256' is not a number in 0..255",
    );
    await rejectsWith(
      store.bans.active({ ip: "10.0.0.0/8" }),
      STORE_ERROR_CODES.INVALID_ADDRESS,
      "Invalid IP address '10.0.0.0/8': expected an address, not a network",
    );
  });

  storeTest("bans.lift() and liftAll() end bans; list() shows them with who lifted them", async (store, p) => {
    const account = await player(store, "Lifted");
    const one = await store.bans.add({ accountId: account.id }, { reason: "first", actor: "gm" });
    const two = await store.bans.add({ accountId: account.id }, { reason: "second", actor: "gm" });
    const ip = await store.bans.add({ ip: "198.51.100.0/24" }, { reason: "net", actor: "gm" });
    p.nowMs += 1;
    const lifted = await store.bans.lift(one.id, { actor: "gm:senior" });
    assert.deepEqual(lifted, { ...one, liftedMs: p.nowMs, liftedBy: "gm:senior" });
    await rejectsWith(
      store.bans.lift(one.id, { actor: "gm" }),
      STORE_ERROR_CODES.NOT_FOUND,
      `Cannot lift ban ${one.id}: no active ban has that id`,
    );
    assert.equal(await store.bans.liftAll({ accountId: account.id }, { actor: "gm" }), 1);
    assert.equal(await store.bans.liftAll({ accountId: account.id }, { actor: "gm" }), 0);
    assert.equal(await store.bans.liftAll({ ip: "198.51.100.9/24" }, { actor: "gm" }), 1, "the same network");
    assert.deepEqual((await store.bans.list()).map((b) => [b.id, b.liftedMs !== null]), [
      [one.id, true],
      [two.id, true],
      [ip.id, true],
    ]);
    const fresh = await store.bans.add({ ip: "203.0.113.5" }, { reason: "again", actor: "gm" });
    assert.deepEqual((await store.bans.list({ activeAt: p.nowMs })).map((b) => b.id), [fresh.id]);
    assert.deepEqual((await store.bans.list({ afterId: ip.id })).map((b) => b.id), [fresh.id]);
  });

  storeTest("bans check their target, reason and actor", async (store) => {
    await rejectsWith(
      store.bans.add({ accountId: 999 }, { reason: "x", actor: "gm" }),
      STORE_ERROR_CODES.NOT_FOUND,
      "Cannot ban: no account with id 999",
    );
    await rejectsWith(
      store.bans.add({ ip: "1.2.3.4" }, { reason: "r".repeat(257), actor: "gm" }),
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      /^Invalid ban reason 'r{40}…': length 257 is outside 1\.\.256$/,
    );
    await rejectsWith(
      store.bans.add({ ip: "1.2.3.4" }, { reason: "", actor: "gm" }),
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      "Invalid ban reason '': length 0 is outside 1..256",
    );
    await rejectsWith(
      store.bans.add({ ip: "1.2.3.4" }, { reason: "line\nbreak", actor: "gm" }),
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      "Invalid ban reason 'line\\u000abreak': contains a control character",
    );
    await rejectsWith(
      store.bans.add({ ip: "1.2.3.4" }, { reason: "ok", actor: "a".repeat(65) }),
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      /^Invalid actor 'a{40}…': length 65 is outside 1\.\.64$/,
    );
    assert.deepEqual(await store.bans.list(), []);
  });

  // ---- audit ---------------------------------------------------------------------------------

  storeTest("audit.record() appends entries listed newest first, filtered and paged", async (store, p) => {
    const a = await store.audit.record({ actor: "cli:root", action: "account.create", target: "Lucan" });
    p.nowMs += 1;
    const b = await store.audit.record({
      actor: "login",
      action: "login.failed",
      target: "Lucan",
      detail: { ip: "::1" },
    });
    p.nowMs += 1;
    const c = await store.audit.record({ actor: "cli:root", action: "account.create", target: "Antonia" });
    assert.deepEqual(b, {
      id: b.id,
      atMs: p.nowMs - 1,
      actor: "login",
      action: "login.failed",
      target: "Lucan",
      detail: { ip: "::1" },
    });
    assert.deepEqual((await store.audit.list()).map((e) => e.id), [c.id, b.id, a.id]);
    assert.deepEqual((await store.audit.list({ action: "account.create" })).map((e) => e.id), [c.id, a.id]);
    assert.deepEqual((await store.audit.list({ target: "Lucan" })).map((e) => e.id), [b.id, a.id]);
    assert.deepEqual((await store.audit.list({ beforeId: c.id, limit: 1 })).map((e) => e.id), [b.id]);
    assert.equal(await store.audit.prune(p.nowMs), 2);
    assert.deepEqual((await store.audit.list()).map((e) => e.id), [c.id]);
  });

  storeTest("audit entries are bounded: action charset, actor, target and detail size", async (store) => {
    await rejectsWith(
      store.audit.record({ actor: "x", action: "Account Create" }),
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      "Invalid audit action 'Account Create': expected 1..64 of a-z, 0-9, '_', '-', '.'",
    );
    await rejectsWith(
      store.audit.record({ actor: "x", action: "big", detail: { text: "y".repeat(40) } }),
      STORE_ERROR_CODES.LIMIT_EXCEEDED,
      "Cannot store audit detail: 51 bytes of JSON exceeds limit 32",
    );
    await rejectsWith(
      store.audit.record({ actor: "x", action: "big", target: "t".repeat(129) }),
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      /^Invalid audit target 't{40}…': length 129 is outside 1\.\.128$/,
    );
    assert.deepEqual(await store.audit.list(), []);
  }, { limits: { maxAuditDetailBytes: 32 } });

  // ---- transactions and lifecycle ------------------------------------------------------------

  storeTest("a transaction commits every change when its function resolves", async (store) => {
    const result = await store.transaction(async (tx) => {
      const account = await tx.accounts.create({ name: "Atomic", password: PASSWORD });
      await tx.characters.create({
        accountId: account.id,
        worldId: 1,
        name: "Atom",
        race: 1,
        class: 1,
        gender: 0,
        zone: "qeynos",
      });
      await tx.audit.record({ actor: "test", action: "account.create", target: "Atomic" });
      return account.id;
    });
    assert.equal((await store.accounts.findByName("atomic"))?.id, result);
    assert.equal((await store.characters.listByAccount(result)).length, 1);
    assert.equal((await store.audit.list()).length, 1);
  });

  storeTest("a transaction rolls back every change when its function throws", async (store) => {
    const failure = new Error("caller gave up");
    await assert.rejects(
      store.transaction(async (tx) => {
        const account = await tx.accounts.create({ name: "Ghosted", password: PASSWORD });
        await tx.characters.create({
          accountId: account.id,
          worldId: 1,
          name: "Ghost",
          race: 1,
          class: 1,
          gender: 0,
          zone: "qeynos",
        });
        await tx.bans.add({ ip: "192.0.2.1" }, { reason: "x", actor: "t" });
        await tx.audit.record({ actor: "test", action: "account.create" });
        throw failure;
      }),
      (error) => error === failure,
    );
    assert.equal(await store.accounts.findByName("ghosted"), undefined);
    assert.deepEqual(await store.bans.list(), []);
    assert.deepEqual(await store.audit.list(), []);
    assert.deepEqual((await store.stats()).characters, 0);
  });

  storeTest("an error the store raises inside a transaction rolls it back when rethrown", async (store) => {
    await store.accounts.create({ name: "Taken", password: PASSWORD });
    await rejectsWith(
      store.transaction(async (tx) => {
        await tx.audit.record({ actor: "test", action: "first" });
        await tx.accounts.create({ name: "taken", password: PASSWORD });
      }),
      STORE_ERROR_CODES.DUPLICATE_NAME,
      "Cannot create account: name 'taken' is taken",
    );
    assert.deepEqual(await store.audit.list(), []);
  });

  storeTest(
    "a statement the database refuses aborts the transaction even if the error is caught",
    async (store, _p, db) => {
      await db.raw(db.failingTriggerSql);
      await rejectsWith(
        store.transaction(async (tx) => {
          await tx.audit.record({ actor: "test", action: "kept.only.if.committed" });
          await rejectsWith(
            tx.audit.record({ actor: "test", action: "test.fail" }),
            STORE_ERROR_CODES.DATABASE_ERROR,
            /^Database error: .*refused by test trigger/,
          );
          await rejectsWith(
            tx.audit.record({ actor: "test", action: "after" }),
            STORE_ERROR_CODES.TX_ABORTED,
            "Cannot continue transaction: an earlier operation failed (STORE_DATABASE_ERROR)",
          );
          return "recovered";
        }),
        STORE_ERROR_CODES.TX_ABORTED,
        "Cannot commit transaction: an operation in it failed (STORE_DATABASE_ERROR)",
      );
      assert.deepEqual(await store.audit.list(), []);
      await store.audit.record({ actor: "test", action: "later" });
      assert.equal((await store.audit.list()).length, 1, "the store is usable afterwards");
    },
  );

  storeTest("a transaction handle used after its transaction ended is refused", async (store) => {
    let leaked: Store["audit"] | undefined;
    await store.transaction(async (tx) => {
      leaked = tx.audit;
      await tx.audit.record({ actor: "test", action: "inside" });
    });
    await rejectsWith(
      leaked!.record({ actor: "test", action: "outside" }),
      STORE_ERROR_CODES.TX_CLOSED,
      "Cannot use transaction: it has already ended",
    );
    assert.equal((await store.audit.list()).length, 1);
  });

  storeTest("stats() counts accounts by kind, characters, active bans and audit entries", async (store, p) => {
    const owner = await player(store);
    const off = await player(store, "Offline");
    await store.accounts.setEnabled(off.id, false);
    await store.servers.create({ name: "world-1", kind: "world", password: PASSWORD });
    await store.servers.create({ name: "zone-1", kind: "zone", password: PASSWORD });
    await store.servers.create({ name: "zone-2", kind: "zone", password: PASSWORD });
    const base = { accountId: owner.id, worldId: 1, race: 1, class: 1, gender: 0, zone: "qeynos" } as const;
    const gone = await store.characters.create({ ...base, name: "Gone" });
    await store.characters.create({ ...base, name: "Here" });
    await store.characters.delete(gone.id);
    await store.bans.add({ ip: "192.0.2.1" }, { reason: "x", actor: "t" });
    await store.bans.add({ ip: "192.0.2.2" }, { reason: "x", actor: "t", expiresMs: p.nowMs + 10 });
    await store.audit.record({ actor: "t", action: "x" });
    p.nowMs += 10;
    assert.deepEqual(await store.stats(), {
      accounts: { player: 2, world: 1, zone: 2 },
      disabledAccounts: 1,
      characters: 1,
      deletedCharacters: 1,
      activeBans: 1,
      auditEntries: 1,
    });
  });

  storeTest("a closed store refuses operations", async (store) => {
    await store.close();
    await rejectsWith(store.accounts.list(), STORE_ERROR_CODES.CLOSED, "Cannot use store: it is closed");
    await rejectsWith(store.transaction(async () => {}), STORE_ERROR_CODES.CLOSED, "Cannot use store: it is closed");
    await store.close();
  });

  // ---- migrations ----------------------------------------------------------------------------

  databaseTest("a fresh database is migrated to the latest version on open, once", async (db, platform) => {
    const store = await db.open({ platform, bcryptCost: 4 });
    const status = await store.schema();
    assert.equal(status.current, MIGRATIONS.length);
    assert.equal(status.latest, MIGRATIONS.length);
    assert.deepEqual(status.pending, []);
    assert.deepEqual(status.applied.map((m) => [m.version, m.name, m.appliedMs]), [[1, "initial", platform.nowMs]]);
    assert.deepEqual(await store.migrate(), [], "nothing left to apply");
    await store.close();
    const again = await db.open({ platform, bcryptCost: 4 });
    assert.deepEqual((await again.schema()).applied.map((m) => m.version), [1]);
    await again.close();
  });

  databaseTest("opening with migrate 'none' leaves an empty database empty", async (db, platform) => {
    const store = await db.open({ platform, migrate: "none" });
    assert.deepEqual(await store.schema(), {
      current: 0,
      latest: MIGRATIONS.length,
      applied: [],
      pending: MIGRATIONS.map((m) => ({ version: m.version, name: m.name, appliedMs: null })),
    });
    assert.deepEqual((await store.migrate()).map((m) => m.version), [1]);
    assert.equal((await store.schema()).current, 1);
    await store.close();
  });

  databaseTest("an older database is upgraded and keeps its data", async (db, platform) => {
    const old = await db.open({ platform, bcryptCost: 4, migrations: [MIGRATIONS[0]!] });
    await old.accounts.create({ name: "Veteran", password: PASSWORD });
    await old.close();
    await rejectsWith(
      db.open({ platform, migrations: [MIGRATIONS[0]!, M2], migrate: "check" }),
      STORE_ERROR_CODES.SCHEMA_OUTDATED,
      "Cannot use database: schema version 1 needs migrations up to 2; run 'qeynos db migrate'",
    );
    platform.nowMs += 1000;
    const upgraded = await db.open({ platform, bcryptCost: 4, migrations: [MIGRATIONS[0]!, M2] });
    const status = await upgraded.schema();
    assert.deepEqual(status.applied.map((m) => [m.version, m.appliedMs]), [[1, platform.nowMs - 1000], [
      2,
      platform.nowMs,
    ]]);
    assert.equal((await upgraded.accounts.authenticate("veteran", PASSWORD)).ok, true);
    await upgraded.close();
  });

  databaseTest("a database newer than the code is refused", async (db, platform) => {
    const newer = await db.open({ platform, migrations: [MIGRATIONS[0]!, M2] });
    await newer.close();
    for (const migrate of ["auto", "check"] as const) {
      await rejectsWith(
        db.open({ platform, migrate, migrations: [MIGRATIONS[0]!] }),
        STORE_ERROR_CODES.SCHEMA_TOO_NEW,
        "Cannot use database: its schema version 2 is newer than this build supports (1); upgrade Qeynos",
      );
    }
    const inspect = await db.open({ platform, migrate: "none", migrations: [MIGRATIONS[0]!] });
    const status = await inspect.schema();
    assert.deepEqual([status.current, status.latest], [2, 1]);
    await rejectsWith(inspect.migrate(), STORE_ERROR_CODES.SCHEMA_TOO_NEW, /newer than this build supports/);
    await inspect.close();
  });

  databaseTest("a recorded migration with another name is refused", async (db, platform) => {
    const store = await db.open({ platform, migrations: [MIGRATIONS[0]!, M2] });
    await store.close();
    await rejectsWith(
      db.open({ platform, migrations: [MIGRATIONS[0]!, { ...M2, name: "add_memos" }] }),
      STORE_ERROR_CODES.SCHEMA_MISMATCH,
      "Cannot use database: migration 2 was applied as 'add_notes' but this build calls it 'add_memos'",
    );
  });

  databaseTest("a failing migration applies nothing of its run", async (db, platform) => {
    await rejectsWith(
      db.open({ platform, migrations: [MIGRATIONS[0]!, M2, M3_BROKEN] }),
      STORE_ERROR_CODES.MIGRATION_FAILED,
      /^Cannot apply migration 3 \(broken\): /,
    );
    const store = await db.open({ platform, migrate: "none", migrations: [MIGRATIONS[0]!, M2, M3_BROKEN] });
    assert.equal((await store.schema()).current, 0);
    await store.close();
    // The schema of version 1 was rolled back too: applying it now works from scratch.
    const fine = await db.open({ platform, bcryptCost: 4, migrations: [MIGRATIONS[0]!, M2] });
    assert.equal((await fine.schema()).current, 2);
    await fine.accounts.create({ name: "After", password: PASSWORD });
    await fine.close();
  });
}
