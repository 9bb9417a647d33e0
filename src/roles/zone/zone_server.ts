/**
 * The zone role: hosts zone instances booted by world, admits clients holding a key world handed
 * out, spawns them, relays movement to the players in view (a spatial grid decides who sees whom),
 * delivers say and shout by range and the tells and channel lines world routes, moves players to other
 * zones through world, keeps a link-dead window before logging a dropped player out, saves characters
 * through world (on logout, link-dead timeout, zone change, drain, and periodically), and runs a
 * fixed-rate tick whose duration is measured.
 * @module
 */
import {
  type EqStreamConnection,
  type EqStreamServer,
  listen as listenEqStream,
  type ServerLimits,
  type ServerSessionOptions,
} from "../../eqstream/mod.ts";
import type { Platform, SocketAddress } from "../../platform/platform.ts";
import {
  CharacterSave,
  KickPlayer,
  ServerRole,
  ServerState,
  ServertalkClient,
  SetConnectInfo,
  type SystemwideMessageValue,
  ZoneStatus,
  ZoneToZoneRequest,
  ZoneUnregister,
} from "../../servertalk/mod.ts";
import {
  AppMessageError,
  ChatKind,
  ChatResultCode,
  EnterResult,
  LeaveReason,
  LogoutResult,
  MAX_MOVE_UPDATES,
  ProtocolErrorCode,
  QEYNOS_PROTOCOL_VERSION,
  type QeynosInput,
  type QeynosMessage,
  QeynosWorld,
  ZoneChangeResult,
} from "../messages/mod.ts";
import { AccessKeys } from "../shared/access_keys.ts";
import { CapacityState, type ServerStatus, ServerStatus as Status } from "../shared/capacity.ts";
import { type CharacterState, decodeCharacterState, encodeCharacterState } from "../shared/character_state.ts";
import { type CommonEvent, emitter, type LeaveCause, type RoleObserver, type ZoneEvent } from "../shared/events.ts";
import { InterestGrid } from "../shared/interest_grid.ts";
import { NoticeBoard } from "../shared/notice_board.ts";
import {
  ChannelMembership,
  ChatDeliver,
  ChatRoute,
  PlayerPresence,
  PresenceEvent,
  ZoneBoot,
  ZoneTransfer,
} from "../shared/role_messages.ts";
import { SerialQueue } from "../shared/serial_queue.ts";
import { TickLoop, type TickStats } from "../shared/tick_loop.ts";
import { ZONE_ACK_DELAY_US } from "../shared/zone_session.ts";
import type { Uplink } from "../shared/uplink.ts";
import { encodeMoveEntry, encodeMoveUpdates } from "../messages/move_updates.ts";
import { keepLatestPerSpawn } from "./latest_per_spawn.ts";

/** Options of {@linkcode startZone}. */
export interface ZoneOptions {
  /** The zone server's name (its servertalk name; unique per world); default "zone-1". */
  readonly name?: string;
  /** EQStream bind address; default "127.0.0.1". */
  readonly address?: string;
  /** EQStream UDP port; default 9300 (0: any free one). */
  readonly port?: number;
  /** The address clients are told to connect to; default the bind address ("127.0.0.1" for "0.0.0.0"). */
  readonly publicAddress?: string;
  /** The world server. */
  readonly world: Uplink;
  /** Players at most on this zone server (the capacity rule marks it TAKEN at this); default 1000. */
  readonly maxPlayers?: number;
  /** Instances at most; default 32. */
  readonly maxInstances?: number;
  /** Tick rate of the zone loop (interest updates, link-dead, autosave, status); default 10 Hz. */
  readonly tickHz?: number;
  /** The clock tick durations are measured with; default the platform's (a simulated benchmark passes a real one). */
  readonly tickDurationClock?: { now(): number };
  /** Players within this distance (x/z plane) see each other; default 100. */
  readonly viewRadius?: number;
  /** A player leaves view only beyond radius + this (no flapping at the edge); default 10. */
  readonly viewHysteresis?: number;
  /** Range of a say; default 50. */
  readonly sayRange?: number;
  /** Range of a shout; default 500. */
  readonly shoutRange?: number;
  /**
   * Movement updates for one player that come within this long of the last ones sent to them wait, and go
   * out together (the latest position of each spawn) in one `MoveUpdates` when the window closes; an
   * update after a quiet spell goes at once. Bounds what a crowd costs per player at the price of up to
   * this much latency; 0 never waits (updates of one turn still share a batch). Default 20 ms.
   */
  readonly moveBatchUs?: number;
  /** Movement updates relayed at once per player per second; faster ones are merged into the next tick. Default 20. */
  readonly maxMoveHz?: number;
  /** Coordinates beyond ±bounds are refused; default 100 000. */
  readonly bounds?: number;
  /** A dropped player stays in the world this long before being saved and logged out; default 30 s. */
  readonly linkDeadUs?: number;
  /** Characters that moved are saved at least this often; default 60 s. */
  readonly autosaveUs?: number;
  /** ZoneStatus to world this often (and on change); default 2 s. */
  readonly statusIntervalUs?: number;
  /** How long a key from world stays valid; default 30 s. */
  readonly keyTtlUs?: number;
  /** Chat lines per second per player (burst twice that); default 5. */
  readonly chatPerSecond?: number;
  /** Saves kept for a later retry while world is unreachable, at most; default 10 000. */
  readonly maxPendingSaves?: number;
  /** Requests one client may have waiting (tells, zone change, logout); default 16. */
  readonly maxQueuedPerSession?: number;
  /** Deadline of requests to world; default 5 s. */
  readonly worldRequestTimeoutUs?: number;
  /**
   * EQStream options of client sessions. The zone's default `ackDelayUs` is 25 ms (EQStream's is 2 ms; see
   * `shared/zone_session.ts`): a lone movement update is acked with the next packet to that client or after
   * 25 ms, and the zone's tail-loss probes allow clients as long, so a client process that runs a few
   * milliseconds late does not set off retransmissions. Clients should delay their acks as long (the bot does).
   */
  readonly session?: ServerSessionOptions;
  readonly limits?: ServerLimits;
  readonly observer?: RoleObserver;
}

/** Defaults of {@linkcode ZoneOptions}. */
export const ZONE_DEFAULTS = {
  name: "zone-1",
  address: "127.0.0.1",
  port: 9300,
  maxPlayers: 1000,
  maxInstances: 32,
  tickHz: 10,
  viewRadius: 100,
  viewHysteresis: 10,
  sayRange: 50,
  shoutRange: 500,
  maxMoveHz: 20,
  moveBatchUs: 20_000,
  ackDelayUs: ZONE_ACK_DELAY_US,
  bounds: 100_000,
  linkDeadUs: 30_000_000,
  autosaveUs: 60_000_000,
  statusIntervalUs: 2_000_000,
  keyTtlUs: 30_000_000,
  chatPerSecond: 5,
  maxPendingSaves: 10_000,
  maxQueuedPerSession: 16,
  worldRequestTimeoutUs: 5_000_000,
} as const;

const V = QEYNOS_PROTOCOL_VERSION;
const MOVE_UPDATE = QeynosWorld.opcodeOf("MoveUpdate", V);
const MOVE_UPDATES = QeynosWorld.opcodeOf("MoveUpdates", V);

/** A position waiting in a player's movement batch (shared by every player it goes to). */
interface MoveEntry {
  readonly spawnId: number;
  readonly sequence: number;
  readonly serverTimeMs: number;
  readonly position: { readonly x: number; readonly y: number; readonly z: number; readonly heading: number };
  /** The entry as a lone `MoveUpdate`, once somebody needed it so. */
  payload: Uint8Array | undefined;
  /** The entry inside a `MoveUpdates`, once somebody needed it so. */
  entry: Uint8Array | undefined;
}
/** Outbox marker: close the connection. */
const CLOSE = -1;

interface Instance {
  readonly id: number;
  readonly zoneName: string;
  readonly maxPlayers: number;
  readonly grid: InterestGrid;
  readonly players: Map<number, Player>;
}

interface Pending {
  readonly instanceId: number;
  readonly state: CharacterState;
}

interface Player {
  readonly spawnId: number;
  readonly charId: number;
  readonly accountId: number;
  readonly name: string;
  readonly level: number;
  readonly race: number;
  readonly class: number;
  readonly generation: number;
  readonly instance: Instance;
  connection: EqStreamConnection | undefined;
  x: number;
  y: number;
  z: number;
  heading: number;
  readonly view: Set<Player>;
  /** Moved since its view was last brought up to date (at `viewAtUs`). */
  moved: boolean;
  viewAtUs: number;
  moveTokens: number;
  tokensAtUs: number;
  pendingMove: { sequence: number; x: number; y: number; z: number; heading: number } | undefined;
  /**
   * Positions of spawns in view waiting for the batch window, in arrival order; a spawn that moved
   * twice is in it twice and only its latest goes out (an array: a map per player cost more).
   */
  moveBatch: (MoveEntry | undefined)[];
  /**
   * Entries in use at the front of `moveBatch`. Arrays keep their storage from batch to batch
   * (`length = 0` would free it, and the next push allocate again); a flush swaps in a spare one.
   */
  moveBatchCount: number;
  /** In `#movesDue`. */
  moveBatchWaiting: boolean;
  /** When movement was last sent to this player. */
  movesSentAtUs: number;
  chatTokens: number;
  chatAtUs: number;
  linkDeadSinceUs: number | undefined;
  dirty: boolean;
  lastSaveUs: number;
  /** Logging out, zoning or being removed: no more moves or chat. */
  leaving: boolean;
  gone: boolean;
}

interface ClientState {
  player: Player | undefined;
  entered: boolean;
  /** The player left on purpose (logout, zone change): a close is not link death. */
  done: boolean;
  readonly queue: SerialQueue;
}

/** A player as the zone sees it. */
export interface ZonePlayerView {
  readonly charId: number;
  readonly name: string;
  readonly spawnId: number;
  readonly generation: number;
  readonly zoneName: string;
  readonly instanceId: number;
  readonly x: number;
  readonly y: number;
  readonly z: number;
  readonly connected: boolean;
  readonly linkDead: boolean;
  /** Character ids of the players in view. */
  readonly inView: readonly number[];
}

/** Counters of the zone role. */
export interface ZoneCounters {
  entered: number;
  refusedEntries: number;
  movesIn: number;
  movesMerged: number;
  moveUpdatesOut: number;
  chatLocal: number;
  chatRouted: number;
  chatDelivered: number;
  chatMissed: number;
  rateLimited: number;
  saves: number;
  savesFailed: number;
  savesQueued: number;
  linkDead: number;
  linkDeadExpired: number;
  zoneChanges: number;
  protocolErrors: number;
  sendFailures: number;
}

/** A running zone role. */
export class ZoneServer {
  readonly name: string;
  readonly eqstream: EqStreamServer;
  /** The link to world. */
  readonly world: ServertalkClient;
  readonly capacity: CapacityState;
  readonly tick: TickLoop;
  readonly counters: ZoneCounters = {
    entered: 0,
    refusedEntries: 0,
    movesIn: 0,
    movesMerged: 0,
    moveUpdatesOut: 0,
    chatLocal: 0,
    chatRouted: 0,
    chatDelivered: 0,
    chatMissed: 0,
    rateLimited: 0,
    saves: 0,
    savesFailed: 0,
    savesQueued: 0,
    linkDead: 0,
    linkDeadExpired: 0,
    zoneChanges: 0,
    protocolErrors: 0,
    sendFailures: 0,
  };
  readonly #platform: Platform;
  readonly #options: ZoneOptions;
  readonly #instances = new Map<number, Instance>();
  readonly #byChar = new Map<number, Player>();
  readonly #keys: AccessKeys<Pending>;
  readonly #notices = new NoticeBoard();
  readonly #pendingSaves = new Map<number, { readonly player: Player; readonly state: CharacterState }>();
  /** Characters asking world to move them to another zone (which may be hosted here too). */
  readonly #zoning = new Set<number>();
  readonly #emit: (event: ZoneEvent | CommonEvent) => void;
  readonly #publicAddress: string;
  readonly #viewRadius: number;
  readonly #leaveRadius2: number;
  readonly #moveBatchUs: number;
  /** The tick's period: how often a moving player's view is brought up to date. */
  readonly #viewIntervalUs: number;
  /** An empty movement batch array to swap in at the next flush. */
  #spareBatch: (MoveEntry | undefined)[] | undefined = [];
  /** Granularity of movement batch timers: a quarter of the window (at least 1 ms). */
  readonly #moveSlotUs: number;
  /** Players whose movement batch leaves at a time (µs), by that time; one timer each. */
  readonly #movesDue = new Map<number, Player[]>();
  #nextSpawn = 1;
  #players = 0;
  #dispatching: EqStreamConnection | undefined;
  readonly #outbox: { connection: EqStreamConnection; opcode: number; payload: Uint8Array | undefined }[] = [];
  /** A deferred flush of `#outbox` is on its way. */
  #outboxQueued = false;
  #lastStatusUs = 0;
  #draining = false;
  #closed = false;

  /** @internal Use {@linkcode startZone}. */
  constructor(platform: Platform, options: ZoneOptions, eqstream: EqStreamServer) {
    this.#platform = platform;
    this.#options = options;
    this.name = options.name ?? ZONE_DEFAULTS.name;
    this.eqstream = eqstream;
    const bind = eqstream.local.address;
    this.#publicAddress = options.publicAddress ?? (bind === "0.0.0.0" || bind === "::" ? "127.0.0.1" : bind);
    this.capacity = new CapacityState({ maxPlayers: options.maxPlayers ?? ZONE_DEFAULTS.maxPlayers });
    this.#keys = new AccessKeys(platform.rng, { ttlUs: options.keyTtlUs ?? ZONE_DEFAULTS.keyTtlUs });
    this.#viewRadius = options.viewRadius ?? ZONE_DEFAULTS.viewRadius;
    const leave = this.#viewRadius + (options.viewHysteresis ?? ZONE_DEFAULTS.viewHysteresis);
    this.#leaveRadius2 = leave * leave;
    this.#moveBatchUs = options.moveBatchUs ?? ZONE_DEFAULTS.moveBatchUs;
    this.#viewIntervalUs = 1_000_000 / (options.tickHz ?? ZONE_DEFAULTS.tickHz);
    // Batches due in the same slot (1/40 of the window: 0.5 ms by default) share one timer. Wider
    // slots save timers but send everyone's batches in bursts, which costs as much in the end.
    this.#moveSlotUs = Math.max(100, Math.floor(this.#moveBatchUs / 40));
    this.#emit = emitter("zone", () => this.name, () => platform.clock.now(), options.observer);
    this.tick = new TickLoop(platform, {
      hz: options.tickHz ?? ZONE_DEFAULTS.tickHz,
      onTick: (_n, now) => this.#onTick(now),
      ...(options.tickDurationClock === undefined ? {} : { durationClock: options.tickDurationClock }),
    });
    const uplink = options.world;
    this.world = new ServertalkClient(platform, {
      ...uplink.link,
      name: this.name,
      role: ServerRole.Zone,
      account: uplink.account,
      password: uplink.password,
      ...(uplink.connect === undefined ? {} : { connect: uplink.connect }),
      ...(uplink.address === undefined ? {} : { address: uplink.address }),
      ...(uplink.port === undefined ? {} : { port: uplink.port }),
      ...(uplink.tls === undefined ? {} : { tls: uplink.tls }),
    });
    this.#installWorldHandlers();
  }

  /** Where clients are told to connect. */
  get publicAddress(): SocketAddress {
    return { address: this.#publicAddress, port: this.eqstream.local.port };
  }

  get status(): ServerStatus {
    return this.capacity.status;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Players here (connected or link-dead). */
  get playerCount(): number {
    return this.#players;
  }

  /** Players here, instance by instance. */
  players(): ZonePlayerView[] {
    const out: ZonePlayerView[] = [];
    for (const instance of this.#instances.values()) {
      for (const p of instance.players.values()) {
        out.push({
          charId: p.charId,
          name: p.name,
          spawnId: p.spawnId,
          generation: p.generation,
          zoneName: instance.zoneName,
          instanceId: instance.id,
          x: p.x,
          y: p.y,
          z: p.z,
          connected: p.connection !== undefined,
          linkDead: p.linkDeadSinceUs !== undefined,
          inView: [...p.view].map((q) => q.charId),
        });
      }
    }
    return out;
  }

  /** Instances hosted here. */
  instances(): { readonly id: number; readonly zoneName: string; readonly players: number }[] {
    return [...this.#instances.values()].map((i) => ({ id: i.id, zoneName: i.zoneName, players: i.players.size }));
  }

  /** Tick loop statistics (duration and lag percentiles). */
  tickStats(): TickStats {
    return this.tick.stats();
  }

  report(): Record<string, unknown> {
    return {
      role: "zone",
      name: this.name,
      status: this.capacity.status,
      draining: this.#draining,
      players: this.#players,
      maxPlayers: this.capacity.maxPlayers,
      keysPending: this.#keys.size,
      pendingSaves: this.#pendingSaves.size,
      eqstream: { address: this.eqstream.local, public: this.publicAddress, ...this.eqstream.stats },
      world: this.world.metrics(),
      tick: this.tick.stats(),
      counters: { ...this.counters },
      instances: this.instances(),
    };
  }

  // -------------------------------------------------------------------------------------------
  // World side.

  #installWorldHandlers(): void {
    const client = this.world;
    client.onConnect(async (link) => {
      await link.request(SetConnectInfo, {
        address: this.#publicAddress,
        port: this.eqstream.local.port,
        maxPlayers: this.capacity.maxPlayers,
        zones: this.#hosted(),
      });
      // Re-announce everyone (world may have restarted or written us off), then retry unsaved work.
      for (const player of this.#byChar.values()) {
        link.send(PlayerPresence, this.#presenceOf(player, PresenceEvent.Entered));
        if (player.linkDeadSinceUs !== undefined) {
          link.send(PlayerPresence, this.#presenceOf(player, PresenceEvent.LinkDead));
        }
      }
      this.#sendStatus();
      void this.#flushSaves();
      this.#platform.log.info("zone: registered with world", { zone: this.name });
    });
    client.onDisconnect((info) => {
      this.#platform.log[this.#closed ? "info" : "warn"]("zone: lost world link", {
        zone: this.name,
        code: info.error.code,
      });
    });
    client.handle(ZoneBoot, (ctx) => {
      const m = ctx.message;
      if (this.#draining) return ctx.reply({ accepted: false, reason: "Zone server is draining" });
      if (this.#instances.has(m.instanceId)) return ctx.reply({ accepted: true, reason: "" });
      if (this.#instances.size >= (this.#options.maxInstances ?? ZONE_DEFAULTS.maxInstances)) {
        return ctx.reply({ accepted: false, reason: "Too many instances" });
      }
      this.#instances.set(m.instanceId, {
        id: m.instanceId,
        zoneName: m.zoneName,
        maxPlayers: Math.max(1, m.maxPlayers),
        grid: new InterestGrid(this.#viewRadius),
        players: new Map(),
      });
      this.#platform.log.info("zone: instance booted", { zone: this.name, name: m.zoneName, instance: m.instanceId });
      this.#emit({ type: "instance.booted", zoneName: m.zoneName, instanceId: m.instanceId });
      ctx.reply({ accepted: true, reason: "" });
      this.#sendStatus();
    });
    client.handle(ZoneToZoneRequest, (ctx) => {
      const m = ctx.message;
      const no = (reason: string) => ctx.reply({ charId: m.charId, accepted: false, reason });
      const instance = this.#instances.get(m.to.instanceId);
      if (instance === undefined) return no("No such instance");
      if (this.#draining) return no("Zone server is draining");
      let state: CharacterState;
      try {
        state = decodeCharacterState(m.state);
      } catch (error) {
        return no(error instanceof Error ? error.message : "Bad state");
      }
      const existing = this.#byChar.get(m.charId);
      // A player zoning to an instance on this same server is answered and removed by #zoneChange.
      if (existing !== undefined && !this.#zoning.has(m.charId)) {
        this.#drop(existing, "superseded", "Logged in elsewhere");
      }
      let pendingHere = 0;
      for (const grant of this.#keys.pending()) if (grant.data.instanceId === instance.id) pendingHere++;
      if (instance.players.size + pendingHere >= instance.maxPlayers) return no("Instance is full");
      const grant = this.#keys.accept(m.accessKey, this.#platform.clock.now(), m.accountId, m.charId, {
        instanceId: instance.id,
        state: { ...state, name: m.name, accountId: m.accountId, zone: instance.zoneName },
      });
      if (grant === undefined) return no("Key in use");
      ctx.reply({ charId: m.charId, accepted: true, reason: "" });
    });
    client.handle(ChatDeliver, (ctx) => {
      const m = ctx.message;
      const delivered: number[] = [];
      const missed: number[] = [];
      let payload: Uint8Array | undefined;
      let opcode = 0;
      for (const charId of m.recipients) {
        const p = this.#byChar.get(charId);
        if (p?.connection === undefined || p.gone) {
          missed.push(charId);
          continue;
        }
        if (payload === undefined) {
          const encoded = QeynosWorld.encode({
            kind: "ChatReceived",
            channelKind: m.kind,
            messageId: m.messageId,
            senderId: m.senderId,
            senderName: m.senderName,
            channel: m.channel,
            text: m.text,
          }, V);
          payload = encoded.payload;
          opcode = encoded.opcode;
        }
        if (this.#sendRaw(p, opcode, payload)) delivered.push(charId);
        else missed.push(charId);
      }
      this.counters.chatDelivered += delivered.length;
      this.counters.chatMissed += missed.length;
      this.#emit({
        type: "chat.delivered",
        kind: m.kind,
        senderId: m.senderId,
        messageId: m.messageId,
        recipients: delivered,
        missed,
      });
    });
    client.handle(KickPlayer, (ctx) => {
      const m = ctx.message;
      const player = this.#byChar.get(m.charId);
      if (player !== undefined) {
        void this.#logout(player, "kicked", m.reason);
        return;
      }
      const grant = this.#keys.forCharacter(m.charId);
      if (grant !== undefined) {
        this.#keys.revokeCharacter(m.charId);
        this.#sendPresence({
          charId: m.charId,
          accountId: grant.accountId,
          name: grant.data.state.name,
          zoneName: grant.data.state.zone,
          instanceId: grant.data.instanceId,
          generation: grant.data.state.generation,
          event: PresenceEvent.NeverArrived,
        });
      }
    });
    client.onNotice((notice) => this.#onNotice(notice));
  }

  #hosted(): { zoneId: number; instanceId: number; name: string; numPlayers: number }[] {
    return [...this.#instances.values()].map((i) => ({
      zoneId: 0,
      instanceId: i.id,
      name: i.zoneName,
      numPlayers: i.players.size,
    }));
  }

  #presenceOf(player: Player, event: number): Parameters<typeof PlayerPresence.encode>[0] {
    return {
      charId: player.charId,
      accountId: player.accountId,
      name: player.name,
      zoneName: player.instance.zoneName,
      instanceId: player.instance.id,
      generation: player.generation,
      event,
    };
  }

  #sendPresence(value: Parameters<typeof PlayerPresence.encode>[0]): void {
    const link = this.world.link;
    if (link === undefined) return; // world re-learns presence from the re-announcement on reconnect
    try {
      link.send(PlayerPresence, value);
    } catch {
      // closing; same as above
    }
  }

  #sendStatus(): void {
    const link = this.world.link;
    if (link === undefined) return;
    const tick = this.tick.stats();
    const load = Math.min(0xffff, Math.round((tick.durationUs.p90 / this.tick.periodUs) * 0xffff));
    try {
      link.send(ZoneStatus, {
        state: this.capacity.status === Status.Online
          ? ServerState.Online
          : this.capacity.status === Status.Taken
          ? ServerState.Taken
          : ServerState.Offline,
        numPlayers: this.#players,
        load,
        zones: this.#hosted(),
      });
      this.#lastStatusUs = this.#platform.clock.now();
    } catch {
      // the link is closing; status goes out again after the reconnect
    }
  }

  #onNotice(notice: SystemwideMessageValue): void {
    const parsed = Number(notice.id);
    let id = Number.isSafeInteger(parsed) && parsed >= 0 ? parsed >>> 0 : 0;
    if (id === 0) {
      for (let i = 0; i < notice.id.length; i++) {
        id = (Math.imul(id, 31) + notice.id.charCodeAt(i)) >>> 0;
      }
    }
    const remainingMs = notice.issuedAtMs + notice.ttlMs - this.#platform.clock.wallMs();
    const now = this.#platform.clock.now();
    const text = notice.text;
    const ttlSeconds = Math.max(0, Math.ceil(remainingMs / 1000));
    if (remainingMs > 0) this.#notices.add(id, text, remainingMs * 1000, now);
    let shown = 0;
    for (const player of this.#byChar.values()) {
      if (player.connection === undefined) continue;
      this.#send(player, { kind: "ServerNotification", notificationId: id, ttlSeconds, text });
      shown++;
    }
    this.#emit({ type: "notice.shown", id, players: shown });
  }

  // -------------------------------------------------------------------------------------------
  // Saving.

  #stateOf(player: Player): CharacterState {
    return {
      generation: player.generation,
      accountId: player.accountId,
      name: player.name,
      level: player.level,
      race: player.race,
      class: player.class,
      zone: player.instance.zoneName,
      x: player.x,
      y: player.y,
      z: player.z,
      heading: player.heading,
    };
  }

  /** Saves through world; true once world stored it. Unreachable world: queued for a retry. */
  async #save(player: Player): Promise<boolean> {
    const state = this.#stateOf(player);
    const link = this.world.link;
    if (link !== undefined) {
      try {
        const result = await link.request(CharacterSave, {
          charId: player.charId,
          accountId: player.accountId,
          baseVersion: player.generation,
          state: encodeCharacterState(state),
        }, { timeoutUs: this.#options.worldRequestTimeoutUs ?? ZONE_DEFAULTS.worldRequestTimeoutUs });
        player.lastSaveUs = this.#platform.clock.now();
        if (result.saved) {
          this.counters.saves++;
          player.dirty = false;
          this.#pendingSaves.delete(player.charId);
          return true;
        }
        this.counters.savesFailed++;
        return false; // refused: a newer hand-off owns the character
      } catch (error) {
        this.#platform.log.warn("zone: save failed; kept for a retry", {
          charId: player.charId,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    if (this.#pendingSaves.size < (this.#options.maxPendingSaves ?? ZONE_DEFAULTS.maxPendingSaves)) {
      this.#pendingSaves.set(player.charId, { player, state });
      this.counters.savesQueued++;
    } else {
      this.counters.savesFailed++;
    }
    return false;
  }

  /** Retries queued saves; a player who left meanwhile is re-announced around the save. */
  async #flushSaves(): Promise<void> {
    for (const [charId, entry] of [...this.#pendingSaves]) {
      const link = this.world.link;
      if (link === undefined) return;
      if (this.#pendingSaves.get(charId) !== entry) continue;
      const present = this.#byChar.get(charId) === entry.player && !entry.player.gone;
      try {
        if (!present) link.send(PlayerPresence, this.#presenceOf(entry.player, PresenceEvent.Entered));
        const result = await link.request(CharacterSave, {
          charId,
          accountId: entry.player.accountId,
          baseVersion: entry.state.generation,
          state: encodeCharacterState(present ? this.#stateOf(entry.player) : entry.state),
        });
        if (!present) link.send(PlayerPresence, this.#presenceOf(entry.player, PresenceEvent.Left));
        if (this.#pendingSaves.get(charId) === entry) this.#pendingSaves.delete(charId);
        if (result.saved) this.counters.saves++;
        else this.counters.savesFailed++;
      } catch {
        return; // the link went away again; the next reconnect retries
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Sending to clients.

  #send(player: Player, message: QeynosInput): boolean {
    const connection = player.connection;
    if (connection === undefined) return false;
    const { opcode, payload } = QeynosWorld.encode(message, V);
    return this.#sendOn(connection, opcode, payload);
  }

  #sendRaw(player: Player, opcode: number, payload: Uint8Array): boolean {
    const connection = player.connection;
    return connection === undefined ? false : this.#sendOn(connection, opcode, payload);
  }

  #sendOn(connection: EqStreamConnection, opcode: number, payload: Uint8Array): boolean {
    if (connection.finished) return false;
    if (this.#mustDefer(connection)) {
      this.#defer(connection, opcode, payload);
      return true;
    }
    return this.#sendNow(connection, opcode, payload);
  }

  #sendNow(connection: EqStreamConnection, opcode: number, payload: Uint8Array): boolean {
    if (connection.finished) return false;
    try {
      connection.sendApp(opcode, payload);
      return true;
    } catch {
      this.counters.sendFailures++; // a saturated client misses this one
      return false;
    }
  }

  /** Closes a client connection (after what was sent to it before, in order). */
  #close(connection: EqStreamConnection): void {
    if (this.#mustDefer(connection)) this.#defer(connection, CLOSE, undefined);
    else connection.close("local");
  }

  /**
   * While EQStream delivers a packet of one connection, it flushes only that connection; what is sent
   * to others then would wait for their next timer. Such sends (and everything after them, to keep
   * the order) go out on the next turn instead.
   */
  #mustDefer(connection: EqStreamConnection): boolean {
    return this.#outbox.length > 0 || (this.#dispatching !== undefined && this.#dispatching !== connection);
  }

  /** Queues a send (or, with opcode `CLOSE`, a close) for the next turn, after everything queued before. */
  #defer(connection: EqStreamConnection, opcode: number, payload: Uint8Array | undefined): void {
    this.#outbox.push({ connection, opcode, payload });
    if (!this.#outboxQueued) {
      this.#outboxQueued = true;
      this.#platform.timers.defer(() => {
        this.#outboxQueued = false;
        const queued = this.#outbox.splice(0);
        for (const { connection: c, opcode: o, payload: p } of queued) {
          if (p === undefined) c.close("local");
          else this.#sendNow(c, o, p);
        }
      });
    }
  }

  /** Runs a driver callback of `connection`, noting which connection EQStream is flushing. */
  #inDispatch(connection: EqStreamConnection, body: () => void): void {
    const outer = this.#dispatching;
    this.#dispatching = connection;
    try {
      body();
    } finally {
      this.#dispatching = outer;
    }
  }

  #sendTo(connection: EqStreamConnection, message: QeynosInput): void {
    const { opcode, payload } = QeynosWorld.encode(message, V);
    this.#sendOn(connection, opcode, payload);
  }

  // -------------------------------------------------------------------------------------------
  // Clients.

  /** @internal */
  onApp(connection: EqStreamConnection, opcode: number, payload: Uint8Array): void {
    this.#inDispatch(connection, () => this.#onApp(connection, opcode, payload));
  }

  #onApp(connection: EqStreamConnection, opcode: number, payload: Uint8Array): void {
    if (this.#closed) return;
    let state = connection.data as ClientState | undefined;
    if (state === undefined) {
      state = {
        player: undefined,
        entered: false,
        done: false,
        queue: new SerialQueue(this.#options.maxQueuedPerSession ?? ZONE_DEFAULTS.maxQueuedPerSession, (error) => {
          this.#platform.log.error("zone: request failed", {
            error: error instanceof Error ? error.message : String(error),
          });
        }),
      };
      connection.data = state;
    }
    let message: QeynosMessage;
    try {
      message = QeynosWorld.decode(opcode, payload, V);
    } catch (error) {
      if (!(error instanceof AppMessageError)) throw error;
      this.counters.protocolErrors++;
      const code = error.code === "APP_MESSAGE_UNKNOWN_OPCODE"
        ? ProtocolErrorCode.UnknownOpcode
        : error.code === "APP_MESSAGE_TOO_LARGE"
        ? ProtocolErrorCode.TooLarge
        : ProtocolErrorCode.Malformed;
      this.#sendTo(connection, { kind: "ProtocolError", code, opcode, text: error.message.slice(0, 200) });
      return;
    }
    const s = state;
    const player = s.player;
    if (message.kind === "ZoneEnterRequest") {
      if (!s.entered) this.#enter(connection, s, message);
      return;
    }
    if (player === undefined || player.leaving) return;
    const queue = (job: () => Promise<void>) => {
      if (!s.queue.push(job)) {
        this.counters.rateLimited++;
        this.#sendTo(connection, {
          kind: "ProtocolError",
          code: ProtocolErrorCode.RateLimited,
          opcode,
          text: "Too many requests waiting",
        });
      }
    };
    switch (message.kind) {
      case "MoveRequest":
        this.#move(player, message);
        return;
      case "ChatSay":
      case "ChatShout":
        this.#localChat(player, message.kind === "ChatSay" ? ChatKind.Say : ChatKind.Shout, message);
        return;
      case "ChatTell":
        queue(() => this.#routed(player, ChatKind.Tell, message.messageId, message.to, "", message.text));
        return;
      case "ChannelMessage":
        queue(() => this.#routed(player, ChatKind.Channel, message.messageId, "", message.channel, message.text));
        return;
      case "ChannelJoin":
      case "ChannelLeave":
        queue(() => this.#membership(player, message.channel, message.kind === "ChannelJoin"));
        return;
      case "ZoneChangeRequest":
        queue(() => this.#zoneChange(player, s, message.zoneName));
        return;
      case "LogoutRequest":
        s.done = true;
        queue(() => this.#logout(player, "logout"));
        return;
      default:
        this.counters.protocolErrors++;
        this.#sendTo(connection, {
          kind: "ProtocolError",
          code: ProtocolErrorCode.UnknownOpcode,
          opcode,
          text: `${message.kind} is not for a server`,
        });
    }
  }

  /** @internal */
  onClosed(connection: EqStreamConnection): void {
    this.#inDispatch(connection, () => this.#onClosed(connection));
  }

  #onClosed(connection: EqStreamConnection): void {
    const state = connection.data as ClientState | undefined;
    const player = state?.player;
    if (player === undefined || player.connection !== connection) return;
    player.connection = undefined;
    if (state!.done || player.leaving || player.gone) return;
    player.linkDeadSinceUs = this.#platform.clock.now();
    this.counters.linkDead++;
    this.#sendPresence(this.#presenceOf(player, PresenceEvent.LinkDead));
    this.#emit({ type: "player.linkdead", charId: player.charId });
  }

  #enter(
    connection: EqStreamConnection,
    s: ClientState,
    m: { readonly accountId: number; readonly characterId: number; readonly accessKey: number },
  ): void {
    s.entered = true;
    const refuse = (result: number, instance?: Instance) => {
      this.counters.refusedEntries++;
      this.#sendTo(connection, {
        kind: "ZoneEnterReply",
        result,
        zoneName: instance?.zoneName ?? "",
        instanceId: instance?.id ?? 0,
      });
      this.#close(connection);
    };
    if (this.#draining) return refuse(EnterResult.Draining);
    const now = this.#platform.clock.now();
    const redeemed = this.#keys.redeem(m.accessKey, m.accountId, m.characterId, now);
    if (!redeemed.ok) return refuse(redeemed.reason === "expired" ? EnterResult.KeyExpired : EnterResult.BadKey);
    const { instanceId, state } = redeemed.grant.data;
    const instance = this.#instances.get(instanceId);
    if (instance === undefined) return refuse(EnterResult.Full);
    const existing = this.#byChar.get(m.characterId);
    if (existing !== undefined) this.#drop(existing, "superseded", "Logged in elsewhere");
    const player: Player = {
      spawnId: this.#nextSpawn++,
      charId: m.characterId,
      accountId: m.accountId,
      name: state.name,
      level: state.level,
      race: state.race,
      class: state.class,
      generation: state.generation,
      instance,
      connection,
      x: state.x,
      y: state.y,
      z: state.z,
      heading: state.heading,
      view: new Set(),
      moved: false,
      viewAtUs: -Infinity,
      moveTokens: this.#options.maxMoveHz ?? ZONE_DEFAULTS.maxMoveHz,
      tokensAtUs: now,
      pendingMove: undefined,
      moveBatch: [],
      moveBatchCount: 0,
      moveBatchWaiting: false,
      movesSentAtUs: -Infinity,
      chatTokens: 2 * (this.#options.chatPerSecond ?? ZONE_DEFAULTS.chatPerSecond),
      chatAtUs: now,
      linkDeadSinceUs: undefined,
      dirty: false,
      lastSaveUs: now,
      leaving: false,
      gone: false,
    };
    s.player = player;
    instance.players.set(player.spawnId, player);
    this.#byChar.set(player.charId, player);
    this.#players++;
    instance.grid.insert(player.spawnId, player.x, player.z);
    this.counters.entered++;
    this.#send(player, {
      kind: "ZoneEnterReply",
      result: EnterResult.Accepted,
      zoneName: instance.zoneName,
      instanceId,
    });
    this.#send(player, {
      kind: "SpawnSelf",
      spawnId: player.spawnId,
      characterId: player.charId,
      name: player.name,
      level: Math.min(255, player.level),
      position: { x: player.x, y: player.y, z: player.z, heading: player.heading },
    });
    this.#updateView(player);
    for (const notice of this.#notices.active(now)) {
      this.#send(player, {
        kind: "ServerNotification",
        notificationId: notice.id,
        ttlSeconds: NoticeBoard.remainingSeconds(notice, now),
        text: notice.text,
      });
    }
    this.#sendPresence(this.#presenceOf(player, PresenceEvent.Entered));
    this.#emit({
      type: "player.entered",
      charId: player.charId,
      name: player.name,
      zoneName: instance.zoneName,
      instanceId,
      generation: player.generation,
    });
    this.#populationChanged();
  }

  /**
   * Pins the zone server's state as an operator: TAKEN takes no new players, ONLINE takes them
   * regardless of the capacity rule; `undefined` hands control back to the rule. World hears at once.
   */
  pinStatus(status: typeof Status.Online | typeof Status.Taken | undefined): void {
    const change = this.capacity.pin(status);
    if (change !== undefined) {
      this.#emit({ type: "status.changed", from: change.from, to: change.to, players: change.players });
    }
    this.#sendStatus();
  }

  #populationChanged(): void {
    const change = this.capacity.evaluate(this.#players);
    if (change !== undefined) {
      this.#platform.log.info("zone: status changed", { zone: this.name, from: change.from, to: change.to });
      this.#emit({ type: "status.changed", from: change.from, to: change.to, players: change.players });
      this.#sendStatus();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Movement and interest.

  #entered(to: Player, who: Player): void {
    this.#send(to, {
      kind: "PlayerEnteredView",
      spawnId: who.spawnId,
      characterId: who.charId,
      name: who.name,
      position: { x: who.x, y: who.y, z: who.z, heading: who.heading },
    });
  }

  /** Brings the view set of `p` up to date: players now in range come in, players out of range go. */
  #updateView(p: Player): void {
    const instance = p.instance;
    const near = instance.grid.query(p.x, p.z, this.#viewRadius);
    for (const spawnId of near) {
      if (spawnId === p.spawnId) continue;
      const q = instance.players.get(spawnId);
      if (q === undefined || q.gone || p.view.has(q)) continue;
      p.view.add(q);
      q.view.add(p);
      this.#entered(p, q);
      this.#entered(q, p);
    }
    for (const q of p.view) {
      const dx = q.x - p.x;
      const dz = q.z - p.z;
      if (dx * dx + dz * dz > this.#leaveRadius2) {
        p.view.delete(q);
        q.view.delete(p);
        this.#left(p, q, LeaveReason.OutOfRange);
        this.#left(q, p, LeaveReason.OutOfRange);
      }
    }
  }

  #move(
    player: Player,
    m: {
      readonly sequence: number;
      readonly position: { readonly x: number; readonly y: number; readonly z: number; readonly heading: number };
    },
  ): void {
    this.counters.movesIn++;
    const bounds = this.#options.bounds ?? ZONE_DEFAULTS.bounds;
    const { x, y, z, heading } = m.position;
    if (Math.abs(x) > bounds || Math.abs(y) > bounds || Math.abs(z) > bounds) {
      this.counters.protocolErrors++;
      this.#send(player, {
        kind: "ProtocolError",
        code: ProtocolErrorCode.Malformed,
        opcode: QeynosWorld.opcodeOf("MoveRequest", V),
        text: `Position out of bounds ±${bounds}`,
      });
      return;
    }
    const now = this.#platform.clock.now();
    const rate = this.#options.maxMoveHz ?? ZONE_DEFAULTS.maxMoveHz;
    player.moveTokens = Math.min(rate, player.moveTokens + ((now - player.tokensAtUs) * rate) / 1_000_000);
    player.tokensAtUs = now;
    if (player.moveTokens < 1) {
      // Over the rate: keep the latest position for the next tick.
      if (player.pendingMove !== undefined) this.counters.movesMerged++;
      player.pendingMove = { sequence: m.sequence, x, y, z, heading };
      return;
    }
    player.moveTokens -= 1;
    this.#applyMove(player, m.sequence, x, y, z, heading, now);
  }

  #applyMove(player: Player, sequence: number, x: number, y: number, z: number, heading: number, now: number): void {
    player.x = x;
    player.y = y;
    player.z = z;
    player.heading = heading;
    player.dirty = true;
    player.instance.grid.move(player.spawnId, x, z);
    // Those already in view get the move; then the view follows it (players coming into range get the
    // new position with PlayerEnteredView), unless it did less than half a tick ago and the tick will.
    // Done here, not all in the tick: that was a burst of several ms with 1 000 players.
    if (player.view.size > 0) this.#relayMove(player, sequence, x, y, z, heading, now);
    if (now - player.viewAtUs >= this.#viewIntervalUs / 2) {
      player.moved = false;
      player.viewAtUs = now;
      this.#updateView(player);
    } else player.moved = true;
  }

  /** Puts a move in the movement batch of everyone in view of `player`. */
  #relayMove(player: Player, sequence: number, x: number, y: number, z: number, heading: number, now: number): void {
    const entry: MoveEntry = {
      spawnId: player.spawnId,
      sequence: sequence >>> 0,
      serverTimeMs: Math.floor(now / 1000) >>> 0,
      position: { x, y, z, heading },
      payload: undefined,
      entry: undefined,
    };
    const window = this.#moveBatchUs;
    for (const q of player.view) {
      if (q.connection === undefined) continue;
      q.moveBatch[q.moveBatchCount++] = entry;
      if (q.moveBatchWaiting) continue; // already on its way
      q.moveBatchWaiting = true;
      // After a quiet spell the batch leaves on the next turn (with whatever else this turn adds to it);
      // soon after the last one, when the window since then closes. Batches due together share a timer.
      const slot = this.#moveSlotUs;
      const due = Math.max(now, Math.floor((q.movesSentAtUs + window) / slot) * slot);
      let group = this.#movesDue.get(due);
      if (group === undefined) {
        const players: Player[] = [];
        this.#movesDue.set(due, players);
        this.#platform.timers.setTimeout(() => {
          this.#movesDue.delete(due);
          for (const waiting of players) this.#flushMoves(waiting);
        }, due - now);
        group = players;
      }
      group.push(q);
    }
  }

  /** Sends the movement batch of `q`: one `MoveUpdate`, or `MoveUpdates` when several spawns moved. */
  #flushMoves(q: Player): void {
    q.moveBatchWaiting = false;
    const waiting = q.moveBatch;
    const n = q.moveBatchCount;
    if (n === 0) return;
    // The batch is this flush's alone: whatever sending makes happen to q starts a new one.
    q.moveBatch = this.#spareBatch ?? [];
    q.moveBatchCount = 0;
    this.#spareBatch = undefined;
    try {
      if (!q.gone && q.connection !== undefined) this.#sendMoves(q, waiting as MoveEntry[], n);
    } finally {
      // Entries hold encoded bytes that pin their arena chunks: let go of them.
      waiting.fill(undefined, 0, n);
      this.#spareBatch = waiting;
    }
  }

  #sendMoves(q: Player, waiting: MoveEntry[], n: number): void {
    const count = keepLatestPerSpawn(waiting, n);
    const now = this.#platform.clock.now();
    q.movesSentAtUs = now;
    if (count === 1) {
      const only = waiting[0]!;
      // Encoded once, the same bytes go to everyone who gets this update on its own.
      only.payload ??= QeynosWorld.encode({
        kind: "MoveUpdate",
        spawnId: only.spawnId,
        sequence: only.sequence,
        serverTimeMs: only.serverTimeMs,
        position: only.position,
      }, V).payload;
      if (this.#sendRaw(q, MOVE_UPDATE, only.payload)) this.counters.moveUpdatesOut++;
      return;
    }
    const serverTimeMs = Math.floor(now / 1000) >>> 0;
    // Each spawn's entry is encoded once, for every player it goes to.
    const encoded: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const m = waiting[i]!;
      encoded.push(m.entry ??= encodeMoveEntry(m));
      if (encoded.length === MAX_MOVE_UPDATES) {
        this.#sendRaw(q, MOVE_UPDATES, encodeMoveUpdates(serverTimeMs, encoded.splice(0)));
      }
    }
    if (encoded.length > 0) this.#sendRaw(q, MOVE_UPDATES, encodeMoveUpdates(serverTimeMs, encoded));
    this.counters.moveUpdatesOut += count;
  }

  /** Tells `to` that `who` left its view (and forgets the position of `who` waiting for `to`). */
  #left(to: Player, who: Player, reason: number): void {
    const waiting = to.moveBatch;
    const n = to.moveBatchCount;
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const entry = waiting[i]!;
      if (entry.spawnId !== who.spawnId) waiting[kept++] = entry;
    }
    waiting.fill(undefined, kept, n);
    to.moveBatchCount = kept;
    this.#send(to, { kind: "PlayerLeftView", spawnId: who.spawnId, reason });
  }

  // -------------------------------------------------------------------------------------------
  // Chat.

  #chatAllowed(player: Player, messageId: number): boolean {
    const now = this.#platform.clock.now();
    const rate = this.#options.chatPerSecond ?? ZONE_DEFAULTS.chatPerSecond;
    player.chatTokens = Math.min(2 * rate, player.chatTokens + ((now - player.chatAtUs) * rate) / 1_000_000);
    player.chatAtUs = now;
    if (player.chatTokens < 1) {
      this.counters.rateLimited++;
      this.#send(player, { kind: "ChatResult", messageId, result: ChatResultCode.RateLimited });
      return false;
    }
    player.chatTokens -= 1;
    return true;
  }

  #localChat(player: Player, kind: number, m: { readonly messageId: number; readonly text: string }): void {
    if (!this.#chatAllowed(player, m.messageId)) return;
    const range = kind === ChatKind.Say
      ? this.#options.sayRange ?? ZONE_DEFAULTS.sayRange
      : this.#options.shoutRange ?? ZONE_DEFAULTS.shoutRange;
    const near = player.instance.grid.query(player.x, player.z, range);
    const { opcode, payload } = QeynosWorld.encode({
      kind: "ChatReceived",
      channelKind: kind,
      messageId: m.messageId,
      senderId: player.charId,
      senderName: player.name,
      channel: "",
      text: m.text,
    }, V);
    const recipients: number[] = [];
    for (const spawnId of near) {
      if (spawnId === player.spawnId) continue;
      const q = player.instance.players.get(spawnId);
      if (q === undefined || q.connection === undefined || q.gone) continue;
      if (this.#sendRaw(q, opcode, payload)) recipients.push(q.charId);
    }
    this.counters.chatLocal++;
    this.#send(player, { kind: "ChatResult", messageId: m.messageId, result: ChatResultCode.Delivered });
    this.#emit({
      type: "chat.local",
      kind,
      senderId: player.charId,
      messageId: m.messageId,
      instanceId: player.instance.id,
      recipients,
    });
  }

  async #routed(
    player: Player,
    kind: number,
    messageId: number,
    to: string,
    channel: string,
    text: string,
  ): Promise<void> {
    if (player.gone || !this.#chatAllowed(player, messageId)) return;
    const link = this.world.link;
    let result: number = ChatResultCode.NoSuchPlayer;
    if (link !== undefined) {
      try {
        const reply = await link.request(ChatRoute, {
          kind,
          senderId: player.charId,
          senderName: player.name,
          messageId,
          to,
          channel,
          text,
        }, { timeoutUs: this.#options.worldRequestTimeoutUs ?? ZONE_DEFAULTS.worldRequestTimeoutUs });
        result = reply.result;
        this.counters.chatRouted++;
      } catch {
        result = ChatResultCode.NoSuchPlayer;
      }
    }
    this.#send(player, { kind: "ChatResult", messageId, result });
  }

  async #membership(player: Player, channel: string, join: boolean): Promise<void> {
    const link = this.world.link;
    let result = 4; // BadName until world says otherwise
    if (link !== undefined) {
      try {
        result = (await link.request(ChannelMembership, { charId: player.charId, channel, join })).result;
      } catch {
        // world unreachable: report the channel as refused
      }
    }
    this.#send(player, { kind: "ChannelStatus", channel, result });
  }

  // -------------------------------------------------------------------------------------------
  // Leaving.

  /** Takes a player out of the instance; everyone in view sees them go. */
  #remove(player: Player, cause: LeaveCause, saved: boolean): void {
    if (player.gone) return;
    player.gone = true;
    player.leaving = true;
    const reason = cause === "zoned"
      ? LeaveReason.ZonedOut
      : cause === "linkdead"
      ? LeaveReason.LinkDead
      : LeaveReason.LoggedOut;
    for (const q of player.view) {
      q.view.delete(player);
      this.#left(q, player, reason);
    }
    player.view.clear();
    player.moveBatch.fill(undefined, 0, player.moveBatchCount); // and #flushMoves skips it: it is gone
    player.moveBatchCount = 0;
    player.instance.grid.remove(player.spawnId);
    player.instance.players.delete(player.spawnId);
    if (this.#byChar.get(player.charId) === player) this.#byChar.delete(player.charId);
    this.#players--;
    this.#emit({
      type: "player.left",
      charId: player.charId,
      zoneName: player.instance.zoneName,
      instanceId: player.instance.id,
      cause,
      saved,
    });
    this.#populationChanged();
  }

  /** Drops a copy world no longer owns (no save: a newer hand-off has the character). */
  #drop(player: Player, cause: LeaveCause, text: string): void {
    const connection = player.connection;
    if (connection !== undefined) {
      (connection.data as ClientState).done = true;
      this.#sendTo(connection, { kind: "ProtocolError", code: ProtocolErrorCode.Kicked, opcode: 0, text });
      this.#close(connection);
    }
    this.#pendingSaves.delete(player.charId);
    this.#remove(player, cause, false);
  }

  /** Saves and removes a player, tells world, answers a logout, closes the connection. */
  async #logout(player: Player, cause: LeaveCause, text?: string): Promise<void> {
    if (player.leaving && cause !== "logout" && cause !== "drain") return;
    player.leaving = true;
    const connection = player.connection;
    if (connection !== undefined && text !== undefined) {
      (connection.data as ClientState).done = true;
      const code = cause === "drain" ? ProtocolErrorCode.ShuttingDown : ProtocolErrorCode.Kicked;
      this.#sendTo(connection, { kind: "ProtocolError", code, opcode: 0, text: text.slice(0, 200) });
    }
    const saved = await this.#save(player);
    this.#remove(player, cause, saved);
    this.#sendPresence(this.#presenceOf(player, PresenceEvent.Left));
    if (connection !== undefined && !connection.finished) {
      if (cause === "logout") {
        this.#sendTo(connection, { kind: "LogoutReply", result: LogoutResult.Done, characterSaved: saved });
      }
      this.#close(connection);
    }
  }

  async #zoneChange(player: Player, s: ClientState, zoneName: string): Promise<void> {
    if (player.leaving) return;
    const reply = (result: number): void => void this.#send(player, { kind: "ZoneChangeReply", result, zoneName });
    if (player.instance.zoneName.toLowerCase() === zoneName.toLowerCase()) return reply(ZoneChangeResult.AlreadyThere);
    const link = this.world.link;
    if (link === undefined || this.#draining) return reply(ZoneChangeResult.ZoneUnavailable);
    player.leaving = true;
    let result;
    this.#zoning.add(player.charId);
    try {
      result = await link.request(ZoneTransfer, {
        charId: player.charId,
        accountId: player.accountId,
        generation: player.generation,
        zoneName,
        state: encodeCharacterState(this.#stateOf(player)),
      }, { timeoutUs: this.#options.worldRequestTimeoutUs ?? ZONE_DEFAULTS.worldRequestTimeoutUs });
    } catch {
      result = undefined;
    } finally {
      this.#zoning.delete(player.charId);
    }
    if (player.gone) return;
    if (result === undefined || result.result !== ZoneChangeResult.Granted) {
      player.leaving = false;
      return reply(result?.result ?? ZoneChangeResult.ZoneUnavailable);
    }
    s.done = true;
    this.counters.zoneChanges++;
    this.#send(player, {
      kind: "ZoneChangeReply",
      result: ZoneChangeResult.Granted,
      zoneName: result.zoneName,
      instanceId: result.instanceId,
      address: result.address,
      port: result.port,
      accessKey: result.accessKey,
    });
    const connection = player.connection;
    // World moved the character (and stored its new zone): nothing to save here.
    this.#pendingSaves.delete(player.charId);
    this.#remove(player, "zoned", true);
    if (connection !== undefined) this.#close(connection);
  }

  // -------------------------------------------------------------------------------------------
  // The tick.

  #onTick(now: number): void {
    const linkDeadUs = this.#options.linkDeadUs ?? ZONE_DEFAULTS.linkDeadUs;
    const autosaveUs = this.#options.autosaveUs ?? ZONE_DEFAULTS.autosaveUs;
    for (const instance of this.#instances.values()) {
      for (const p of instance.players.values()) {
        if (p.gone) continue;
        const pending = p.pendingMove;
        if (pending !== undefined && !p.leaving) {
          p.pendingMove = undefined;
          this.#applyMove(p, pending.sequence, pending.x, pending.y, pending.z, pending.heading, now);
        }
        if (p.moved) {
          p.moved = false;
          p.viewAtUs = now;
          this.#updateView(p);
        }
        if (p.linkDeadSinceUs !== undefined && now - p.linkDeadSinceUs >= linkDeadUs && !p.leaving) {
          this.counters.linkDeadExpired++;
          void this.#logout(p, "linkdead");
        } else if (p.dirty && !p.leaving && now - p.lastSaveUs >= autosaveUs) {
          p.lastSaveUs = now;
          void this.#save(p);
        }
      }
    }
    for (const grant of this.#keys.expire(now)) {
      this.#sendPresence({
        charId: grant.characterId,
        accountId: grant.accountId,
        name: grant.data.state.name,
        zoneName: grant.data.state.zone,
        instanceId: grant.data.instanceId,
        generation: grant.data.state.generation,
        event: PresenceEvent.NeverArrived,
      });
    }
    if (now - this.#lastStatusUs >= (this.#options.statusIntervalUs ?? ZONE_DEFAULTS.statusIntervalUs)) {
      this.#populationChanged();
      this.#sendStatus();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Life cycle.

  /**
   * Drains: the zone goes OFFLINE (world places nobody here), every player is told, saved, logged
   * out and disconnected; keys not yet used are returned to world. Waits at most `graceUs` (default
   * 10 s) for the saves.
   */
  async drain(options: { readonly graceUs?: number } = {}): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    const change = this.capacity.offline();
    if (change !== undefined) {
      this.#emit({ type: "status.changed", from: change.from, to: change.to, players: change.players });
    }
    this.#emit({ type: "drain.started" });
    this.#platform.log.info("zone: draining", { zone: this.name, players: this.#players });
    this.#sendStatus();
    for (const grant of this.#keys.pending()) {
      this.#keys.revokeCharacter(grant.characterId);
      this.#sendPresence({
        charId: grant.characterId,
        accountId: grant.accountId,
        name: grant.data.state.name,
        zoneName: grant.data.state.zone,
        instanceId: grant.data.instanceId,
        generation: grant.data.state.generation,
        event: PresenceEvent.NeverArrived,
      });
    }
    const all = Promise.all(
      [...this.#byChar.values()].map((p) => this.#logout(p, "drain", "The zone is shutting down")),
    );
    let timer;
    const grace = new Promise<void>((resolve) => {
      timer = this.#platform.timers.setTimeout(resolve, options.graceUs ?? 10_000_000);
    });
    await Promise.race([all, grace]);
    if (timer !== undefined) this.#platform.timers.clearTimeout(timer);
    if (this.#pendingSaves.size > 0) {
      this.#platform.log.warn("zone: saves not confirmed by world at shutdown", {
        zone: this.name,
        count: this.#pendingSaves.size,
      });
    }
  }

  /** Drains, then unregisters from world, closes the world link and the EQStream socket. */
  async close(options: { readonly graceUs?: number } = {}): Promise<void> {
    if (this.#closed) return;
    await this.drain(options);
    this.#closed = true;
    this.tick.stop();
    try {
      this.world.link?.send(ZoneUnregister, { reason: "Zone server shutting down" });
    } catch {
      // world is gone already
    }
    // Let the goodbyes to clients go out before the socket closes.
    const deadline = this.#platform.clock.now() + 1_000_000;
    while (this.eqstream.stats.sessions > 0 && this.#platform.clock.now() < deadline) {
      await new Promise<void>((resolve) => this.#platform.timers.setTimeout(resolve, 20_000));
    }
    await this.world.close();
    this.eqstream.close();
    this.#emit({ type: "drain.finished", players: this.#players });
  }
}

/**
 * Starts a zone role on `platform`: EQStream for players and a servertalk client to world, which it
 * registers with (and again after every reconnect). Instances are booted when world asks.
 */
export async function startZone(platform: Platform, options: ZoneOptions): Promise<ZoneServer> {
  const holder: { zone?: ZoneServer } = {};
  const eqstream = await listenEqStream(platform, {
    address: options.address ?? ZONE_DEFAULTS.address,
    port: options.port ?? ZONE_DEFAULTS.port,
    session: { ackDelayUs: ZONE_DEFAULTS.ackDelayUs, ...options.session },
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  }, {
    app: (connection, opcode, payload) => holder.zone?.onApp(connection, opcode, payload),
    closed: (connection) => holder.zone?.onClosed(connection),
  });
  const zone = new ZoneServer(platform, options, eqstream);
  holder.zone = zone;
  zone.tick.start();
  void zone.world.dial().catch(() => {});
  platform.log.info("zone: started", {
    zone: zone.name,
    eqstream: `udp ${eqstream.local.address}:${eqstream.local.port}`,
    public: `${zone.publicAddress.address}:${zone.publicAddress.port}`,
    world: options.world.connect !== undefined ? "in-process" : `tcp ${options.world.address}:${options.world.port}`,
    tickHz: zone.tick.hz,
  });
  return zone;
}
