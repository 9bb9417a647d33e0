/**
 * `qeynos servertalk serve|world|ping`: a small login server, a world, and a ping tool speaking
 * servertalk over real TCP — for operators checking a link between machines, and for the
 * multi-process tests. Every event is one JSON line on standard output.
 * @module
 */
import process from "node:process";
import { createConsoleLog, createRealPlatform, parseLogLevel } from "../platform/mod.ts";
import type { Platform } from "../platform/platform.ts";
import { createAuthenticator, MemoryAccounts } from "../servertalk/auth.ts";
import { ServertalkClient } from "../servertalk/client.ts";
import { roleName, ServerRole } from "../servertalk/control.ts";
import type { Link } from "../servertalk/link.ts";
import {
  LSInfo,
  LSStatus,
  ServerState,
  UsertoWorldReq,
  UserToWorldResult,
  WorldListRemove,
} from "../servertalk/messages.ts";
import { ServertalkServer } from "../servertalk/server.ts";
import type { ServertalkError } from "../servertalk/servertalk_error.ts";
import { VERSION } from "../version.ts";
import { addressFlag, type Command, integerFlag, parseCommandArgs, UsageError } from "./command.ts";

const HELP = `Usage: qeynos servertalk serve [options]
       qeynos servertalk world --target HOST:PORT --name NAME [options]
       qeynos servertalk ping --target HOST:PORT [options]

Servertalk between processes, for checking links and credentials. Events are printed as
JSON lines on standard output; log lines go to standard error.

  serve   a login server: authenticates worlds, keeps the world list (LSInfo, LSStatus,
          WorldListRemove), asks each new world to admit a player (UsertoWorldReq), and
          publishes a notice to every world while it lives
  world   a world server: registers with login after every (re)connect, reports its status,
          admits players, prints notices; exits 1 when refused for good
  ping    connects, measures round trips, prints them, exits (1 when refused)

serve options:
  --port P               port to listen on (default 9100; 0 picks one, printed)
  --address A            address to listen on (default 127.0.0.1)
  --name NAME            this server's name (default login)
  --account SPEC         NAME:PASSWORD[:ROLE[:disabled]], ROLE world, zone or tool (any if
                         absent); repeatable. Without accounts and --open, everyone is refused
  --ban ADDRESS          refuse this peer address; repeatable
  --open                 accept peers without authentication
  --notice TEXT          a notice for every world, alive for --notice-ttl
  --notice-ttl MS        how long the notice lives (default 60000)

world and ping options:
  --target HOST:PORT     the server
  --name NAME            server name to register under (ping: default ping-<pid>)
  --account NAME         account to authenticate as
  --password PW          its password (visible to other local users; for tests and checks)
  --role R               world (default for world), zone or tool (default for ping)
  --players N            world: players to report (default 0)
  --status-every MS      world: status interval (default 15000)
  --no-reconnect         world: exit when the link is lost or refused instead of retrying
  --count N              ping: round trips (default 5)
  --protocol-version N   announce another protocol version (to see the refusal)

Common:
  --log-level L          debug, info, warn or error (default warn)
  -h, --help             show this help

Exit status: 0 done, 1 refused or failed (the code is printed), 2 bad usage.`;

const FLAGS = {
  port: { type: "string" },
  address: { type: "string" },
  name: { type: "string" },
  account: { type: "string", multiple: true },
  ban: { type: "string", multiple: true },
  open: { type: "boolean" },
  notice: { type: "string" },
  "notice-ttl": { type: "string" },
  target: { type: "string" },
  password: { type: "string" },
  role: { type: "string" },
  players: { type: "string" },
  "status-every": { type: "string" },
  "no-reconnect": { type: "boolean" },
  count: { type: "string" },
  "protocol-version": { type: "string" },
  "log-level": { type: "string" },
} as const;

const ALLOWED: Record<string, readonly string[]> = {
  serve: ["port", "address", "name", "account", "ban", "open", "notice", "notice-ttl", "log-level"],
  world: [
    "target",
    "name",
    "account",
    "password",
    "role",
    "players",
    "status-every",
    "no-reconnect",
    "protocol-version",
    "log-level",
  ],
  ping: ["target", "name", "account", "password", "role", "count", "protocol-version", "log-level"],
};

const ROLES: Record<string, ServerRole> = { world: ServerRole.World, zone: ServerRole.Zone, tool: ServerRole.Tool };

function emit(event: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ event, ...fields }));
}

function parseRole(text: string, usage: string): ServerRole {
  const role = ROLES[text];
  if (role === undefined) throw new UsageError(`Invalid role '${text}': expected world, zone or tool`, usage);
  return role;
}

function parseTarget(text: string | undefined): { address: string; port: number } {
  return addressFlag("target", text, HELP);
}

function platformFor(levelText: string | undefined): Platform {
  const level = parseLogLevel(levelText ?? "warn");
  if (level === undefined) throw new UsageError(`Invalid --log-level '${levelText}'`, HELP);
  return createRealPlatform(createConsoleLog({ level }));
}

/** Resolves when the process is asked to stop (SIGINT or SIGTERM). */
function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}

type Values = ReturnType<typeof parseCommandArgs<typeof FLAGS>>["values"];

async function serve(values: Values): Promise<number> {
  const platform = platformFor(values["log-level"]);
  const port = integerFlag("port", values.port, 9100, [0, 65535], HELP);
  const accountSpecs = values.account ?? [];
  const open = values.open === true;
  const accounts = new MemoryAccounts(platform.rng);
  for (const spec of accountSpecs) {
    const [name, password, role, state, ...rest] = spec.split(":");
    if (name === undefined || name === "" || password === undefined || rest.length > 0) {
      throw new UsageError(`Invalid --account '${name ?? ""}:…': expected NAME:PASSWORD[:ROLE[:disabled]]`, HELP);
    }
    if (state !== undefined && state !== "disabled") {
      throw new UsageError(`Invalid --account state '${state}': expected disabled`, HELP);
    }
    await accounts.addAccount(name, password, {
      enabled: state !== "disabled",
      ...(role === undefined || role === "" ? {} : { roles: [parseRole(role, HELP)] }),
    });
  }
  for (const address of values.ban ?? []) accounts.ban(address, "banned on the command line");
  const noticeTtl = integerFlag("notice-ttl", values["notice-ttl"], 60_000, [1, 2 ** 31], HELP);
  const server = new ServertalkServer(platform, {
    name: values.name ?? "login",
    role: ServerRole.Login,
    buildId: `qeynos ${VERSION}`,
    requireAuth: !open,
    ...(accountSpecs.length > 0 ? { authenticator: createAuthenticator({ accounts, bans: accounts }) } : {}),
  });
  const worlds = new Map<string, { link: Link; worldId: number }>();
  let nextWorldId = 1;
  server.onConnect((link) => emit("connected", { name: link.peer?.name, role: roleName(link.peer?.role ?? 0) }));
  server.onRefused((refusal) => emit("refused", { code: refusal.code, name: refusal.name, address: refusal.address }));
  server.onDisconnect((link, info) => {
    const name = link.peer?.name ?? "";
    if (worlds.get(name)?.link === link) worlds.delete(name);
    emit("disconnected", { name, code: info.error.code, worlds: worlds.size });
  });
  server.handle(LSInfo, (ctx) => {
    const name = ctx.link.peer!.name;
    const worldId = worlds.get(name)?.worldId ?? nextWorldId++;
    worlds.set(name, { link: ctx.link, worldId });
    ctx.reply({ worldId, name: ctx.message.name });
    emit("registered", { name, worldId, address: `${ctx.message.address}:${ctx.message.port}`, worlds: worlds.size });
    // Ask the new world to admit a player: a typed request in the other direction.
    void ctx.link.request(UsertoWorldReq, {
      lsAccountId: 1,
      charId: 1000 + worldId,
      worldId,
      fromId: 0,
      toId: 0,
      ipAddress: "127.0.0.1",
    }).then(
      (reply) => emit("user_to_world", { name, response: reply.response, accessKey: reply.accessKey }),
      (error: ServertalkError) => emit("user_to_world_failed", { name, code: error.code }),
    );
  });
  server.handle(LSStatus, (ctx) => {
    emit("status", { name: ctx.link.peer!.name, status: ctx.message.status, players: ctx.message.numPlayers });
  });
  server.handle(WorldListRemove, (ctx) => {
    const name = ctx.link.peer!.name;
    if (worlds.get(name)?.link === ctx.link) worlds.delete(name);
    emit("unregistered", { name, reason: ctx.message.reason, worlds: worlds.size });
  });
  const bound = await server.listen({ address: values.address ?? "127.0.0.1", port });
  if (values.notice !== undefined) server.notify({ id: "cli-notice", text: values.notice, ttlMs: noticeTtl });
  emit("listening", { address: bound.address, port: bound.port, name: values.name ?? "login" });
  await stopSignal();
  await server.shutdown({ graceUs: 2_000_000 });
  emit("stopped");
  return 0;
}

function clientOptions(values: Values, defaults: { name: string; role: ServerRole }) {
  const target = parseTarget(values.target);
  const protocolVersion = values["protocol-version"] === undefined
    ? undefined
    : integerFlag("protocol-version", values["protocol-version"], 0, [0, 65535], HELP);
  return {
    ...target,
    name: values.name ?? defaults.name,
    role: values.role === undefined ? defaults.role : parseRole(values.role, HELP),
    account: values.account?.[0] ?? "",
    password: values.password ?? "",
    buildId: `qeynos ${VERSION}`,
    ...(protocolVersion === undefined ? {} : { protocolVersion }),
  };
}

async function world(values: Values): Promise<number> {
  if (values.name === undefined) throw new UsageError("Missing --name NAME", HELP);
  const platform = platformFor(values["log-level"]);
  const players = integerFlag("players", values.players, 0, [0, 2 ** 31 - 1], HELP);
  const statusEvery = integerFlag("status-every", values["status-every"], 15_000, [10, 3_600_000], HELP);
  const reconnect = values["no-reconnect"] !== true;
  const client = new ServertalkClient(platform, {
    ...clientOptions(values, { name: values.name, role: ServerRole.World }),
    reconnect: { enabled: reconnect },
  });
  const status = { status: ServerState.Online, numPlayers: players, numZones: 1, worldMaxLevel: 90 };
  client.onConnect(async (link) => {
    const reply = await link.request(LSInfo, {
      name: values.name!,
      address: "127.0.0.1",
      port: 9000,
      protocolVersion: "0.5.0",
      serverVersion: VERSION,
      serverType: 0,
      dbVersion: 1,
    });
    emit("registered", { worldId: reply.worldId, server: link.peer?.name });
    link.send(LSStatus, status);
  });
  client.onDisconnect((info) => emit("disconnected", { code: info.error.code }));
  client.onRefused((error) => emit("refused", { code: error.code, message: error.message }));
  client.onNotice((notice) => emit("notice", { id: notice.id, text: notice.text }));
  client.handle(UsertoWorldReq, (ctx) => {
    const accessKey = platform.rng.u32() || 1;
    ctx.reply({
      lsAccountId: ctx.message.lsAccountId,
      charId: ctx.message.charId,
      worldId: ctx.message.worldId,
      accessKey,
      response: UserToWorldResult.Allowed,
      ipAddress: "127.0.0.1",
      port: 9000,
      fromId: ctx.message.fromId,
      toId: ctx.message.toId,
    });
    emit("admitted", { charId: ctx.message.charId, accessKey });
  });
  const timer = setInterval(() => {
    if (client.connected()) client.send(LSStatus, status);
  }, statusEvery);
  void client.dial().catch(() => {});
  const stopped = await Promise.race([client.wait().then((error) => ({ error })), stopSignal().then(() => undefined)]);
  clearInterval(timer);
  if (stopped === undefined) {
    if (client.connected()) client.send(WorldListRemove, { reason: "shutting down" });
    await client.close();
    emit("stopped");
    return 0;
  }
  emit("stopped", { code: stopped.error?.code });
  return stopped.error === undefined ? 0 : 1;
}

async function ping(values: Values): Promise<number> {
  const platform = platformFor(values["log-level"]);
  const count = integerFlag("count", values.count, 5, [1, 100_000], HELP);
  const client = new ServertalkClient(platform, {
    ...clientOptions(values, { name: `ping-${process.pid}`, role: ServerRole.Tool }),
    reconnect: { enabled: false },
  });
  let link: Link;
  try {
    link = await client.dial();
  } catch {
    const error = await client.wait();
    emit("refused", { code: error?.code, message: error?.message });
    return 1;
  }
  emit("connected", { server: link.peer?.name, build: link.peer?.buildId });
  const rtts: number[] = [];
  for (let i = 0; i < count; i++) {
    const rttUs = await link.ping();
    rtts.push(rttUs);
    emit("pong", { seq: i + 1, rttUs });
  }
  await client.close();
  rtts.sort((a, b) => a - b);
  emit("summary", {
    count,
    minUs: rtts[0],
    p50Us: rtts[Math.floor(rtts.length / 2)],
    maxUs: rtts.at(-1),
  });
  return 0;
}

/** `qeynos servertalk`. */
export const servertalkCommand: Command = {
  name: "servertalk",
  summary: "servertalk login/world/ping between processes (link and credential checks)",
  help: HELP,
  async run(args) {
    const { values, positionals, help } = parseCommandArgs(args, FLAGS, HELP);
    if (help) {
      console.log(HELP);
      return 0;
    }
    const [sub, ...extra] = positionals;
    if (sub === undefined) throw new UsageError("Missing subcommand: serve, world or ping", HELP);
    const allowed = ALLOWED[sub];
    if (allowed === undefined) throw new UsageError(`Unknown subcommand '${sub}'`, HELP);
    if (extra.length > 0) throw new UsageError(`Unexpected argument '${extra[0]}'`, HELP);
    for (const [flag, value] of Object.entries(values)) {
      if (value !== undefined && !allowed.includes(flag)) {
        throw new UsageError(`Option --${flag} does not apply to servertalk ${sub}`, HELP);
      }
    }
    if (sub === "serve") return await serve(values);
    if (sub === "world") return await world(values);
    return await ping(values);
  },
};
