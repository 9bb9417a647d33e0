/**
 * Applies versioned migrations and reports the schema's state. The `schema_migrations` table records
 * each applied version with its name; all pending migrations run in one transaction, so a failure
 * leaves the database exactly as it was.
 */
import type { SqlDriver, SqlExecutor } from "./_sql.ts";
import type { Migration } from "./migrations/mod.ts";
import type { MigrationInfo, SchemaStatus } from "./store.ts";
import { STORE_ERROR_CODES, StoreError } from "./store_error.ts";

const CREATE_TABLE = (bigint: string) =>
  `create table if not exists schema_migrations (
    version integer primary key,
    name text not null,
    applied_ms ${bigint} not null
  )`;

interface AppliedRow {
  readonly version: number;
  readonly name: string;
  readonly appliedMs: number;
}

/** Checks that `migrations` are numbered 1, 2, 3, … (a programming error otherwise). */
export function checkMigrationList(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(
        `Migration list is broken: entry ${index} has version ${migration.version}, expected ${index + 1}`,
      );
    }
  });
}

async function readApplied(driver: SqlDriver, exec: SqlExecutor): Promise<AppliedRow[]> {
  const exists = await exec.get(driver.tableExistsSql, ["schema_migrations"]);
  if (exists === undefined) return [];
  const rows = await exec.all("select version, name, applied_ms from schema_migrations order by version");
  return rows.map((row) => ({
    version: Number(row.version),
    name: String(row.name),
    appliedMs: Number(row.applied_ms),
  }));
}

/** Compares what was applied with what the code knows; throws on a newer or different schema. */
function compare(applied: readonly AppliedRow[], migrations: readonly Migration[]): SchemaStatus {
  const latest = migrations.length;
  const current = applied.reduce((max, row) => Math.max(max, row.version), 0);
  const byVersion = new Map(applied.map((row) => [row.version, row]));
  return {
    current,
    latest,
    applied: migrations
      .filter((m) => byVersion.has(m.version))
      .map((m) => ({ version: m.version, name: m.name, appliedMs: byVersion.get(m.version)!.appliedMs })),
    pending: migrations
      .filter((m) => !byVersion.has(m.version))
      .map((m): MigrationInfo => ({ version: m.version, name: m.name, appliedMs: null })),
  };
}

/** Throws `STORE_SCHEMA_TOO_NEW` or `STORE_SCHEMA_MISMATCH` when this code must not touch the database. */
function refuseUnknown(applied: readonly AppliedRow[], migrations: readonly Migration[]): void {
  const latest = migrations.length;
  const newest = applied.reduce((max, row) => Math.max(max, row.version), 0);
  if (newest > latest) {
    throw new StoreError(
      STORE_ERROR_CODES.SCHEMA_TOO_NEW,
      `Cannot use database: its schema version ${newest} is newer than this build supports (${latest}); upgrade Qeynos`,
    );
  }
  for (const row of applied) {
    const known = migrations[row.version - 1];
    if (known !== undefined && known.name !== row.name) {
      throw new StoreError(
        STORE_ERROR_CODES.SCHEMA_MISMATCH,
        `Cannot use database: migration ${row.version} was applied as '${row.name}' but this build calls it '${known.name}'`,
      );
    }
  }
}

/** The schema's state, read without changing anything. */
export async function schemaStatus(
  driver: SqlDriver,
  exec: SqlExecutor,
  migrations: readonly Migration[],
): Promise<SchemaStatus> {
  return compare(await readApplied(driver, exec), migrations);
}

/** Refuses a database that is newer, different, or (with `requireCurrent`) behind. */
export async function checkSchema(
  driver: SqlDriver,
  exec: SqlExecutor,
  migrations: readonly Migration[],
  requireCurrent: boolean,
): Promise<void> {
  const applied = await readApplied(driver, exec);
  refuseUnknown(applied, migrations);
  const status = compare(applied, migrations);
  if (requireCurrent && status.pending.length > 0) {
    throw new StoreError(
      STORE_ERROR_CODES.SCHEMA_OUTDATED,
      `Cannot use database: schema version ${status.current} needs migrations up to ${status.latest}; run 'qeynos db migrate'`,
    );
  }
}

/** Applies every pending migration in one transaction; resolves to those applied. */
export function migrate(
  driver: SqlDriver,
  migrations: readonly Migration[],
  nowMs: () => number,
): Promise<MigrationInfo[]> {
  return driver.transaction(async (tx) => {
    if (driver.migrationLockSql !== undefined) await tx.run(driver.migrationLockSql);
    await tx.run(CREATE_TABLE(driver.dialect.bigint));
    const applied = await readApplied(driver, tx);
    refuseUnknown(applied, migrations);
    const done = new Set(applied.map((row) => row.version));
    const now = nowMs();
    const result: MigrationInfo[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      try {
        for (const statement of migration.statements(driver.dialect)) await tx.run(statement);
        await tx.run("insert into schema_migrations (version, name, applied_ms) values (?, ?, ?)", [
          migration.version,
          migration.name,
          now,
        ]);
      } catch (cause) {
        const detail = cause instanceof Error ? cause.message : String(cause);
        throw new StoreError(
          STORE_ERROR_CODES.MIGRATION_FAILED,
          `Cannot apply migration ${migration.version} (${migration.name}): ${detail}`,
          { cause },
        );
      }
      result.push({ version: migration.version, name: migration.name, appliedMs: now });
    }
    return result;
  });
}
