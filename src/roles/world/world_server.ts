/**
 * The world role: registers with login (LSInfo, then LSStatus on connect, periodically and on change;
 * reconnecting and re-registering when the link drops), owns characters (list, create, delete, save),
 * accepts zone servers (registration, status, capacity), admits players with one-time keys, places
 * them in zone instances (booting instances by capacity), routes tells and channels across zones,
 * moves players between zones, and keeps server-wide notices alive for their TTL.
 *
 * World is the single authority on where a character is: every hand-off to a zone carries a new
 * generation number, and a zone's save or presence report for an older generation is refused. So a
 * character is never in two zones, and a stale zone never overwrites a newer save.
 * @module
 */
import {
  type EqStreamConnection,
  type EqStreamServer,
  listen as listenEqStream,
  type ServerLimits,
  type ServerSessionOptions,
} from "../../eqstream/mod.ts";
import type { Platform, SocketAddress, TimerId } from "../../platform/platform.ts";
import {
  CharacterSave,
  KickPlayer,
  type Link,
  type LinkOptions,
  LSInfo,
  LSStatus,
  ServerRole,
  ServerState,
  ServertalkClient,
  ServertalkServer,
  SetConnectInfo,
  UsertoWorldReq,
  UserToWorldResult,
  WorldListRemove,
  ZoneStatus,
  ZoneToZoneRequest,
  ZoneUnregister,
} from "../../servertalk/mod.ts";
import { type Character, type Store, STORE_ERROR_CODES, STORE_RULES, StoreError } from "../../store/mod.ts";
import { VERSION } from "../../version.ts";
import {
  AppMessageError,
  ChannelResult,
  ChatKind,
  ChatResultCode,
  CreateCharacterResponse,
  EnterResult,
  QEYNOS_PROTOCOL_VERSION,
  type QeynosInput,
  QeynosWorld,
  ZoneChangeResult,
} from "../messages/mod.ts";
import { CapacityState, type ServerStatus, ServerStatus as Status } from "../shared/capacity.ts";
import { type CharacterState, decodeCharacterState, encodeCharacterState } from "../shared/character_state.ts";
import { type CommonEvent, emitter, type RoleObserver, type WorldEvent } from "../shared/events.ts";
import { AccessKeys } from "../shared/access_keys.ts";
import {
  ChannelMembership,
  CharacterCreate,
  CharacterDelete,
  CharacterList,
  type CharacterSummary,
  ChatDeliver,
  ChatRoute,
  PlayerPresence,
  PresenceEvent,
  ZoneBoot,
  ZoneTransfer,
} from "../shared/role_messages.ts";
import { storeAuthenticator } from "../shared/server_auth.ts";
import type { ServertalkListen, Uplink } from "../shared/uplink.ts";
import { cos, sin } from "../../platform/portable_math.ts";

/** A spawn point. */
export interface SpawnPoint {
  readonly x: number;
  readonly y: number;
  readonly z: number;
  readonly heading: number;
}

/** Options of {@linkcode startWorld}. */
export interface WorldOptions {
  /** Characters and server accounts. */
  readonly store: Store;
  /** The world's name in the world list and its servertalk name; default "Qeynos". */
  readonly name?: string;
  /** EQStream bind address; default "127.0.0.1". */
  readonly address?: string;
  /** EQStream UDP port; default 9200 (0: any free one). */
  readonly port?: number;
  /** The address clients are told to connect to; default the bind address ("127.0.0.1" for "0.0.0.0"). */
  readonly publicAddress?: string;
  /** The login server. */
  readonly login: Uplink;
  /** Listen for zone servers over TCP here; without it zones connect in process only. */
  readonly servertalk?: ServertalkListen;
  /** Link limits of zone links. */
  readonly link?: LinkOptions;
  /** The zones of this world; default ["qeynos", "antonica", "commonlands"]. */
  readonly zones?: readonly string[];
  /** Where new characters start; default the first zone. */
  readonly startZone?: string;
  /** Where a character appears in a zone it enters by zoning; default the origin. */
  readonly spawn?: SpawnPoint;
  /** New characters and players who zone in appear at a random point this far (x/z plane) from `spawn`; default 0. */
  readonly spawnRadius?: number;
  /** Players at most (the capacity rule marks the world TAKEN at this); default 2000. */
  readonly maxPlayers?: number;
  /** Players per zone instance before another instance is booted; default 500. */
  readonly maxPlayersPerInstance?: number;
  /** Lifetime of the keys handed out for world entry and zone entry; default 30 s. */
  readonly keyTtlUs?: number;
  /** How often LSStatus goes to login (also sent on connect and on change); default 15 s. */
  readonly statusIntervalUs?: number;
  /** How long a kicked character's zone has to save it before world moves on; default 3 s. */
  readonly kickWaitUs?: number;
  /** Deadline of requests to zones; default 5 s. */
  readonly zoneRequestTimeoutUs?: number;
  /** A client must present its key within this long after connecting; default 10 s. */
  readonly entryTimeoutUs?: number;
  /** Channels one player may be in; default 10. */
  readonly maxChannelsPerPlayer?: number;
  /** Routed lines held for one player while zoning, at most; default 64. */
  readonly maxHeldLinesPerPlayer?: number;
  /** EQStream session options. */
  readonly session?: ServerSessionOptions;
  /** EQStream admission limits. */
  readonly limits?: ServerLimits;
  /** `"sync"` compares server-account passwords synchronously (the simulator needs it); default async. */
  readonly hashing?: "sync" | "async";
  readonly observer?: RoleObserver;
}

/** Defaults of {@linkcode WorldOptions}. */
export const WORLD_DEFAULTS = {
  name: "Qeynos",
  address: "127.0.0.1",
  port: 9200,
  zones: ["qeynos", "antonica", "commonlands"] as readonly string[],
  spawn: { x: 0, y: 0, z: 0, heading: 0 } as SpawnPoint,
  maxPlayers: 2000,
  maxPlayersPerInstance: 500,
  keyTtlUs: 30_000_000,
  statusIntervalUs: 15_000_000,
  kickWaitUs: 3_000_000,
  zoneRequestTimeoutUs: 5_000_000,
  entryTimeoutUs: 10_000_000,
  maxChannelsPerPlayer: 10,
  maxHeldLinesPerPlayer: 64,
} as const;

/** Where an online character is, as world sees it. */
export type PlayerPlace = "assigned" | "in_zone" | "transit" | "linkdead";

/** An online character. */
export interface OnlinePlayer {
  readonly charId: number;
  readonly accountId: number;
  readonly name: string;
  readonly generation: number;
  readonly zoneServer: string;
  readonly zoneName: string;
  readonly instanceId: number;
  readonly place: PlayerPlace;
}

/** A zone server as world sees it. */
export interface ZoneServerView {
  readonly name: string;
  readonly up: boolean;
  readonly address: string;
  readonly port: number;
  readonly status: ServerStatus;
  readonly maxPlayers: number;
  /** Players world has placed there. */
  readonly players: number;
  /** Players it last reported. */
  readonly reportedPlayers: number;
  readonly load: number;
  readonly instances: readonly { readonly id: number; readonly zoneName: string; readonly players: number }[];
}

type HeldLine = Parameters<typeof ChatDeliver.encode>[0];

interface OnlineRecord {
  readonly charId: number;
  readonly accountId: number;
  readonly name: string;
  generation: number;
  zoneServer: string;
  zoneName: string;
  instanceId: number;
  place: PlayerPlace;
  held: HeldLine[];
}

interface ZoneServerRecord {
  readonly name: string;
  link: Link | undefined;
  address: string;
  port: number;
  maxPlayers: number;
  status: ServerStatus;
  reportedPlayers: number;
  load: number;
  assigned: number;
}

interface InstanceRecord {
  readonly id: number;
  readonly zoneName: string;
  readonly zoneServer: string;
  readonly maxPlayers: number;
  assigned: number;
}

/** Counters of the world role. */
export interface WorldCounters {
  entered: number;
  refusedEntries: number;
  handOffs: number;
  transfers: number;
  kicks: number;
  saves: number;
  savesRefused: number;
  linesRouted: number;
  created: number;
  deleted: number;
}

function statusFromState(state: number): ServerStatus {
  if (state === ServerState.Online) return Status.Online;
  if (state === ServerState.Taken || state === ServerState.Locked) return Status.Taken;
  return Status.Offline;
}

function stateFromStatus(status: ServerStatus): number {
  return status === Status.Online
    ? ServerState.Online
    : status === Status.Taken
    ? ServerState.Taken
    : ServerState.Offline;
}

/** A running world role. */
export class WorldServer {
  readonly name: string;
  readonly eqstream: EqStreamServer;
  /** The servertalk server zones register with. */
  readonly servertalk: ServertalkServer;
  /** The link to login. */
  readonly login: ServertalkClient;
  readonly capacity: CapacityState;
  readonly counters: WorldCounters = {
    entered: 0,
    refusedEntries: 0,
    handOffs: 0,
    transfers: 0,
    kicks: 0,
    saves: 0,
    savesRefused: 0,
    linesRouted: 0,
    created: 0,
    deleted: 0,
  };
  readonly #platform: Platform;
  readonly #options: WorldOptions;
  readonly #store: Store;
  readonly #zones: readonly string[];
  readonly #startZone: string;
  readonly #keys: AccessKeys<undefined>;
  readonly #online = new Map<number, OnlineRecord>();
  readonly #byName = new Map<string, number>();
  readonly #zoneServers = new Map<string, ZoneServerRecord>();
  readonly #instances = new Map<number, InstanceRecord>();
  readonly #booting = new Map<string, Promise<InstanceRecord | undefined>>();
  readonly #charLocks = new Map<number, Promise<void>>();
  readonly #leaveWaiters = new Map<number, Array<() => void>>();
  readonly #channels = new Map<string, Set<number>>();
  readonly #memberOf = new Map<number, Set<string>>();
  readonly #emit: (event: WorldEvent | CommonEvent) => void;
  #worldId = 0;
  #generation: number;
  #nextInstance = 1;
  #nextNotice = 1;
  #publicAddress: string;
  #servertalkAddress: SocketAddress | undefined;
  #statusTimer: TimerId | undefined;
  #statusSoon: TimerId | undefined;
  #draining = false;
  #closed = false;

  /** @internal Use {@linkcode startWorld}. */
  constructor(platform: Platform, options: WorldOptions, eqstream: EqStreamServer) {
    this.#platform = platform;
    this.#options = options;
    this.#store = options.store;
    this.name = options.name ?? WORLD_DEFAULTS.name;
    this.eqstream = eqstream;
    this.#zones = options.zones ?? WORLD_DEFAULTS.zones;
    this.#startZone = options.startZone ?? this.#zones[0] ?? "qeynos";
    const bind = eqstream.local.address;
    this.#publicAddress = options.publicAddress ?? (bind === "0.0.0.0" || bind === "::" ? "127.0.0.1" : bind);
    this.capacity = new CapacityState({ maxPlayers: options.maxPlayers ?? WORLD_DEFAULTS.maxPlayers });
    this.#keys = new AccessKeys(platform.rng, { ttlUs: options.keyTtlUs ?? WORLD_DEFAULTS.keyTtlUs });
    this.#generation = platform.rng.u32() >>> 0;
    this.#emit = emitter("world", () => this.name, () => platform.clock.now(), options.observer);
    this.servertalk = new ServertalkServer(platform, {
      ...options.link,
      name: this.name,
      role: ServerRole.World,
      authenticator: storeAuthenticator(
        options.store,
        options.hashing === undefined ? {} : { hashing: options.hashing },
      ),
      allowRoles: [ServerRole.Zone],
    });
    const uplink = options.login;
    this.login = new ServertalkClient(platform, {
      ...uplink.link,
      name: this.name,
      role: ServerRole.World,
      account: uplink.account,
      password: uplink.password,
      ...(uplink.connect === undefined ? {} : { connect: uplink.connect }),
      ...(uplink.address === undefined ? {} : { address: uplink.address }),
      ...(uplink.port === undefined ? {} : { port: uplink.port }),
      ...(uplink.tls === undefined ? {} : { tls: uplink.tls }),
    });
    this.#installLoginHandlers();
    this.#installZoneHandlers();
  }

  /** The id login gave this world (0 until registered). */
  get worldId(): number {
    return this.#worldId;
  }

  /** Where clients are told to connect. */
  get publicAddress(): SocketAddress {
    return { address: this.#publicAddress, port: this.eqstream.local.port };
  }

  /** Where zones connect (TCP), when listening. */
  get servertalkAddress(): SocketAddress | undefined {
    return this.#servertalkAddress;
  }

  /** @internal */
  set servertalkAddress(value: SocketAddress | undefined) {
    this.#servertalkAddress = value;
  }

  get status(): ServerStatus {
    return this.capacity.status;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** The zone names of this world. */
  get zoneNames(): readonly string[] {
    return this.#zones;
  }

  /** A servertalk connection to this world for a zone in the same process. */
  connectInProcess(): ReturnType<ServertalkServer["connectInProcess"]> {
    return this.servertalk.connectInProcess();
  }

  /** Online characters. */
  players(): OnlinePlayer[] {
    return [...this.#online.values()].map((r) => ({
      charId: r.charId,
      accountId: r.accountId,
      name: r.name,
      generation: r.generation,
      zoneServer: r.zoneServer,
      zoneName: r.zoneName,
      instanceId: r.instanceId,
      place: r.place,
    }));
  }

  /** Zone servers known to this world (up or not). */
  zoneServers(): ZoneServerView[] {
    return [...this.#zoneServers.values()].map((zs) => ({
      name: zs.name,
      up: zs.link !== undefined,
      address: zs.address,
      port: zs.port,
      status: zs.link === undefined ? Status.Offline : zs.status,
      maxPlayers: zs.maxPlayers,
      players: zs.assigned,
      reportedPlayers: zs.reportedPlayers,
      load: zs.load,
      instances: [...this.#instances.values()].filter((i) => i.zoneServer === zs.name).map((i) => ({
        id: i.id,
        zoneName: i.zoneName,
        players: i.assigned,
      })),
    }));
  }

  /** Members of each channel (lower-case names). */
  channels(): Record<string, number[]> {
    return Object.fromEntries([...this.#channels].map(([name, members]) => [name, [...members]]));
  }

  report(): Record<string, unknown> {
    return {
      role: "world",
      name: this.name,
      worldId: this.#worldId,
      status: this.capacity.status,
      draining: this.#draining,
      players: this.#online.size,
      maxPlayers: this.capacity.maxPlayers,
      keysPending: this.#keys.size,
      eqstream: { address: this.eqstream.local, public: this.publicAddress, ...this.eqstream.stats },
      servertalk: { address: this.#servertalkAddress ?? "in-process", ...this.servertalk.metrics() },
      login: this.login.metrics(),
      counters: { ...this.counters },
      zoneServers: this.zoneServers(),
      notices: this.servertalk.notices().length,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Notices.

  /**
   * Publishes a server-wide notice: every player online sees it now, and every player who enters a
   * zone while it lives sees it then. Returns its id.
   */
  notify(text: string, options: { readonly ttlUs?: number } = {}): number {
    const id = this.#nextNotice++;
    const ttlUs = options.ttlUs ?? 60_000_000;
    this.servertalk.notify({ id: String(id), text, ttlMs: Math.ceil(ttlUs / 1000) });
    this.#emit({ type: "notice.issued", id, text, ttlUs });
    this.#platform.log.info("world: notice issued", { id, ttlUs });
    return id;
  }

  // -------------------------------------------------------------------------------------------
  // Login side.

  #installLoginHandlers(): void {
    const client = this.login;
    client.onConnect(async (link) => {
      const reply = await link.request(LSInfo, {
        name: this.name,
        address: this.#publicAddress,
        port: this.eqstream.local.port,
        protocolVersion: String(QEYNOS_PROTOCOL_VERSION),
        serverVersion: VERSION,
        serverType: 0,
        dbVersion: 0,
      });
      this.#worldId = reply.worldId;
      this.#platform.log.info("world: registered with login", { world: this.name, worldId: reply.worldId });
      this.#emit({ type: "world.registered", worldId: reply.worldId });
      this.#sendStatus(link);
    });
    client.onDisconnect((info) => {
      this.#platform.log[this.#closed ? "info" : "warn"]("world: lost login link", { code: info.error.code });
      this.#emit({ type: "world.unregistered", reason: info.error.code });
    });
    client.handle(UsertoWorldReq, async (ctx) => {
      const m = ctx.message;
      const answer = (response: number, accessKey = 0) =>
        ctx.reply({
          lsAccountId: m.lsAccountId,
          charId: m.charId,
          worldId: this.#worldId,
          accessKey,
          response,
          ipAddress: this.#publicAddress,
          port: this.eqstream.local.port,
          fromId: m.fromId,
          toId: m.toId,
        });
      if (this.#draining || this.capacity.status === Status.Offline) return answer(UserToWorldResult.Denied);
      if (!this.capacity.accepting && !this.#online.has(m.charId)) return answer(UserToWorldResult.WorldFull);
      const character = await this.#store.characters.get(m.charId);
      if (
        character === undefined || character.deletedMs !== null || character.accountId !== m.lsAccountId ||
        character.worldId !== this.#worldId
      ) {
        return answer(UserToWorldResult.NoSuchCharacter);
      }
      const grant = this.#keys.issue(this.#platform.clock.now(), m.lsAccountId, m.charId, undefined);
      answer(UserToWorldResult.Allowed, grant.key);
    });
    client.handle(CharacterList, async (ctx) => {
      const list = await this.#store.characters.listByAccount(ctx.message.accountId, { worldId: this.#worldId });
      ctx.reply({ characters: list.slice(0, 64).map((c) => this.#summary(c)) });
    });
    client.handle(CharacterCreate, async (ctx) => {
      const m = ctx.message;
      const reply = (result: number, character?: Character) =>
        ctx.reply({ result, character: character === undefined ? undefined : this.#summary(character) });
      const rules = STORE_RULES.characterName;
      if (m.name.length < rules.min || m.name.length > rules.max) return reply(CreateCharacterResponse.BadNameLength);
      if (!rules.pattern.test(m.name)) return reply(CreateCharacterResponse.NameInvalid);
      const spawn = this.#spawnPoint();
      try {
        const character = await this.#store.characters.create({
          accountId: m.accountId,
          worldId: this.#worldId,
          name: m.name,
          race: m.race,
          class: m.class,
          gender: m.gender,
          zone: this.#startZone,
          ...spawn,
        });
        this.counters.created++;
        this.#emit({ type: "character.created", charId: character.id, accountId: m.accountId, name: character.name });
        reply(CreateCharacterResponse.Success, character);
      } catch (error) {
        if (!(error instanceof StoreError)) throw error;
        const code = error.code === STORE_ERROR_CODES.DUPLICATE_NAME
          ? CreateCharacterResponse.NameTaken
          : error.code === STORE_ERROR_CODES.LIMIT_EXCEEDED
          ? CreateCharacterResponse.MaxCharactersAllowed
          : error.code === STORE_ERROR_CODES.INVALID_NAME
          ? CreateCharacterResponse.NameInvalid
          : error.code === STORE_ERROR_CODES.INVALID_ARGUMENT
          ? CreateCharacterResponse.InvalidRace
          : CreateCharacterResponse.UnknownError;
        reply(code);
      }
    });
    client.handle(CharacterDelete, async (ctx) => {
      const m = ctx.message;
      const character = await this.#store.characters.get(m.charId);
      if (
        character === undefined || character.deletedMs !== null || character.accountId !== m.accountId ||
        character.worldId !== this.#worldId
      ) {
        return ctx.reply({ deleted: false, reason: "No such character" });
      }
      if (this.#online.has(m.charId)) return ctx.reply({ deleted: false, reason: "The character is in the game" });
      await this.#store.characters.delete(m.charId);
      this.counters.deleted++;
      this.#emit({ type: "character.deleted", charId: m.charId, accountId: m.accountId });
      ctx.reply({ deleted: true, reason: "" });
    });
  }

  /** The spawn point, scattered uniformly over a disc of `spawnRadius`. */
  #spawnPoint(): SpawnPoint {
    const spawn = this.#options.spawn ?? WORLD_DEFAULTS.spawn;
    const radius = this.#options.spawnRadius ?? 0;
    if (radius <= 0) return spawn;
    const r = radius * Math.sqrt(this.#platform.rng.float());
    const angle = 2 * Math.PI * this.#platform.rng.float();
    return { ...spawn, x: spawn.x + r * cos(angle), z: spawn.z + r * sin(angle) };
  }

  #summary(c: Character): CharacterSummary {
    return {
      id: c.id,
      worldId: c.worldId,
      name: c.name,
      race: c.race,
      class: c.class,
      gender: c.gender,
      level: Math.min(0xffff, c.level),
      zone: c.zone,
      createdMs: c.createdMs,
      updatedMs: c.updatedMs,
    };
  }

  #sendStatus(link: Link | undefined = this.login.link): void {
    if (link === undefined || link.state !== "open") return;
    try {
      link.send(LSStatus, {
        status: stateFromStatus(this.capacity.status),
        numPlayers: this.#online.size,
        numZones: [...this.#zoneServers.values()].filter((z) => z.link !== undefined).length,
        worldMaxLevel: 50,
      });
    } catch (error) {
      this.#platform.log.debug("world: cannot send LSStatus", {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  /** @internal Starts the periodic LSStatus. */
  startStatusTimer(): void {
    const interval = this.#options.statusIntervalUs ?? WORLD_DEFAULTS.statusIntervalUs;
    const tick = () => {
      this.#statusTimer = undefined;
      if (this.#closed) return;
      this.#keys.expire(this.#platform.clock.now());
      this.#sendStatus();
      this.#statusTimer = this.#platform.timers.setTimeout(tick, interval);
    };
    this.#statusTimer = this.#platform.timers.setTimeout(tick, interval);
  }

  #populationChanged(): void {
    const change = this.capacity.evaluate(this.#online.size);
    if (change !== undefined) {
      this.#platform.log.info("world: status changed", { from: change.from, to: change.to, players: change.players });
      this.#emit({ type: "status.changed", from: change.from, to: change.to, players: change.players });
      this.#sendStatus();
      return;
    }
    // Population alone: tell login within a second, not once per player.
    if (this.#statusSoon === undefined && !this.#closed) {
      this.#statusSoon = this.#platform.timers.setTimeout(() => {
        this.#statusSoon = undefined;
        this.#sendStatus();
      }, 1_000_000);
    }
  }

  /**
   * Pins the world's state as an operator: TAKEN takes no new players, ONLINE takes them regardless of
   * the capacity rule; `undefined` hands control back to the rule. Login hears of it at once.
   */
  pinStatus(status: typeof Status.Online | typeof Status.Taken | undefined): void {
    const change = this.capacity.pin(status);
    if (change !== undefined) {
      this.#emit({ type: "status.changed", from: change.from, to: change.to, players: change.players });
    }
    this.#sendStatus();
  }

  // -------------------------------------------------------------------------------------------
  // Zone side.

  #zoneOf(link: Link): ZoneServerRecord | undefined {
    const name = link.peer?.name;
    if (name === undefined) return undefined;
    const zs = this.#zoneServers.get(name);
    return zs?.link === link ? zs : undefined;
  }

  #installZoneHandlers(): void {
    const st = this.servertalk;
    st.handle(SetConnectInfo, (ctx) => {
      const name = ctx.link.peer?.name ?? "";
      const m = ctx.message;
      let zs = this.#zoneServers.get(name);
      if (zs === undefined) {
        zs = {
          name,
          link: ctx.link,
          address: m.address,
          port: m.port,
          maxPlayers: m.maxPlayers,
          status: Status.Online,
          reportedPlayers: 0,
          load: 0,
          assigned: 0,
        };
        this.#zoneServers.set(name, zs);
      } else {
        if (zs.link !== undefined && zs.link !== ctx.link) this.#zoneLost(zs, "replaced by a new link");
        zs.link = ctx.link;
        zs.address = m.address;
        zs.port = m.port;
        zs.maxPlayers = m.maxPlayers;
        zs.status = Status.Online;
      }
      for (const hosted of m.zones) {
        const existing = this.#instances.get(hosted.instanceId);
        if (existing !== undefined && existing.zoneServer !== name) {
          this.#platform.log.warn("world: instance id claimed by two zone servers", {
            instance: hosted.instanceId,
            holder: existing.zoneServer,
            claimant: name,
          });
          continue;
        }
        if (existing === undefined) {
          this.#instances.set(hosted.instanceId, {
            id: hosted.instanceId,
            zoneName: hosted.name,
            zoneServer: name,
            maxPlayers: this.#options.maxPlayersPerInstance ?? WORLD_DEFAULTS.maxPlayersPerInstance,
            assigned: 0,
          });
        }
        this.#nextInstance = Math.max(this.#nextInstance, hosted.instanceId + 1);
      }
      this.#platform.log.info("world: zone server registered", {
        zoneServer: name,
        address: `${m.address}:${m.port}`,
        maxPlayers: m.maxPlayers,
        instances: m.zones.length,
      });
      this.#emit({ type: "zone.registered", zoneServer: name, address: m.address, port: m.port });
      ctx.reply({ zoneServerId: [...this.#zoneServers.keys()].indexOf(name) + 1 });
      this.#sendStatus();
    });
    st.handle(ZoneStatus, (ctx) => {
      const zs = this.#zoneOf(ctx.link);
      if (zs === undefined) return;
      zs.status = statusFromState(ctx.message.state);
      zs.reportedPlayers = ctx.message.numPlayers;
      zs.load = ctx.message.load;
    });
    st.handle(ZoneUnregister, (ctx) => {
      const zs = this.#zoneOf(ctx.link);
      if (zs === undefined) return;
      zs.status = Status.Offline;
    });
    st.onDisconnect((link, info) => {
      const zs = this.#zoneOf(link);
      if (zs !== undefined) this.#zoneLost(zs, info.error.code);
    });
    st.handle(PlayerPresence, (ctx) => this.#presence(ctx.link, ctx.message));
    st.handle(CharacterSave, async (ctx) => {
      const m = ctx.message;
      const zs = this.#zoneOf(ctx.link);
      const record = this.#online.get(m.charId);
      const refuse = (reason: string) => {
        this.counters.savesRefused++;
        this.#emit({ type: "character.save_refused", charId: m.charId, generation: m.baseVersion, reason });
        ctx.reply({ charId: m.charId, version: record?.generation ?? 0, saved: false });
      };
      if (zs === undefined) return refuse("unregistered zone server");
      if (record === undefined) return refuse("not online");
      if (record.generation !== m.baseVersion || record.zoneServer !== zs.name) return refuse("stale generation");
      let state: CharacterState;
      try {
        state = decodeCharacterState(m.state);
      } catch (error) {
        return refuse(error instanceof Error ? error.message : String(error));
      }
      if (!this.#zones.includes(state.zone)) return refuse(`unknown zone ${state.zone}`);
      const clamp = (v: number) => Math.max(-STORE_RULES.coordinateMax, Math.min(STORE_RULES.coordinateMax, v));
      await this.#store.characters.update(m.charId, {
        zone: state.zone,
        x: clamp(state.x),
        y: clamp(state.y),
        z: clamp(state.z),
        heading: clamp(state.heading),
        level: Math.max(STORE_RULES.level.min, Math.min(STORE_RULES.level.max, Math.round(state.level))),
      });
      this.counters.saves++;
      this.#emit({
        type: "character.saved",
        charId: m.charId,
        generation: m.baseVersion,
        zone: state.zone,
        x: state.x,
        y: state.y,
        z: state.z,
      });
      ctx.reply({ charId: m.charId, version: record.generation, saved: true });
    });
    st.handle(ChatRoute, (ctx) => {
      const m = ctx.message;
      const result = m.kind === ChatKind.Tell
        ? this.#routeTell(m)
        : m.kind === ChatKind.Channel
        ? this.#routeChannel(m)
        : { result: ChatResultCode.NoSuchPlayer, recipients: [] as number[] };
      if (result.result === ChatResultCode.Delivered) {
        this.counters.linesRouted++;
        this.#emit({
          type: "chat.routed",
          kind: m.kind,
          senderId: m.senderId,
          messageId: m.messageId,
          recipients: result.recipients,
        });
      }
      ctx.reply({ result: result.result, recipients: result.recipients.length });
    });
    st.handle(ChannelMembership, (ctx) => {
      const m = ctx.message;
      ctx.reply({ result: m.join ? this.#join(m.charId, m.channel) : this.#leave(m.charId, m.channel) });
    });
    st.handle(ZoneTransfer, async (ctx) => {
      const zs = this.#zoneOf(ctx.link);
      const m = ctx.message;
      const no = (result: number) =>
        ctx.reply({ result, zoneName: m.zoneName, instanceId: 0, address: "", port: 0, accessKey: 0 });
      if (zs === undefined || this.#draining) return no(ZoneChangeResult.ZoneUnavailable);
      const target = this.#zones.find((z) => z.toLowerCase() === m.zoneName.toLowerCase());
      if (target === undefined) return no(ZoneChangeResult.UnknownZone);
      let state: CharacterState;
      try {
        state = decodeCharacterState(m.state);
      } catch {
        return no(ZoneChangeResult.NotAllowed);
      }
      await this.#withCharacter(m.charId, async () => {
        const record = this.#online.get(m.charId);
        if (record === undefined || record.generation !== m.generation || record.zoneServer !== zs.name) {
          return no(ZoneChangeResult.NotAllowed);
        }
        if (record.zoneName === target) return no(ZoneChangeResult.AlreadyThere);
        const spawn = this.#spawnPoint();
        const moved = { ...state, zone: target, ...spawn };
        const result = await this.#handOff(record, moved, target);
        if (result === undefined) return no(ZoneChangeResult.ZoneUnavailable);
        // Durable before the player is told where to go: a crash from here on finds them in the new zone.
        await this.#store.characters.update(m.charId, {
          zone: target,
          x: spawn.x,
          y: spawn.y,
          z: spawn.z,
          heading: spawn.heading,
        });
        this.#place(record, result.instance, result.generation, "transit");
        this.counters.transfers++;
        ctx.reply({
          result: ZoneChangeResult.Granted,
          zoneName: target,
          instanceId: result.instance.id,
          address: result.zoneServer.address,
          port: result.zoneServer.port,
          accessKey: result.key,
        });
      });
    });
  }

  #zoneLost(zs: ZoneServerRecord, reason: string): void {
    zs.link = undefined;
    zs.status = Status.Offline;
    for (const [id, instance] of this.#instances) if (instance.zoneServer === zs.name) this.#instances.delete(id);
    for (const record of [...this.#online.values()]) {
      if (record.zoneServer === zs.name) this.#release(record, `zone server ${zs.name} lost`);
    }
    zs.assigned = 0;
    this.#platform.log[this.#draining ? "info" : "warn"]("world: zone server down", {
      zoneServer: zs.name,
      reason,
    });
    this.#emit({ type: "zone.down", zoneServer: zs.name, reason });
    this.#sendStatus();
  }

  #presence(link: Link, m: Parameters<typeof PlayerPresence.encode>[0]): void {
    const zs = this.#zoneOf(link);
    if (zs === undefined) return;
    const record = this.#online.get(m.charId);
    switch (m.event) {
      case PresenceEvent.Entered: {
        if (record !== undefined && record.generation === m.generation) {
          record.place = "in_zone";
          const held = record.held;
          record.held = [];
          for (const line of held) this.#deliver(record, line);
          return;
        }
        if (record !== undefined) {
          // A stale copy (e.g. re-announced after a partition while the player logged in elsewhere).
          if (record.zoneServer !== zs.name) this.#kickStale(zs, m.charId, m.name, "Superseded by a newer session");
          return;
        }
        const instance = this.#instances.get(m.instanceId);
        if (instance === undefined || instance.zoneServer !== zs.name) {
          this.#kickStale(zs, m.charId, m.name, "Unknown instance");
          return;
        }
        // World restarted or lost the zone for a while: adopt what the zone holds.
        const adopted: OnlineRecord = {
          charId: m.charId,
          accountId: m.accountId,
          name: m.name,
          generation: m.generation,
          zoneServer: zs.name,
          zoneName: m.zoneName,
          instanceId: m.instanceId,
          place: "in_zone",
          held: [],
        };
        this.#track(adopted, instance);
        this.#generation = Math.max(this.#generation, m.generation) >>> 0;
        return;
      }
      case PresenceEvent.LinkDead:
        if (record !== undefined && record.generation === m.generation) record.place = "linkdead";
        return;
      case PresenceEvent.Left:
      case PresenceEvent.NeverArrived:
        if (record !== undefined && record.generation === m.generation) {
          this.#release(record, m.event === PresenceEvent.Left ? "left" : "never arrived");
        }
        return;
    }
  }

  #kickStale(zs: ZoneServerRecord, charId: number, name: string, reason: string): void {
    try {
      zs.link?.send(KickPlayer, { charId, name: name.slice(0, 64), reason });
      this.counters.kicks++;
    } catch {
      // the link is closing; the zone will re-announce and be told again
    }
  }

  // -------------------------------------------------------------------------------------------
  // Online records.

  #track(record: OnlineRecord, instance: InstanceRecord): void {
    this.#online.set(record.charId, record);
    this.#byName.set(record.name.toLowerCase(), record.charId);
    instance.assigned++;
    const zs = this.#zoneServers.get(instance.zoneServer);
    if (zs !== undefined) zs.assigned++;
    this.#populationChanged();
  }

  #untrackPlace(record: OnlineRecord): void {
    const instance = this.#instances.get(record.instanceId);
    if (instance !== undefined && instance.zoneServer === record.zoneServer) instance.assigned--;
    const zs = this.#zoneServers.get(record.zoneServer);
    if (zs !== undefined && zs.assigned > 0) zs.assigned--;
  }

  /** Moves an online record to a new instance under a new generation. */
  #place(record: OnlineRecord, instance: InstanceRecord, generation: number, place: PlayerPlace): void {
    if (this.#online.get(record.charId) === record) this.#untrackPlace(record);
    record.generation = generation;
    record.zoneServer = instance.zoneServer;
    record.zoneName = instance.zoneName;
    record.instanceId = instance.id;
    record.place = place;
    if (this.#online.get(record.charId) === record) {
      instance.assigned++;
      const zs = this.#zoneServers.get(instance.zoneServer);
      if (zs !== undefined) zs.assigned++;
    } else {
      this.#track(record, instance);
    }
  }

  #release(record: OnlineRecord, reason: string): void {
    if (this.#online.get(record.charId) !== record) return;
    this.#untrackPlace(record);
    this.#online.delete(record.charId);
    if (this.#byName.get(record.name.toLowerCase()) === record.charId) this.#byName.delete(record.name.toLowerCase());
    for (const channel of this.#memberOf.get(record.charId) ?? []) {
      const members = this.#channels.get(channel);
      members?.delete(record.charId);
      if (members?.size === 0) this.#channels.delete(channel);
    }
    this.#memberOf.delete(record.charId);
    const waiters = this.#leaveWaiters.get(record.charId);
    this.#leaveWaiters.delete(record.charId);
    for (const wake of waiters ?? []) wake();
    this.#emit({ type: "player.offline", charId: record.charId, name: record.name, reason });
    this.#populationChanged();
  }

  /** Runs `body` with no other hand-off of the same character in progress. */
  async #withCharacter<T>(charId: number, body: () => Promise<T>): Promise<T> {
    const before = this.#charLocks.get(charId) ?? Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    const mine = before.then(() => promise);
    this.#charLocks.set(charId, mine);
    await before;
    try {
      return await body();
    } finally {
      resolve();
      if (this.#charLocks.get(charId) === mine) this.#charLocks.delete(charId);
    }
  }

  /** Asks the zone holding `record` to save and drop it; waits for it to leave (at most `kickWaitUs`). */
  async #evict(record: OnlineRecord, reason: string): Promise<void> {
    const zs = this.#zoneServers.get(record.zoneServer);
    if (zs?.link !== undefined) {
      const left = new Promise<void>((resolve) => {
        const list = this.#leaveWaiters.get(record.charId) ?? [];
        list.push(resolve);
        this.#leaveWaiters.set(record.charId, list);
      });
      this.#kickStale(zs, record.charId, record.name, reason);
      let timer: TimerId | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = this.#platform.timers.setTimeout(resolve, this.#options.kickWaitUs ?? WORLD_DEFAULTS.kickWaitUs);
      });
      await Promise.race([left, timeout]);
      if (timer !== undefined) this.#platform.timers.clearTimeout(timer);
    }
    // An unresponsive zone loses the character: its later saves carry an old generation and are refused.
    this.#release(record, reason);
  }

  // -------------------------------------------------------------------------------------------
  // Placement.

  #usable(instance: InstanceRecord, exclude: number | undefined): boolean {
    if (instance.id === exclude || instance.assigned >= instance.maxPlayers) return false;
    const zs = this.#zoneServers.get(instance.zoneServer);
    return zs?.link !== undefined && zs.status === Status.Online && zs.assigned < zs.maxPlayers;
  }

  /** An instance of `zoneName` with room: the fullest one that has room (so players meet), else a new one. */
  async #placeInstance(zoneName: string, exclude?: number): Promise<InstanceRecord | undefined> {
    for (let round = 0; round < 3; round++) {
      let best: InstanceRecord | undefined;
      for (const instance of this.#instances.values()) {
        if (instance.zoneName !== zoneName || !this.#usable(instance, exclude)) continue;
        if (best === undefined || instance.assigned > best.assigned) best = instance;
      }
      if (best !== undefined) return best;
      const booting = this.#booting.get(zoneName);
      if (booting !== undefined) {
        await booting;
        continue;
      }
      const boot = this.#boot(zoneName);
      this.#booting.set(zoneName, boot);
      try {
        const instance = await boot;
        if (instance === undefined) return undefined;
      } finally {
        this.#booting.delete(zoneName);
      }
    }
    return undefined;
  }

  async #boot(zoneName: string): Promise<InstanceRecord | undefined> {
    let host: ZoneServerRecord | undefined;
    for (const zs of this.#zoneServers.values()) {
      if (zs.link === undefined || zs.status !== Status.Online || zs.assigned >= zs.maxPlayers) continue;
      if (host === undefined || zs.maxPlayers - zs.assigned > host.maxPlayers - host.assigned) host = zs;
    }
    if (host === undefined || host.link === undefined) return undefined;
    const id = this.#nextInstance++;
    const maxPlayers = this.#options.maxPlayersPerInstance ?? WORLD_DEFAULTS.maxPlayersPerInstance;
    let result;
    try {
      result = await host.link.request(ZoneBoot, { zoneName, instanceId: id, maxPlayers }, {
        timeoutUs: this.#options.zoneRequestTimeoutUs ?? WORLD_DEFAULTS.zoneRequestTimeoutUs,
      });
    } catch (error) {
      this.#platform.log.warn("world: zone boot failed", {
        zoneServer: host.name,
        zone: zoneName,
        error: error instanceof Error ? error.message : String(error),
      });
      return undefined;
    }
    if (!result.accepted) {
      this.#platform.log.warn("world: zone server refused to boot an instance", {
        zoneServer: host.name,
        zone: zoneName,
        reason: result.reason,
      });
      return undefined;
    }
    const instance: InstanceRecord = { id, zoneName, zoneServer: host.name, maxPlayers, assigned: 0 };
    this.#instances.set(id, instance);
    this.#platform.log.info("world: booted zone instance", { zoneServer: host.name, zone: zoneName, instance: id });
    this.#emit({ type: "instance.booted", zoneServer: host.name, zoneName, instanceId: id });
    return instance;
  }

  /**
   * Hands a character to a zone instance: picks (or boots) one, asks its zone to expect the player
   * under a new generation with a one-time key. Tries up to three instances.
   */
  async #handOff(
    who: { readonly charId: number; readonly accountId: number; readonly name: string; readonly instanceId?: number },
    state: Omit<CharacterState, "generation">,
    zoneName: string,
  ): Promise<{ instance: InstanceRecord; zoneServer: ZoneServerRecord; key: number; generation: number } | undefined> {
    let exclude = who.instanceId;
    for (let attempt = 0; attempt < 3; attempt++) {
      const instance = await this.#placeInstance(zoneName, exclude);
      if (instance === undefined) return undefined;
      const zs = this.#zoneServers.get(instance.zoneServer);
      if (zs?.link === undefined) return undefined;
      const generation = this.#generation = (this.#generation + 1) >>> 0;
      let key = 0;
      while (key === 0) key = this.#platform.rng.u32() >>> 0;
      // Reserve the place while the zone answers, so concurrent hand-offs see it taken.
      instance.assigned++;
      zs.assigned++;
      let reply;
      try {
        reply = await zs.link.request(ZoneToZoneRequest, {
          charId: who.charId,
          accountId: who.accountId,
          name: who.name.slice(0, 64),
          to: { zoneId: 0, instanceId: instance.id, x: state.x, y: state.y, z: state.z, heading: state.heading },
          accessKey: key,
          state: encodeCharacterState({ ...state, generation }),
        }, { timeoutUs: this.#options.zoneRequestTimeoutUs ?? WORLD_DEFAULTS.zoneRequestTimeoutUs });
      } catch (error) {
        this.#platform.log.warn("world: zone hand-off failed", {
          zoneServer: zs.name,
          error: error instanceof Error ? error.message : String(error),
        });
        reply = undefined;
      } finally {
        instance.assigned--;
        if (zs.assigned > 0) zs.assigned--;
      }
      if (reply?.accepted === true) {
        this.counters.handOffs++;
        this.#emit({
          type: "player.assigned",
          charId: who.charId,
          name: who.name,
          zoneServer: zs.name,
          zoneName: instance.zoneName,
          instanceId: instance.id,
          generation,
        });
        return { instance, zoneServer: zs, key, generation };
      }
      exclude = instance.id;
    }
    return undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Clients entering the world.

  /** @internal An application packet from a client. */
  onApp(connection: EqStreamConnection, opcode: number, payload: Uint8Array): void {
    if (connection.data !== undefined) return; // one request per connection
    let message;
    try {
      message = QeynosWorld.decode(opcode, payload, QEYNOS_PROTOCOL_VERSION);
    } catch (error) {
      if (!(error instanceof AppMessageError)) throw error;
      this.#sendTo(connection, { kind: "ProtocolError", code: 1, opcode, text: error.message.slice(0, 200) });
      connection.close("local");
      return;
    }
    if (message.kind !== "WorldEnterRequest") return;
    connection.data = "entering";
    void this.#enter(connection, message).catch((error) => {
      this.#platform.log.error("world: entry failed", {
        error: error instanceof Error ? error.message : String(error),
      });
      this.#sendTo(connection, { kind: "ProtocolError", code: 8, opcode, text: "Internal error" });
      connection.close("local");
    });
  }

  /** @internal A client connected: it must present its key in time. */
  onOpened(connection: EqStreamConnection): void {
    const timeout = this.#options.entryTimeoutUs ?? WORLD_DEFAULTS.entryTimeoutUs;
    this.#platform.timers.setTimeout(() => {
      if (!connection.finished && connection.data === undefined) connection.close("local");
    }, timeout);
  }

  #sendTo(connection: EqStreamConnection, message: QeynosInput): void {
    if (connection.finished) return;
    const { opcode, payload } = QeynosWorld.encode(message, QEYNOS_PROTOCOL_VERSION);
    try {
      connection.sendApp(opcode, payload);
    } catch {
      // the session is gone or saturated; the client times out and starts over
    }
  }

  async #enter(
    connection: EqStreamConnection,
    m: { readonly accountId: number; readonly characterId: number; readonly accessKey: number },
  ): Promise<void> {
    const refuse = (result: number) => {
      this.counters.refusedEntries++;
      this.#sendTo(connection, { kind: "WorldEnterReply", result, characterId: m.characterId, characterName: "" });
      connection.close("local");
    };
    if (this.#draining) return refuse(EnterResult.Draining);
    const redeemed = this.#keys.redeem(m.accessKey, m.accountId, m.characterId, this.#platform.clock.now());
    if (!redeemed.ok) return refuse(redeemed.reason === "expired" ? EnterResult.KeyExpired : EnterResult.BadKey);
    await this.#withCharacter(m.characterId, async () => {
      const character = await this.#store.characters.get(m.characterId);
      if (character === undefined || character.deletedMs !== null || character.accountId !== m.accountId) {
        return refuse(EnterResult.BadKey);
      }
      const existing = this.#online.get(m.characterId);
      if (existing !== undefined) await this.#evict(existing, "Logged in again");
      if (connection.finished) return;
      const latest = existing === undefined ? character : await this.#store.characters.get(m.characterId) ?? character;
      const zoneName = this.#zones.includes(latest.zone) ? latest.zone : this.#startZone;
      const state: Omit<CharacterState, "generation"> = {
        accountId: latest.accountId,
        name: latest.name,
        level: latest.level,
        race: latest.race,
        class: latest.class,
        zone: zoneName,
        x: latest.x,
        y: latest.y,
        z: latest.z,
        heading: latest.heading,
      };
      const result = await this.#handOff(
        { charId: latest.id, accountId: latest.accountId, name: latest.name },
        state,
        zoneName,
      );
      if (result === undefined) return refuse(EnterResult.Full);
      const record: OnlineRecord = {
        charId: latest.id,
        accountId: latest.accountId,
        name: latest.name,
        generation: result.generation,
        zoneServer: result.zoneServer.name,
        zoneName,
        instanceId: result.instance.id,
        place: "assigned",
        held: [],
      };
      this.#track(record, result.instance);
      this.counters.entered++;
      this.#sendTo(connection, {
        kind: "WorldEnterReply",
        result: EnterResult.Accepted,
        characterId: latest.id,
        characterName: latest.name,
      });
      this.#sendTo(connection, {
        kind: "ZoneAssignment",
        characterId: latest.id,
        zoneName,
        instanceId: result.instance.id,
        address: result.zoneServer.address,
        port: result.zoneServer.port,
        accessKey: result.key,
      });
      connection.close("local");
    });
  }

  // -------------------------------------------------------------------------------------------
  // Chat.

  #deliver(record: OnlineRecord, line: HeldLine): void {
    if (record.place === "in_zone") {
      const zs = this.#zoneServers.get(record.zoneServer);
      try {
        zs?.link?.send(ChatDeliver, line);
      } catch {
        // the zone's link is failing; the zone will be declared lost
      }
    } else if (record.held.length < (this.#options.maxHeldLinesPerPlayer ?? WORLD_DEFAULTS.maxHeldLinesPerPlayer)) {
      record.held.push(line);
    }
  }

  #reachable(record: OnlineRecord): boolean {
    return record.place !== "linkdead";
  }

  #routeTell(m: Parameters<typeof ChatRoute.encode>[0]): { result: number; recipients: number[] } {
    const charId = this.#byName.get(m.to.toLowerCase());
    const record = charId === undefined ? undefined : this.#online.get(charId);
    if (record === undefined || !this.#reachable(record)) {
      return { result: ChatResultCode.NoSuchPlayer, recipients: [] };
    }
    this.#deliver(record, {
      kind: ChatKind.Tell,
      senderId: m.senderId,
      senderName: m.senderName,
      messageId: m.messageId,
      channel: "",
      text: m.text,
      recipients: [record.charId],
    });
    return { result: ChatResultCode.Delivered, recipients: [record.charId] };
  }

  #routeChannel(m: Parameters<typeof ChatRoute.encode>[0]): { result: number; recipients: number[] } {
    const key = m.channel.toLowerCase();
    const members = this.#channels.get(key);
    if (members === undefined || !members.has(m.senderId)) {
      return { result: ChatResultCode.NotInChannel, recipients: [] };
    }
    const byZone = new Map<string, number[]>();
    const recipients: number[] = [];
    for (const charId of members) {
      if (charId === m.senderId) continue;
      const record = this.#online.get(charId);
      if (record === undefined || !this.#reachable(record)) continue;
      recipients.push(charId);
      if (record.place === "in_zone") {
        const list = byZone.get(record.zoneServer) ?? [];
        list.push(charId);
        byZone.set(record.zoneServer, list);
      } else {
        this.#deliver(record, {
          kind: ChatKind.Channel,
          senderId: m.senderId,
          senderName: m.senderName,
          messageId: m.messageId,
          channel: m.channel,
          text: m.text,
          recipients: [charId],
        });
      }
    }
    for (const [zone, ids] of byZone) {
      try {
        this.#zoneServers.get(zone)?.link?.send(ChatDeliver, {
          kind: ChatKind.Channel,
          senderId: m.senderId,
          senderName: m.senderName,
          messageId: m.messageId,
          channel: m.channel,
          text: m.text,
          recipients: ids,
        });
      } catch {
        // the zone's link is failing
      }
    }
    return { result: ChatResultCode.Delivered, recipients };
  }

  #join(charId: number, channel: string): number {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(channel)) return ChannelResult.BadName;
    if (!this.#online.has(charId)) return ChannelResult.NotMember;
    const key = channel.toLowerCase();
    const mine = this.#memberOf.get(charId) ?? new Set<string>();
    if (!mine.has(key) && mine.size >= (this.#options.maxChannelsPerPlayer ?? WORLD_DEFAULTS.maxChannelsPerPlayer)) {
      return ChannelResult.TooManyChannels;
    }
    mine.add(key);
    this.#memberOf.set(charId, mine);
    const members = this.#channels.get(key) ?? new Set<number>();
    members.add(charId);
    this.#channels.set(key, members);
    return ChannelResult.Joined;
  }

  #leave(charId: number, channel: string): number {
    const key = channel.toLowerCase();
    const mine = this.#memberOf.get(charId);
    if (mine === undefined || !mine.delete(key)) return ChannelResult.NotMember;
    const members = this.#channels.get(key);
    members?.delete(charId);
    if (members?.size === 0) this.#channels.delete(key);
    return ChannelResult.Left;
  }

  // -------------------------------------------------------------------------------------------
  // Life cycle.

  /**
   * Drains: the world goes OFFLINE (login shows it down, new entries are refused), then waits up to
   * `graceUs` (default 10 s) for the zones to save and release their players.
   */
  async drain(options: { readonly graceUs?: number } = {}): Promise<void> {
    if (!this.#draining) {
      this.#draining = true;
      const change = this.capacity.offline();
      if (change !== undefined) {
        this.#emit({ type: "status.changed", from: change.from, to: change.to, players: change.players });
      }
      this.#emit({ type: "drain.started" });
      this.#platform.log.info("world: draining", { players: this.#online.size });
      this.#sendStatus();
    }
    const deadline = this.#platform.clock.now() + (options.graceUs ?? 10_000_000);
    while (this.#online.size > 0 && this.#platform.clock.now() < deadline) {
      await new Promise<void>((resolve) => this.#platform.timers.setTimeout(resolve, 50_000));
    }
  }

  /** Drains (see {@linkcode drain}), then closes the zone links and the login link with a reason. */
  async close(options: { readonly graceUs?: number } = {}): Promise<void> {
    if (this.#closed) return;
    await this.drain(options);
    this.#closed = true;
    if (this.#statusTimer !== undefined) this.#platform.timers.clearTimeout(this.#statusTimer);
    if (this.#statusSoon !== undefined) this.#platform.timers.clearTimeout(this.#statusSoon);
    const players = this.#online.size;
    try {
      this.login.link?.send(WorldListRemove, { reason: "World shutting down" });
    } catch {
      // login is gone already
    }
    await this.servertalk.shutdown({ graceUs: 2_000_000 });
    await this.login.close();
    this.eqstream.close();
    this.#emit({ type: "drain.finished", players });
  }
}

/**
 * Starts a world role on `platform`: EQStream for clients entering the world, a servertalk client to
 * login and a servertalk server for zones. Resolves once listening; registration with login happens
 * in the background (and again after every reconnect) — see {@linkcode WorldServer.worldId}.
 */
export async function startWorld(platform: Platform, options: WorldOptions): Promise<WorldServer> {
  const holder: { world?: WorldServer } = {};
  const eqstream = await listenEqStream(platform, {
    address: options.address ?? WORLD_DEFAULTS.address,
    port: options.port ?? WORLD_DEFAULTS.port,
    ...(options.session === undefined ? {} : { session: options.session }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  }, {
    ready: (connection) => holder.world?.onOpened(connection),
    app: (connection, opcode, payload) => holder.world?.onApp(connection, opcode, payload),
  });
  const world = new WorldServer(platform, options, eqstream);
  holder.world = world;
  if (options.servertalk !== undefined) {
    try {
      world.servertalkAddress = await world.servertalk.listen({
        port: options.servertalk.port,
        ...(options.servertalk.address === undefined ? {} : { address: options.servertalk.address }),
        ...(options.servertalk.tls === undefined ? {} : { tls: options.servertalk.tls }),
      });
    } catch (error) {
      eqstream.close();
      throw error;
    }
  }
  world.startStatusTimer();
  void world.login.dial().catch(() => {});
  platform.log.info("world: started", {
    world: world.name,
    eqstream: `udp ${eqstream.local.address}:${eqstream.local.port}`,
    public: `${world.publicAddress.address}:${world.publicAddress.port}`,
    servertalk: world.servertalkAddress === undefined
      ? "in-process"
      : `tcp ${world.servertalkAddress.address}:${world.servertalkAddress.port}`,
    login: options.login.connect !== undefined ? "in-process" : `tcp ${options.login.address}:${options.login.port}`,
    zones: (options.zones ?? WORLD_DEFAULTS.zones).join(","),
  });
  return world;
}
