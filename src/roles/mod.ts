/**
 * The game-server roles — login, world, zone — and the headless bot client. Every role runs on an
 * injected `Platform`, so the same code serves real sockets (`qeynos serve`, `qeynos bot`) and the
 * simulator (scenario workloads).
 *
 * ```ts
 * const cluster = await startCluster(platform, { store, zoneServers: 2 });
 * const outcome = await runBot(platform, {
 *   server: cluster.login.address, account: "bot1", password: "botpassword",
 *   characterName: "Botaaab", script: "walk", durationUs: 10_000_000,
 * });
 * await cluster.close();
 * ```
 *
 * One role per process or host: {@linkcode startLogin}, {@linkcode startWorld}, {@linkcode startZone}
 * with servertalk over TCP (`servertalk` to listen, `login` / `world` uplinks to dial). See docs/roles.md.
 * @module
 */
export {
  LOGIN_DEFAULTS,
  type LoginCounters,
  type LoginOptions,
  LoginServer,
  startLogin,
  type WorldView,
} from "./login/login_server.ts";
export {
  type OnlinePlayer,
  type PlayerPlace,
  type SpawnPoint,
  startWorld,
  WORLD_DEFAULTS,
  type WorldCounters,
  type WorldOptions,
  WorldServer,
  type ZoneServerView,
} from "./world/world_server.ts";
export {
  startZone,
  ZONE_DEFAULTS,
  type ZoneCounters,
  type ZoneOptions,
  type ZonePlayerView,
  ZoneServer,
} from "./zone/zone_server.ts";
export {
  type Cluster,
  CLUSTER_ACCOUNTS,
  type ClusterOptions,
  provisionClusterAccounts,
  type ServerCredentials,
  startCluster,
} from "./cluster.ts";
export {
  BOT_CLIENT_VERSION,
  botCharacterName,
  type BotCounts,
  type BotEvent,
  type BotOptions,
  type BotOutcome,
  type BotScriptName,
  type BotStep,
  runBot,
} from "./bot/bot.ts";
export { RoleError, RoleErrorCode } from "./role_error.ts";
export type {
  CommonEvent,
  LeaveCause,
  LoginEvent,
  RoleEvent,
  RoleObserver,
  WorldEvent,
  ZoneEvent,
} from "./shared/events.ts";
export { type CapacityOptions, CapacityState, ServerStatus, type StatusChange } from "./shared/capacity.ts";
export { InterestGrid } from "./shared/interest_grid.ts";
export { ACCESS_KEY_DEFAULTS, type AccessGrant, type AccessKeyOptions, AccessKeys } from "./shared/access_keys.ts";
export { type Notice, NoticeBoard } from "./shared/notice_board.ts";
export { TickLoop, type TickStats } from "./shared/tick_loop.ts";
export { Histogram, type HistogramSnapshot, type HistogramState } from "./shared/histogram.ts";
export { storeAuthenticator } from "./shared/server_auth.ts";
export type { ServertalkListen, Uplink } from "./shared/uplink.ts";
export * from "./shared/role_messages.ts";
export { type CharacterState, decodeCharacterState, encodeCharacterState } from "./shared/character_state.ts";
