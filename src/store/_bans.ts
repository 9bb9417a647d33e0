import { nowMs, num, numOrNull, type RepositoryContext, str, strOrNull, violated } from "./_context.ts";
import { ipKey, parseIpNetwork } from "./_ip.ts";
import type { SqlRow } from "./_sql.ts";
import * as v from "./_validate.ts";
import { type Ban, type Bans, type BanTarget, type PageOptions, STORE_RULES } from "./store.ts";
import { STORE_ERROR_CODES, StoreError } from "./store_error.ts";

const ACTIVE = "lifted_ms is null and (expires_ms is null or expires_ms > ?)";

function toBan(row: SqlRow): Ban {
  return {
    id: num(row, "id"),
    accountId: numOrNull(row, "account_id"),
    ip: strOrNull(row, "ip_network"),
    reason: str(row, "reason"),
    actor: str(row, "actor"),
    createdMs: num(row, "created_ms"),
    expiresMs: numOrNull(row, "expires_ms"),
    liftedMs: numOrNull(row, "lifted_ms"),
    liftedBy: strOrNull(row, "lifted_by"),
  };
}

function checkTarget(target: BanTarget): { accountId: number } | { network: ReturnType<typeof parseIpNetwork> } {
  if (typeof target !== "object" || target === null) {
    throw new StoreError(STORE_ERROR_CODES.INVALID_ARGUMENT, "Invalid ban target: expected { accountId } or { ip }");
  }
  if ("accountId" in target) return { accountId: v.id("accountId", target.accountId) };
  if ("ip" in target && typeof target.ip === "string") return { network: parseIpNetwork(target.ip) };
  throw new StoreError(STORE_ERROR_CODES.INVALID_ARGUMENT, "Invalid ban target: expected { accountId } or { ip }");
}

/** Bans over SQL. */
export class SqlBans implements Bans {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async add(
    target: BanTarget,
    options: { readonly reason: string; readonly actor: string; readonly expiresMs?: number },
  ): Promise<Ban> {
    const checked = checkTarget(target);
    const reason = v.text("ban reason", options.reason, STORE_RULES.reasonMaxLength);
    const actor = v.text("actor", options.actor, STORE_RULES.actorMaxLength);
    const now = nowMs(this.#context);
    const expires = options.expiresMs === undefined ? null : v.timestamp("expiresMs", options.expiresMs);
    if (expires !== null && expires <= now) {
      throw new StoreError(
        STORE_ERROR_CODES.INVALID_ARGUMENT,
        `Invalid expiresMs: ${expires} is not after now (${now})`,
      );
    }
    const { exec } = this.#context;
    if ("accountId" in checked) {
      const account = await exec.get("select id from accounts where id = ?", [checked.accountId]);
      if (account === undefined) {
        throw new StoreError(STORE_ERROR_CODES.NOT_FOUND, `Cannot ban: no account with id ${checked.accountId}`);
      }
    }
    const network = "network" in checked ? checked.network : undefined;
    try {
      const row = await exec.get(
        `insert into bans (account_id, ip_network, ip_first, ip_last, reason, actor, created_ms, expires_ms)
         values (?, ?, ?, ?, ?, ?, ?, ?) returning *`,
        [
          "accountId" in checked ? checked.accountId : null,
          network?.cidr ?? null,
          network?.first ?? null,
          network?.last ?? null,
          reason,
          actor,
          now,
          expires,
        ],
      );
      return toBan(row!);
    } catch (error) {
      // The account was removed between the check and the insert.
      if (violated(error)?.kind === "foreign_key" && "accountId" in checked) {
        throw new StoreError(STORE_ERROR_CODES.NOT_FOUND, `Cannot ban: no account with id ${checked.accountId}`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  async lift(id: number, options: { readonly actor: string }): Promise<Ban> {
    v.id("ban id", id);
    const actor = v.text("actor", options.actor, STORE_RULES.actorMaxLength);
    const now = nowMs(this.#context);
    const row = await this.#context.exec.get(
      `update bans set lifted_ms = ?, lifted_by = ? where id = ? and ${ACTIVE} returning *`,
      [now, actor, id, now],
    );
    if (row === undefined) {
      throw new StoreError(STORE_ERROR_CODES.NOT_FOUND, `Cannot lift ban ${id}: no active ban has that id`);
    }
    return toBan(row);
  }

  async liftAll(target: BanTarget, options: { readonly actor: string }): Promise<number> {
    const checked = checkTarget(target);
    const actor = v.text("actor", options.actor, STORE_RULES.actorMaxLength);
    const now = nowMs(this.#context);
    const [column, value] = "accountId" in checked
      ? ["account_id", checked.accountId]
      : ["ip_network", checked.network.cidr];
    return await this.#context.exec.run(
      `update bans set lifted_ms = ?, lifted_by = ? where ${column} = ? and ${ACTIVE}`,
      [now, actor, value, now],
    );
  }

  async active(query: { readonly accountId?: number; readonly ip?: string }, atMs?: number): Promise<Ban[]> {
    const accountId = query.accountId === undefined ? null : v.id("accountId", query.accountId);
    const key = query.ip === undefined ? null : ipKey(query.ip);
    if (accountId === null && key === null) return [];
    const at = atMs === undefined ? nowMs(this.#context) : v.timestamp("atMs", atMs);
    const rows = await this.#context.exec.all(
      `select * from bans where ${ACTIVE} and (account_id = ? or (ip_first <= ? and ip_last >= ?))
       order by (expires_ms is null) desc, expires_ms desc, id limit ${STORE_RULES.pageMax}`,
      [at, accountId, key, key],
    );
    return rows.map(toBan);
  }

  async list(options?: PageOptions & { readonly activeAt?: number }): Promise<Ban[]> {
    const [afterId, limit] = v.page(options);
    const activeAt = options?.activeAt === undefined ? undefined : v.timestamp("activeAt", options.activeAt);
    const rows = activeAt === undefined
      ? await this.#context.exec.all("select * from bans where id > ? order by id limit ?", [afterId, limit])
      : await this.#context.exec.all(
        `select * from bans where id > ? and ${ACTIVE} order by id limit ?`,
        [afterId, activeAt, limit],
      );
    return rows.map(toBan);
  }
}
