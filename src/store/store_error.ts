/** Stable codes of {@linkcode StoreError}; callers branch on these, never on messages. */
export const STORE_ERROR_CODES = {
  /** An account or character name is taken (names compare case-insensitively). */
  DUPLICATE_NAME: "STORE_DUPLICATE_NAME",
  /** The account, character or ban named does not exist (or is deleted, or is not of the expected kind). */
  NOT_FOUND: "STORE_NOT_FOUND",
  /** A name breaks the length or character rules. */
  INVALID_NAME: "STORE_INVALID_NAME",
  /** A new password is too short, too long for bcrypt, or contains NUL. */
  INVALID_PASSWORD: "STORE_INVALID_PASSWORD",
  /** An IP address or CIDR network does not parse. */
  INVALID_ADDRESS: "STORE_INVALID_ADDRESS",
  /** Any other argument out of range or of the wrong shape. */
  INVALID_ARGUMENT: "STORE_INVALID_ARGUMENT",
  /** A size or count limit (appearance bytes, characters per account, …) would be exceeded. */
  LIMIT_EXCEEDED: "STORE_LIMIT_EXCEEDED",
  /** The database was written by a newer Qeynos (its schema version is above the latest this code knows). */
  SCHEMA_TOO_NEW: "STORE_SCHEMA_TOO_NEW",
  /** The database needs migrations and the store was opened without applying them. */
  SCHEMA_OUTDATED: "STORE_SCHEMA_OUTDATED",
  /** A recorded migration has a different name than this code's migration of the same version. */
  SCHEMA_MISMATCH: "STORE_SCHEMA_MISMATCH",
  /** A migration failed; nothing of the run was applied. */
  MIGRATION_FAILED: "STORE_MIGRATION_FAILED",
  /** An earlier operation of this transaction failed in the database; the transaction rolls back. */
  TX_ABORTED: "STORE_TX_ABORTED",
  /** A transaction handle was used after its transaction ended. */
  TX_CLOSED: "STORE_TX_CLOSED",
  /** Too many operations are waiting for the database. */
  BUSY: "STORE_BUSY",
  /** The store was closed. */
  CLOSED: "STORE_CLOSED",
  /** The database cannot be opened or reached. */
  UNAVAILABLE: "STORE_UNAVAILABLE",
  /** The operation does not exist for this backend (e.g. `backup` on PostgreSQL). */
  UNSUPPORTED: "STORE_UNSUPPORTED",
  /** The database reported an error the store has no specific code for (see `cause`). */
  DATABASE_ERROR: "STORE_DATABASE_ERROR",
} as const;

/** One of the {@linkcode STORE_ERROR_CODES}. */
export type StoreErrorCode = typeof STORE_ERROR_CODES[keyof typeof STORE_ERROR_CODES];

/** Every failure of the store: a stable `code`, a one-line message, and the driver error as `cause`. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreError";
    this.code = code;
  }
}
