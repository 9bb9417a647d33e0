/** The Store both backends share: repositories over a driver, transaction scopes, migrations on open. */
import { SqlPlayerAccounts, SqlServerAccounts } from "./_accounts.ts";
import { SqlAuditLog } from "./_audit.ts";
import { SqlBans } from "./_bans.ts";
import { SqlCharacters } from "./_characters.ts";
import type { RepositoryContext } from "./_context.ts";
import { checkMigrationList, checkSchema, migrate, schemaStatus } from "./_migrator.ts";
import { PasswordHasher } from "./_password.ts";
import { SqlConstraintError, type SqlDriver, type SqlExecutor, type SqlRow, type SqlValue } from "./_sql.ts";
import { integer } from "./_validate.ts";
import { type Migration, MIGRATIONS } from "./migrations/mod.ts";
import {
  type AccountKind,
  BCRYPT_COST_RANGE,
  DEFAULT_BCRYPT_COST,
  DEFAULT_LOCKOUT,
  DEFAULT_STORE_LIMITS,
  type LockoutPolicy,
  type MigrationInfo,
  type SchemaStatus,
  type Store,
  type StoreLimits,
  type StoreOptions,
  type StoreRepositories,
  type StoreStats,
} from "./store.ts";
import { STORE_ERROR_CODES, StoreError } from "./store_error.ts";

/** Options of a backend's open function. */
export interface SqlStoreOptions extends StoreOptions {
  /** The schema's migrations; default the real ones (tests pass others to exercise upgrades). */
  readonly migrations?: readonly Migration[];
}

/** The life of one transaction, shared by every executor handed out inside it. */
interface Scope {
  failure: StoreError | undefined;
  ended: boolean;
}

function toStoreError(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  if (error instanceof SqlConstraintError) {
    return new StoreError(
      STORE_ERROR_CODES.DATABASE_ERROR,
      `Database refused the change: ${error.kind} constraint ${error.constraint}`,
      { cause: error },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new StoreError(STORE_ERROR_CODES.DATABASE_ERROR, `Database error: ${message}`, { cause: error });
}

/** Checks the open/transaction state before each statement and turns driver errors into StoreErrors. */
class GuardedExecutor implements SqlExecutor {
  readonly #inner: SqlExecutor;
  readonly #driver: SqlDriver;
  readonly #scope: Scope | undefined;
  readonly #isClosed: () => boolean;

  constructor(inner: SqlExecutor, driver: SqlDriver, scope: Scope | undefined, isClosed: () => boolean) {
    this.#inner = inner;
    this.#driver = driver;
    this.#scope = scope;
    this.#isClosed = isClosed;
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.#call(() => this.#inner.run(sql, params));
  }

  get(sql: string, params?: readonly SqlValue[]): Promise<SqlRow | undefined> {
    return this.#call(() => this.#inner.get(sql, params));
  }

  all(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]> {
    return this.#call(() => this.#inner.all(sql, params));
  }

  async atomic<T>(fn: (exec: SqlExecutor) => Promise<T>): Promise<T> {
    if (this.#scope !== undefined) {
      this.#check();
      return await fn(this);
    }
    return await runScoped(this.#driver, this.#isClosed, fn);
  }

  #check(): void {
    if (this.#isClosed()) throw new StoreError(STORE_ERROR_CODES.CLOSED, "Cannot use store: it is closed");
    if (this.#scope?.ended) {
      throw new StoreError(STORE_ERROR_CODES.TX_CLOSED, "Cannot use transaction: it has already ended");
    }
    if (this.#scope?.failure !== undefined) {
      throw new StoreError(
        STORE_ERROR_CODES.TX_ABORTED,
        `Cannot continue transaction: an earlier operation failed (${this.#scope.failure.code})`,
        { cause: this.#scope.failure },
      );
    }
  }

  async #call<T>(op: () => Promise<T>): Promise<T> {
    this.#check();
    try {
      return await op();
    } catch (error) {
      const storeError = toStoreError(error);
      if (this.#scope !== undefined) this.#scope.failure ??= storeError;
      throw storeError;
    }
  }
}

/** Runs `fn` in a driver transaction with a fresh scope; a failed statement aborts it even if `fn` recovers. */
async function runScoped<T>(
  driver: SqlDriver,
  isClosed: () => boolean,
  fn: (exec: SqlExecutor) => Promise<T>,
): Promise<T> {
  if (isClosed()) throw new StoreError(STORE_ERROR_CODES.CLOSED, "Cannot use store: it is closed");
  // Errors thrown by `fn` (the caller's own included) pass through unchanged; only the driver's are translated.
  const fromFn = new WeakSet<object>();
  try {
    return await driver.transaction(async (raw) => {
      const scope: Scope = { failure: undefined, ended: false };
      try {
        // A transaction already under way may finish while the store closes (close waits for it).
        const result = await fn(new GuardedExecutor(raw, driver, scope, () => false));
        if (scope.failure !== undefined) {
          throw new StoreError(
            STORE_ERROR_CODES.TX_ABORTED,
            `Cannot commit transaction: an operation in it failed (${scope.failure.code})`,
            { cause: scope.failure },
          );
        }
        return result;
      } catch (error) {
        if (typeof error === "object" && error !== null) fromFn.add(error);
        throw error;
      } finally {
        scope.ended = true;
      }
    });
  } catch (error) {
    if (typeof error === "object" && error !== null && fromFn.has(error)) throw error;
    throw toStoreError(error);
  }
}

function resolveLimits(options: StoreOptions): { limits: StoreLimits; lockout: LockoutPolicy; cost: number } {
  const limits = { ...DEFAULT_STORE_LIMITS, ...options.limits };
  const lockout = { ...DEFAULT_LOCKOUT, ...options.lockout };
  const positive = { min: 1, max: Number.MAX_SAFE_INTEGER };
  integer("maxCharactersPerAccount", limits.maxCharactersPerAccount, positive);
  integer("maxAppearanceBytes", limits.maxAppearanceBytes, positive);
  integer("maxAuditDetailBytes", limits.maxAuditDetailBytes, positive);
  integer("minPasswordBytes", limits.minPasswordBytes, { min: 1, max: 72 });
  integer("maxPendingOperations", limits.maxPendingOperations, positive);
  integer("lockout.maxFailures", lockout.maxFailures, { min: 0, max: 1_000_000 });
  integer("lockout.windowMs", lockout.windowMs, positive);
  integer("lockout.lockMs", lockout.lockMs, positive);
  if (options.hashing !== undefined && options.hashing !== "async" && options.hashing !== "sync") {
    throw new StoreError(
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      `Invalid hashing '${String(options.hashing)}': expected async or sync`,
    );
  }
  const cost = integer("bcryptCost", options.bcryptCost ?? DEFAULT_BCRYPT_COST, {
    min: BCRYPT_COST_RANGE[0],
    max: BCRYPT_COST_RANGE[1],
  });
  return { limits, lockout, cost };
}

/** Checked store settings (limits, lockout, bcrypt cost), for drivers that need them before opening. */
export function storeSettings(options: StoreOptions): { limits: StoreLimits; lockout: LockoutPolicy; cost: number } {
  return resolveLimits(options);
}

/** A Store over any SQL driver. */
export class SqlStore implements Store {
  readonly backend: "sqlite" | "postgres";
  readonly location: string;
  readonly accounts: SqlPlayerAccounts;
  readonly servers: SqlServerAccounts;
  readonly characters: SqlCharacters;
  readonly bans: SqlBans;
  readonly audit: SqlAuditLog;
  readonly #driver: SqlDriver;
  readonly #migrations: readonly Migration[];
  readonly #base: Omit<RepositoryContext, "exec">;
  readonly #root: GuardedExecutor;
  #closed = false;

  /** Use a backend's open function, which also prepares the schema. */
  constructor(driver: SqlDriver, location: string, options: SqlStoreOptions) {
    const { limits, lockout, cost } = resolveLimits(options);
    this.backend = driver.dialect.name;
    this.location = location;
    this.#driver = driver;
    this.#migrations = options.migrations ?? MIGRATIONS;
    checkMigrationList(this.#migrations);
    this.#base = {
      dialect: driver.dialect,
      platform: options.platform,
      hasher: new PasswordHasher(options.platform.rng, cost, options.hashing === "sync"),
      limits,
      lockout,
    };
    this.#root = new GuardedExecutor(driver.root, driver, undefined, () => this.#closed);
    const context = { ...this.#base, exec: this.#root };
    this.accounts = new SqlPlayerAccounts(context);
    this.servers = new SqlServerAccounts(context);
    this.characters = new SqlCharacters(context);
    this.bans = new SqlBans(context);
    this.audit = new SqlAuditLog(context);
  }

  /** Wraps an opened driver, applies or checks migrations per `options.migrate`, and closes it on failure. */
  static async create<S extends SqlStore>(
    this: new (driver: SqlDriver, location: string, options: SqlStoreOptions) => S,
    driver: SqlDriver,
    location: string,
    options: SqlStoreOptions,
  ): Promise<S> {
    let store: S;
    try {
      store = new this(driver, location, options);
    } catch (error) {
      await driver.close();
      throw error;
    }
    try {
      await store.prepare(options.migrate ?? "auto");
      return store;
    } catch (error) {
      await store.close();
      throw toStoreError(error);
    }
  }

  /** The driver, for backend-specific operations of subclasses. */
  protected get driver(): SqlDriver {
    return this.#driver;
  }

  /** Throws `STORE_CLOSED` once closed. */
  protected checkOpen(): void {
    if (this.#closed) throw new StoreError(STORE_ERROR_CODES.CLOSED, "Cannot use store: it is closed");
  }

  protected async prepare(mode: "auto" | "check" | "none"): Promise<void> {
    if (mode === "none") return;
    await checkSchema(this.#driver, this.#root, this.#migrations, mode === "check");
    if (mode === "auto") await this.migrate();
  }

  transaction<T>(fn: (tx: StoreRepositories) => Promise<T>): Promise<T> {
    return runScoped(this.#driver, () => this.#closed, (exec) => {
      const context = { ...this.#base, exec };
      return fn({
        accounts: new SqlPlayerAccounts(context),
        servers: new SqlServerAccounts(context),
        characters: new SqlCharacters(context),
        bans: new SqlBans(context),
        audit: new SqlAuditLog(context),
      });
    });
  }

  async schema(): Promise<SchemaStatus> {
    this.checkOpen();
    try {
      return await schemaStatus(this.#driver, this.#root, this.#migrations);
    } catch (error) {
      throw toStoreError(error);
    }
  }

  async migrate(): Promise<MigrationInfo[]> {
    this.checkOpen();
    const clock = this.#base.platform.clock;
    try {
      const applied = await migrate(this.#driver, this.#migrations, () => Math.floor(clock.wallMs()));
      for (const m of applied) this.#base.platform.log.info("Applied migration", { version: m.version, name: m.name });
      return applied;
    } catch (error) {
      throw toStoreError(error);
    }
  }

  async stats(): Promise<StoreStats> {
    const exec = this.#root;
    const kinds = await exec.all("select kind, count(*) as n from accounts group by kind");
    const accounts: Record<AccountKind, number> = { player: 0, world: 0, zone: 0 };
    for (const row of kinds) accounts[String(row.kind) as AccountKind] = Number(row.n);
    const single = async (sql: string, params: SqlValue[] = []) => Number((await exec.get(sql, params))!.n);
    return {
      accounts,
      disabledAccounts: await single("select count(*) as n from accounts where enabled = 0"),
      characters: await single("select count(*) as n from characters where deleted_ms is null"),
      deletedCharacters: await single("select count(*) as n from characters where deleted_ms is not null"),
      activeBans: await single(
        "select count(*) as n from bans where lifted_ms is null and (expires_ms is null or expires_ms > ?)",
        [Math.floor(this.#base.platform.clock.wallMs())],
      ),
      auditEntries: await single("select count(*) as n from audit_log"),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#driver.close();
  }
}
