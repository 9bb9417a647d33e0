/**
 * bcrypt hashing with salts drawn from the injected rng, and verification that costs one bcrypt
 * comparison whether or not there is a hash to compare with.
 */
import bcrypt from "bcryptjs";
import type { Rng } from "../platform/platform.ts";
import { STORE_RULES } from "./store.ts";
import { withoutWallClock } from "../platform/without_wall_clock.ts";

/** A bcrypt hash as other bcrypt implementations write it (`$2a$`, `$2b$`, `$2y$`, cost 04..31). */
export const BCRYPT_HASH_PATTERN = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

const encoder = new TextEncoder();

/** UTF-8 length of a string. */
export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

/** Whether bcrypt would use every byte of `password` (≤ 72 UTF-8 bytes, no NUL). */
export function bcryptAccepts(password: string): boolean {
  return !password.includes("\0") && utf8Length(password) <= STORE_RULES.passwordMaxBytes;
}

/** Hashes and verifies passwords; never logs or returns anything but hashes and booleans. */
export class PasswordHasher {
  readonly #rng: Pick<Rng, "fill">;
  readonly #cost: number;
  readonly #sync: boolean;
  #dummy: Promise<string> | undefined;

  /** With `sync`, bcrypt runs in one go instead of in slices between event-loop turns. */
  constructor(rng: Pick<Rng, "fill">, cost: number, sync = false) {
    this.#rng = rng;
    this.#cost = cost;
    this.#sync = sync;
  }

  /** A fresh `$2b$` salt: 16 rng bytes in bcrypt's base64 alphabet. */
  salt(): string {
    const bytes = this.#rng.fill(new Uint8Array(16));
    return `$2b$${String(this.#cost).padStart(2, "0")}$${bcrypt.encodeBase64(Array.from(bytes), 16)}`;
  }

  /** Hashes a password the caller has validated with {@linkcode bcryptAccepts}. */
  hash(password: string): Promise<string> {
    const salt = this.salt();
    return this.#sync
      ? Promise.resolve(withoutWallClock(() => bcrypt.hashSync(password, salt)))
      : bcrypt.hash(password, salt);
  }

  /**
   * Compares `password` with `hash`, or with a dummy hash of the configured cost when `hash` is undefined,
   * so that both cases take one bcrypt computation. A password bcrypt would truncate never matches.
   */
  async verify(password: string, hash: string | undefined): Promise<boolean> {
    const usable = bcryptAccepts(password);
    // The dummy is made on the first verification of either kind, so that call costs the same both ways.
    const dummy = await this.#dummyHash();
    const target = hash ?? dummy;
    const candidate = usable ? password : "";
    const matched = this.#sync
      ? withoutWallClock(() => bcrypt.compareSync(candidate, target))
      : await bcrypt.compare(candidate, target);
    return matched && usable && hash !== undefined;
  }

  /** Whether a stored hash should be replaced at the next successful login (cost changed). */
  needsRehash(hash: string): boolean {
    return bcrypt.getRounds(hash) !== this.#cost;
  }

  #dummyHash(): Promise<string> {
    if (this.#dummy === undefined) {
      const secret = Array.from(this.#rng.fill(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
      this.#dummy = this.hash(secret);
    }
    return this.#dummy;
  }
}
