import type { Migration } from "./migration.ts";

/**
 * Accounts (players and world/zone servers in one name space), login failure tracking for the lockout,
 * characters, bans and the audit log.
 *
 * Names are unique through a lowercase `name_key` column rather than a collation, so that SQLite and
 * PostgreSQL agree. Booleans are 0/1 integers in both dialects.
 */
export const initial: Migration = {
  version: 1,
  name: "initial",
  statements: (d) => [
    `create table accounts (
      id ${d.idColumn},
      name text not null,
      name_key text not null,
      kind text not null check (kind in ('player', 'world', 'zone')),
      password_hash text not null,
      enabled integer not null default 1 check (enabled in (0, 1)),
      created_ms ${d.bigint} not null,
      last_login_ms ${d.bigint}
    )`,
    `create unique index accounts_name_key on accounts (name_key)`,
    `create index accounts_kind on accounts (kind, id)`,

    // Keyed by name, not account, so unknown names are counted and locked exactly like real ones.
    `create table login_failures (
      name_key text primary key,
      failures integer not null,
      window_start_ms ${d.bigint} not null,
      locked_until_ms ${d.bigint}
    )`,
    `create index login_failures_window on login_failures (window_start_ms)`,

    `create table characters (
      id ${d.idColumn},
      account_id ${d.bigint} not null references accounts (id),
      world_id integer not null,
      name text not null,
      name_key text not null,
      race_id integer not null,
      class_id integer not null,
      gender integer not null,
      level integer not null,
      zone text not null,
      x ${d.double} not null,
      y ${d.double} not null,
      z ${d.double} not null,
      heading ${d.double} not null,
      appearance text not null,
      created_ms ${d.bigint} not null,
      updated_ms ${d.bigint} not null,
      deleted_ms ${d.bigint}
    )`,
    `create unique index characters_world_name_key on characters (world_id, name_key) where deleted_ms is null`,
    `create index characters_account on characters (account_id, world_id)`,

    `create table bans (
      id ${d.idColumn},
      account_id ${d.bigint} references accounts (id),
      ip_network text,
      ip_first ${d.binaryText},
      ip_last ${d.binaryText},
      reason text not null,
      actor text not null,
      created_ms ${d.bigint} not null,
      expires_ms ${d.bigint},
      lifted_ms ${d.bigint},
      lifted_by text,
      check ((account_id is null) <> (ip_network is null)),
      check ((ip_network is null) = (ip_first is null) and (ip_network is null) = (ip_last is null))
    )`,
    `create index bans_account on bans (account_id) where account_id is not null and lifted_ms is null`,
    `create index bans_ip on bans (ip_first) where ip_network is not null and lifted_ms is null`,

    `create table audit_log (
      id ${d.idColumn},
      at_ms ${d.bigint} not null,
      actor text not null,
      action text not null,
      target text,
      detail text
    )`,
    `create index audit_log_at on audit_log (at_ms)`,
    `create index audit_log_action on audit_log (action, id)`,
    `create index audit_log_target on audit_log (target, id)`,
  ],
};
