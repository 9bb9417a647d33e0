/**
 * Persistence: the {@linkcode Store} interface, its SQLite and PostgreSQL implementations, and
 * {@linkcode openStore}, which picks one from a data directory or a database URL.
 * @module
 */
export * from "./store.ts";
export { STORE_ERROR_CODES, StoreError, type StoreErrorCode } from "./store_error.ts";
export { openStore, SQLITE_FILE_NAME, sqlitePath, type StoreLocation } from "./open_store.ts";
export { type BackupResult, openSqliteStore, SqliteStore, type SqliteStoreOptions } from "./sqlite.ts";
export { openPostgresStore, PostgresStore, type PostgresStoreOptions, redactUrl } from "./postgres.ts";
export { type Migration, MIGRATIONS } from "./migrations/mod.ts";
