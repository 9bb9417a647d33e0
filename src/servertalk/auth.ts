/**
 * Authentication of servertalk peers (fail-closed): account lookup with bcrypt hashes and an
 * enabled flag, the roles an account may play, IP bans with reason and expiry, and lock-out after
 * too many failures from one address within a window. Every refusal is a `ServertalkError` whose
 * code the peer receives. Passwords and hashes are never logged or put in a message.
 *
 * Account storage is an interface ({@linkcode AccountLookup}); {@linkcode MemoryAccounts} is the
 * in-memory implementation for tests and single-process use.
 * @module
 */
import bcrypt from "bcryptjs";
import type { Rng } from "../platform/platform.ts";
import { roleName } from "./control.ts";
import { ServertalkError, ServertalkErrorCode } from "./servertalk_error.ts";
import { withoutWallClock } from "../platform/without_wall_clock.ts";

/** A server account (world or zone servers log in with one). */
export interface ServerAccount {
  readonly account: string;
  /** bcrypt hash (`$2a$`/`$2b$`/`$2y$`). */
  readonly passwordHash: string;
  readonly enabled: boolean;
  /** `ServerRole`s this account may act as; empty or absent means any. */
  readonly roles?: readonly number[];
}

/** A ban of one peer address. */
export interface IpBan {
  readonly address: string;
  readonly reason: string;
  /** Wall-clock expiry in ms since the epoch; absent means permanent. */
  readonly expiresAtMs?: number;
}

/** Where accounts come from (the store implements this). */
export interface AccountLookup {
  findAccount(account: string): Promise<ServerAccount | undefined> | ServerAccount | undefined;
}

/** Where bans come from. */
export interface BanLookup {
  /** The ban in force for `address` at `wallMs`, if any. */
  findBan(address: string, wallMs: number): Promise<IpBan | undefined> | IpBan | undefined;
}

/** One authentication attempt. */
export interface AuthRequest {
  readonly account: string;
  readonly password: string;
  /** The server name the peer registers under. */
  readonly name: string;
  /** The `ServerRole` the peer asks for. */
  readonly role: number;
  /** The peer's IP address. */
  readonly address: string;
  /** Monotonic time, µs (for lock-out windows). */
  readonly nowUs: number;
  /** Wall-clock time, ms since the epoch (for ban expiry). */
  readonly wallMs: number;
}

/** The outcome of an attempt: the account, or a typed refusal. */
export type AuthResult =
  | { readonly ok: true; readonly account: string }
  | { readonly ok: false; readonly error: ServertalkError };

/** Decides whether a peer may open a link. */
export interface Authenticator {
  authenticate(request: AuthRequest): Promise<AuthResult>;
}

/** Options of {@linkcode createAuthenticator}. */
export interface AuthenticatorOptions {
  readonly accounts: AccountLookup;
  readonly bans?: BanLookup;
  /** Failures from one address within `failureWindowUs` that lock it out; default 5. */
  readonly maxFailures?: number;
  /** The lock-out window; default 5 minutes. */
  readonly failureWindowUs?: number;
  /** Addresses whose failures are remembered at once, at most (oldest forgotten first); default 10 000. */
  readonly maxTrackedAddresses?: number;
  /**
   * Checks a password against a bcrypt hash; default `bcrypt.compare` (asynchronous, yields to the
   * event loop). Simulations pass {@linkcode verifyPasswordSync} so that the check happens within one
   * simulated event and reads no real clock.
   */
  readonly verify?: (password: string, hash: string) => Promise<boolean> | boolean;
}

/** Defaults of {@linkcode AuthenticatorOptions}. */
export const AUTH_DEFAULTS = {
  maxFailures: 5,
  failureWindowUs: 5 * 60 * 1_000_000,
  maxTrackedAddresses: 10_000,
} as const;

/**
 * Checks a password against a bcrypt hash synchronously, without reading the wall clock: the
 * `verify` to give {@linkcode createAuthenticator} in simulations.
 */
export function verifyPasswordSync(password: string, hash: string): boolean {
  return withoutWallClock(() => bcrypt.compareSync(password, hash));
}

/** A hash of a password nobody has, checked for unknown accounts so they cost the same time as known ones. */
let decoyHash: string | undefined;
function decoy(cost: number): string {
  decoyHash ??= withoutWallClock(() =>
    bcrypt.hashSync(
      "qeynos decoy password",
      `$2b$${String(cost).padStart(2, "0")}$${"Qeynos.decoy.salt.....".slice(0, 22)}`,
    )
  );
  return decoyHash;
}
/** An {@linkcode Authenticator} with lock-out tracking, plus what an operator needs to inspect it. */
export interface PolicyAuthenticator extends Authenticator {
  /** Failures from `address` still inside the window. */
  failures(address: string, nowUs: number): number;
  /** Forgets the failures of `address` (an operator unlocking it). */
  clearFailures(address: string): void;
}

/**
 * The standard authentication policy, checked in this order: ban → lock-out → account and password
 * (unknown account and wrong password are one code, and cost the same time) → enabled → role.
 * Bad credentials count as failures for the address; a success clears them.
 */
export function createAuthenticator(options: AuthenticatorOptions): PolicyAuthenticator {
  const maxFailures = options.maxFailures ?? AUTH_DEFAULTS.maxFailures;
  const windowUs = options.failureWindowUs ?? AUTH_DEFAULTS.failureWindowUs;
  const maxTracked = options.maxTrackedAddresses ?? AUTH_DEFAULTS.maxTrackedAddresses;
  const verify = options.verify ?? ((password: string, hash: string) => bcrypt.compare(password, hash));
  /** Failure times per address, oldest first; Map order doubles as the eviction order. */
  const failures = new Map<string, number[]>();

  const recent = (address: string, nowUs: number): number[] => {
    const list = failures.get(address);
    if (list === undefined) return [];
    while (list.length > 0 && nowUs - list[0]! >= windowUs) list.shift();
    if (list.length === 0) failures.delete(address);
    return list;
  };

  const fail = (address: string, nowUs: number): void => {
    const list = recent(address, nowUs);
    list.push(nowUs);
    if (list.length > maxFailures) list.shift();
    failures.delete(address);
    failures.set(address, list);
    while (failures.size > maxTracked) failures.delete(failures.keys().next().value!);
  };

  const refuse = (code: ServertalkErrorCode, message: string, retryAfterMs?: number): AuthResult => ({
    ok: false,
    error: new ServertalkError(code, message, retryAfterMs === undefined ? {} : { retryAfterMs }),
  });

  return {
    failures: (address, nowUs) => recent(address, nowUs).length,
    clearFailures: (address) => void failures.delete(address),

    async authenticate(request: AuthRequest): Promise<AuthResult> {
      const ban = await options.bans?.findBan(request.address, request.wallMs);
      if (ban !== undefined) {
        const until = ban.expiresAtMs === undefined
          ? "permanently"
          : `until ${new Date(ban.expiresAtMs).toISOString()}`;
        const retryAfterMs = ban.expiresAtMs === undefined ? undefined : Math.max(1, ban.expiresAtMs - request.wallMs);
        return refuse(
          ServertalkErrorCode.Banned,
          `Address ${request.address} is banned ${until}: ${ban.reason}`,
          retryAfterMs,
        );
      }
      const list = recent(request.address, request.nowUs);
      if (list.length >= maxFailures) {
        const retryAfterMs = Math.max(1, Math.ceil((list[0]! + windowUs - request.nowUs) / 1000));
        return refuse(
          ServertalkErrorCode.LockedOut,
          `Address ${request.address} is locked out after ${list.length} failed attempts; retry in ${
            Math.ceil(retryAfterMs / 1000)
          } s`,
          retryAfterMs,
        );
      }
      const account = await options.accounts.findAccount(request.account);
      const hash = account?.passwordHash ?? decoy(10);
      let matches = false;
      try {
        matches = await verify(request.password, hash);
      } catch {
        matches = false; // a malformed stored hash never authenticates
      }
      if (account === undefined || !matches) {
        fail(request.address, request.nowUs);
        return refuse(ServertalkErrorCode.BadCredentials, "Unknown account or wrong password");
      }
      if (!account.enabled) {
        return refuse(ServertalkErrorCode.AccountDisabled, `Account ${account.account} is disabled`);
      }
      if (account.roles !== undefined && account.roles.length > 0 && !account.roles.includes(request.role)) {
        return refuse(
          ServertalkErrorCode.RoleNotAllowed,
          `Account ${account.account} may not act as ${roleName(request.role)}`,
        );
      }
      failures.delete(request.address);
      return { ok: true, account: account.account };
    },
  };
}

/** Default bcrypt cost of {@linkcode hashPassword}. */
export const DEFAULT_BCRYPT_COST = 10;

/**
 * Hashes `password` with bcrypt; the salt comes from `rng` (the injected platform randomness).
 * Passwords longer than bcrypt's 72 bytes are refused rather than silently truncated.
 */
export function hashPassword(password: string, rng: Rng, cost = DEFAULT_BCRYPT_COST): Promise<string> {
  if (bcrypt.truncates(password)) {
    return Promise.reject(
      new ServertalkError(ServertalkErrorCode.BadArgument, "Cannot hash password: longer than bcrypt's 72-byte limit"),
    );
  }
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) {
    return Promise.reject(
      new ServertalkError(ServertalkErrorCode.BadArgument, `Cannot hash password: cost ${cost} is not in 4..31`),
    );
  }
  const salt = `$2b$${String(cost).padStart(2, "0")}$${bcrypt.encodeBase64(rng.fill(new Uint8Array(16)), 16)}`;
  return Promise.resolve(withoutWallClock(() => bcrypt.hashSync(password, salt)));
}

/** In-memory accounts and bans, for tests and single-process deployments. */
export class MemoryAccounts implements AccountLookup, BanLookup {
  readonly #rng: Rng;
  readonly #cost: number;
  readonly #accounts = new Map<string, ServerAccount>();
  readonly #bans = new Map<string, IpBan>();

  /** `cost` is the bcrypt cost of passwords added with {@linkcode addAccount}; default 10. */
  constructor(rng: Rng, options: { cost?: number } = {}) {
    this.#rng = rng;
    this.#cost = options.cost ?? DEFAULT_BCRYPT_COST;
  }

  /** Adds (or replaces) an account, hashing `password` with a salt from the injected rng. */
  async addAccount(
    account: string,
    password: string,
    options: { enabled?: boolean; roles?: readonly number[] } = {},
  ): Promise<ServerAccount> {
    const record: ServerAccount = {
      account,
      passwordHash: await hashPassword(password, this.#rng, this.#cost),
      enabled: options.enabled ?? true,
      ...(options.roles === undefined ? {} : { roles: options.roles }),
    };
    this.#accounts.set(account, record);
    return record;
  }

  /** Adds (or replaces) an account whose hash is already known. */
  setAccount(record: ServerAccount): void {
    this.#accounts.set(record.account, record);
  }

  setEnabled(account: string, enabled: boolean): void {
    const record = this.#accounts.get(account);
    if (record !== undefined) this.#accounts.set(account, { ...record, enabled });
  }

  removeAccount(account: string): void {
    this.#accounts.delete(account);
  }

  /** Bans `address` (until `expiresAtMs`, wall clock, or permanently). */
  ban(address: string, reason: string, expiresAtMs?: number): void {
    this.#bans.set(address, { address, reason, ...(expiresAtMs === undefined ? {} : { expiresAtMs }) });
  }

  unban(address: string): void {
    this.#bans.delete(address);
  }

  findAccount(account: string): ServerAccount | undefined {
    return this.#accounts.get(account);
  }

  findBan(address: string, wallMs: number): IpBan | undefined {
    const ban = this.#bans.get(address);
    if (ban === undefined) return undefined;
    if (ban.expiresAtMs !== undefined && ban.expiresAtMs <= wallMs) {
      this.#bans.delete(address);
      return undefined;
    }
    return ban;
  }
}
