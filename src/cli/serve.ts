/**
 * `qeynos serve`: runs the server. Without `--roles`, every role in this process (login, a world,
 * zone servers) over in-process servertalk with the embedded database; with `--roles … --config FILE`,
 * the named roles of a deployment described by the file, over TCP servertalk.
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { type AdminServer, type AdminSource, startAdminServer } from "../admin/mod.ts";
import type { EqStreamServer, ServerLimits } from "../eqstream/mod.ts";
import { createConsoleLog, createRealPlatform, parseLogLevel } from "../platform/mod.ts";
import type { Platform } from "../platform/platform.ts";
import { type AdminListen, parseServeConfig, type ServeConfig } from "../roles/config.ts";
import {
  type LoginServer,
  RoleError,
  startCluster,
  startLogin,
  startWorld,
  startZone,
  type WorldServer,
  type ZoneServer,
} from "../roles/mod.ts";
import { openStore, type Store, StoreError, type StoreLocation } from "../store/mod.ts";
import { redactUrl } from "../store/postgres.ts";
import { type Command, integerFlag, parseFlags, UsageError } from "./command.ts";
import { STORE_FLAGS, STORE_FLAGS_HELP, storeLocation } from "./db.ts";

const HELP = `Usage: qeynos serve [options]
       qeynos serve --roles login|world|zone[,…] --config FILE [--zone NAME] [options]

Runs the server. Without --roles: login, one world and zone servers in this one
process, talking over in-process servertalk, with the embedded SQLite database
(created on first start, with the server accounts this shape needs).
With --roles: only the named roles, configured by FILE (YAML or JSON; see
docs/roles.md and config/qeynos.yaml), talking to the other roles over TCP.
SIGINT or SIGTERM drains: logins stop, players are saved and disconnected
with a reason, links close with a goodbye. A second signal exits at once.

Options (one process):
  --address ADDR         bind address of every UDP socket (default 127.0.0.1)
  --public-address ADDR  address clients are sent to for world and zones
                         (default the bind address)
  --login-port P         login UDP port (default 9100; 0 picks a free one)
  --world-port P         world UDP port (default 9200)
  --zone-port P          first zone server's UDP port; the others count up
                         (default 9300; 0 picks free ones)
  --zones N              zone servers (default 2)
  --world-name NAME      the world's name in the world list (default Qeynos)
  --max-players N        world capacity (default 2000)
  --auto-create          create an account at its first login
${STORE_FLAGS_HELP}

Options (either shape):
  --roles LIST           roles to run, comma-separated: login, world, zone
  --config FILE          deployment configuration (required with --roles)
  --zone NAME            with --roles zone: run only this zone server of FILE
  --admin-port P         serve /status.json, /metrics and POST /notify over HTTP
  --admin-address ADDR   bind address of the admin endpoint (default 127.0.0.1)
  --log-level LEVEL      debug, info, warn or error (default info)
  --log-format FORMAT    text or json (default text)
  -h, --help             show this help

Ports by default: login 9100/udp (servertalk for worlds 9101/tcp with --roles),
world 9200/udp (servertalk for zones 9201/tcp), zones 9300/udp and up.`;

const FLAGS = {
  ...STORE_FLAGS,
  address: { type: "string" },
  "public-address": { type: "string" },
  "login-port": { type: "string" },
  "world-port": { type: "string" },
  "zone-port": { type: "string" },
  zones: { type: "string" },
  "world-name": { type: "string" },
  "max-players": { type: "string" },
  "auto-create": { type: "boolean" },
  roles: { type: "string" },
  config: { type: "string" },
  zone: { type: "string" },
  "admin-port": { type: "string" },
  "admin-address": { type: "string" },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
} as const;

/** Flags of the one-process shape that a configuration file replaces. */
const SINGLE_PROCESS_FLAGS = [
  "address",
  "public-address",
  "login-port",
  "world-port",
  "zone-port",
  "zones",
  "world-name",
  "max-players",
  "auto-create",
] as const;

const ROLE_NAMES = ["login", "world", "zone"] as const;

function isLoopback(address: string): boolean {
  return address === "localhost" || address.startsWith("127.") || address === "::1";
}

/**
 * Every local client shares 127.0.0.1, so per-address admission limits meant for the internet would
 * turn a few hundred local bots away; on loopback they are raised.
 */
export function loopbackLimits(address: string, limits: ServerLimits | undefined): ServerLimits | undefined {
  if (limits !== undefined || !isLoopback(address)) return limits;
  return { maxSessionsPerIp: 20_000, requestsPerSecondPerIp: 2_000, maxHalfOpen: 4_096 };
}

function sessionsOf(server: EqStreamServer): unknown[] {
  return [...server.connections()].map((c) => ({
    remote: `${c.remote.address}:${c.remote.port}`,
    sessionId: c.sessionId,
    state: c.state,
    stats: c.stats,
  }));
}

interface Running {
  login?: LoginServer;
  world?: WorldServer;
  zones: ZoneServer[];
  store?: Store;
  admin?: AdminServer;
}

function sources(running: Running): AdminSource[] {
  const out: AdminSource[] = [];
  const login = running.login;
  if (login !== undefined) out.push({ report: () => login.report(), sessions: () => sessionsOf(login.eqstream) });
  const world = running.world;
  if (world !== undefined) {
    out.push({
      report: () => world.report(),
      sessions: () => sessionsOf(world.eqstream),
      notify: (text, ttlUs) => world.notify(text, { ttlUs }),
    });
  }
  for (const zone of running.zones) {
    out.push({ report: () => zone.report(), sessions: () => sessionsOf(zone.eqstream) });
  }
  return out;
}

async function shutdown(running: Running, platform: Platform): Promise<void> {
  platform.log.info("serve: shutting down");
  running.login?.drain();
  if (running.world !== undefined) await running.world.drain({ graceUs: running.zones.length > 0 ? 0 : 10_000_000 });
  await Promise.all(running.zones.map((zone) => zone.close()));
  await running.world?.close({ graceUs: 0 });
  await running.login?.close();
  await running.admin?.close();
  await running.store?.close();
  platform.log.info("serve: stopped");
}

function describeStore(location: StoreLocation): string {
  return "dataDir" in location ? `sqlite ${location.dataDir}` : `postgres ${redactUrl(location.databaseUrl)}`;
}

interface SingleProcessOptions {
  readonly address: string;
  readonly publicAddress: string | undefined;
  readonly loginPort: number;
  readonly worldPort: number;
  readonly zonePort: number;
  readonly zones: number;
  readonly worldName: string | undefined;
  readonly maxPlayers: number;
  readonly autoCreate: boolean;
}

/** Checks the one-process flags before anything is opened. */
function singleProcessOptions(
  values: NonNullable<ReturnType<typeof parseFlags<typeof FLAGS>>>,
): SingleProcessOptions {
  const port = (name: "login-port" | "world-port" | "zone-port", fallback: number) =>
    integerFlag(name, values[name], fallback, [0, 65_535], HELP);
  return {
    address: values.address ?? "127.0.0.1",
    publicAddress: values["public-address"],
    loginPort: port("login-port", 9100),
    worldPort: port("world-port", 9200),
    zonePort: port("zone-port", 9300),
    zones: integerFlag("zones", values.zones, 2, [0, 64], HELP),
    worldName: values["world-name"],
    maxPlayers: integerFlag("max-players", values["max-players"], 2000, [1, 1_000_000], HELP),
    autoCreate: values["auto-create"] === true,
  };
}

async function startSingleProcess(
  platform: Platform,
  o: SingleProcessOptions,
  location: StoreLocation,
  running: Running,
): Promise<void> {
  const store = await openStore(location, { platform });
  running.store = store;
  const limits = loopbackLimits(o.address, undefined);
  const cluster = await startCluster(platform, {
    store,
    address: o.address,
    ...(o.publicAddress === undefined ? {} : { publicAddress: o.publicAddress }),
    loginPort: o.loginPort,
    worldPort: o.worldPort,
    zonePort: o.zonePort,
    zoneServers: o.zones,
    login: { autoCreateAccounts: o.autoCreate, ...(limits === undefined ? {} : { limits }) },
    world: {
      ...(o.worldName === undefined ? {} : { name: o.worldName }),
      maxPlayers: o.maxPlayers,
      ...(limits === undefined ? {} : { limits }),
    },
    zone: limits === undefined ? {} : { limits },
  });
  running.login = cluster.login;
  running.world = cluster.world;
  running.zones = [...cluster.zones];
  const l = cluster.login.address;
  const w = cluster.world.publicAddress;
  platform.log.info("serve: ready", {
    login: `udp ${l.address}:${l.port}`,
    world: `${cluster.world.name} udp ${w.address}:${w.port}`,
    zones: cluster.zones.map((z) => `${z.name} udp ${z.publicAddress.address}:${z.publicAddress.port}`).join(", "),
    servertalk: "in-process",
    store: describeStore(location),
    autoCreateAccounts: o.autoCreate,
  });
}

/** Checks that the configuration has what the roles to run need, before anything is opened. */
function checkRoles(config: ServeConfig, roles: readonly string[], zoneFilter: string | undefined): void {
  if (roles.includes("login")) {
    if (config.login === undefined) {
      throw new RoleError("ROLE_BAD_CONFIG", "Cannot run login: the configuration has no login section");
    }
    if (config.login.servertalk === undefined) {
      throw new RoleError("ROLE_BAD_CONFIG", "Cannot run login: login.servertalk (where worlds connect) is missing");
    }
  }
  if (roles.includes("world")) {
    if (config.world === undefined) {
      throw new RoleError("ROLE_BAD_CONFIG", "Cannot run world: the configuration has no world section");
    }
    if (config.world.servertalk === undefined) {
      throw new RoleError("ROLE_BAD_CONFIG", "Cannot run world: world.servertalk (where zones connect) is missing");
    }
  }
  if (roles.includes("zone") && !config.zones.some((z) => zoneFilter === undefined || z.name === zoneFilter)) {
    throw new RoleError(
      "ROLE_BAD_CONFIG",
      zoneFilter === undefined
        ? "Cannot run zone: the configuration lists no zone servers"
        : `Cannot run zone ${zoneFilter}: the configuration has no zone server of that name`,
    );
  }
}

async function startFromConfig(
  platform: Platform,
  config: ServeConfig,
  roles: readonly string[],
  zoneFilter: string | undefined,
  location: StoreLocation,
  running: Running,
): Promise<AdminListen | undefined> {
  let admin: AdminListen | undefined;
  const needsStore = roles.includes("login") || roles.includes("world");
  if (needsStore) running.store = await openStore(location, { platform });
  if (roles.includes("login")) {
    const c = config.login;
    if (c === undefined) {
      throw new RoleError("ROLE_BAD_CONFIG", "Cannot run login: the configuration has no login section");
    }
    if (c.servertalk === undefined) {
      throw new RoleError(
        "ROLE_BAD_CONFIG",
        "Cannot run login alone: login.servertalk (where worlds connect) is missing",
      );
    }
    const { admin: a, ...options } = c;
    const limits = loopbackLimits(options.address ?? "127.0.0.1", options.limits);
    running.login = await startLogin(platform, {
      ...options,
      ...(limits === undefined ? {} : { limits }),
      store: running.store!,
    });
    admin ??= a;
  }
  if (roles.includes("world")) {
    const c = config.world;
    if (c === undefined) {
      throw new RoleError("ROLE_BAD_CONFIG", "Cannot run world: the configuration has no world section");
    }
    if (c.servertalk === undefined && roles.includes("zone") === false) {
      throw new RoleError(
        "ROLE_BAD_CONFIG",
        "Cannot run world alone: world.servertalk (where zones connect) is missing",
      );
    }
    const { admin: a, ...options } = c;
    const limits = loopbackLimits(options.address ?? "127.0.0.1", options.limits);
    running.world = await startWorld(platform, {
      ...options,
      ...(limits === undefined ? {} : { limits }),
      store: running.store!,
    });
    admin ??= a;
  }
  if (roles.includes("zone")) {
    for (const c of config.zones.filter((z) => zoneFilter === undefined || z.name === zoneFilter)) {
      const { admin: a, ...options } = c;
      const limits = loopbackLimits(options.address ?? "127.0.0.1", options.limits);
      running.zones.push(await startZone(platform, { ...options, ...(limits === undefined ? {} : { limits }) }));
      admin ??= a;
    }
  }
  platform.log.info("serve: ready", {
    roles: roles.join(","),
    ...(running.login === undefined ? {} : {
      login: `udp ${running.login.address.address}:${running.login.address.port}`,
      loginServertalk: `tcp ${running.login.servertalkAddress?.address}:${running.login.servertalkAddress?.port}`,
    }),
    ...(running.world === undefined ? {} : {
      world: `${running.world.name} udp ${running.world.publicAddress.address}:${running.world.publicAddress.port}`,
      worldServertalk: running.world.servertalkAddress === undefined
        ? "none"
        : `tcp ${running.world.servertalkAddress.address}:${running.world.servertalkAddress.port}`,
    }),
    ...(running.zones.length === 0 ? {} : {
      zones: running.zones.map((z) => `${z.name} udp ${z.publicAddress.address}:${z.publicAddress.port}`).join(", "),
    }),
    ...(needsStore ? { store: describeStore(location) } : {}),
  });
  return admin;
}

/** `qeynos serve`. */
export const serveCommand: Command = {
  name: "serve",
  summary: "run the server: login, world and zones (one process, or --roles per process)",
  help: HELP,
  async run(args) {
    const values = parseFlags(args, FLAGS, HELP);
    if (values === undefined) return 0;
    const level = parseLogLevel(values["log-level"] ?? "info");
    if (level === undefined) throw new UsageError(`Invalid value for --log-level: '${values["log-level"]}'`, HELP);
    const format = values["log-format"] ?? "text";
    if (format !== "text" && format !== "json") {
      throw new UsageError(`Invalid value for --log-format: '${format}' (expected text or json)`, HELP);
    }
    let roles: string[] | undefined;
    if (values.roles !== undefined) {
      roles = values.roles.split(",").map((r) => r.trim()).filter((r) => r !== "");
      const unknown = roles.find((r) => !(ROLE_NAMES as readonly string[]).includes(r));
      if (unknown !== undefined || roles.length === 0) {
        throw new UsageError(`Invalid value for --roles: '${values.roles}' (expected login, world and/or zone)`, HELP);
      }
      if (values.config === undefined) throw new UsageError("Option --roles needs --config FILE", HELP);
      const stray = SINGLE_PROCESS_FLAGS.find((flag) => values[flag] !== undefined);
      if (stray !== undefined) {
        throw new UsageError(`Option --${stray} cannot be used with --roles: set it in the configuration file`, HELP);
      }
    } else {
      if (values.config !== undefined) throw new UsageError("Option --config needs --roles", HELP);
      if (values.zone !== undefined) throw new UsageError("Option --zone needs --roles zone", HELP);
    }
    const adminPort = values["admin-port"] === undefined
      ? undefined
      : integerFlag("admin-port", values["admin-port"], 0, [0, 65_535], HELP);

    const platform = createRealPlatform(createConsoleLog({ level, format }));
    let config: ServeConfig | undefined;
    if (roles !== undefined) {
      let text: string;
      try {
        text = readFileSync(values.config!, "utf8");
      } catch (error) {
        console.error(`qeynos: Cannot read ${values.config}: ${error instanceof Error ? error.message : error}`);
        return 1;
      }
      try {
        config = parseServeConfig(text, values.config!, {
          env: (name) => process.env[name],
          readFile: (path) => readFileSync(path, "utf8"),
        });
        checkRoles(config, roles, values.zone);
      } catch (error) {
        if (error instanceof RoleError) {
          console.error(`qeynos: ${error.message}`);
          return 2;
        }
        throw error;
      }
    }
    const fromFile = config?.store;
    const location = values["data-dir"] === undefined && values["database-url"] === undefined && fromFile !== undefined
      ? (fromFile.databaseUrl !== undefined
        ? { databaseUrl: fromFile.databaseUrl }
        : { dataDir: fromFile.dataDir ?? "./data" })
      : storeLocation(values, HELP);

    const single = roles === undefined ? singleProcessOptions(values) : undefined;
    const running: Running = { zones: [] };
    let adminListen: AdminListen | undefined;
    try {
      if (single !== undefined) await startSingleProcess(platform, single, location, running);
      else adminListen = await startFromConfig(platform, config!, roles!, values.zone, location, running);
      const listen = adminPort !== undefined
        ? { port: adminPort, ...(values["admin-address"] === undefined ? {} : { address: values["admin-address"] }) }
        : adminListen;
      if (listen !== undefined) {
        running.admin = await startAdminServer({ ...listen, sources: () => sources(running), log: platform.log });
      }
    } catch (error) {
      const known = error instanceof RoleError || error instanceof StoreError ||
        (error instanceof Error && "code" in error && typeof error.code === "string");
      if (!known) throw error;
      console.error(`qeynos: Cannot start: ${(error as Error).message}`);
      await shutdown(running, platform).catch(() => {});
      return 1;
    }

    const { promise: stopped, resolve: stop } = Promise.withResolvers<void>();
    let signals = 0;
    const onSignal = (signal: string) => {
      signals++;
      if (signals > 1) {
        platform.log.warn("serve: second signal; exiting now", { signal });
        process.exit(130);
      }
      platform.log.info("serve: signal received; draining", { signal });
      void shutdown(running, platform).finally(stop);
    };
    const onInt = () => onSignal("SIGINT");
    const onTerm = () => onSignal("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    await stopped;
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
    return 0;
  },
};
