/** Input checks shared by the repositories; each failure is a StoreError with a stable code. */
import { BCRYPT_HASH_PATTERN, utf8Length } from "./_password.ts";
import { type PageOptions, STORE_RULES } from "./store.ts";
import { STORE_ERROR_CODES, StoreError } from "./store_error.ts";

const SHOWN_MAX = 40;
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// deno-lint-ignore no-control-regex
const CONTROL_ALL = /[\u0000-\u001f\u007f-\u009f]/g;

/** A user-supplied string for an error message: quoted, control characters escaped, cut to 40 characters. */
export function quote(text: string): string {
  const cut = text.length > SHOWN_MAX ? `${text.slice(0, SHOWN_MAX)}…` : text;
  return `'${cut.replace(CONTROL_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}'`;
}

function checkName(
  what: string,
  name: unknown,
  rule: { readonly min: number; readonly max: number; readonly pattern: RegExp },
  allowed: string,
): string {
  if (typeof name !== "string") {
    throw new StoreError(STORE_ERROR_CODES.INVALID_NAME, `Invalid ${what} name: expected a string, got ${typeof name}`);
  }
  if (name.length < rule.min || name.length > rule.max) {
    throw new StoreError(
      STORE_ERROR_CODES.INVALID_NAME,
      `Invalid ${what} name ${quote(name)}: length ${name.length} is outside ${rule.min}..${rule.max}`,
    );
  }
  if (!rule.pattern.test(name)) {
    throw new StoreError(STORE_ERROR_CODES.INVALID_NAME, `Invalid ${what} name ${quote(name)}: ${allowed}`);
  }
  return name;
}

/** Checks an account name; resolves to it unchanged. */
export function accountName(name: unknown): string {
  return checkName(
    "account",
    name,
    STORE_RULES.accountName,
    "only ASCII letters, digits, '_', '-' and '.' are allowed, starting with a letter or digit",
  );
}

/** Checks a character name. */
export function characterName(name: unknown): string {
  return checkName("character", name, STORE_RULES.characterName, "only ASCII letters are allowed");
}

/** Checks a zone name. */
export function zoneName(name: unknown): string {
  return checkName("zone", name, STORE_RULES.zoneName, "only ASCII letters, digits and '_' are allowed");
}

/** Whether `name` passes {@linkcode accountName} (for lookups that must not throw). */
export function isAccountName(name: unknown): name is string {
  const rule = STORE_RULES.accountName;
  return typeof name === "string" && name.length >= rule.min && name.length <= rule.max && rule.pattern.test(name);
}

/** The case-insensitive key of an (already checked, ASCII) name. */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

/** Checks a new password. The message never contains the password. */
export function newPassword(password: unknown, minBytes: number): string {
  if (typeof password !== "string") {
    throw new StoreError(
      STORE_ERROR_CODES.INVALID_PASSWORD,
      `Invalid password: expected a string, got ${typeof password}`,
    );
  }
  const bytes = utf8Length(password);
  if (bytes < minBytes) {
    throw new StoreError(
      STORE_ERROR_CODES.INVALID_PASSWORD,
      `Invalid password: ${bytes} bytes is shorter than the minimum ${minBytes}`,
    );
  }
  if (bytes > STORE_RULES.passwordMaxBytes) {
    throw new StoreError(
      STORE_ERROR_CODES.INVALID_PASSWORD,
      `Invalid password: ${bytes} bytes exceeds bcrypt's limit ${STORE_RULES.passwordMaxBytes}`,
    );
  }
  if (password.includes("\0")) {
    throw new StoreError(STORE_ERROR_CODES.INVALID_PASSWORD, "Invalid password: contains a NUL character");
  }
  return password;
}

/** Checks a bcrypt hash given instead of a password. */
export function passwordHash(hash: unknown): string {
  if (typeof hash !== "string" || !BCRYPT_HASH_PATTERN.test(hash)) {
    throw new StoreError(
      STORE_ERROR_CODES.INVALID_PASSWORD,
      "Invalid password hash: expected a 60-character bcrypt hash ($2a$, $2b$ or $2y$, cost 04..31)",
    );
  }
  return hash;
}

/** Checks an integer in `[min, max]`. */
export function integer(what: string, value: unknown, range: { readonly min: number; readonly max: number }): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < range.min || value > range.max) {
    throw new StoreError(
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      `Invalid ${what}: ${String(value)} is not an integer in ${range.min}..${range.max}`,
    );
  }
  return value;
}

/** Checks a row id (a positive safe integer). */
export function id(what: string, value: unknown): number {
  return integer(what, value, { min: 1, max: Number.MAX_SAFE_INTEGER });
}

/** Checks a millisecond timestamp (a non-negative safe integer). */
export function timestamp(what: string, value: unknown): number {
  return integer(what, value, { min: 0, max: Number.MAX_SAFE_INTEGER });
}

/** Checks a coordinate or heading. */
export function coordinate(what: string, value: unknown): number {
  const max = STORE_RULES.coordinateMax;
  if (typeof value !== "number" || !Number.isFinite(value) || Math.abs(value) > max) {
    throw new StoreError(
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      `Invalid ${what}: ${String(value)} is not a finite number within ±${max}`,
    );
  }
  return value;
}

/** Checks free text: 1..`max` characters (0.. when `optional`), no control characters. */
export function text(what: string, value: unknown, max: number): string {
  if (typeof value !== "string") {
    throw new StoreError(STORE_ERROR_CODES.INVALID_ARGUMENT, `Invalid ${what}: expected a string, got ${typeof value}`);
  }
  if (value.length === 0 || value.length > max) {
    throw new StoreError(
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      `Invalid ${what} ${quote(value)}: length ${value.length} is outside 1..${max}`,
    );
  }
  if (CONTROL.test(value)) {
    throw new StoreError(
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      `Invalid ${what} ${quote(value)}: contains a control character`,
    );
  }
  return value;
}

/** Serializes a JSON object of at most `maxBytes` bytes (`STORE_LIMIT_EXCEEDED` beyond). */
export function jsonObject(what: string, value: unknown, maxBytes: number): string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new StoreError(STORE_ERROR_CODES.INVALID_ARGUMENT, `Invalid ${what}: expected a JSON object`);
  }
  let serialized: string;
  try {
    serialized = JSON.stringify(value);
  } catch (cause) {
    throw new StoreError(STORE_ERROR_CODES.INVALID_ARGUMENT, `Invalid ${what}: not serializable as JSON`, { cause });
  }
  const bytes = utf8Length(serialized);
  if (bytes > maxBytes) {
    throw new StoreError(
      STORE_ERROR_CODES.LIMIT_EXCEEDED,
      `Cannot store ${what}: ${bytes} bytes of JSON exceeds limit ${maxBytes}`,
    );
  }
  return serialized;
}

/** Checks page options; resolves to `[afterId, limit]`. */
export function page(options: PageOptions | undefined): [number, number] {
  const afterId = integer("afterId", options?.afterId ?? 0, { min: 0, max: Number.MAX_SAFE_INTEGER });
  const limit = integer("limit", options?.limit ?? STORE_RULES.pageDefault, { min: 1, max: STORE_RULES.pageMax });
  return [afterId, limit];
}
