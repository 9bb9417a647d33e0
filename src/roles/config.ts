/**
 * The configuration file of `qeynos serve --roles … --config FILE`: one YAML (or JSON) file that may
 * describe every role of a deployment; each process runs the roles it is told to. The format is in
 * docs/roles.md; `config/qeynos.yaml` is an example. Errors name the file, the line and the key.
 * @module
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { ServerLimits } from "../eqstream/mod.ts";
import type { LinkOptions } from "../servertalk/mod.ts";
import type { LoginOptions } from "./login/login_server.ts";
import { RoleError, RoleErrorCode } from "./role_error.ts";
import type { ServertalkListen, Uplink } from "./shared/uplink.ts";
import type { SpawnPoint, WorldOptions } from "./world/world_server.ts";
import type { ZoneOptions } from "./zone/zone_server.ts";

/** An HTTP status endpoint. */
export interface AdminListen {
  readonly address?: string;
  readonly port: number;
}

/** Where the database is. */
export interface StoreConfig {
  readonly dataDir?: string;
  readonly databaseUrl?: string;
}

/** The login section. */
export type LoginConfig = Omit<LoginOptions, "store" | "observer" | "hashing" | "session"> & {
  readonly admin?: AdminListen;
};

/** The world section. */
export type WorldConfig = Omit<WorldOptions, "store" | "observer" | "hashing" | "session"> & {
  readonly admin?: AdminListen;
};

/** One zone server. */
export type ZoneConfig = Omit<ZoneOptions, "observer" | "session"> & { readonly admin?: AdminListen };

/** A parsed configuration file. */
export interface ServeConfig {
  readonly store?: StoreConfig;
  readonly login?: LoginConfig;
  readonly world?: WorldConfig;
  readonly zones: readonly ZoneConfig[];
}

/** What the parser may read besides the file: environment variables and password files. */
export interface ConfigEnvironment {
  env(name: string): string | undefined;
  readFile(path: string): string;
}

class Reader {
  readonly #file: string;
  readonly #lines: LineCounter;

  constructor(file: string, lines: LineCounter) {
    this.#file = file;
    this.#lines = lines;
  }

  fail(node: Node | null | undefined, path: string, detail: string): never {
    const offset = node?.range?.[0];
    const line = offset === undefined ? 1 : this.#lines.linePos(offset).line;
    throw new RoleError(RoleErrorCode.BadConfig, `${this.#file}:${line}: ${path === "" ? "" : `${path}: `}${detail}`);
  }

  /** The entries of a mapping, refusing keys not in `allowed`. */
  map(node: Node | null | undefined, path: string, allowed: readonly string[]): Map<string, Node | null> {
    if (!isMap(node)) this.fail(node, path, "expected a mapping of keys to values");
    const out = new Map<string, Node | null>();
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      const key = isScalar(keyNode) ? String(keyNode.value) : "";
      const where = path === "" ? key : `${path}.${key}`;
      if (!allowed.includes(key)) {
        this.fail(keyNode, where, `unknown key (expected one of ${allowed.join(", ")})`);
      }
      if (out.has(key)) this.fail(keyNode, where, "given twice");
      out.set(key, (pair.value as Node | null) ?? null);
    }
    return out;
  }

  scalar(node: Node | null | undefined, path: string): unknown {
    if (!isScalar(node)) this.fail(node, path, "expected a single value");
    return node.value;
  }

  string(node: Node | null | undefined, path: string, max = 256): string {
    const value = this.scalar(node, path);
    if (typeof value !== "string" || value === "" || value.length > max) {
      this.fail(node, path, `expected a text of 1..${max} characters, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  integer(node: Node | null | undefined, path: string, min: number, max: number): number {
    const value = this.scalar(node, path);
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      this.fail(node, path, `expected an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  number(node: Node | null | undefined, path: string, min: number, max: number): number {
    const value = this.scalar(node, path);
    if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
      this.fail(node, path, `expected a number in ${min}..${max}, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  boolean(node: Node | null | undefined, path: string): boolean {
    const value = this.scalar(node, path);
    if (typeof value !== "boolean") this.fail(node, path, `expected true or false, got ${JSON.stringify(value)}`);
    return value;
  }

  /** Milliseconds in the file, microseconds in the options. */
  msAsUs(node: Node | null | undefined, path: string, min = 1, max = 86_400_000): number {
    return Math.round(this.number(node, path, min, max) * 1000);
  }

  list(node: Node | null | undefined, path: string): (Node | null)[] {
    if (!isSeq(node)) this.fail(node, path, "expected a list");
    return node.items as (Node | null)[];
  }

  strings(node: Node | null | undefined, path: string): string[] {
    return this.list(node, path).map((item, i) => this.string(item, `${path}[${i}]`, 64));
  }
}

const PORT = [0, 65_535] as const;

function listen(r: Reader, node: Node | null, path: string): ServertalkListen {
  const m = r.map(node, path, ["address", "port"]);
  if (!m.has("port")) r.fail(node, path, "port is required");
  const address = m.get("address");
  return {
    port: r.integer(m.get("port"), `${path}.port`, ...PORT),
    ...(address === undefined ? {} : { address: r.string(address, `${path}.address`) }),
  };
}

function admin(r: Reader, node: Node | null, path: string): AdminListen {
  return listen(r, node, path);
}

function uplink(r: Reader, node: Node | null, path: string, environment: ConfigEnvironment): Uplink {
  const m = r.map(node, path, [
    "address",
    "port",
    "account",
    "password",
    "passwordEnv",
    "passwordFile",
    "heartbeatIntervalMs",
    "heartbeatTimeoutMs",
  ]);
  for (const key of ["address", "port", "account"]) if (!m.has(key)) r.fail(node, path, `${key} is required`);
  const sources = ["password", "passwordEnv", "passwordFile"].filter((k) => m.has(k));
  if (sources.length !== 1) {
    r.fail(node, path, "give exactly one of password, passwordEnv (a variable's name) or passwordFile");
  }
  let password: string;
  if (m.has("password")) {
    password = r.string(m.get("password"), `${path}.password`, 72);
  } else if (m.has("passwordEnv")) {
    const name = r.string(m.get("passwordEnv"), `${path}.passwordEnv`);
    const value = environment.env(name);
    if (value === undefined || value === "") r.fail(m.get("passwordEnv"), `${path}.passwordEnv`, `${name} is not set`);
    password = value;
  } else {
    const file = r.string(m.get("passwordFile"), `${path}.passwordFile`, 4096);
    try {
      password = (environment.readFile(file).split(/\r?\n/)[0] ?? "").trim();
    } catch (error) {
      r.fail(
        m.get("passwordFile"),
        `${path}.passwordFile`,
        `cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (password === "") r.fail(m.get("passwordFile"), `${path}.passwordFile`, `${file} is empty`);
  }
  const link: Record<string, number> = {};
  if (m.has("heartbeatIntervalMs")) {
    link.heartbeatIntervalUs = r.msAsUs(m.get("heartbeatIntervalMs"), `${path}.heartbeatIntervalMs`, 100, 600_000);
  }
  if (m.has("heartbeatTimeoutMs")) {
    link.heartbeatTimeoutUs = r.msAsUs(m.get("heartbeatTimeoutMs"), `${path}.heartbeatTimeoutMs`, 200, 3_600_000);
  }
  return {
    address: r.string(m.get("address"), `${path}.address`),
    port: r.integer(m.get("port"), `${path}.port`, 1, 65_535),
    account: r.string(m.get("account"), `${path}.account`, 32),
    password,
    ...(Object.keys(link).length === 0 ? {} : { link: link as LinkOptions }),
  };
}

function limits(r: Reader, node: Node | null, path: string): ServerLimits {
  const keys = [
    "maxSessions",
    "maxSessionsPerIp",
    "maxHalfOpen",
    "requestsPerSecondPerIp",
    "requestsPerSecond",
    "maxTrackedSources",
  ] as const;
  const m = r.map(node, path, keys);
  const out: Record<string, number> = {};
  for (const key of keys) {
    if (m.has(key)) out[key] = r.integer(m.get(key), `${path}.${key}`, 1, 10_000_000);
  }
  return out as ServerLimits;
}

function link(r: Reader, node: Node | null, path: string): LinkOptions {
  const m = r.map(node, path, ["heartbeatIntervalMs", "heartbeatTimeoutMs"]);
  const out: Record<string, number> = {};
  if (m.has("heartbeatIntervalMs")) {
    out.heartbeatIntervalUs = r.msAsUs(m.get("heartbeatIntervalMs"), `${path}.heartbeatIntervalMs`, 100, 600_000);
  }
  if (m.has("heartbeatTimeoutMs")) {
    out.heartbeatTimeoutUs = r.msAsUs(m.get("heartbeatTimeoutMs"), `${path}.heartbeatTimeoutMs`, 200, 3_600_000);
  }
  return out as LinkOptions;
}

function spawn(r: Reader, node: Node | null, path: string): SpawnPoint {
  const m = r.map(node, path, ["x", "y", "z", "heading"]);
  const at = (k: string) => m.has(k) ? r.number(m.get(k), `${path}.${k}`, -1e7, 1e7) : 0;
  return { x: at("x"), y: at("y"), z: at("z"), heading: at("heading") };
}

function loginSection(r: Reader, node: Node | null): LoginConfig {
  const p = "login";
  const m = r.map(node, p, [
    "address",
    "port",
    "servertalk",
    "autoCreateAccounts",
    "clientVersions",
    "worldStatusTimeoutMs",
    "limits",
    "link",
    "admin",
  ]);
  const out: Record<string, unknown> = {};
  if (m.has("address")) out.address = r.string(m.get("address"), `${p}.address`);
  if (m.has("port")) out.port = r.integer(m.get("port"), `${p}.port`, ...PORT);
  if (m.has("servertalk")) out.servertalk = listen(r, m.get("servertalk")!, `${p}.servertalk`);
  if (m.has("autoCreateAccounts")) {
    out.autoCreateAccounts = r.boolean(m.get("autoCreateAccounts"), `${p}.autoCreateAccounts`);
  }
  if (m.has("clientVersions")) {
    out.clientVersions = r.list(m.get("clientVersions"), `${p}.clientVersions`).map((v, i) =>
      r.integer(v, `${p}.clientVersions[${i}]`, 1, 65_535)
    );
  }
  if (m.has("worldStatusTimeoutMs")) {
    out.worldStatusTimeoutUs = r.msAsUs(m.get("worldStatusTimeoutMs"), `${p}.worldStatusTimeoutMs`, 100);
  }
  if (m.has("limits")) out.limits = limits(r, m.get("limits")!, `${p}.limits`);
  if (m.has("link")) out.link = link(r, m.get("link")!, `${p}.link`);
  if (m.has("admin")) out.admin = admin(r, m.get("admin")!, `${p}.admin`);
  return out as LoginConfig;
}

function worldSection(r: Reader, node: Node | null, environment: ConfigEnvironment): WorldConfig {
  const p = "world";
  const m = r.map(node, p, [
    "name",
    "address",
    "publicAddress",
    "port",
    "login",
    "servertalk",
    "zones",
    "startZone",
    "spawn",
    "spawnRadius",
    "maxPlayers",
    "maxPlayersPerInstance",
    "keyTtlMs",
    "statusIntervalMs",
    "maxChannelsPerPlayer",
    "limits",
    "link",
    "admin",
  ]);
  if (!m.has("login")) r.fail(node, p, "login (how to reach the login server) is required");
  const out: Record<string, unknown> = { login: uplink(r, m.get("login")!, `${p}.login`, environment) };
  if (m.has("name")) out.name = r.string(m.get("name"), `${p}.name`, 64);
  if (m.has("address")) out.address = r.string(m.get("address"), `${p}.address`);
  if (m.has("publicAddress")) out.publicAddress = r.string(m.get("publicAddress"), `${p}.publicAddress`);
  if (m.has("port")) out.port = r.integer(m.get("port"), `${p}.port`, ...PORT);
  if (m.has("servertalk")) out.servertalk = listen(r, m.get("servertalk")!, `${p}.servertalk`);
  if (m.has("zones")) {
    const zones = r.strings(m.get("zones"), `${p}.zones`);
    for (const [i, z] of zones.entries()) {
      if (!/^[A-Za-z0-9_]{1,64}$/.test(z)) r.fail(m.get("zones"), `${p}.zones[${i}]`, `invalid zone name ${z}`);
    }
    if (zones.length === 0) r.fail(m.get("zones"), `${p}.zones`, "at least one zone is required");
    out.zones = zones;
  }
  if (m.has("startZone")) out.startZone = r.string(m.get("startZone"), `${p}.startZone`, 64);
  if (
    out.startZone !== undefined && out.zones !== undefined && !(out.zones as string[]).includes(out.startZone as string)
  ) {
    r.fail(m.get("startZone"), `${p}.startZone`, "must be one of world.zones");
  }
  if (m.has("spawn")) out.spawn = spawn(r, m.get("spawn")!, `${p}.spawn`);
  if (m.has("spawnRadius")) out.spawnRadius = r.number(m.get("spawnRadius"), `${p}.spawnRadius`, 0, 1e6);
  if (m.has("maxPlayers")) out.maxPlayers = r.integer(m.get("maxPlayers"), `${p}.maxPlayers`, 1, 1_000_000);
  if (m.has("maxPlayersPerInstance")) {
    out.maxPlayersPerInstance = r.integer(m.get("maxPlayersPerInstance"), `${p}.maxPlayersPerInstance`, 1, 1_000_000);
  }
  if (m.has("keyTtlMs")) out.keyTtlUs = r.msAsUs(m.get("keyTtlMs"), `${p}.keyTtlMs`, 100);
  if (m.has("statusIntervalMs")) {
    out.statusIntervalUs = r.msAsUs(m.get("statusIntervalMs"), `${p}.statusIntervalMs`, 100);
  }
  if (m.has("maxChannelsPerPlayer")) {
    out.maxChannelsPerPlayer = r.integer(m.get("maxChannelsPerPlayer"), `${p}.maxChannelsPerPlayer`, 0, 1000);
  }
  if (m.has("limits")) out.limits = limits(r, m.get("limits")!, `${p}.limits`);
  if (m.has("link")) out.link = link(r, m.get("link")!, `${p}.link`);
  if (m.has("admin")) out.admin = admin(r, m.get("admin")!, `${p}.admin`);
  return out as WorldConfig;
}

function zoneSection(r: Reader, node: Node | null, p: string, environment: ConfigEnvironment): ZoneConfig {
  const m = r.map(node, p, [
    "name",
    "address",
    "publicAddress",
    "port",
    "world",
    "maxPlayers",
    "maxInstances",
    "tickHz",
    "viewRadius",
    "sayRange",
    "shoutRange",
    "maxMoveHz",
    "moveBatchMs",
    "linkDeadMs",
    "autosaveMs",
    "statusIntervalMs",
    "limits",
    "admin",
  ]);
  if (!m.has("world")) r.fail(node, p, "world (how to reach the world server) is required");
  if (!m.has("name")) r.fail(node, p, "name is required");
  const out: Record<string, unknown> = {
    name: r.string(m.get("name"), `${p}.name`, 64),
    world: uplink(r, m.get("world")!, `${p}.world`, environment),
  };
  if (m.has("address")) out.address = r.string(m.get("address"), `${p}.address`);
  if (m.has("publicAddress")) out.publicAddress = r.string(m.get("publicAddress"), `${p}.publicAddress`);
  if (m.has("port")) out.port = r.integer(m.get("port"), `${p}.port`, ...PORT);
  if (m.has("maxPlayers")) out.maxPlayers = r.integer(m.get("maxPlayers"), `${p}.maxPlayers`, 1, 1_000_000);
  if (m.has("maxInstances")) out.maxInstances = r.integer(m.get("maxInstances"), `${p}.maxInstances`, 1, 10_000);
  if (m.has("tickHz")) out.tickHz = r.number(m.get("tickHz"), `${p}.tickHz`, 0.1, 1000);
  if (m.has("viewRadius")) out.viewRadius = r.number(m.get("viewRadius"), `${p}.viewRadius`, 1, 1e6);
  if (m.has("sayRange")) out.sayRange = r.number(m.get("sayRange"), `${p}.sayRange`, 0, 1e7);
  if (m.has("shoutRange")) out.shoutRange = r.number(m.get("shoutRange"), `${p}.shoutRange`, 0, 1e7);
  if (m.has("maxMoveHz")) out.maxMoveHz = r.number(m.get("maxMoveHz"), `${p}.maxMoveHz`, 0.1, 1000);
  if (m.has("moveBatchMs")) out.moveBatchUs = r.msAsUs(m.get("moveBatchMs"), `${p}.moveBatchMs`, 0);
  if (m.has("linkDeadMs")) out.linkDeadUs = r.msAsUs(m.get("linkDeadMs"), `${p}.linkDeadMs`, 0);
  if (m.has("autosaveMs")) out.autosaveUs = r.msAsUs(m.get("autosaveMs"), `${p}.autosaveMs`, 100);
  if (m.has("statusIntervalMs")) {
    out.statusIntervalUs = r.msAsUs(m.get("statusIntervalMs"), `${p}.statusIntervalMs`, 100);
  }
  if (m.has("limits")) out.limits = limits(r, m.get("limits")!, `${p}.limits`);
  if (m.has("admin")) out.admin = admin(r, m.get("admin")!, `${p}.admin`);
  return out as ZoneConfig;
}

/**
 * Parses a configuration file's text (YAML; JSON is YAML too). `file` is used in error messages;
 * passwords named by `passwordEnv`/`passwordFile` are read through `environment`. Throws
 * `ROLE_BAD_CONFIG` with `file:line: key: problem`.
 */
export function parseServeConfig(text: string, file: string, environment: ConfigEnvironment): ServeConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const r = new Reader(file, lines);
  if (doc.errors.length > 0) {
    const error = doc.errors[0]!;
    const line = error.linePos?.[0]?.line ?? 1;
    throw new RoleError(RoleErrorCode.BadConfig, `${file}:${line}: ${error.message.split("\n")[0]}`);
  }
  const root = doc.contents as Node | null;
  const m = r.map(root, "", ["store", "login", "world", "zones"]);
  let store: StoreConfig | undefined;
  if (m.has("store")) {
    const s = r.map(m.get("store"), "store", ["dataDir", "databaseUrl"]);
    if (s.has("dataDir") && s.has("databaseUrl")) {
      r.fail(m.get("store"), "store", "give dataDir or databaseUrl, not both");
    }
    store = s.has("dataDir")
      ? { dataDir: r.string(s.get("dataDir"), "store.dataDir", 4096) }
      : s.has("databaseUrl")
      ? { databaseUrl: r.string(s.get("databaseUrl"), "store.databaseUrl", 4096) }
      : {};
  }
  const zones = m.has("zones")
    ? r.list(m.get("zones"), "zones").map((z, i) => zoneSection(r, z, `zones[${i}]`, environment))
    : [];
  const names = new Set<string>();
  for (const [i, zone] of zones.entries()) {
    if (names.has(zone.name!)) r.fail(m.get("zones"), `zones[${i}].name`, `zone server ${zone.name} is listed twice`);
    names.add(zone.name!);
  }
  return {
    ...(store === undefined ? {} : { store }),
    ...(m.has("login") ? { login: loginSection(r, m.get("login")!) } : {}),
    ...(m.has("world") ? { world: worldSection(r, m.get("world")!, environment) } : {}),
    zones,
  };
}
