/**
 * The role workloads: `login` (bots log in at a rate, or a count over a window, and play for a
 * while), `move` (they walk at a rate), `chat` (they say, shout, tell and talk in a channel, in
 * turn) and `zone-hop` (they change zones). Login, world and zone roles start on the hosts with
 * those roles; one bot runs on each client host. See docs/scenarios.md ("Role workloads").
 *
 * ```yaml
 * hosts:
 *   - { id: login, role: login }
 *   - { id: world, role: world }
 *   - { id: zone, role: zone, count: 2 }
 *   - { id: bot, role: client, count: 20 }
 * workload:
 *   login: { count: 20, window: 5s, play: 30s }
 *   move: { hz: 10 }
 *   chat: { clients: "bot1?", rate: 0.5/s }
 *   zone-hop: { clients: "bot2?", every: 5s }
 * ```
 * @module
 */
import type { ClientSessionOptions } from "../../../src/eqstream/mod.ts";
import type { ConfigMap, ConfigNode } from "../../scenario/config_node.ts";
import type { ParseContext } from "../../scenario/types.ts";
import { registerWorkload } from "../registry.ts";
import {
  type Arrivals,
  type ChatPlan,
  type HopPlan,
  type LoginPlan,
  type MovePlan,
  RoleGame,
  SERVER_DEFAULTS,
  type ServerSettings,
} from "./game.ts";

const NAME = /^[a-z][a-z0-9_]{0,31}$/;

/** The role workloads need one login host, one world host and at least one zone host. */
function requireRoleHosts(context: ParseContext, node: ConfigNode): void {
  const count = (role: string) => context.hosts.filter((h) => h.role === role).length;
  for (const role of ["login", "world"]) {
    if (count(role) !== 1) node.fail(`The role workloads need exactly one host with role ${role}, not ${count(role)}`);
  }
  if (count("zone") === 0) node.fail("The role workloads need at least one host with role zone");
}

function optionalMap(node: ConfigNode, keys: readonly string[]): ConfigMap | undefined {
  return node.kind === "null" ? undefined : node.map(keys);
}

function clientsOf(m: ConfigMap | undefined, context: ParseContext, node: ConfigNode): string[] {
  requireRoleHosts(context, node);
  const given = m?.get("clients");
  const clients = given === undefined
    ? context.hosts.filter((h) => h.role === "client").map((h) => h.id)
    : context.hostsMatching(given);
  const wrong = clients.filter((id) => context.hosts.find((h) => h.id === id)?.role !== "client");
  if (wrong.length > 0) (given ?? node).fail(`Bots run on hosts with role client; not on ${wrong.join(", ")}`);
  if (clients.length === 0) (given ?? node).fail("No host with role client to run bots on");
  return clients;
}

function zoneList(node: ConfigNode): string[] {
  const zones = node.list().map((z) => {
    const name = z.string().toLowerCase();
    if (!NAME.test(name)) z.fail(`Invalid zone name '${name}' (lower-case letters, digits and _)`);
    return name;
  });
  if (zones.length === 0) node.fail("Expected at least one zone");
  if (new Set(zones).size !== zones.length) node.fail("A zone is listed twice");
  return zones;
}

function parseServer(node: ConfigNode | undefined): ServerSettings {
  if (node === undefined || node.kind === "null") return SERVER_DEFAULTS;
  const m = node.map([
    "worldName",
    "zones",
    "spawnRadius",
    "maxPlayersPerInstance",
    "zoneMaxPlayers",
    "worldStatusTimeout",
    "statusInterval",
    "heartbeat",
    "heartbeatTimeout",
    "linkDead",
    "viewRadius",
    "sayRange",
    "shoutRange",
    "tickHz",
    "keyTtl",
  ]);
  const d = SERVER_DEFAULTS;
  const distance = (key: string, fallback: number) =>
    m.get(key)?.number({ min: key === "spawnRadius" ? 0 : 1, max: 100_000 }) ?? fallback;
  const ms = (key: string, fallback: number, min = 100_000) => m.get(key)?.duration({ min }) ?? fallback;
  const heartbeatIntervalUs = ms("heartbeat", d.heartbeatIntervalUs);
  const heartbeatTimeoutUs = ms("heartbeatTimeout", d.heartbeatTimeoutUs);
  if (heartbeatTimeoutUs <= heartbeatIntervalUs) {
    (m.get("heartbeatTimeout") ?? m.get("heartbeat")!).fail("The heartbeat timeout must be longer than the interval");
  }
  const worldName = m.get("worldName")?.string() ?? d.worldName;
  if (!/^[A-Za-z][A-Za-z0-9 _-]{0,31}$/.test(worldName)) m.get("worldName")!.fail(`Invalid world name '${worldName}'`);
  return {
    worldName,
    zones: m.has("zones") ? zoneList(m.get("zones")!) : d.zones,
    spawnRadius: distance("spawnRadius", d.spawnRadius),
    maxPlayersPerInstance: m.get("maxPlayersPerInstance")?.number({ integer: true, min: 1, max: 100_000 }) ??
      d.maxPlayersPerInstance,
    zoneMaxPlayers: m.get("zoneMaxPlayers")?.number({ integer: true, min: 1, max: 100_000 }) ?? d.zoneMaxPlayers,
    worldStatusTimeoutUs: ms("worldStatusTimeout", d.worldStatusTimeoutUs, 1_000_000),
    statusIntervalUs: ms("statusInterval", d.statusIntervalUs),
    heartbeatIntervalUs,
    heartbeatTimeoutUs,
    linkDeadUs: ms("linkDead", d.linkDeadUs, 0),
    viewRadius: distance("viewRadius", d.viewRadius),
    sayRange: distance("sayRange", d.sayRange),
    shoutRange: distance("shoutRange", d.shoutRange),
    tickHz: m.get("tickHz")?.number({ min: 1, max: 100 }) ?? d.tickHz,
    keyTtlUs: ms("keyTtl", d.keyTtlUs, 1_000_000),
  };
}

registerWorkload<LoginPlan>({
  name: "login",
  description: "bots (one per client host) log in through login, world and zone at a rate or a count over a " +
    "window, play, and log out; starts the login, world and zone roles on their hosts",
  parse(node, context) {
    const m = optionalMap(node, [
      "clients",
      "rate",
      "count",
      "window",
      "start",
      "play",
      "attempts",
      "retryDelay",
      "stepTimeout",
      "giveUp",
      "idleTimeout",
      "keepAlive",
      "server",
    ]);
    const clients = clientsOf(m, context, node);
    let arrivals: Arrivals;
    const rate = m?.get("rate");
    if (rate !== undefined) {
      if (m!.has("count") || m!.has("window")) rate.fail("Give either rate or count and window, not both");
      const perSec = rate.rate();
      if (!(perSec > 0 && perSec <= 10_000)) rate.fail("The login rate must be above 0/s and at most 10000/s");
      arrivals = { kind: "rate", perSec };
    } else {
      const count = m?.get("count")?.number({ integer: true, min: 1, max: clients.length }) ?? clients.length;
      arrivals = { kind: "window", count, windowUs: m?.get("window")?.duration() ?? 5_000_000 };
    }
    const session: ClientSessionOptions = {
      ...(m?.has("giveUp") ? { giveUpUs: m.get("giveUp")!.duration({ min: 1_000_000 }) } : {}),
      ...(m?.has("idleTimeout") ? { idleTimeoutUs: m.get("idleTimeout")!.duration({ min: 1_000_000 }) } : {}),
      ...(m?.has("keepAlive") ? { keepAliveUs: m.get("keepAlive")!.duration({ min: 100_000 }) } : {}),
    };
    return {
      clients,
      arrivals,
      startUs: m?.get("start")?.duration() ?? 2_000_000,
      playUs: m?.get("play")?.duration() ?? 30_000_000,
      attempts: m?.get("attempts")?.number({ integer: true, min: 1, max: 100 }) ?? 3,
      retryDelayUs: m?.get("retryDelay")?.duration({ min: 1_000 }) ?? 1_000_000,
      stepTimeoutUs: m?.get("stepTimeout")?.duration({ min: 100_000 }) ?? 15_000_000,
      session,
      server: parseServer(m?.get("server")),
    };
  },
  setup(ctx, plan) {
    RoleGame.of(ctx).loginPlan = plan;
  },
});

registerWorkload<MovePlan>({
  name: "move",
  description: "bots walk near where they spawned, sending movement updates at a rate (hz)",
  parse(node, context) {
    const m = optionalMap(node, ["clients", "hz", "speed", "wander"]);
    return {
      clients: clientsOf(m, context, node),
      hz: m?.get("hz")?.number({ min: 0.1, max: 100 }) ?? 10,
      speed: m?.get("speed")?.number({ min: 0, max: 1_000 }) ?? 5,
      wander: m?.get("wander")?.number({ min: 1, max: 100_000 }) ?? 40,
    };
  },
  setup(ctx, plan) {
    RoleGame.of(ctx).movePlan = plan;
  },
});

registerWorkload<ChatPlan>({
  name: "chat",
  description: "bots join a channel and talk at a rate, in turn: say, shout, tell (to another chatting bot), channel",
  parse(node, context) {
    const m = optionalMap(node, ["clients", "rate", "channel"]);
    const rate = m?.get("rate")?.rate() ?? 0.5;
    if (!(rate > 0 && rate <= 20)) m!.get("rate")!.fail("The chat rate must be above 0/s and at most 20/s per bot");
    const channel = m?.get("channel")?.string() ?? "qeynos";
    if (!/^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(channel)) m!.get("channel")!.fail(`Invalid channel name '${channel}'`);
    return { clients: clientsOf(m, context, node), intervalUs: Math.round(1e6 / rate), channel };
  },
  setup(ctx, plan) {
    RoleGame.of(ctx).chatPlan = plan;
  },
});

registerWorkload<HopPlan>({
  name: "zone-hop",
  description: "bots change zone every so often, cycling through a list of zones",
  parse(node, context) {
    const m = optionalMap(node, ["clients", "every", "zones"]);
    return {
      clients: clientsOf(m, context, node),
      everyUs: m?.get("every")?.duration({ min: 100_000 }) ?? 5_000_000,
      zones: m?.has("zones") ? zoneList(m.get("zones")!) : ["qeynos", "antonica"],
    };
  },
  setup(ctx, plan) {
    RoleGame.of(ctx).hopPlan = plan;
  },
});
