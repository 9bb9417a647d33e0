/**
 * The small SQL surface both backends provide to the shared repositories. Statements are written
 * once with `?` placeholders in the common subset of SQLite and PostgreSQL; the PostgreSQL driver
 * numbers the placeholders.
 */

/** A bound parameter. Booleans are stored as 0/1 integers in both dialects. */
export type SqlValue = string | number | null;

/** A result row. Integer columns come back as numbers in both dialects. */
export type SqlRow = Record<string, SqlValue>;

/** What a database error means to the repositories. */
export type ConstraintKind = "unique" | "foreign_key" | "check" | "not_null";

/** A database error with its constraint kind (if it was a constraint violation) and the constraint's name. */
export class SqlConstraintError extends Error {
  readonly kind: ConstraintKind;
  /** Index or constraint name when the driver reports it, else the message names the columns. */
  readonly constraint: string;

  constructor(kind: ConstraintKind, constraint: string, options: { cause: unknown }) {
    super(`Constraint violated: ${kind} ${constraint}`, options);
    this.name = "SqlConstraintError";
    this.kind = kind;
    this.constraint = constraint;
  }
}

/** Runs statements on one connection (or inside one transaction). */
export interface SqlExecutor {
  /** Executes a statement; resolves to the number of rows changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** The first row, if any. */
  get(sql: string, params?: readonly SqlValue[]): Promise<SqlRow | undefined>;
  all(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]>;
  /** Runs `fn` atomically: in a new transaction, or directly when this executor already is one. */
  atomic<T>(fn: (exec: SqlExecutor) => Promise<T>): Promise<T>;
}

/** Differences between the dialects that the schema and a few statements need. */
export interface SqlDialect {
  readonly name: "sqlite" | "postgres";
  /** Column type of an auto-incrementing primary key that is never reused. */
  readonly idColumn: string;
  /** Integer type wide enough for millisecond timestamps and ids. */
  readonly bigint: string;
  readonly double: string;
  /** Text compared byte-wise (for the fixed-width hex address bounds of IP bans). */
  readonly binaryText: string;
  /** Appended to a `select` that must lock the rows it reads until the transaction ends. */
  readonly forUpdate: string;
}

/** A backend: an autocommit executor, transactions, and the dialect. */
export interface SqlDriver {
  readonly dialect: SqlDialect;
  /** Runs each statement in its own implicit transaction. */
  readonly root: SqlExecutor;
  /** Runs `fn` in one transaction: commit when it resolves, rollback when it throws. */
  transaction<T>(fn: (exec: SqlExecutor) => Promise<T>): Promise<T>;
  /** SQL with one `?` (a table name) that returns a row when the table exists in the current schema. */
  readonly tableExistsSql: string;
  /** A statement run first in the migration transaction to keep concurrent migrators apart, if needed. */
  readonly migrationLockSql: string | undefined;
  close(): Promise<void>;
}
