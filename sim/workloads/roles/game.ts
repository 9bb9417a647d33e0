/**
 * One game per scenario run: the login, world and zone roles started on the hosts of those roles
 * (the same `startLogin` / `startWorld` / `startZone` calls `qeynos serve --roles` makes, over
 * servertalk on the simulated TCP), one headless bot (`runBot`, as `qeynos bot` runs it) on each
 * client host, and the bookkeeping that checks read: every role and bot event goes on the run's
 * event bus (`roles.role`, `roles.bot`, `roles.outcome`), and the running role objects and the
 * shared store stay reachable after the run.
 *
 * The `login`, `move`, `chat` and `zone-hop` workloads each add their part of the plan; the first
 * one set up creates the game and installs the start functions, which read the plan when the run
 * starts.
 * @module
 */
import type { ClientSessionOptions } from "../../../src/eqstream/mod.ts";
import type { Platform, Rng } from "../../../src/platform/platform.ts";
import {
  botCharacterName,
  type BotEvent,
  type BotOutcome,
  type BotScriptName,
  type LoginServer,
  type RoleEvent,
  runBot,
  startLogin,
  startWorld,
  startZone,
  type WorldServer,
  type ZoneOptions,
  type ZoneServer,
} from "../../../src/roles/mod.ts";
import { openSqliteStore, type Store } from "../../../src/store/mod.ts";
import type { RunContext, ScenarioEnvironment } from "../../scenario/context.ts";
import type { ScenarioHost } from "../../scenario/types.ts";
import { log } from "../../../src/platform/portable_math.ts";

/** Ports every role host uses (each host has its own address). */
export const ROLE_PORTS = {
  login: 9100,
  loginServertalk: 9101,
  world: 9200,
  worldServertalk: 9201,
  zone: 9300,
} as const;

/** Server accounts the game provisions in its store. */
export const GAME_ACCOUNTS = {
  world: { account: "world-server", password: "world-server-password" },
  zone: { account: "zone-servers", password: "zone-servers-password" },
} as const;

/** The password of every bot account (created at first login). */
export const BOT_PASSWORD = "botpassword";

/** Server settings (the `server` map of the `login` workload). */
export interface ServerSettings {
  readonly worldName: string;
  readonly zones: readonly string[];
  readonly spawnRadius: number;
  readonly maxPlayersPerInstance: number;
  readonly zoneMaxPlayers: number;
  readonly worldStatusTimeoutUs: number;
  readonly statusIntervalUs: number;
  readonly heartbeatIntervalUs: number;
  readonly heartbeatTimeoutUs: number;
  readonly linkDeadUs: number;
  readonly viewRadius: number;
  readonly sayRange: number;
  readonly shoutRange: number;
  readonly tickHz: number;
  readonly keyTtlUs: number;
}

/** Defaults of {@linkcode ServerSettings}: the roles' own defaults, a 30 unit spawn disc. */
export const SERVER_DEFAULTS: ServerSettings = {
  worldName: "Qeynos",
  zones: ["qeynos", "antonica", "commonlands"],
  spawnRadius: 30,
  maxPlayersPerInstance: 500,
  zoneMaxPlayers: 1000,
  worldStatusTimeoutUs: 45_000_000,
  statusIntervalUs: 15_000_000,
  heartbeatIntervalUs: 15_000_000,
  heartbeatTimeoutUs: 30_000_000,
  linkDeadUs: 30_000_000,
  viewRadius: 100,
  sayRange: 50,
  shoutRange: 500,
  tickHz: 10,
  keyTtlUs: 30_000_000,
};

/** When bots start their flow. */
export type Arrivals =
  | { readonly kind: "rate"; readonly perSec: number }
  | { readonly kind: "window"; readonly count: number; readonly windowUs: number };

/** The `login` workload: who logs in, when, for how long, and how hard they try. */
export interface LoginPlan {
  readonly clients: readonly string[];
  readonly arrivals: Arrivals;
  readonly startUs: number;
  readonly playUs: number;
  readonly attempts: number;
  readonly retryDelayUs: number;
  readonly stepTimeoutUs: number;
  readonly session: ClientSessionOptions;
  readonly server: ServerSettings;
}

/** The `move` workload. */
export interface MovePlan {
  readonly clients: readonly string[];
  readonly hz: number;
  readonly speed: number;
  readonly wander: number;
}

/** The `chat` workload. */
export interface ChatPlan {
  readonly clients: readonly string[];
  readonly intervalUs: number;
  readonly channel: string;
}

/** The `zone-hop` workload. */
export interface HopPlan {
  readonly clients: readonly string[];
  readonly everyUs: number;
  readonly zones: readonly string[];
}

/** A bot as the game tracks it. */
export interface BotRecord {
  readonly host: string;
  readonly account: string;
  readonly character: string;
  readonly script: BotScriptName;
  /** When its flow is due to start, µs of the run. */
  startUs: number;
  /** `waiting` (not started), `flow` (logging in or zoning), `playing` (in a zone), `done`, `failed`. */
  state: "waiting" | "flow" | "playing" | "done" | "failed";
  charId: number;
  /** Times it entered a zone. */
  entries: number;
  firstEnteredUs: number;
  /** Where it last entered. */
  zone: { readonly zoneName: string; readonly instanceId: number } | undefined;
  /** When it last failed an attempt (-1 never), and why. */
  lastFailureUs: number;
  lastError: string;
  /** Ends of zone sessions that were not clean logouts (µs): lines in flight then may be lost. */
  readonly brokenSessionsUs: number[];
  outcome: BotOutcome | undefined;
}

/** A role event on the bus, with the host whose role reported it. */
export interface GameRoleEvent {
  readonly host: string;
  readonly event: RoleEvent;
}

/** A bot event on the bus, with the host it ran on. */
export interface GameBotEvent {
  readonly host: string;
  readonly event: BotEvent;
}

/** When each character sent its recent moves (by sequence), for the movement latency of whoever sees them. */
export interface MoveSendLog {
  record(charId: number, sequence: number, atUs: number): void;
  /** The send time, or -1 when unknown (or overwritten 256 moves later). */
  sentAt(charId: number, sequence: number): number;
}

/** A {@linkcode MoveSendLog} in this thread: a ring of 256 send times per character. */
export class LocalMoveSendLog implements MoveSendLog {
  readonly #rings = new Map<number, Float64Array>();

  record(charId: number, sequence: number, atUs: number): void {
    let ring = this.#rings.get(charId);
    if (ring === undefined) this.#rings.set(charId, ring = new Float64Array(256).fill(-1));
    ring[sequence & 255] = atUs;
  }

  sentAt(charId: number, sequence: number): number {
    return this.#rings.get(charId)?.[sequence & 255] ?? -1;
  }
}

/**
 * A {@linkcode MoveSendLog} both halves of a sharded simulation share: a sender writes its move's
 * time before the window in which any receiver (at least one lookahead later) reads it, and the
 * halves' meeting at each window's end orders the two. Characters share slots modulo `characters`;
 * a slot keeps its owner's id, so a clash reads as unknown rather than wrong.
 */
export class SharedMoveSendLog implements MoveSendLog {
  readonly #slots: Float64Array;
  readonly #characters: number;

  /** A buffer for `characters` characters (ids beyond share slots). */
  static createBuffer(characters: number): SharedArrayBuffer {
    return new SharedArrayBuffer(Math.max(1, characters) * 256 * 2 * 8);
  }

  constructor(buffer: SharedArrayBuffer) {
    this.#slots = new Float64Array(buffer);
    this.#characters = this.#slots.length / 512;
    if (!Number.isInteger(this.#characters) || this.#characters < 1) {
      throw new RangeError("Invalid move log buffer: create it with SharedMoveSendLog.createBuffer");
    }
  }

  record(charId: number, sequence: number, atUs: number): void {
    const at = ((charId % this.#characters) * 256 + (sequence & 255)) * 2;
    this.#slots[at] = charId;
    this.#slots[at + 1] = atUs;
  }

  sentAt(charId: number, sequence: number): number {
    const at = ((charId % this.#characters) * 256 + (sequence & 255)) * 2;
    return this.#slots[at] === charId ? this.#slots[at + 1]! : -1;
  }
}

/** What a program running the workloads (a benchmark) adds to a run before it starts; see {@linkcode RoleGame.prepare}. */
export interface GameExtras {
  /** Where moves' send times are kept (default: in this game); shared by the halves of a sharded run. */
  readonly moveSendLog?: MoveSendLog;
  /** Zone options beyond the scenario's (e.g. `tickDurationClock`, `session`). */
  readonly zone?: Partial<Omit<ZoneOptions, "name" | "address" | "port" | "world" | "observer">>;
  /** Session options of every bot beyond the login workload's. */
  readonly botSession?: ClientSessionOptions;
  /** Receives every movement latency sample (µs) with the time it was taken. */
  readonly onMoveLatency?: (latencyUs: number, atUs: number) => void;
}

const games = new WeakMap<ScenarioEnvironment, RoleGame>();
const prepared = new WeakMap<ScenarioEnvironment, GameExtras>();

/** Sleeps on a host's timers. */
function sleep(platform: Platform, us: number): Promise<void> {
  return new Promise((resolve) => platform.timers.setTimeout(resolve, Math.max(0, Math.round(us))));
}

/** The game of one run. */
export class RoleGame {
  readonly ctx: RunContext;
  readonly loginHost: string;
  readonly worldHost: string;
  readonly zoneHosts: readonly string[];
  readonly clientHosts: readonly string[];
  /** Zone server name of each zone host. */
  readonly zoneNames: ReadonlyMap<string, string>;
  login: LoginServer | undefined;
  world: WorldServer | undefined;
  /** The running zone server of each zone host (the latest incarnation). */
  readonly zones = new Map<string, ZoneServer>();
  /** How many times each role host has started. */
  readonly starts = new Map<string, number>();
  readonly bots = new Map<string, BotRecord>();
  loginPlan: LoginPlan | undefined;
  movePlan: MovePlan | undefined;
  chatPlan: ChatPlan | undefined;
  hopPlan: HopPlan | undefined;
  #store: Promise<Store> | undefined;
  #storeValue: Store | undefined;
  #arrivalsDrawn = false;
  readonly #arrivalRng: Rng;
  /** Send times of recent moves per character, by sequence. */
  readonly #moveSent: MoveSendLog;
  readonly #moveLatency;
  readonly #enterTime;
  readonly #extras: GameExtras;
  readonly totals = { movesSent: 0, movesSeen: 0, chatSent: 0, chatReceived: 0, zoneChanges: 0, failures: 0 };

  private constructor(ctx: RunContext) {
    this.ctx = ctx;
    this.#extras = prepared.get(ctx.env) ?? {};
    this.#moveSent = this.#extras.moveSendLog ?? new LocalMoveSendLog();
    const one = (role: string): string => {
      const ids = ctx.scenario.hosts.filter((h) => h.role === role).map((h) => h.id);
      if (ids.length !== 1) {
        throw new Error(`Cannot run the role workloads: expected one host with role ${role}, found ${ids.length}`);
      }
      return ids[0]!;
    };
    this.loginHost = one("login");
    this.worldHost = one("world");
    const zoneHosts = ctx.scenario.hosts.filter((h) => h.role === "zone");
    if (zoneHosts.length === 0) throw new Error("Cannot run the role workloads: no host has role zone");
    this.zoneHosts = zoneHosts.map((h) => h.id);
    this.zoneNames = new Map(zoneHosts.map((h: ScenarioHost) => [h.id, String(h.params.zone ?? h.id)]));
    this.clientHosts = ctx.scenario.hosts.filter((h) => h.role === "client").map((h) => h.id);
    this.#arrivalRng = ctx.rng("arrivals");
    this.#moveLatency = ctx.histogram("roles.move_latency", { unit: "us", label: "movement latency (sent → seen)" });
    this.#enterTime = ctx.histogram("roles.enter_time", { unit: "us", label: "login to zone (first entry)" });
    this.#install();
  }

  /** The game of this run, created (and installed) by the first workload that asks. */
  static of(ctx: RunContext): RoleGame {
    let game = games.get(ctx.env);
    if (game === undefined) {
      games.set(ctx.env, game = new RoleGame(ctx));
      game.#installMetrics();
    }
    return game;
  }

  /** Adds `extras` to the game a run on `env` will create (call before the run is set up). */
  static prepare(env: ScenarioEnvironment, extras: GameExtras): void {
    prepared.set(env, extras);
  }

  /** The game of a run, if a role workload created one. */
  static find(env: ScenarioEnvironment): RoleGame | undefined {
    return games.get(env);
  }

  get server(): ServerSettings {
    return this.loginPlan?.server ?? SERVER_DEFAULTS;
  }

  /** The store, once a role host opened it. */
  get store(): Store | undefined {
    return this.#storeValue;
  }

  /** The running zone server named `name`. */
  zoneByName(name: string): ZoneServer | undefined {
    for (const [host, zoneName] of this.zoneNames) if (zoneName === name) return this.zones.get(host);
    return undefined;
  }

  /** Whether a host is up now. */
  up(host: string): boolean {
    return this.ctx.env.hostStatus(host) === "up";
  }

  #openStore(): Promise<Store> {
    if (this.#store === undefined) {
      const env = this.ctx.env;
      const login = this.loginHost;
      const rng = this.ctx.rng("store");
      // The database outlives role crashes, as a real one does; it reads the clock of the login host.
      this.#store = (async () => {
        const store = await openSqliteStore(":memory:", {
          platform: {
            clock: { wallMs: () => env.platform(login).clock.wallMs() },
            rng,
            log: env.platform(login).log.child({ component: "store" }),
          },
          hashing: "sync",
          bcryptCost: 4,
        });
        await store.servers.create({ name: GAME_ACCOUNTS.world.account, kind: "world", ...GAME_ACCOUNTS.world });
        await store.servers.create({ name: GAME_ACCOUNTS.zone.account, kind: "zone", ...GAME_ACCOUNTS.zone });
        this.#storeValue = store;
        return store;
      })();
    }
    return this.#store;
  }

  #observer(host: string): (event: RoleEvent) => void {
    return (event) => this.ctx.emit("roles.role", { host, event } satisfies GameRoleEvent);
  }

  #started(host: string): void {
    this.starts.set(host, (this.starts.get(host) ?? 0) + 1);
  }

  #install(): void {
    const ctx = this.ctx;
    const link = () => ({
      heartbeatIntervalUs: this.server.heartbeatIntervalUs,
      heartbeatTimeoutUs: this.server.heartbeatTimeoutUs,
    });
    ctx.startOn(this.loginHost, async (platform) => {
      const store = await this.#openStore();
      const address = ctx.address(this.loginHost);
      this.#started(this.loginHost);
      this.login = await startLogin(platform, {
        store,
        address,
        port: ROLE_PORTS.login,
        servertalk: { address, port: ROLE_PORTS.loginServertalk },
        link: link(),
        autoCreateAccounts: true,
        worldStatusTimeoutUs: this.server.worldStatusTimeoutUs,
        hashing: "sync",
        observer: this.#observer(this.loginHost),
      });
    });
    ctx.startOn(this.worldHost, async (platform) => {
      const store = await this.#openStore();
      const address = ctx.address(this.worldHost);
      const s = this.server;
      this.#started(this.worldHost);
      this.world = await startWorld(platform, {
        store,
        name: s.worldName,
        address,
        port: ROLE_PORTS.world,
        servertalk: { address, port: ROLE_PORTS.worldServertalk },
        link: link(),
        login: {
          address: ctx.address(this.loginHost),
          port: ROLE_PORTS.loginServertalk,
          ...GAME_ACCOUNTS.world,
          link: link(),
        },
        zones: s.zones,
        spawnRadius: s.spawnRadius,
        maxPlayersPerInstance: s.maxPlayersPerInstance,
        statusIntervalUs: s.statusIntervalUs,
        keyTtlUs: s.keyTtlUs,
        hashing: "sync",
        observer: this.#observer(this.worldHost),
      });
    });
    for (const host of this.zoneHosts) {
      ctx.startOn(host, async (platform) => {
        const s = this.server;
        this.#started(host);
        const zone = await startZone(platform, {
          name: this.zoneNames.get(host)!,
          address: ctx.address(host),
          port: ROLE_PORTS.zone,
          world: {
            address: ctx.address(this.worldHost),
            port: ROLE_PORTS.worldServertalk,
            ...GAME_ACCOUNTS.zone,
            link: link(),
          },
          maxPlayers: s.zoneMaxPlayers,
          linkDeadUs: s.linkDeadUs,
          viewRadius: s.viewRadius,
          sayRange: s.sayRange,
          shoutRange: s.shoutRange,
          tickHz: s.tickHz,
          keyTtlUs: s.keyTtlUs,
          observer: this.#observer(host),
          ...this.#extras.zone,
        });
        this.zones.set(host, zone);
      });
    }
    for (const host of this.clientHosts) ctx.startOn(host, (platform) => this.#runBot(platform, host));
  }

  /** Start times of the bots the login plan selects (drawn once, in host order). */
  #drawArrivals(): void {
    if (this.#arrivalsDrawn) return;
    this.#arrivalsDrawn = true;
    const plan = this.loginPlan;
    if (plan === undefined) return;
    const rng = this.#arrivalRng;
    const a = plan.arrivals;
    const times: number[] = [];
    if (a.kind === "rate") {
      let t = plan.startUs;
      for (let i = 0; i < plan.clients.length; i++) {
        if (i > 0) t += Math.round(-log(1 - rng.float()) * (1e6 / a.perSec));
        times.push(t);
      }
    } else {
      const n = Math.min(a.count, plan.clients.length);
      for (let i = 0; i < n; i++) times.push(plan.startUs + Math.floor(rng.float() * a.windowUs));
      times.sort((x, y) => x - y);
    }
    const chatters = new Set(this.chatPlan?.clients ?? []);
    const hoppers = new Set(this.hopPlan?.clients ?? []);
    const movers = new Set(this.movePlan?.clients ?? []);
    times.forEach((startUs, i) => {
      const host = plan.clients[i]!;
      const index = this.clientHosts.indexOf(host);
      const script: BotScriptName = hoppers.has(host)
        ? "zone-hop"
        : chatters.has(host)
        ? "chat"
        : movers.has(host)
        ? "walk"
        : "idle";
      this.bots.set(host, {
        host,
        account: host.length >= 3 ? host : `bot-${host}`,
        character: botCharacterName("Bot", index),
        script,
        startUs,
        state: "waiting",
        charId: 0,
        entries: 0,
        firstEnteredUs: -1,
        zone: undefined,
        lastFailureUs: -1,
        lastError: "",
        brokenSessionsUs: [],
        outcome: undefined,
      });
    });
  }

  /** The bots the login plan selected (their start times drawn). */
  botList(): BotRecord[] {
    this.#drawArrivals();
    return [...this.bots.values()];
  }

  async #runBot(platform: Platform, host: string): Promise<void> {
    this.#drawArrivals();
    const plan = this.loginPlan;
    const bot = this.bots.get(host);
    if (plan === undefined || bot === undefined || bot.state !== "waiting") return;
    const ctx = this.ctx;
    const wait = bot.startUs - ctx.now();
    if (wait > 0) await sleep(platform, wait);
    bot.state = "flow";
    const move = this.movePlan;
    const chat = this.chatPlan;
    const hop = this.hopPlan;
    const peers = chat === undefined
      ? undefined
      : chat.clients.flatMap((h) => this.bots.has(h) ? [this.bots.get(h)!.character] : []);
    const started = ctx.now();
    const outcome = await runBot(platform, {
      server: { address: ctx.address(this.loginHost), port: ROLE_PORTS.login },
      bindAddress: ctx.address(host),
      account: bot.account,
      password: BOT_PASSWORD,
      characterName: bot.character,
      script: bot.script,
      durationUs: plan.playUs,
      ...(move === undefined ? {} : { moveHz: move.hz, speed: move.speed, wanderRadius: move.wander }),
      ...(chat === undefined ? {} : { chatIntervalUs: chat.intervalUs, channel: chat.channel }),
      ...(peers === undefined ? {} : { peers }),
      ...(hop === undefined ? {} : { hopIntervalUs: hop.everyUs, zones: hop.zones }),
      session: { ...plan.session, ...this.#extras.botSession },
      stepTimeoutUs: plan.stepTimeoutUs,
      attempts: plan.attempts,
      retryDelayUs: plan.retryDelayUs,
      observer: (event) => this.#onBot(bot, started, event),
      onMoveSeen: (fromCharId, sequence) => this.#onMoveSeen(fromCharId, sequence),
    });
    bot.outcome = outcome;
    bot.state = outcome.ok ? "done" : "failed";
    if (outcome.charId !== 0) bot.charId = outcome.charId;
    ctx.emit("roles.outcome", { host, outcome });
  }

  #onMoveSeen(fromCharId: number, sequence: number): void {
    this.totals.movesSeen++;
    const sentAt = this.#moveSent.sentAt(fromCharId, sequence);
    if (sentAt < 0) return;
    const now = this.ctx.now();
    this.#moveLatency.record(now - sentAt);
    this.#extras.onMoveLatency?.(now - sentAt, now);
  }

  #onBot(bot: BotRecord, startedUs: number, event: BotEvent): void {
    const now = this.ctx.now();
    switch (event.type) {
      case "move.sent": {
        this.totals.movesSent++;
        this.#moveSent.record(event.charId, event.sequence, now);
        return; // too frequent for the bus
      }
      case "entered":
        bot.charId = event.charId;
        bot.entries++;
        bot.state = "playing";
        bot.zone = { zoneName: event.zoneName, instanceId: event.instanceId };
        if (bot.firstEnteredUs < 0) {
          bot.firstEnteredUs = now;
          this.#enterTime.record(now - startedUs);
        }
        if (bot.entries > 1) this.totals.zoneChanges++;
        break;
      case "step":
        if (event.step === "done") bot.state = "done";
        else if (event.step === "connect" || event.step === "zone") bot.state = "flow";
        break;
      case "failed":
        this.totals.failures++;
        if (bot.state === "playing" || event.step === "script" || event.step === "logout") {
          bot.brokenSessionsUs.push(now);
        }
        bot.state = "failed";
        bot.lastFailureUs = now;
        bot.lastError = `${event.step}: ${event.error}`;
        break;
      case "chat.sent":
        this.totals.chatSent++;
        break;
      case "chat.received":
        this.totals.chatReceived++;
        break;
    }
    this.ctx.emit("roles.bot", { host: bot.host, event } satisfies GameBotEvent);
  }

  /** Metrics and gauges for the report. */
  #installMetrics(): void {
    const ctx = this.ctx;
    const bots = () => [...this.bots.values()];
    ctx.gauge("roles.online", () => this.world?.players().length ?? 0, {
      unit: "players",
      label: "online (world)",
      chart: "players",
    });
    ctx.gauge("roles.in_zones", () => {
      let n = 0;
      for (const [host, zone] of this.zones) if (this.up(host)) n += zone.playerCount;
      return n;
    }, { unit: "players", label: "in zones", chart: "players" });
    ctx.gauge("roles.bots_playing", () => bots().filter((b) => b.state === "playing").length, {
      unit: "bots",
      label: "bots playing",
      chart: "players",
    });
    ctx.metric("roles.bots", () => bots().length);
    ctx.metric("roles.bots_entered", () => bots().filter((b) => b.entries > 0).length);
    ctx.metric("roles.bots_ok", () => bots().filter((b) => b.outcome?.ok === true).length);
    ctx.metric("roles.bots_failed_attempts", () => this.totals.failures);
    ctx.metric("roles.moves_sent", () => this.totals.movesSent);
    ctx.metric("roles.move_updates_seen", () => this.totals.movesSeen);
    ctx.metric("roles.chat_sent", () => this.totals.chatSent);
    ctx.metric("roles.chat_received", () => this.totals.chatReceived);
    ctx.metric("roles.zone_entries", () => bots().reduce((n, b) => n + b.entries, 0));
  }
}
