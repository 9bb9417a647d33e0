/**
 * The persistence interface of Qeynos: accounts, world/zone server accounts, characters, bans and an
 * audit log, with transactions. Two implementations share one schema and one set of migrations:
 * `sqlite.ts` (embedded, the default) and `postgres.ts` (for roles spread over several machines).
 *
 * Every method is async. Times are integer milliseconds since the Unix epoch, taken from the injected
 * `Platform` clock; salts come from the injected `Platform` rng. Records never carry password hashes.
 * Inputs are bounded (see {@linkcode STORE_RULES} and {@linkcode StoreLimits}); a violation throws a
 * `StoreError` with a stable code.
 * @module
 */
import type { Clock, Log, Rng } from "../platform/platform.ts";

/** Account kinds: players log in through the login role; world and zone servers through servertalk. */
export const ACCOUNT_KINDS = ["player", "world", "zone"] as const;
/** One of {@linkcode ACCOUNT_KINDS}. */
export type AccountKind = typeof ACCOUNT_KINDS[number];
/** The kinds of server accounts. */
export type ServerKind = Exclude<AccountKind, "player">;

/** Fixed input rules (not options: they shape the schema and what other parts may assume). */
export const STORE_RULES = {
  /** Account names: 3..32 ASCII letters, digits, `_`, `-`, `.`, starting with a letter or digit. */
  accountName: { min: 3, max: 32, pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]*$/ },
  /** Character names: 3..20 ASCII letters. */
  characterName: { min: 3, max: 20, pattern: /^[A-Za-z]+$/ },
  /** Zone names: 1..64 ASCII letters, digits and `_`. */
  zoneName: { min: 1, max: 64, pattern: /^[A-Za-z0-9_]+$/ },
  /** bcrypt ignores bytes past 72, so longer passwords are refused rather than silently cut. */
  passwordMaxBytes: 72,
  /** Audit actors: 1..64 printable characters. */
  actorMaxLength: 64,
  /** Audit actions: 1..64 of `a-z`, `0-9`, `_`, `-`, `.`. */
  action: { max: 64, pattern: /^[a-z0-9_.-]+$/ },
  /** Audit targets: up to 128 printable characters. */
  targetMaxLength: 128,
  /** Ban reasons: 1..256 printable characters. */
  reasonMaxLength: 256,
  /** World ids, character race/class/gender ids and levels are integers in these ranges. */
  worldId: { min: 1, max: 2_147_483_647 },
  race: { min: 0, max: 255 },
  class: { min: 0, max: 255 },
  gender: { min: 0, max: 255 },
  level: { min: 1, max: 1000 },
  /** Coordinates and heading are finite numbers with an absolute value up to this. */
  coordinateMax: 10_000_000,
  /** Page size of every `list` method: default and maximum. */
  pageDefault: 100,
  pageMax: 1000,
} as const;

/** Limits that are options of the store, with their defaults in {@linkcode DEFAULT_STORE_LIMITS}. */
export interface StoreLimits {
  /** Live characters one account may have on one world. */
  readonly maxCharactersPerAccount: number;
  /** Bytes of a character's appearance once serialized as JSON. */
  readonly maxAppearanceBytes: number;
  /** Bytes of an audit entry's detail once serialized as JSON. */
  readonly maxAuditDetailBytes: number;
  /** Shortest password accepted for a new or changed password (UTF-8 bytes). */
  readonly minPasswordBytes: number;
  /** Operations allowed to wait while a SQLite transaction holds the connection; more get `STORE_BUSY`. */
  readonly maxPendingOperations: number;
}

/** Defaults of {@linkcode StoreLimits}. */
export const DEFAULT_STORE_LIMITS: StoreLimits = {
  maxCharactersPerAccount: 8,
  maxAppearanceBytes: 8192,
  maxAuditDetailBytes: 4096,
  minPasswordBytes: 8,
  maxPendingOperations: 10_000,
};

/**
 * Failed-login lockout, counted per account name (existing or not, so that a lockout reveals nothing):
 * `maxFailures` failures within `windowMs` lock the name for `lockMs`. `maxFailures: 0` disables it.
 */
export interface LockoutPolicy {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly lockMs: number;
}

/** Default lockout: 5 failures in 5 minutes lock the name for 5 minutes. */
export const DEFAULT_LOCKOUT: LockoutPolicy = { maxFailures: 5, windowMs: 300_000, lockMs: 300_000 };

/** bcrypt cost for new hashes, and the accepted range. */
export const DEFAULT_BCRYPT_COST = 10;
export const BCRYPT_COST_RANGE = [4, 15] as const;

/** What a store needs from the Platform. */
export interface StorePlatform {
  readonly clock: Pick<Clock, "wallMs">;
  readonly rng: Pick<Rng, "fill">;
  readonly log: Log;
}

/** Options common to both backends. */
export interface StoreOptions {
  readonly platform: StorePlatform;
  /**
   * What to do with the schema on open: `"auto"` (default) applies pending migrations; `"check"` refuses
   * a database that needs them (`STORE_SCHEMA_OUTDATED`); `"none"` only opens (for `db status`).
   * A database newer than this code is refused in `"auto"` and `"check"` (`STORE_SCHEMA_TOO_NEW`).
   */
  readonly migrate?: "auto" | "check" | "none";
  /** bcrypt cost of new hashes (4..15, default 10). Hashes of another cost are upgraded at the next login. */
  readonly bcryptCost?: number;
  /**
   * `"async"` (default): bcrypt runs in slices between event-loop turns, so a server keeps serving during
   * a hash. `"sync"`: each hash runs in one go and store promises settle on microtasks alone, which a
   * simulator driving virtual time needs (with a small `bcryptCost`).
   */
  readonly hashing?: "async" | "sync";
  readonly lockout?: Partial<LockoutPolicy>;
  readonly limits?: Partial<StoreLimits>;
}

/** An account as stored, without its password hash. */
export interface Account {
  readonly id: number;
  readonly name: string;
  readonly kind: AccountKind;
  readonly enabled: boolean;
  readonly createdMs: number;
  readonly lastLoginMs: number | null;
}

/** A player account. */
export interface PlayerAccount extends Account {
  readonly kind: "player";
}

/** A world or zone server account. */
export interface ServerAccount extends Account {
  readonly kind: ServerKind;
}

/** The password of a new account: plain text to hash, or an existing bcrypt hash to keep (`$2a$`/`$2b$`/`$2y$`). */
export type PasswordInput = { readonly password: string } | { readonly passwordHash: string };

/** Why {@linkcode PlayerAccounts.authenticate} refused. */
export type AuthFailure =
  /** No account of that name (and kind). */
  | "unknown_account"
  | "wrong_password"
  /** The password was right but the account is disabled. */
  | "disabled"
  /** Too many recent failures for this name; nothing was checked. */
  | "locked"
  /** The address, or (password right) the account, is banned. */
  | "banned";

/** Outcome of an authentication. */
export type AuthResult<A extends Account> =
  | { readonly ok: true; readonly account: A; readonly created: boolean }
  | {
    readonly ok: false;
    readonly reason: AuthFailure;
    /** The ban for `"banned"`. */
    readonly ban?: Ban;
    /** When the lock ends, for `"locked"`. */
    readonly lockedUntilMs?: number;
  };

/** Options of an authentication. */
export interface AuthOptions {
  /** The peer's address: an active ban on it refuses the login. */
  readonly ip?: string;
}

/** A page request: ids strictly after `afterId`, at most `limit` (default 100, max 1000). */
export interface PageOptions {
  readonly afterId?: number;
  readonly limit?: number;
}

/** Player accounts (kind `player`). Names are unique across all account kinds, case-insensitively. */
export interface PlayerAccounts {
  /** Creates an account; `STORE_DUPLICATE_NAME` if any account has that name. */
  create(input: { readonly name: string } & PasswordInput): Promise<PlayerAccount>;
  get(id: number): Promise<PlayerAccount | undefined>;
  findByName(name: string): Promise<PlayerAccount | undefined>;
  list(options?: PageOptions): Promise<PlayerAccount[]>;
  /** Enables or disables; `STORE_NOT_FOUND` if no such player account. */
  setEnabled(id: number, enabled: boolean): Promise<PlayerAccount>;
  setPassword(id: number, password: PasswordInput): Promise<void>;
  /**
   * Checks a name and password. Takes one bcrypt comparison whether or not the account exists (a dummy
   * hash stands in), records failures for the lockout, and stamps `lastLoginMs` on success.
   * With `autoCreate`, an unknown (valid) name is created with this password and the result is
   * `{ ok: true, created: true }`.
   */
  authenticate(
    name: string,
    password: string,
    options?: AuthOptions & { readonly autoCreate?: boolean },
  ): Promise<AuthResult<PlayerAccount>>;
}

/** A server account with its bcrypt hash, for an authenticator that compares passwords itself. */
export interface ServerCredentials extends ServerAccount {
  /** bcrypt hash. Never log it or put it in a message. */
  readonly passwordHash: string;
}

/** World and zone server accounts, looked up by servertalk's authenticator. Same name space as players. */
export interface ServerAccounts {
  create(input: { readonly name: string; readonly kind: ServerKind } & PasswordInput): Promise<ServerAccount>;
  get(id: number): Promise<ServerAccount | undefined>;
  findByName(name: string): Promise<ServerAccount | undefined>;
  list(options?: PageOptions): Promise<ServerAccount[]>;
  setEnabled(id: number, enabled: boolean): Promise<ServerAccount>;
  setPassword(id: number, password: PasswordInput): Promise<void>;
  /**
   * The account with its hash, for servertalk's authenticator (which runs its own bcrypt comparison,
   * dummy hash and per-address lockout); undefined for unknown names and player accounts.
   */
  credentials(name: string): Promise<ServerCredentials | undefined>;
  /** As {@linkcode PlayerAccounts.authenticate}; with `kind`, an account of the other server kind is unknown. */
  authenticate(
    name: string,
    password: string,
    options?: AuthOptions & { readonly kind?: ServerKind },
  ): Promise<AuthResult<ServerAccount>>;
}

/** Character appearance: any JSON object (bounded by `maxAppearanceBytes`). */
export type Appearance = Readonly<Record<string, unknown>>;

/** Where a character stands. */
export interface CharacterPosition {
  readonly zone: string;
  readonly x: number;
  readonly y: number;
  readonly z: number;
  readonly heading: number;
}

/** A character as stored. */
export interface Character extends CharacterPosition {
  readonly id: number;
  readonly accountId: number;
  readonly worldId: number;
  readonly name: string;
  readonly race: number;
  readonly class: number;
  readonly gender: number;
  readonly level: number;
  readonly appearance: Appearance;
  readonly createdMs: number;
  readonly updatedMs: number;
  /** Set when deleted; a deleted character's name is free again on its world. */
  readonly deletedMs: number | null;
}

/** A new character. Position defaults to 0,0,0 heading 0; level to 1; appearance to `{}`. */
export interface CharacterInput {
  readonly accountId: number;
  readonly worldId: number;
  readonly name: string;
  readonly race: number;
  readonly class: number;
  readonly gender: number;
  readonly level?: number;
  readonly zone: string;
  readonly x?: number;
  readonly y?: number;
  readonly z?: number;
  readonly heading?: number;
  readonly appearance?: Appearance;
}

/** Fields of a character that may change. */
export type CharacterPatch = Partial<
  Pick<Character, "race" | "class" | "gender" | "level" | "zone" | "x" | "y" | "z" | "heading" | "appearance">
>;

/** Characters. Names are unique per world, case-insensitively, among live characters. */
export interface Characters {
  /**
   * Creates a character: `STORE_DUPLICATE_NAME` if a live character of that world has the name,
   * `STORE_NOT_FOUND` if the account does not exist, `STORE_LIMIT_EXCEEDED` past `maxCharactersPerAccount`.
   */
  create(input: CharacterInput): Promise<Character>;
  /** A character by id, deleted ones included (check `deletedMs`). */
  get(id: number): Promise<Character | undefined>;
  /** A live character by world and name. */
  findByName(worldId: number, name: string): Promise<Character | undefined>;
  /** The live characters of an account (of one world, if given), oldest first. */
  listByAccount(accountId: number, options?: { readonly worldId?: number }): Promise<Character[]>;
  /** Changes fields of a live character; `STORE_NOT_FOUND` if missing or deleted. */
  update(id: number, patch: CharacterPatch): Promise<Character>;
  /** Saves where a live character stands (the frequent write: one statement, no read back). */
  savePosition(id: number, position: CharacterPosition): Promise<void>;
  /** Soft-deletes a live character; `STORE_NOT_FOUND` if missing or already deleted. */
  delete(id: number): Promise<void>;
}

/** What a ban applies to: one account, or every address in an IPv4/IPv6 network (`"10.0.0.0/8"`, `"::1"`). */
export type BanTarget = { readonly accountId: number } | { readonly ip: string };

/** A ban as stored. */
export interface Ban {
  readonly id: number;
  readonly accountId: number | null;
  /** The network in canonical CIDR form (`"10.0.0.0/8"`, `"2001:db8::/32"`, `"192.0.2.7/32"`). */
  readonly ip: string | null;
  readonly reason: string;
  readonly actor: string;
  readonly createdMs: number;
  /** `null`: until lifted. */
  readonly expiresMs: number | null;
  readonly liftedMs: number | null;
  readonly liftedBy: string | null;
}

/** Bans of accounts and of IP networks. */
export interface Bans {
  /** Adds a ban; `expiresMs` must be in the future (omit it for a ban until lifted). */
  add(
    target: BanTarget,
    options: { readonly reason: string; readonly actor: string; readonly expiresMs?: number },
  ): Promise<Ban>;
  /** Lifts one active ban; `STORE_NOT_FOUND` if there is no such active ban. */
  lift(id: number, options: { readonly actor: string }): Promise<Ban>;
  /** Lifts every active ban on exactly this account or network; resolves to how many. */
  liftAll(target: BanTarget, options: { readonly actor: string }): Promise<number>;
  /**
   * The bans active at `atMs` (default now) on the account or on any network containing the address,
   * longest-lasting first.
   */
  active(query: { readonly accountId?: number; readonly ip?: string }, atMs?: number): Promise<Ban[]>;
  /** Bans by id; with `activeAt`, only those active then. */
  list(options?: PageOptions & { readonly activeAt?: number }): Promise<Ban[]>;
}

/** One audit log entry. */
export interface AuditEntry {
  readonly id: number;
  readonly atMs: number;
  readonly actor: string;
  readonly action: string;
  readonly target: string | null;
  readonly detail: Readonly<Record<string, unknown>> | null;
}

/** An append-only log of administrative and security events. */
export interface AuditLog {
  /** Appends an entry stamped with the clock. Never put a password or hash in `detail`. */
  record(entry: {
    readonly actor: string;
    readonly action: string;
    readonly target?: string;
    readonly detail?: Readonly<Record<string, unknown>>;
  }): Promise<AuditEntry>;
  /** Newest first: ids strictly below `beforeId`, optionally of one action or target. */
  list(
    options?: {
      readonly beforeId?: number;
      readonly limit?: number;
      readonly action?: string;
      readonly target?: string;
    },
  ): Promise<AuditEntry[]>;
  /** Deletes entries older than `beforeMs`; resolves to how many. */
  prune(beforeMs: number): Promise<number>;
}

/** The repositories, as seen outside or inside a transaction. */
export interface StoreRepositories {
  readonly accounts: PlayerAccounts;
  readonly servers: ServerAccounts;
  readonly characters: Characters;
  readonly bans: Bans;
  readonly audit: AuditLog;
}

/** A migration known to the code, and when it was applied (if it was). */
export interface MigrationInfo {
  readonly version: number;
  readonly name: string;
  readonly appliedMs: number | null;
}

/** The schema of an open database relative to the code. */
export interface SchemaStatus {
  /** Highest applied version (0 for an empty database). */
  readonly current: number;
  /** Highest version this code knows. */
  readonly latest: number;
  readonly applied: readonly MigrationInfo[];
  readonly pending: readonly MigrationInfo[];
}

/** Row counts for status pages. */
export interface StoreStats {
  readonly accounts: Readonly<Record<AccountKind, number>>;
  readonly disabledAccounts: number;
  readonly characters: number;
  readonly deletedCharacters: number;
  readonly activeBans: number;
  readonly auditEntries: number;
}

/**
 * A store. Operations on the store itself each run on their own (multi-statement ones atomically);
 * {@linkcode Store.transaction} groups several. Inside a transaction use only its `tx` argument: an
 * operation on the store itself waits for the transaction to end.
 */
export interface Store extends StoreRepositories {
  readonly backend: "sqlite" | "postgres";
  /** The file path or the URL without its password. */
  readonly location: string;
  /**
   * Runs `fn` in one transaction: committed when `fn` resolves, rolled back when it throws.
   * If an operation in it fails in the database (a duplicate name, say), the transaction is aborted:
   * later operations throw `STORE_TX_ABORTED` and it rolls back even if `fn` catches the error.
   */
  transaction<T>(fn: (tx: StoreRepositories) => Promise<T>): Promise<T>;
  schema(): Promise<SchemaStatus>;
  /** Applies pending migrations in one transaction; resolves to those applied. */
  migrate(): Promise<MigrationInfo[]>;
  stats(): Promise<StoreStats>;
  /** Closes the connection(s); later operations throw `STORE_CLOSED`. */
  close(): Promise<void>;
}
