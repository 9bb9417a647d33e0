import type { SqlDialect } from "../_sql.ts";

/**
 * One schema change. `statements` gives the DDL for a dialect; the migrator runs them, in order,
 * inside the transaction that records the version, so a migration applies wholly or not at all.
 * Versions are consecutive from 1; a released migration never changes (its name is checked on open).
 */
export interface Migration {
  readonly version: number;
  /** snake_case, recorded in `schema_migrations` and compared on every open. */
  readonly name: string;
  statements(dialect: SqlDialect): string[];
}
