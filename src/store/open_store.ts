import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { PostgresStoreOptions } from "./postgres.ts";
import type { SqliteStoreOptions } from "./sqlite.ts";
import type { Store } from "./store.ts";
import { STORE_ERROR_CODES, StoreError } from "./store_error.ts";

/** The SQLite file inside a data directory. */
export const SQLITE_FILE_NAME = "qeynos.db";

/** Where a store lives: a data directory (SQLite) or a PostgreSQL URL. */
export type StoreLocation = { readonly dataDir: string } | { readonly databaseUrl: string };

/** The SQLite file of a data directory. */
export function sqlitePath(dataDir: string): string {
  return join(dataDir, SQLITE_FILE_NAME);
}

/**
 * Opens the store at `location`: SQLite at `DIR/qeynos.db` (creating `DIR` if missing) or PostgreSQL
 * at the URL. The PostgreSQL driver is loaded only when asked for.
 */
export async function openStore(
  location: StoreLocation,
  options: SqliteStoreOptions & PostgresStoreOptions,
): Promise<Store> {
  if ("databaseUrl" in location) {
    const { openPostgresStore } = await import("./postgres.ts");
    return await openPostgresStore(location.databaseUrl, options);
  }
  try {
    mkdirSync(location.dataDir, { recursive: true });
  } catch (cause) {
    throw new StoreError(
      STORE_ERROR_CODES.UNAVAILABLE,
      `Cannot create data directory '${location.dataDir}': ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
  const { openSqliteStore } = await import("./sqlite.ts");
  return await openSqliteStore(sqlitePath(location.dataDir), options);
}
