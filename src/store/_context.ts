/** What every repository is built from, and helpers for reading rows. */
import type { PasswordHasher } from "./_password.ts";
import { SqlConstraintError, type SqlDialect, type SqlExecutor, type SqlRow, type SqlValue } from "./_sql.ts";
import type { LockoutPolicy, StoreLimits, StorePlatform } from "./store.ts";
import { StoreError } from "./store_error.ts";

/** The shared state of one store, plus the executor of the current scope (store or transaction). */
export interface RepositoryContext {
  readonly exec: SqlExecutor;
  readonly dialect: SqlDialect;
  readonly platform: StorePlatform;
  readonly hasher: PasswordHasher;
  readonly limits: StoreLimits;
  readonly lockout: LockoutPolicy;
}

/** Wall-clock milliseconds as an integer. */
export function nowMs(context: RepositoryContext): number {
  return Math.floor(context.platform.clock.wallMs());
}

/** The constraint a failed statement violated, if that is why it failed. */
export function violated(error: unknown): SqlConstraintError | undefined {
  if (error instanceof SqlConstraintError) return error;
  if (error instanceof StoreError && error.cause instanceof SqlConstraintError) return error.cause;
  return undefined;
}

/** A column as a number (ids and timestamps come back as numbers from both drivers). */
export function num(row: SqlRow, column: string): number {
  return Number(row[column]);
}

/** A nullable numeric column. */
export function numOrNull(row: SqlRow, column: string): number | null {
  const value = row[column];
  return value === null || value === undefined ? null : Number(value);
}

/** A text column. */
export function str(row: SqlRow, column: string): string {
  return String(row[column]);
}

/** A nullable text column. */
export function strOrNull(row: SqlRow, column: string): string | null {
  const value = row[column];
  return value === null || value === undefined ? null : String(value);
}

/** Parameters as the executor takes them. */
export type Params = SqlValue[];
