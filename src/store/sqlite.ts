/**
 * The embedded store: one SQLite file through `node:sqlite` (`DatabaseSync`), which Deno, Bun and the
 * `bun build --compile` executable all provide.
 *
 * Settings: WAL journal (readers never block the writer; `qeynos account …` works beside a running
 * server), `synchronous=FULL` (each commit is fsynced before it is acknowledged, so an acknowledged
 * write survives a power cut, not only a process crash; NORMAL in WAL mode could lose the last
 * commits on power loss), foreign keys on, and a busy timeout for when another process holds the
 * write lock. Write transactions start with `BEGIN IMMEDIATE` so that two processes never deadlock
 * upgrading read locks.
 *
 * `DatabaseSync` is synchronous: each statement runs to completion when called. A transaction spans
 * awaits (bcrypt, caller code), so one {@linkcode Mutex} keeps other operations of this process off
 * the connection until it ends.
 * @module
 */
import { existsSync, statSync } from "node:fs";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { Mutex } from "./_mutex.ts";
import {
  SqlConstraintError,
  type SqlDialect,
  type SqlDriver,
  type SqlExecutor,
  type SqlRow,
  type SqlValue,
} from "./_sql.ts";
import { SqlStore, type SqlStoreOptions, storeSettings } from "./_sql_store.ts";
import { integer } from "./_validate.ts";
import { STORE_ERROR_CODES, StoreError } from "./store_error.ts";

/** Options of {@linkcode openSqliteStore}. */
export interface SqliteStoreOptions extends SqlStoreOptions {
  /** How long a statement waits for another process's write lock, in ms (default 5000). */
  readonly busyTimeoutMs?: number;
  /** `"full"` (default) or `"normal"` (faster commits; the last ones may be lost on power loss). */
  readonly synchronous?: "full" | "normal";
}

/** What a backup produced. */
export interface BackupResult {
  readonly path: string;
  readonly bytes: number;
}

const DIALECT: SqlDialect = {
  name: "sqlite",
  idColumn: "integer primary key autoincrement",
  bigint: "integer",
  double: "real",
  binaryText: "text",
  forUpdate: "",
};

/** Extended result codes of constraint failures. */
const CONSTRAINTS: Record<number, SqlConstraintError["kind"]> = {
  2067: "unique",
  1555: "unique",
  787: "foreign_key",
  275: "check",
  1299: "not_null",
};

function translate(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const errcode = (error as { errcode?: unknown }).errcode;
  const detail = /constraint failed: (.*)$/.exec(error.message)?.[1] ?? error.message;
  const kind = typeof errcode === "number" ? CONSTRAINTS[errcode] : undefined;
  if (kind !== undefined) return new SqlConstraintError(kind, detail, { cause: error });
  if (/^UNIQUE constraint failed/.test(error.message)) {
    return new SqlConstraintError("unique", detail, { cause: error });
  }
  if (/^FOREIGN KEY constraint failed/.test(error.message)) {
    return new SqlConstraintError("foreign_key", detail, { cause: error });
  }
  const primary = typeof errcode === "number" ? errcode & 0xff : undefined;
  if (primary === 5 || primary === 6 || /database is locked|database table is locked/.test(error.message)) {
    return new StoreError(STORE_ERROR_CODES.BUSY, `Database is busy: ${error.message}`, { cause: error });
  }
  return error;
}

class SqliteDriver implements SqlDriver {
  readonly dialect = DIALECT;
  readonly tableExistsSql = "select 1 as found from sqlite_master where type = 'table' and name = ?";
  readonly migrationLockSql = undefined;
  readonly root: SqlExecutor;
  readonly #db: DatabaseSync;
  readonly #mutex: Mutex;
  // Bounded by the number of distinct statements in the code: every SQL string is a constant or
  // built from a fixed set of fragments.
  readonly #statements = new Map<string, StatementSync>();
  #open = true;

  constructor(db: DatabaseSync, maxPending: number) {
    this.#db = db;
    this.#mutex = new Mutex(maxPending);
    const direct = this.#executor();
    this.root = {
      run: (sql, params) => this.#whenFree(() => direct.run(sql, params)),
      get: (sql, params) => this.#whenFree(() => direct.get(sql, params)),
      all: (sql, params) => this.#whenFree(() => direct.all(sql, params)),
      atomic: (fn) => this.transaction(fn),
    };
  }

  async transaction<T>(fn: (exec: SqlExecutor) => Promise<T>): Promise<T> {
    await this.#mutex.acquire();
    try {
      this.#exec("begin immediate");
      let result: T;
      try {
        result = await fn(this.#executor());
      } catch (error) {
        this.#rollback();
        throw error;
      }
      try {
        this.#exec("commit");
      } catch (error) {
        this.#rollback();
        throw error;
      }
      return result;
    } finally {
      this.#mutex.release();
    }
  }

  /** Runs `op` once no transaction holds the connection. */
  async whenFree<T>(op: () => T): Promise<T> {
    return await this.#whenFree(() => Promise.resolve(op()));
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    await this.#mutex.acquire();
    try {
      this.#open = false;
      this.#statements.clear();
      this.#db.close();
    } finally {
      this.#mutex.release();
    }
  }

  #executor(): SqlExecutor {
    const executor: SqlExecutor = {
      run: (sql, params) => this.#attempt(() => Number(this.#prepare(sql).run(...(params ?? [])).changes)),
      get: (sql, params) => this.#attempt(() => this.#prepare(sql).get(...(params ?? [])) as SqlRow | undefined),
      all: (sql, params) => this.#attempt(() => this.#prepare(sql).all(...(params ?? [])) as SqlRow[]),
      atomic: (fn) => fn(executor),
    };
    return executor;
  }

  #prepare(sql: string): StatementSync {
    if (!this.#open) throw new StoreError(STORE_ERROR_CODES.CLOSED, "Cannot use store: it is closed");
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #attempt<T>(op: () => T): Promise<T> {
    try {
      return Promise.resolve(op());
    } catch (error) {
      return Promise.reject(translate(error));
    }
  }

  #whenFree<T>(op: () => Promise<T>): Promise<T> {
    if (!this.#mutex.locked) return op();
    return this.#mutex.acquire().then(async () => {
      try {
        return await op();
      } finally {
        this.#mutex.release();
      }
    });
  }

  #exec(sql: string): void {
    try {
      this.#db.exec(sql);
    } catch (error) {
      throw translate(error);
    }
  }

  #rollback(): void {
    // SQLite may already have rolled back (after some I/O errors); that is not a second failure.
    if (this.#db.isTransaction) this.#db.exec("rollback");
  }

  /** `VACUUM INTO`: a consistent copy taken while readers and writers of other processes continue. */
  backup(path: string): void {
    this.#prepare("vacuum into ?").run(path);
  }

  pragma(name: string): SqlValue {
    const row = this.#db.prepare(`pragma ${name}`).get() as SqlRow | undefined;
    return row === undefined ? null : Object.values(row)[0] ?? null;
  }
}

/** The SQLite store: the shared Store plus {@linkcode SqliteStore.backup} and connection details. */
export class SqliteStore extends SqlStore {
  /** Writes a consistent copy of the database to `path` (which must not exist) and checks the copy. */
  async backup(path: string): Promise<BackupResult> {
    this.checkOpen();
    if (typeof path !== "string" || path.length === 0) {
      throw new StoreError(STORE_ERROR_CODES.INVALID_ARGUMENT, "Invalid backup path: expected a file name");
    }
    if (existsSync(path)) {
      throw new StoreError(STORE_ERROR_CODES.INVALID_ARGUMENT, `Cannot back up to '${path}': the file exists`);
    }
    const driver = this.driver as SqliteDriver;
    try {
      await driver.whenFree(() => driver.backup(path));
    } catch (error) {
      throw new StoreError(
        STORE_ERROR_CODES.DATABASE_ERROR,
        `Cannot back up to '${path}': ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    const copy = new DatabaseSync(path, { readOnly: true });
    try {
      const check = copy.prepare("pragma quick_check").get() as SqlRow | undefined;
      if (check?.quick_check !== "ok") {
        throw new StoreError(
          STORE_ERROR_CODES.DATABASE_ERROR,
          `Backup '${path}' failed its integrity check: ${String(check?.quick_check)}`,
        );
      }
    } finally {
      copy.close();
    }
    return { path, bytes: statSync(path).size };
  }

  /** The connection's journal mode and synchronous level (for `db status`). */
  async settings(): Promise<{ journalMode: string; synchronous: string }> {
    this.checkOpen();
    const driver = this.driver as SqliteDriver;
    return await driver.whenFree(() => ({
      journalMode: String(driver.pragma("journal_mode")),
      synchronous: ["off", "normal", "full", "extra"][Number(driver.pragma("synchronous"))] ?? "unknown",
    }));
  }
}

/**
 * Opens (creating if missing) the SQLite database at `path` (`":memory:"` for a private in-memory one)
 * and, per `options.migrate`, brings its schema up to date.
 */
export async function openSqliteStore(path: string, options: SqliteStoreOptions): Promise<SqliteStore> {
  const busyTimeoutMs = integer("busyTimeoutMs", options.busyTimeoutMs ?? 5000, { min: 0, max: 600_000 });
  const synchronous = options.synchronous ?? "full";
  if (synchronous !== "full" && synchronous !== "normal") {
    throw new StoreError(
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      `Invalid synchronous '${String(synchronous)}': expected full or normal`,
    );
  }
  const { limits } = storeSettings(options);
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path);
  } catch (cause) {
    throw new StoreError(
      STORE_ERROR_CODES.UNAVAILABLE,
      `Cannot open SQLite database '${path}': ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
  try {
    db.exec(`pragma busy_timeout = ${busyTimeoutMs}`);
    const mode = (db.prepare("pragma journal_mode = wal").get() as SqlRow | undefined)?.journal_mode;
    if (mode !== "wal" && path !== ":memory:") {
      options.platform.log.warn("SQLite refused WAL mode; using its default journal", { path, mode: String(mode) });
    }
    db.exec(`pragma synchronous = ${synchronous}`);
    db.exec("pragma foreign_keys = on");
  } catch (cause) {
    db.close();
    throw new StoreError(
      STORE_ERROR_CODES.UNAVAILABLE,
      `Cannot open SQLite database '${path}': ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
  return await SqliteStore.create(new SqliteDriver(db, limits.maxPendingOperations), path, options);
}
