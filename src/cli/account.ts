import { existsSync } from "node:fs";
import process from "node:process";
import { sqlitePath, type StoreLocation } from "../store/open_store.ts";
import type { Account, Ban, BanTarget, Store, StoreRepositories } from "../store/store.ts";
import { STORE_ERROR_CODES, StoreError } from "../store/store_error.ts";
import { type Command, parseCommandArgs, UsageError } from "./command.ts";
import { cliActor, formatTime, STORE_FLAGS, STORE_FLAGS_HELP, storeLocation, withStore } from "./db.ts";

const HELP = `Usage: qeynos account <subcommand> [options]

Manages player accounts and the world/zone server accounts that servertalk authenticates.
Names are 3..32 ASCII letters, digits, '_', '-', '.' and are unique across all kinds,
ignoring case. Every change is recorded in the audit log.

Subcommands:
  add NAME [--kind player|world|zone] [--password-stdin | --password PW]
                      create an account (default kind player); with neither password
                      option a random password is generated and printed once
  list [--json]       every account with its state and active ban, then active IP bans
  disable NAME        refuse the account's logins (nothing is deleted)
  enable NAME         allow the account's logins again
  ban NAME --reason TEXT [--for DURATION]
  ban --ip ADDR[/BITS] --reason TEXT [--for DURATION]
                      ban an account, or every address of an IPv4/IPv6 network;
                      DURATION is like 90s, 30m, 12h, 7d, 2w or 1d12h (default: until unbanned)
  unban NAME | unban --ip ADDR[/BITS]
                      lift the active bans on exactly that account or network

Options:
${STORE_FLAGS_HELP}
  --password-stdin    read the password from the first line of standard input
  --password PW       the password (visible to other local users: prefer --password-stdin)
  -h, --help          show this help

Exit status: 0 done, 1 refused or failed (the reason is printed), 2 bad usage.`;

const FLAGS = {
  ...STORE_FLAGS,
  kind: { type: "string" },
  password: { type: "string" },
  "password-stdin": { type: "boolean" },
  json: { type: "boolean" },
  ip: { type: "string" },
  reason: { type: "string" },
  for: { type: "string" },
} as const;

/** The flags each subcommand accepts besides the store flags. */
const ALLOWED: Record<string, readonly string[]> = {
  add: ["kind", "password", "password-stdin"],
  list: ["json"],
  disable: [],
  enable: [],
  ban: ["ip", "reason", "for"],
  unban: ["ip"],
};

/** Longest first line read from standard input for --password-stdin. */
const STDIN_LIMIT = 4096;

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const MAX_DURATION_MS = 3650 * 86_400_000;

/** Parses `90s`, `30m`, `12h`, `7d`, `2w`, `1d12h` to milliseconds (at most 3650 days). */
export function parseDuration(text: string, usage: string): number {
  const invalid = () =>
    new UsageError(
      `Invalid value for --for: '${text}' (expected e.g. 90s, 30m, 12h, 7d, 2w or 1d12h, at most 3650d)`,
      usage,
    );
  if (!/^(\d{1,7}[smhdw])+$/.test(text)) throw invalid();
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([smhdw])/g)) total += Number(amount) * UNITS[unit!]!;
  if (total <= 0 || total > MAX_DURATION_MS) throw invalid();
  return total;
}

/** Input the command reads; tests replace it. */
export interface AccountCommandIo {
  /** Everything the first line of standard input holds, without its line ending. */
  readStdinLine(): Promise<string>;
  /** Random bytes for generated passwords. */
  randomBytes(length: number): Uint8Array;
}

async function readStdinLine(): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const bytes = typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk as Uint8Array;
    chunks.push(bytes);
    size += bytes.length;
    if (bytes.includes(0x0a) || size > STDIN_LIMIT) break;
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  const text = new TextDecoder().decode(all);
  const newline = text.indexOf("\n");
  if ((newline < 0 ? size : newline) > STDIN_LIMIT) {
    throw new StoreError(
      STORE_ERROR_CODES.INVALID_PASSWORD,
      `Invalid password: the first line of standard input exceeds ${STDIN_LIMIT} bytes`,
    );
  }
  return (newline < 0 ? text : text.slice(0, newline)).replace(/\r$/, "");
}

const DEFAULT_IO: AccountCommandIo = {
  readStdinLine,
  randomBytes: (length) => crypto.getRandomValues(new Uint8Array(length)),
};

const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/** 20 characters from a 57-symbol alphabet without look-alikes (about 116 bits). */
function generatePassword(io: AccountCommandIo): string {
  let password = "";
  while (password.length < 20) {
    for (const byte of io.randomBytes(32)) {
      // Rejection sampling keeps every symbol equally likely.
      if (byte < 228 && password.length < 20) password += ALPHABET[byte % 57];
    }
  }
  return password;
}

async function findAccount(repos: StoreRepositories, name: string): Promise<Account> {
  const account = await repos.accounts.findByName(name) ?? await repos.servers.findByName(name);
  if (account === undefined) throw new StoreError(STORE_ERROR_CODES.NOT_FOUND, `No account named '${name}'`);
  return account;
}

function describeBan(ban: Ban): string {
  return ban.expiresMs === null ? "permanent" : `until ${formatTime(ban.expiresMs)}`;
}

async function listAccounts(location: StoreLocation, json: boolean): Promise<number> {
  if ("dataDir" in location && !existsSync(sqlitePath(location.dataDir))) {
    if (json) console.log(JSON.stringify({ accounts: [], ipBans: [] }));
    else console.log(`No accounts (no database at ${sqlitePath(location.dataDir)})`);
    return 0;
  }
  return await withStore(location, "check", async (store) => {
    const accounts: Account[] = [];
    for (const repo of [store.accounts, store.servers]) {
      for (let afterId = 0;;) {
        const page: Account[] = await repo.list({ afterId, limit: 1000 });
        accounts.push(...page);
        if (page.length < 1000) break;
        afterId = page.at(-1)!.id;
      }
    }
    accounts.sort((a, b) => a.id - b.id);
    const rows = [];
    for (const account of accounts) {
      const [ban] = await store.bans.active({ accountId: account.id });
      rows.push({ ...account, ban: ban ?? null });
    }
    const ipBans: Ban[] = [];
    for (let afterId = 0;;) {
      const page = await store.bans.list({ afterId, limit: 1000, activeAt: Math.floor(Date.now()) });
      ipBans.push(...page.filter((ban) => ban.ip !== null));
      if (page.length < 1000) break;
      afterId = page.at(-1)!.id;
    }
    if (json) {
      console.log(JSON.stringify({ accounts: rows, ipBans }));
      return 0;
    }
    if (rows.length === 0) console.log("No accounts");
    else {
      const table = [
        ["ID", "NAME", "KIND", "STATE", "BAN", "CREATED", "LAST LOGIN"],
        ...rows.map((r) => [
          String(r.id),
          r.name,
          r.kind,
          r.enabled ? "enabled" : "disabled",
          r.ban === null ? "-" : describeBan(r.ban),
          formatTime(r.createdMs),
          formatTime(r.lastLoginMs),
        ]),
      ];
      const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
      for (const row of table) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
    }
    if (ipBans.length > 0) {
      console.log("\nActive IP bans:");
      for (const ban of ipBans) console.log(`  ${ban.ip}  ${describeBan(ban)}  ${ban.reason} (by ${ban.actor})`);
    }
    return 0;
  });
}

async function setEnabled(location: StoreLocation, name: string, enabled: boolean): Promise<number> {
  return await withStore(location, "auto", async (store) => {
    const account = await store.transaction(async (tx) => {
      const found = await findAccount(tx, name);
      const updated = found.kind === "player"
        ? await tx.accounts.setEnabled(found.id, enabled)
        : await tx.servers.setEnabled(found.id, enabled);
      await tx.audit.record({
        actor: cliActor(),
        action: enabled ? "account.enable" : "account.disable",
        target: updated.name,
        detail: { id: updated.id, kind: updated.kind },
      });
      return updated;
    });
    console.log(`${enabled ? "Enabled" : "Disabled"} ${account.kind} account '${account.name}'`);
    return 0;
  });
}

async function ban(
  location: StoreLocation,
  target: { name: string } | { ip: string },
  reason: string,
  durationMs: number | undefined,
): Promise<number> {
  return await withStore(location, "auto", async (store: Store) => {
    const [label, added] = await store.transaction(async (tx) => {
      let banTarget: BanTarget;
      let auditTarget: string;
      if ("name" in target) {
        const account = await findAccount(tx, target.name);
        banTarget = { accountId: account.id };
        auditTarget = account.name;
      } else {
        banTarget = { ip: target.ip };
        auditTarget = target.ip;
      }
      const expires = durationMs === undefined ? {} : { expiresMs: Math.floor(Date.now()) + durationMs };
      const added = await tx.bans.add(banTarget, { reason, actor: cliActor(), ...expires });
      if (added.ip !== null) auditTarget = added.ip;
      await tx.audit.record({
        actor: cliActor(),
        action: "ban.add",
        target: auditTarget,
        detail: { banId: added.id, reason, expiresMs: added.expiresMs },
      });
      return [added.ip ?? `account '${auditTarget}'`, added] as const;
    });
    const until = added.expiresMs === null ? "until unbanned" : `until ${formatTime(added.expiresMs)}`;
    console.log(`Banned ${label} ${until} (ban ${added.id}): ${added.reason}`);
    return 0;
  });
}

async function unban(location: StoreLocation, target: { name: string } | { ip: string }): Promise<number> {
  return await withStore(location, "auto", async (store) => {
    const [label, count] = await store.transaction(async (tx) => {
      let label: string;
      let count: number;
      if ("name" in target) {
        const account = await findAccount(tx, target.name);
        label = `account '${account.name}'`;
        count = await tx.bans.liftAll({ accountId: account.id }, { actor: cliActor() });
      } else {
        label = target.ip;
        count = await tx.bans.liftAll({ ip: target.ip }, { actor: cliActor() });
      }
      if (count > 0) {
        await tx.audit.record({ actor: cliActor(), action: "ban.lift", target: label, detail: { lifted: count } });
      }
      return [label, count] as const;
    });
    if (count === 0) {
      console.error(`qeynos: No active ban on ${label}`);
      return 1;
    }
    console.log(`Lifted ${count} ban${count === 1 ? "" : "s"} on ${label}`);
    return 0;
  });
}

/** Builds the `account` command reading input through `io` (standard input and crypto by default). */
export function createAccountCommand(io: AccountCommandIo = DEFAULT_IO): Command {
  return {
    name: "account",
    summary: "add, list, disable, enable, ban and unban accounts",
    help: HELP,
    async run(args) {
      const { values, positionals, help } = parseCommandArgs(args, FLAGS, HELP);
      if (help) {
        console.log(HELP);
        return 0;
      }
      const [sub, ...operands] = positionals;
      if (sub === undefined) {
        throw new UsageError("Missing subcommand: add, list, disable, enable, ban or unban", HELP);
      }
      const allowed = ALLOWED[sub];
      if (allowed === undefined) throw new UsageError(`Unknown subcommand '${sub}'`, HELP);
      for (const key of Object.keys(values)) {
        if (!(key in STORE_FLAGS) && !allowed.includes(key)) {
          throw new UsageError(`Option --${key} does not apply to 'account ${sub}'`, HELP);
        }
      }
      const location = storeLocation(values, HELP);
      const needsName = sub === "add" || sub === "disable" || sub === "enable" ||
        ((sub === "ban" || sub === "unban") && values.ip === undefined);
      const maxOperands = needsName ? 1 : 0;
      if (operands.length > maxOperands) throw new UsageError(`Unexpected argument '${operands[maxOperands]}'`, HELP);
      const name = operands[0];
      if (needsName && name === undefined) throw new UsageError(`Missing NAME for 'account ${sub}'`, HELP);

      switch (sub) {
        case "add": {
          const kind = values.kind ?? "player";
          if (kind !== "player" && kind !== "world" && kind !== "zone") {
            throw new UsageError(`Invalid value for --kind: '${kind}' (expected player, world or zone)`, HELP);
          }
          if (values.password !== undefined && values["password-stdin"]) {
            throw new UsageError("Options --password and --password-stdin cannot be used together", HELP);
          }
          const generated = values.password === undefined && !values["password-stdin"];
          return await withStore(location, "auto", async (store) => {
            const password = values["password-stdin"]
              ? await io.readStdinLine()
              : values.password ?? generatePassword(io);
            const account = await store.transaction(async (tx) => {
              const created = kind === "player"
                ? await tx.accounts.create({ name: name!, password })
                : await tx.servers.create({ name: name!, kind, password });
              await tx.audit.record({
                actor: cliActor(),
                action: "account.create",
                target: created.name,
                detail: { id: created.id, kind },
              });
              return created;
            });
            console.log(`Created ${kind} account '${account.name}' (id ${account.id})`);
            if (generated) console.log(`Password: ${password}`);
            return 0;
          });
        }
        case "list":
          return await listAccounts(location, values.json === true);
        case "disable":
        case "enable":
          return await setEnabled(location, name!, sub === "enable");
        case "ban": {
          if (values.reason === undefined) throw new UsageError("Missing --reason for 'account ban'", HELP);
          const duration = values.for === undefined ? undefined : parseDuration(values.for, HELP);
          return await ban(
            location,
            values.ip === undefined ? { name: name! } : { ip: values.ip },
            values.reason,
            duration,
          );
        }
        default:
          return await unban(location, values.ip === undefined ? { name: name! } : { ip: values.ip });
      }
    },
  };
}

/** `qeynos account`: account administration. */
export const accountCommand: Command = createAccountCommand();
