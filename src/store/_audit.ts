import { nowMs, num, type RepositoryContext, str, strOrNull } from "./_context.ts";
import type { SqlRow, SqlValue } from "./_sql.ts";
import * as v from "./_validate.ts";
import { type AuditEntry, type AuditLog, STORE_RULES } from "./store.ts";
import { STORE_ERROR_CODES, StoreError } from "./store_error.ts";

function toEntry(row: SqlRow): AuditEntry {
  const detail = strOrNull(row, "detail");
  return {
    id: num(row, "id"),
    atMs: num(row, "at_ms"),
    actor: str(row, "actor"),
    action: str(row, "action"),
    target: strOrNull(row, "target"),
    detail: detail === null ? null : JSON.parse(detail) as Record<string, unknown>,
  };
}

function action(value: unknown): string {
  const rule = STORE_RULES.action;
  if (typeof value !== "string" || value.length === 0 || value.length > rule.max || !rule.pattern.test(value)) {
    throw new StoreError(
      STORE_ERROR_CODES.INVALID_ARGUMENT,
      `Invalid audit action ${
        typeof value === "string" ? v.quote(value) : typeof value
      }: expected 1..${rule.max} of a-z, 0-9, '_', '-', '.'`,
    );
  }
  return value;
}

/** The audit log over SQL. */
export class SqlAuditLog implements AuditLog {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async record(entry: {
    readonly actor: string;
    readonly action: string;
    readonly target?: string;
    readonly detail?: Readonly<Record<string, unknown>>;
  }): Promise<AuditEntry> {
    const values: SqlValue[] = [
      nowMs(this.#context),
      v.text("actor", entry.actor, STORE_RULES.actorMaxLength),
      action(entry.action),
      entry.target === undefined ? null : v.text("audit target", entry.target, STORE_RULES.targetMaxLength),
      entry.detail === undefined
        ? null
        : v.jsonObject("audit detail", entry.detail, this.#context.limits.maxAuditDetailBytes),
    ];
    const row = await this.#context.exec.get(
      "insert into audit_log (at_ms, actor, action, target, detail) values (?, ?, ?, ?, ?) returning *",
      values,
    );
    return toEntry(row!);
  }

  async list(
    options?: {
      readonly beforeId?: number;
      readonly limit?: number;
      readonly action?: string;
      readonly target?: string;
    },
  ): Promise<AuditEntry[]> {
    const beforeId = v.integer("beforeId", options?.beforeId ?? Number.MAX_SAFE_INTEGER, {
      min: 1,
      max: Number.MAX_SAFE_INTEGER,
    });
    const [, limit] = v.page(options?.limit === undefined ? undefined : { limit: options.limit });
    const where = ["id < ?"];
    const params: SqlValue[] = [beforeId];
    if (options?.action !== undefined) {
      where.push("action = ?");
      params.push(action(options.action));
    }
    if (options?.target !== undefined) {
      where.push("target = ?");
      params.push(v.text("audit target", options.target, STORE_RULES.targetMaxLength));
    }
    const rows = await this.#context.exec.all(
      `select * from audit_log where ${where.join(" and ")} order by id desc limit ?`,
      [...params, limit],
    );
    return rows.map(toEntry);
  }

  async prune(beforeMs: number): Promise<number> {
    return await this.#context.exec.run("delete from audit_log where at_ms < ?", [v.timestamp("beforeMs", beforeMs)]);
  }
}
