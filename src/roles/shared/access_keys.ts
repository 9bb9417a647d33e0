/**
 * One-time access keys: the login → world → zone hand-offs. A key is a random non-zero u32 bound to
 * an account and a character, valid once and for a limited time. The table is bounded: when full,
 * the oldest grant is dropped (its holder gets `KeyExpired` and logs in again).
 * @module
 */
import type { Rng } from "../../platform/platform.ts";
import { RoleError, RoleErrorCode } from "../role_error.ts";

/** A key issued and not yet redeemed. */
export interface AccessGrant<T> {
  readonly key: number;
  readonly accountId: number;
  readonly characterId: number;
  readonly issuedAtUs: number;
  readonly expiresAtUs: number;
  readonly data: T;
}

/** Why a key was refused. */
export type RedeemFailure = "bad_key" | "expired";

/** Options of {@linkcode AccessKeys}. */
export interface AccessKeyOptions {
  /** How long a key stays valid; default 30 s. */
  readonly ttlUs?: number;
  /** Keys outstanding at most; default 10 000. */
  readonly maxPending?: number;
}

/** Defaults of {@linkcode AccessKeyOptions}. */
export const ACCESS_KEY_DEFAULTS = { ttlUs: 30_000_000, maxPending: 10_000 } as const;

/** A table of outstanding one-time keys. */
export class AccessKeys<T = undefined> {
  readonly #rng: Rng;
  readonly #ttlUs: number;
  readonly #max: number;
  /** Insertion order is issue order, so the first entry is the oldest. */
  readonly #grants = new Map<number, AccessGrant<T>>();
  #evicted = 0;

  constructor(rng: Rng, options: AccessKeyOptions = {}) {
    this.#rng = rng;
    this.#ttlUs = options.ttlUs ?? ACCESS_KEY_DEFAULTS.ttlUs;
    this.#max = options.maxPending ?? ACCESS_KEY_DEFAULTS.maxPending;
    if (!Number.isInteger(this.#ttlUs) || this.#ttlUs < 1) {
      throw new RoleError(
        RoleErrorCode.BadOption,
        `Invalid access key ttlUs: ${this.#ttlUs} is not a positive integer`,
      );
    }
    if (!Number.isInteger(this.#max) || this.#max < 1) {
      throw new RoleError(
        RoleErrorCode.BadOption,
        `Invalid access key maxPending: ${this.#max} is not a positive integer`,
      );
    }
  }

  /** Keys outstanding. */
  get size(): number {
    return this.#grants.size;
  }

  /** Grants dropped because the table was full. */
  get evicted(): number {
    return this.#evicted;
  }

  /** Issues a key for `characterId` of `accountId`; a key issued earlier for the same character is revoked. */
  issue(nowUs: number, accountId: number, characterId: number, data: T): AccessGrant<T> {
    this.revokeCharacter(characterId);
    while (this.#grants.size >= this.#max) {
      this.#grants.delete(this.#grants.keys().next().value!);
      this.#evicted++;
    }
    let key = 0;
    while (key === 0 || this.#grants.has(key)) key = this.#rng.u32() >>> 0;
    const grant: AccessGrant<T> = {
      key,
      accountId,
      characterId,
      issuedAtUs: nowUs,
      expiresAtUs: nowUs + this.#ttlUs,
      data,
    };
    this.#grants.set(key, grant);
    return grant;
  }

  /**
   * Records a grant under a key chosen elsewhere (a zone keeps the key world chose); `undefined` when
   * that key is outstanding already or is 0. A grant issued earlier for the same character is revoked.
   */
  accept(key: number, nowUs: number, accountId: number, characterId: number, data: T): AccessGrant<T> | undefined {
    if (key === 0 || this.#grants.has(key)) return undefined;
    this.revokeCharacter(characterId);
    while (this.#grants.size >= this.#max) {
      this.#grants.delete(this.#grants.keys().next().value!);
      this.#evicted++;
    }
    const grant: AccessGrant<T> = {
      key,
      accountId,
      characterId,
      issuedAtUs: nowUs,
      expiresAtUs: nowUs + this.#ttlUs,
      data,
    };
    this.#grants.set(key, grant);
    return grant;
  }

  /**
   * Redeems a key: the grant when it matches the account and character and has not expired (it is
   * then gone). A key presented with the wrong account or character stays valid for its holder.
   */
  redeem(
    key: number,
    accountId: number,
    characterId: number,
    nowUs: number,
  ): { readonly ok: true; readonly grant: AccessGrant<T> } | { readonly ok: false; readonly reason: RedeemFailure } {
    const grant = this.#grants.get(key);
    if (grant === undefined || grant.accountId !== accountId || grant.characterId !== characterId) {
      return { ok: false, reason: "bad_key" };
    }
    this.#grants.delete(key);
    if (grant.expiresAtUs <= nowUs) return { ok: false, reason: "expired" };
    return { ok: true, grant };
  }

  /** The outstanding grant of a character, if any. */
  forCharacter(characterId: number): AccessGrant<T> | undefined {
    for (const grant of this.#grants.values()) if (grant.characterId === characterId) return grant;
    return undefined;
  }

  /** Revokes every key of a character; returns how many. */
  revokeCharacter(characterId: number): number {
    let n = 0;
    for (const [key, grant] of this.#grants) {
      if (grant.characterId === characterId) {
        this.#grants.delete(key);
        n++;
      }
    }
    return n;
  }

  /** Removes and returns the grants that expired by `nowUs`. */
  expire(nowUs: number): AccessGrant<T>[] {
    const out: AccessGrant<T>[] = [];
    for (const [key, grant] of this.#grants) {
      if (grant.expiresAtUs <= nowUs) {
        this.#grants.delete(key);
        out.push(grant);
      }
    }
    return out;
  }

  /** Every outstanding grant, oldest first. */
  pending(): AccessGrant<T>[] {
    return [...this.#grants.values()];
  }
}
