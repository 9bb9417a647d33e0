import { existsSync, statSync } from "node:fs";
import process from "node:process";
import { createConsoleLog, createRealPlatform } from "../platform/mod.ts";
import { openStore, sqlitePath, type StoreLocation } from "../store/open_store.ts";
import { redactUrl } from "../store/postgres.ts";
import { SqliteStore } from "../store/sqlite.ts";
import type { SchemaStatus, Store, StoreOptions, StoreStats } from "../store/store.ts";
import { StoreError } from "../store/store_error.ts";
import { type Command, parseCommandArgs, UsageError } from "./command.ts";

/** The flags every store-using command takes. */
export const STORE_FLAGS = {
  "data-dir": { type: "string" },
  "database-url": { type: "string" },
} as const;

/** Help lines for {@linkcode STORE_FLAGS}. */
export const STORE_FLAGS_HELP = `  --data-dir DIR      use the SQLite database DIR/qeynos.db (default ./data)
  --database-url URL  use PostgreSQL at URL instead (default $QEYNOS_DATABASE_URL;
                      the environment keeps the password out of the process list)`;

/** Where the store is, from `--data-dir` / `--database-url` / `QEYNOS_DATABASE_URL`. */
export function storeLocation(
  values: { readonly "data-dir"?: string | undefined; readonly "database-url"?: string | undefined },
  usage: string,
): StoreLocation {
  const dataDir = values["data-dir"];
  const url = values["database-url"];
  if (dataDir !== undefined && url !== undefined) {
    throw new UsageError("Options --data-dir and --database-url cannot be used together", usage);
  }
  if (url !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw new UsageError(`Invalid value for --database-url: expected postgres://…, got '${redactUrl(url)}'`, usage);
    }
    return { databaseUrl: url };
  }
  const fromEnv = process.env.QEYNOS_DATABASE_URL;
  if (dataDir === undefined && fromEnv !== undefined && fromEnv !== "") return { databaseUrl: fromEnv };
  if (dataDir === "") throw new UsageError("Invalid value for --data-dir: empty", usage);
  return { dataDir: dataDir ?? "./data" };
}

/** Who the audit log names for changes made from this command line. */
export function cliActor(): string {
  const user = (process.env.USER ?? process.env.USERNAME ?? "").replace(/[^A-Za-z0-9_.-]/g, "").slice(0, 48);
  return user === "" ? "cli" : `cli:${user}`;
}

/**
 * Opens the store, runs `body`, closes it. A StoreError (from opening or from `body`) is printed on one
 * line and gives exit code 1; usage errors propagate (exit 2).
 */
export async function withStore(
  location: StoreLocation,
  mode: NonNullable<StoreOptions["migrate"]>,
  body: (store: Store) => Promise<number>,
): Promise<number> {
  let store: Store | undefined;
  try {
    const platform = createRealPlatform(createConsoleLog({ level: "warn" }));
    store = await openStore(location, { platform, migrate: mode });
    return await body(store);
  } catch (error) {
    if (error instanceof StoreError) {
      console.error(`qeynos: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    await store?.close();
  }
}

/** `2024-05-01 12:00:00Z`, or `never`. */
export function formatTime(ms: number | null): string {
  return ms === null ? "never" : new Date(ms).toISOString().replace("T", " ").replace(/\.\d{3}Z$/, "Z");
}

const HELP = `Usage: qeynos db <subcommand> [options]

Manages the database: the embedded SQLite file (default) or PostgreSQL.

Subcommands:
  migrate           apply pending schema migrations (creates the database if missing)
  status [--json]   backend, schema version, row counts and settings; exits 1 when the
                    schema is not current (missing, outdated or newer than this build)
  backup FILE       write a consistent copy of the SQLite database to FILE (a new file),
                    safe while the server runs; for PostgreSQL use pg_dump

Options:
${STORE_FLAGS_HELP}
  --json              (status) print one JSON object
  -h, --help          show this help`;

async function migrateCommand(location: StoreLocation): Promise<number> {
  return await withStore(location, "none", async (store) => {
    const applied = await store.migrate();
    for (const m of applied) console.log(`Applied migration ${m.version} (${m.name})`);
    const status = await store.schema();
    console.log(
      applied.length === 0
        ? `Schema is at version ${status.current}; nothing to apply`
        : `Schema is at version ${status.current} (latest)`,
    );
    return 0;
  });
}

interface StatusReport {
  backend: string;
  location: string;
  schema: SchemaStatus;
  state: "current" | "outdated" | "too new" | "empty";
  stats?: StoreStats;
  sqlite?: { journalMode: string; synchronous: string; bytes: number };
}

async function statusCommand(location: StoreLocation, json: boolean): Promise<number> {
  if ("dataDir" in location && !existsSync(sqlitePath(location.dataDir))) {
    const path = sqlitePath(location.dataDir);
    if (json) console.log(JSON.stringify({ backend: "sqlite", location: path, state: "missing" }));
    else console.log(`No database at ${path} (it is created by 'qeynos db migrate' or the first write)`);
    return 1;
  }
  return await withStore(location, "none", async (store) => {
    const schema = await store.schema();
    const state = schema.current === 0
      ? "empty"
      : schema.current > schema.latest
      ? "too new"
      : schema.pending.length > 0
      ? "outdated"
      : "current";
    const report: StatusReport = { backend: store.backend, location: store.location, schema, state };
    if (state === "current") report.stats = await store.stats();
    if (store instanceof SqliteStore) {
      report.sqlite = { ...await store.settings(), bytes: statSync(store.location).size };
    }
    if (json) {
      console.log(JSON.stringify(report));
      return state === "current" ? 0 : 1;
    }
    const rows: [string, string][] = [
      ["backend", report.backend],
      ["location", report.location],
      ["schema", `version ${schema.current} of ${schema.latest} (${state})`],
    ];
    if (schema.pending.length > 0 && state !== "too new") {
      rows.push(["pending", schema.pending.map((m) => `${m.version} ${m.name}`).join(", ")]);
    }
    if (report.sqlite !== undefined) {
      rows.push([
        "sqlite",
        `${report.sqlite.bytes} bytes, journal ${report.sqlite.journalMode}, synchronous ${report.sqlite.synchronous}`,
      ]);
    }
    const stats = report.stats;
    if (stats !== undefined) {
      const a = stats.accounts;
      rows.push(
        ["accounts", `${a.player} player, ${a.world} world, ${a.zone} zone (${stats.disabledAccounts} disabled)`],
        ["characters", `${stats.characters} (${stats.deletedCharacters} deleted)`],
        ["bans", `${stats.activeBans} active`],
        ["audit log", `${stats.auditEntries} entries`],
      );
    }
    for (const [key, value] of rows) console.log(`${key.padEnd(11)} ${value}`);
    if (state === "outdated" || state === "empty") {
      console.log("Run 'qeynos db migrate' to bring the schema up to date.");
    }
    if (state === "too new") console.log("This database was written by a newer Qeynos; upgrade before using it.");
    return state === "current" ? 0 : 1;
  });
}

async function backupCommand(location: StoreLocation, file: string): Promise<number> {
  if ("databaseUrl" in location) {
    console.error("qeynos: db backup copies the SQLite store only; back up PostgreSQL with pg_dump");
    return 1;
  }
  const source = sqlitePath(location.dataDir);
  if (!existsSync(source)) {
    console.error(`qeynos: No database at ${source}`);
    return 1;
  }
  return await withStore(location, "none", async (store) => {
    const result = await (store as SqliteStore).backup(file);
    const schema = await store.schema();
    console.log(`Backed up ${source} to ${result.path} (${result.bytes} bytes, schema version ${schema.current})`);
    return 0;
  });
}

/** `qeynos db`: migrations, status and backups of the store. */
export const dbCommand: Command = {
  name: "db",
  summary: "migrate, inspect or back up the database",
  help: HELP,
  async run(args) {
    const { values, positionals, help } = parseCommandArgs(args, { ...STORE_FLAGS, json: { type: "boolean" } }, HELP);
    if (help) {
      console.log(HELP);
      return 0;
    }
    const [sub, ...operands] = positionals;
    if (sub === undefined) throw new UsageError("Missing subcommand: migrate, status or backup", HELP);
    if (sub !== "migrate" && sub !== "status" && sub !== "backup") {
      throw new UsageError(`Unknown subcommand '${sub}'`, HELP);
    }
    if (values.json && sub !== "status") throw new UsageError("Option --json applies to db status only", HELP);
    const location = storeLocation(values, HELP);
    if (sub === "backup") {
      if (operands.length !== 1) throw new UsageError("Expected exactly one FILE for db backup", HELP);
      return await backupCommand(location, operands[0]!);
    }
    if (operands.length > 0) throw new UsageError(`Unexpected argument '${operands[0]}'`, HELP);
    return sub === "migrate" ? await migrateCommand(location) : await statusCommand(location, values.json === true);
  },
};
