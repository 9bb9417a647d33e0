import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import postgres from "postgres";
import { openPostgresStore, redactUrl } from "../../src/store/postgres.ts";
import { STORE_ERROR_CODES } from "../../src/store/store_error.ts";
import { defineRepositorySuite } from "./_repository_suite.ts";
import { rejectsWith, testPlatform } from "./_support.ts";

const url = process.env.QEYNOS_TEST_POSTGRES_URL;
const skip = url === undefined || url === ""
  ? "QEYNOS_TEST_POSTGRES_URL is not set (scripts/ci_postgres.sh starts a throwaway server and prints it)"
  : undefined;
if (skip !== undefined) console.log(`PostgreSQL store tests skipped: ${skip}`);

/** A connection outside the store, with `schema` first on the search path. */
function connect(schema?: string) {
  return postgres(url!, {
    max: 1,
    onnotice: () => {},
    ...(schema === undefined ? {} : { connection: { search_path: schema } }),
  });
}

defineRepositorySuite({
  name: "PostgreSQL",
  ...(skip === undefined ? {} : { skip }),
  fresh() {
    // Each test gets its own schema, so tests may run in parallel against one database.
    const schema = `qeynos_test_${crypto.randomUUID().replaceAll("-", "")}`;
    return Promise.resolve({
      open: (options) => openPostgresStore(url!, { ...options, schema, maxConnections: 2 }),
      async raw(sql: string) {
        const sqlClient = connect(schema);
        try {
          await sqlClient.unsafe(sql).simple();
        } finally {
          await sqlClient.end();
        }
      },
      failingTriggerSql: `
        create function test_fail() returns trigger language plpgsql as $$
        begin
          if new.action = 'test.fail' then raise exception 'refused by test trigger'; end if;
          return new;
        end $$;
        create trigger test_fail before insert on audit_log for each row execute function test_fail();`,
      async cleanup() {
        const sqlClient = connect();
        try {
          await sqlClient.unsafe(`drop schema if exists ${schema} cascade`);
        } finally {
          await sqlClient.end();
        }
      },
    });
  },
});

test("redactUrl() drops the password from a PostgreSQL URL", () => {
  assert.equal(redactUrl("postgres://qeynos:s3cret@db.example:5433/game"), "postgres://qeynos@db.example:5433/game");
  assert.equal(redactUrl("not a url"), "postgres://(unparsable URL)");
});

test("openPostgresStore() reports an unreachable server as STORE_UNAVAILABLE without the password", async () => {
  const error = await rejectsWith(
    openPostgresStore("postgres://qeynos:s3cret@127.0.0.1:1/none", {
      platform: testPlatform(),
      connectTimeoutSeconds: 2,
    }),
    STORE_ERROR_CODES.UNAVAILABLE,
    /^Cannot connect to PostgreSQL at postgres:\/\/qeynos@127\.0\.0\.1:1\/none: /,
  );
  assert.ok(!error.message.includes("s3cret"));
});

test("openPostgresStore() refuses a schema name that is not a plain identifier", async () => {
  await rejectsWith(
    openPostgresStore("postgres://127.0.0.1:1/none", { platform: testPlatform(), schema: "x; drop table y" }),
    STORE_ERROR_CODES.INVALID_ARGUMENT,
    "Invalid schema 'x; drop table y': expected 1..63 of a-z, 0-9 and '_', not starting with a digit",
  );
});
