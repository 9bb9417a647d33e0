import { SqlBans } from "./_bans.ts";
import { nowMs, num, numOrNull, type RepositoryContext, str, violated } from "./_context.ts";
import type { SqlExecutor, SqlRow } from "./_sql.ts";
import * as v from "./_validate.ts";
import type {
  Account,
  AccountKind,
  AuthOptions,
  AuthResult,
  PageOptions,
  PasswordInput,
  PlayerAccount,
  PlayerAccounts,
  ServerAccount,
  ServerAccounts,
  ServerCredentials,
  ServerKind,
} from "./store.ts";
import { STORE_ERROR_CODES, StoreError } from "./store_error.ts";

const COLUMNS = "id, name, kind, enabled, created_ms, last_login_ms";

function toAccount<A extends Account>(row: SqlRow): A {
  return {
    id: num(row, "id"),
    name: str(row, "name"),
    kind: str(row, "kind") as AccountKind,
    enabled: num(row, "enabled") === 1,
    createdMs: num(row, "created_ms"),
    lastLoginMs: numOrNull(row, "last_login_ms"),
  } as A;
}

/** The account operations common to players and servers; `kinds` selects which rows this view sees. */
class AccountView<A extends Account> {
  readonly #context: RepositoryContext;
  readonly #kinds: readonly AccountKind[];
  /** A constant SQL condition on `kind` (built from the literals above, never from input). */
  readonly #where: string;
  readonly #label: string;

  constructor(context: RepositoryContext, kinds: readonly AccountKind[], label: string) {
    this.#context = context;
    this.#kinds = kinds;
    this.#where = `kind in (${kinds.map((k) => `'${k}'`).join(", ")})`;
    this.#label = label;
  }

  protected async createAccount(name: string, kind: AccountKind, password: PasswordInput): Promise<A> {
    const checkedName = v.accountName(name);
    if (!this.#kinds.includes(kind)) {
      throw new StoreError(STORE_ERROR_CODES.INVALID_ARGUMENT, `Invalid account kind '${String(kind)}'`);
    }
    const { exec } = this.#context;
    const duplicate = () =>
      new StoreError(STORE_ERROR_CODES.DUPLICATE_NAME, `Cannot create account: name ${v.quote(checkedName)} is taken`);
    // Checked first to spare a bcrypt computation; the unique index decides races.
    const taken = await exec.get("select id from accounts where name_key = ?", [v.nameKey(checkedName)]);
    if (taken !== undefined) throw duplicate();
    const hash = await this.#hashOf(password);
    try {
      const row = await exec.get(
        `insert into accounts (name, name_key, kind, password_hash, enabled, created_ms)
         values (?, ?, ?, ?, 1, ?) returning ${COLUMNS}`,
        [checkedName, v.nameKey(checkedName), kind, hash, nowMs(this.#context)],
      );
      return toAccount<A>(row!);
    } catch (error) {
      if (violated(error)?.kind === "unique") throw duplicate();
      throw error;
    }
  }

  async get(id: number): Promise<A | undefined> {
    v.id("account id", id);
    const row = await this.#context.exec.get(`select ${COLUMNS} from accounts where id = ? and ${this.#where}`, [id]);
    return row === undefined ? undefined : toAccount<A>(row);
  }

  /** The account with its password hash (for authenticators that compare passwords themselves). */
  protected async findWithHash(name: string): Promise<(A & { readonly passwordHash: string }) | undefined> {
    if (!v.isAccountName(name)) return undefined;
    const row = await this.#context.exec.get(
      `select ${COLUMNS}, password_hash from accounts where name_key = ? and ${this.#where}`,
      [v.nameKey(name)],
    );
    return row === undefined ? undefined : { ...toAccount<A>(row), passwordHash: str(row, "password_hash") };
  }

  async findByName(name: string): Promise<A | undefined> {
    if (!v.isAccountName(name)) return undefined;
    const row = await this.#context.exec.get(
      `select ${COLUMNS} from accounts where name_key = ? and ${this.#where}`,
      [v.nameKey(name)],
    );
    return row === undefined ? undefined : toAccount<A>(row);
  }

  async list(options?: PageOptions): Promise<A[]> {
    const [afterId, limit] = v.page(options);
    const rows = await this.#context.exec.all(
      `select ${COLUMNS} from accounts where ${this.#where} and id > ? order by id limit ?`,
      [afterId, limit],
    );
    return rows.map((row) => toAccount<A>(row));
  }

  async setEnabled(id: number, enabled: boolean): Promise<A> {
    v.id("account id", id);
    if (typeof enabled !== "boolean") {
      throw new StoreError(
        STORE_ERROR_CODES.INVALID_ARGUMENT,
        `Invalid enabled: expected a boolean, got ${typeof enabled}`,
      );
    }
    const row = await this.#context.exec.get(
      `update accounts set enabled = ? where id = ? and ${this.#where} returning ${COLUMNS}`,
      [enabled ? 1 : 0, id],
    );
    if (row === undefined) throw this.#notFound(id);
    return toAccount<A>(row);
  }

  async setPassword(id: number, password: PasswordInput): Promise<void> {
    v.id("account id", id);
    const hash = await this.#hashOf(password);
    const changed = await this.#context.exec.run(
      `update accounts set password_hash = ? where id = ? and ${this.#where}`,
      [hash, id],
    );
    if (changed === 0) throw this.#notFound(id);
  }

  /**
   * The authentication sequence. Every path up to the verdict on an existing or unknown valid name does
   * the same work (one lookup, one bcrypt, the ban and lockout reads, one failure write), so neither the
   * time taken nor the answer to a locked name tells whether the account exists.
   */
  protected async authenticateAccount(
    name: string,
    password: string,
    options: AuthOptions & { readonly autoCreate?: boolean; readonly kind?: AccountKind } | undefined,
  ): Promise<AuthResult<A>> {
    const context = this.#context;
    const { exec, hasher, lockout } = context;
    const valid = v.isAccountName(name);
    const key = valid ? v.nameKey(name) : "";
    let row = valid
      ? await exec.get(`select ${COLUMNS}, password_hash from accounts where name_key = ? and ${this.#where}`, [key])
      : undefined;
    if (row !== undefined && options?.kind !== undefined && row.kind !== options.kind) row = undefined;
    const hash = row === undefined ? undefined : str(row, "password_hash");
    const matched = await hasher.verify(typeof password === "string" ? password : "", hash);
    const now = nowMs(context);
    const bans = new SqlBans(context);

    if (options?.ip !== undefined) {
      const [ban] = await bans.active({ ip: options.ip }, now);
      if (ban !== undefined) return { ok: false, reason: "banned", ban };
    }
    if (!valid) return { ok: false, reason: "unknown_account" };
    if (lockout.maxFailures > 0) {
      const failures = await exec.get("select locked_until_ms from login_failures where name_key = ?", [key]);
      const lockedUntil = failures === undefined ? null : numOrNull(failures, "locked_until_ms");
      if (lockedUntil !== null && lockedUntil > now) return { ok: false, reason: "locked", lockedUntilMs: lockedUntil };
    }
    if (row === undefined || !matched) {
      if (row === undefined && options?.autoCreate === true) {
        const created = await this.#autoCreate(name, password);
        if (created !== undefined) return created;
        if (await this.findByName(name) !== undefined) {
          // Someone created the name meanwhile: judge the password against that account instead.
          return this.authenticateAccount(name, password, { ...options, autoCreate: false });
        }
      }
      await this.#recordFailure(key, now);
      return { ok: false, reason: row === undefined ? "unknown_account" : "wrong_password" };
    }

    const account = toAccount<A>(row);
    if (!account.enabled) return { ok: false, reason: "disabled" };
    const [ban] = await bans.active({ accountId: account.id }, now);
    if (ban !== undefined) return { ok: false, reason: "banned", ban };
    const newHash = hasher.needsRehash(hash!) ? await hasher.hash(password) : undefined;
    await exec.atomic(async (tx) => {
      await tx.run("delete from login_failures where name_key = ?", [key]);
      await tx.run(
        newHash === undefined
          ? "update accounts set last_login_ms = ? where id = ?"
          : "update accounts set last_login_ms = ?, password_hash = ? where id = ?",
        newHash === undefined ? [now, account.id] : [now, newHash, account.id],
      );
    });
    return { ok: true, account: { ...account, lastLoginMs: now }, created: false };
  }

  /** Creates the account for an auto-create login; undefined if the password is unfit or the name got taken. */
  async #autoCreate(name: string, password: string): Promise<AuthResult<A> | undefined> {
    try {
      v.newPassword(password, this.#context.limits.minPasswordBytes);
    } catch {
      return undefined;
    }
    try {
      const account = await this.createAccount(name, this.#kinds[0]!, { password });
      const now = nowMs(this.#context);
      await this.#context.exec.run("update accounts set last_login_ms = ? where id = ?", [now, account.id]);
      return { ok: true, account: { ...account, lastLoginMs: now }, created: true };
    } catch (error) {
      if (error instanceof StoreError && error.code === STORE_ERROR_CODES.DUPLICATE_NAME) return undefined;
      throw error;
    }
  }

  /** Counts a failure against `key` in the current window, locking the name when the window fills up. */
  async #recordFailure(key: string, now: number): Promise<void> {
    const { lockout, dialect } = this.#context;
    if (lockout.maxFailures <= 0) return;
    await this.#context.exec.atomic(async (tx: SqlExecutor) => {
      const row = await tx.get(
        `select failures, window_start_ms from login_failures where name_key = ?${dialect.forUpdate}`,
        [key],
      );
      const fresh = row === undefined || num(row, "window_start_ms") <= now - lockout.windowMs;
      let failures = fresh ? 1 : num(row, "failures") + 1;
      let windowStart = fresh ? now : num(row, "window_start_ms");
      let lockedUntil: number | null = null;
      if (failures >= lockout.maxFailures) {
        lockedUntil = now + lockout.lockMs;
        failures = 0;
        windowStart = now;
      }
      await tx.run(
        `insert into login_failures (name_key, failures, window_start_ms, locked_until_ms) values (?, ?, ?, ?)
         on conflict (name_key) do update set failures = excluded.failures,
           window_start_ms = excluded.window_start_ms, locked_until_ms = excluded.locked_until_ms`,
        [key, failures, windowStart, lockedUntil],
      );
      // Forget names whose window and lock are both over, so guessed names cannot pile up.
      await tx.run(
        `delete from login_failures where window_start_ms <= ? and (locked_until_ms is null or locked_until_ms <= ?)`,
        [now - lockout.windowMs, now],
      );
    });
  }

  async #hashOf(password: PasswordInput): Promise<string> {
    if (typeof password !== "object" || password === null) {
      throw new StoreError(
        STORE_ERROR_CODES.INVALID_PASSWORD,
        "Invalid password: expected { password } or { passwordHash }",
      );
    }
    if ("passwordHash" in password) return v.passwordHash(password.passwordHash);
    return await this.#context.hasher.hash(v.newPassword(password.password, this.#context.limits.minPasswordBytes));
  }

  #notFound(id: number): StoreError {
    return new StoreError(
      STORE_ERROR_CODES.NOT_FOUND,
      `Cannot update account: no ${this.#label} account with id ${id}`,
    );
  }
}

/** Player accounts over SQL. */
export class SqlPlayerAccounts extends AccountView<PlayerAccount> implements PlayerAccounts {
  constructor(context: RepositoryContext) {
    super(context, ["player"], "player");
  }

  create(input: { readonly name: string } & PasswordInput): Promise<PlayerAccount> {
    return this.createAccount(input.name, "player", input);
  }

  authenticate(
    name: string,
    password: string,
    options?: AuthOptions & { readonly autoCreate?: boolean },
  ): Promise<AuthResult<PlayerAccount>> {
    return this.authenticateAccount(name, password, options);
  }
}

/** World and zone server accounts over SQL. */
export class SqlServerAccounts extends AccountView<ServerAccount> implements ServerAccounts {
  constructor(context: RepositoryContext) {
    super(context, ["world", "zone"], "server");
  }

  create(input: { readonly name: string; readonly kind: ServerKind } & PasswordInput): Promise<ServerAccount> {
    return this.createAccount(input.name, input.kind, input);
  }

  credentials(name: string): Promise<ServerCredentials | undefined> {
    return this.findWithHash(name);
  }

  authenticate(
    name: string,
    password: string,
    options?: AuthOptions & { readonly kind?: ServerKind },
  ): Promise<AuthResult<ServerAccount>> {
    const { kind, ...rest } = options ?? {};
    return this.authenticateAccount(name, password, kind === undefined ? rest : { ...rest, kind });
  }
}
