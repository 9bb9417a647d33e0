/**
 * The login role: the EQ2 login protocol over EQStream for clients (login request and reply, world
 * list, character list, create, delete, play), and a servertalk listener where worlds register (LSInfo,
 * LSStatus). Character operations and play requests are forwarded to the chosen world over servertalk.
 * @module
 */
import {
  EQ2_CAPTURE_PROFILE,
  type EqStreamConnection,
  type EqStreamServer,
  listen as listenEqStream,
  type ServerLimits,
  type ServerSessionOptions,
} from "../../eqstream/mod.ts";
import type { Platform, SocketAddress } from "../../platform/platform.ts";
import {
  type Link,
  type LinkOptions,
  LSInfo,
  LSStatus,
  type RequestOptions,
  ServerRole,
  ServerState,
  ServertalkServer,
  UsertoWorldReq,
  UserToWorldResult,
  WorldListRemove,
} from "../../servertalk/mod.ts";
import { type Store, STORE_ERROR_CODES, StoreError } from "../../store/mod.ts";
import {
  AppMessageError,
  CreateCharacterResponse,
  DeleteCharacterResponse,
  encodeStruct,
  Eq2Login,
  type Eq2LoginInput,
  type Eq2LoginMessage,
  Eq2LoginStructs,
  LoginResponse,
  PlayResponse,
  WorldTag,
} from "../messages/mod.ts";
import { ServerStatus } from "../shared/capacity.ts";
import { emitter, type LoginEvent, type RoleObserver } from "../shared/events.ts";
import { CharacterCreate, CharacterDelete, CharacterList } from "../shared/role_messages.ts";
import { SerialQueue } from "../shared/serial_queue.ts";
import { storeAuthenticator } from "../shared/server_auth.ts";
import type { ServertalkListen } from "../shared/uplink.ts";

/** Options of {@linkcode startLogin}. */
export interface LoginOptions {
  /** Accounts (players log in with them; worlds authenticate with server accounts). */
  readonly store: Store;
  /** EQStream bind address; default "127.0.0.1". */
  readonly address?: string;
  /** EQStream UDP port; default 9100 (0: any free one). */
  readonly port?: number;
  /** Listen for worlds over TCP here; without it worlds can only connect in process ({@linkcode LoginServer.connectInProcess}). */
  readonly servertalk?: ServertalkListen;
  /** Link limits of world links (heartbeat timeout decides how fast a dead world shows down). */
  readonly link?: LinkOptions;
  /** Create an account at its first login (with the password given); default false. */
  readonly autoCreateAccounts?: boolean;
  /** Client versions accepted; others get "version mismatch". Default [546], the captured client's. */
  readonly clientVersions?: readonly number[];
  /** A world that sent no LSStatus for this long shows down; default 45 s. */
  readonly worldStatusTimeoutUs?: number;
  /** Deadline of requests to worlds (character list, create, delete, play); default 5 s. */
  readonly worldRequestTimeoutUs?: number;
  /** Messages one client may have waiting for an answer; more close its session. Default 16. */
  readonly maxQueuedPerSession?: number;
  /** EQStream session options. */
  readonly session?: ServerSessionOptions;
  /** EQStream admission limits. */
  readonly limits?: ServerLimits;
  /** `"sync"` compares server-account passwords synchronously (the simulator needs it); default async. */
  readonly hashing?: "sync" | "async";
  /** Receives the role's events. */
  readonly observer?: RoleObserver;
}

/** Defaults of {@linkcode LoginOptions}. */
export const LOGIN_DEFAULTS = {
  address: "127.0.0.1",
  port: 9100,
  clientVersions: [546] as readonly number[],
  worldStatusTimeoutUs: 45_000_000,
  worldRequestTimeoutUs: 5_000_000,
  maxQueuedPerSession: 16,
} as const;

/** A world as the login server sees it (what the world list shows). */
export interface WorldView {
  readonly id: number;
  readonly name: string;
  /** Registered, linked and not OFFLINE. */
  readonly up: boolean;
  /** The world takes no new players (TAKEN, locked, or down). */
  readonly locked: boolean;
  /** The state it last reported. */
  readonly status: ServerStatus;
  readonly numPlayers: number;
  readonly numZones: number;
  /** Where clients reach it. */
  readonly address: string;
  readonly port: number;
  /** When it last reported (µs, the login's clock); -1 never. */
  readonly lastStatusUs: number;
}

interface WorldEntry {
  id: number;
  name: string;
  link: Link | undefined;
  address: string;
  port: number;
  status: ServerStatus;
  numPlayers: number;
  numZones: number;
  lastStatusUs: number;
}

interface ClientState {
  accountId: number;
  account: string;
  version: number;
  readonly queue: SerialQueue;
}

/** Counters of the login role. */
export interface LoginCounters {
  accepted: number;
  created: number;
  refused: number;
  playGranted: number;
  playRefused: number;
  malformed: number;
  dropped: number;
}

function statusOf(state: number): ServerStatus {
  if (state === ServerState.Online) return ServerStatus.Online;
  if (state === ServerState.Taken || state === ServerState.Locked) return ServerStatus.Taken;
  return ServerStatus.Offline;
}

/** A running login role. */
export class LoginServer {
  /** The EQStream server clients connect to. */
  readonly eqstream: EqStreamServer;
  /** The servertalk server worlds register with. */
  readonly servertalk: ServertalkServer;
  readonly counters: LoginCounters = {
    accepted: 0,
    created: 0,
    refused: 0,
    playGranted: 0,
    playRefused: 0,
    malformed: 0,
    dropped: 0,
  };
  readonly #platform: Platform;
  readonly #options: LoginOptions;
  readonly #worlds = new Map<number, WorldEntry>();
  readonly #byAccount = new Map<number, EqStreamConnection>();
  readonly #emit: (event: LoginEvent | { type: "drain.started" } | { type: "drain.finished"; players: number }) => void;
  #servertalkAddress: SocketAddress | undefined;
  #draining = false;
  #closed = false;

  /** @internal Use {@linkcode startLogin}. */
  constructor(platform: Platform, options: LoginOptions, eqstream: EqStreamServer, servertalk: ServertalkServer) {
    this.#platform = platform;
    this.#options = options;
    this.eqstream = eqstream;
    this.servertalk = servertalk;
    this.#emit = emitter("login", () => "login", () => platform.clock.now(), options.observer);
  }

  /** Where clients connect (UDP). */
  get address(): SocketAddress {
    return this.eqstream.local;
  }

  /** Where worlds connect (TCP), when listening. */
  get servertalkAddress(): SocketAddress | undefined {
    return this.#servertalkAddress;
  }

  /** @internal */
  set servertalkAddress(value: SocketAddress | undefined) {
    this.#servertalkAddress = value;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** A servertalk connection to this login server for a world in the same process. */
  connectInProcess(): ReturnType<ServertalkServer["connectInProcess"]> {
    return this.servertalk.connectInProcess();
  }

  /** The world list as clients see it now (stale worlds are marked down first). */
  worlds(): WorldView[] {
    this.#expireStale();
    return [...this.#worlds.values()].map((w) => this.#view(w));
  }

  #view(w: WorldEntry): WorldView {
    const up = w.link !== undefined && w.status !== ServerStatus.Offline;
    return {
      id: w.id,
      name: w.name,
      up,
      locked: !up || w.status !== ServerStatus.Online,
      status: up ? w.status : ServerStatus.Offline,
      numPlayers: up ? w.numPlayers : 0,
      numZones: up ? w.numZones : 0,
      address: w.address,
      port: w.port,
      lastStatusUs: w.lastStatusUs,
    };
  }

  #expireStale(): void {
    const now = this.#platform.clock.now();
    const timeout = this.#options.worldStatusTimeoutUs ?? LOGIN_DEFAULTS.worldStatusTimeoutUs;
    for (const w of this.#worlds.values()) {
      if (w.link !== undefined && w.status !== ServerStatus.Offline && now - w.lastStatusUs > timeout) {
        w.status = ServerStatus.Offline;
        this.#emit({ type: "world.down", worldId: w.id, name: w.name, reason: "no status report in time" });
      }
    }
  }

  /** Client sessions open now. */
  get sessions(): number {
    return this.eqstream.stats.sessions;
  }

  /** Everything a status page shows. */
  report(): Record<string, unknown> {
    return {
      role: "login",
      draining: this.#draining,
      eqstream: { address: this.eqstream.local, ...this.eqstream.stats },
      servertalk: { address: this.#servertalkAddress ?? "in-process", ...this.servertalk.metrics() },
      counters: { ...this.counters },
      worlds: this.worlds(),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Worlds.

  /** @internal Installs the servertalk handlers. */
  installWorldHandlers(): void {
    const st = this.servertalk;
    st.handle(LSInfo, async (ctx) => {
      const account = ctx.link.peer?.account ?? "";
      const record = await this.#options.store.servers.findByName(account);
      if (record === undefined || record.kind !== "world") {
        ctx.fail("ROLE_REFUSED", `Cannot register world ${ctx.message.name}: ${account} is not a world account`);
        return;
      }
      const existing = this.#worlds.get(record.id);
      if (existing?.link !== undefined && existing.link !== ctx.link && existing.link.state === "open") {
        ctx.fail("ROLE_REFUSED", `Cannot register world ${ctx.message.name}: account ${account} is already in use`);
        return;
      }
      const entry: WorldEntry = existing ?? {
        id: record.id,
        name: ctx.message.name,
        link: undefined,
        address: "",
        port: 0,
        status: ServerStatus.Online,
        numPlayers: 0,
        numZones: 0,
        lastStatusUs: -1,
      };
      entry.name = ctx.message.name;
      entry.link = ctx.link;
      entry.address = ctx.message.address;
      entry.port = ctx.message.port;
      entry.status = ServerStatus.Online;
      entry.lastStatusUs = this.#platform.clock.now();
      this.#worlds.set(record.id, entry);
      this.#platform.log.info("login: world registered", {
        world: entry.name,
        id: entry.id,
        address: `${entry.address}:${entry.port}`,
      });
      this.#emit({ type: "world.registered", worldId: entry.id, name: entry.name });
      ctx.reply({ worldId: record.id, name: entry.name });
    });
    st.handle(LSStatus, (ctx) => {
      const entry = this.#entryOf(ctx.link);
      if (entry === undefined) return;
      const status = statusOf(ctx.message.status);
      const changed = status !== entry.status || ctx.message.numPlayers !== entry.numPlayers;
      entry.status = status;
      entry.numPlayers = Math.max(0, ctx.message.numPlayers);
      entry.numZones = Math.max(0, ctx.message.numZones);
      entry.lastStatusUs = this.#platform.clock.now();
      if (changed) {
        this.#emit({
          type: "world.status",
          worldId: entry.id,
          name: entry.name,
          status,
          numPlayers: entry.numPlayers,
        });
      }
    });
    st.handle(WorldListRemove, (ctx) => {
      const entry = this.#entryOf(ctx.link);
      if (entry === undefined) return;
      entry.status = ServerStatus.Offline;
      this.#emit({ type: "world.down", worldId: entry.id, name: entry.name, reason: ctx.message.reason });
    });
    st.onDisconnect((link, info) => {
      const entry = this.#entryOf(link);
      if (entry === undefined) return;
      entry.link = undefined;
      this.#platform.log.info("login: world down", { world: entry.name, id: entry.id, code: info.error.code });
      this.#emit({ type: "world.down", worldId: entry.id, name: entry.name, reason: info.error.code });
    });
  }

  #entryOf(link: Link): WorldEntry | undefined {
    for (const w of this.#worlds.values()) if (w.link === link) return w;
    return undefined;
  }

  #upWorlds(): WorldEntry[] {
    this.#expireStale();
    return [...this.#worlds.values()].filter((w) => w.link !== undefined && w.status !== ServerStatus.Offline);
  }

  // -------------------------------------------------------------------------------------------
  // Clients.

  /** @internal An application packet from a client. */
  onApp(connection: EqStreamConnection, opcode: number, payload: Uint8Array): void {
    if (this.#closed) return;
    let state = connection.data as ClientState | undefined;
    if (state === undefined) {
      state = {
        accountId: 0,
        account: "",
        version: 0,
        queue: new SerialQueue(
          this.#options.maxQueuedPerSession ?? LOGIN_DEFAULTS.maxQueuedPerSession,
          (error) => this.#fail(connection, error),
        ),
      };
      connection.data = state;
    }
    const s = state;
    if (!s.queue.push(() => this.#handle(connection, s, opcode, payload))) {
      this.counters.dropped++;
      this.#platform.log.warn("login: client sent too much at once; closing", { remote: connection.remote.address });
      connection.close("local");
    }
  }

  /** @internal A client session ended. */
  onClosed(connection: EqStreamConnection): void {
    const state = connection.data as ClientState | undefined;
    if (state !== undefined && state.accountId !== 0 && this.#byAccount.get(state.accountId) === connection) {
      this.#byAccount.delete(state.accountId);
    }
  }

  #fail(connection: EqStreamConnection, error: unknown): void {
    this.#platform.log.error("login: request failed", {
      remote: connection.remote.address,
      error: error instanceof Error ? error.message : String(error),
    });
    connection.close("local");
  }

  #send(connection: EqStreamConnection, version: number, message: Eq2LoginInput): void {
    if (connection.finished) return;
    const { opcode, payload } = Eq2Login.encode(message, version);
    try {
      connection.sendApp(opcode, payload);
    } catch (error) {
      this.#platform.log.warn("login: cannot send to client", {
        remote: connection.remote.address,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  async #handle(
    connection: EqStreamConnection,
    state: ClientState,
    opcode: number,
    payload: Uint8Array,
  ): Promise<void> {
    if (connection.finished) return;
    if (state.accountId === 0) {
      if (opcode !== EQ2_CAPTURE_PROFILE.opcode("LoginRequest")) {
        this.counters.dropped++; // nothing but a login request before logging in
        return;
      }
      await this.#login(connection, state, payload);
      return;
    }
    let message: Eq2LoginMessage;
    try {
      message = Eq2Login.decode(opcode, payload, state.version);
    } catch (error) {
      if (error instanceof AppMessageError && error.code === "APP_MESSAGE_UNKNOWN_OPCODE") {
        this.counters.dropped++;
        return;
      }
      if (error instanceof AppMessageError) {
        this.counters.malformed++;
        this.#platform.log.warn("login: malformed message; closing", {
          remote: connection.remote.address,
          error: error.message,
        });
        connection.close("local");
        return;
      }
      throw error;
    }
    switch (message.kind) {
      case "WorldListRequest":
        this.#sendWorldList(connection, state);
        return;
      case "CharactersRequest":
        await this.#sendCharacters(connection, state);
        return;
      case "CreateCharacterRequest":
        await this.#create(connection, state, message);
        return;
      case "DeleteCharacterRequest":
        await this.#delete(connection, state, message);
        return;
      case "PlayCharacterRequest":
        await this.#play(connection, state, "serverId" in message ? message.serverId : 0, message.charId);
        return;
      default:
        this.counters.dropped++;
    }
  }

  #replyLogin(connection: EqStreamConnection, version: number, code: number): void {
    // The reply goes out in the client's own layout when one is declared, else in the captured client's.
    let body: Uint8Array;
    try {
      body = encodeStruct(Eq2LoginStructs.LoginReply, { loginResponse: code }, version);
    } catch {
      body = encodeStruct(Eq2LoginStructs.LoginReply, { loginResponse: code }, EQ2_CAPTURE_PROFILE.clientVersions[0]!);
    }
    try {
      connection.sendApp(EQ2_CAPTURE_PROFILE.opcode("LoginReply"), body);
    } catch {
      // the session is gone; nothing to tell
    }
  }

  #refuse(connection: EqStreamConnection, version: number, account: string, code: number, reason: string): void {
    this.counters.refused++;
    this.#emit({ type: "login.refused", account, reason });
    this.#replyLogin(connection, version, code);
    connection.close("local");
  }

  async #login(connection: EqStreamConnection, state: ClientState, payload: Uint8Array): Promise<void> {
    let version: number;
    try {
      version = Eq2LoginStructs.loginRequestVersion(payload);
    } catch (error) {
      if (!(error instanceof AppMessageError)) throw error;
      this.counters.malformed++;
      connection.close("local");
      return;
    }
    const accepted = this.#options.clientVersions ?? LOGIN_DEFAULTS.clientVersions;
    if (!accepted.includes(version) || !Eq2Login.supportsVersion(version)) {
      this.#refuse(connection, version, "", LoginResponse.VersionMismatch, `client version ${version}`);
      return;
    }
    let request;
    try {
      request = Eq2Login.decode(EQ2_CAPTURE_PROFILE.opcode("LoginRequest"), payload, version);
    } catch (error) {
      if (!(error instanceof AppMessageError)) throw error;
      this.counters.malformed++;
      connection.close("local");
      return;
    }
    if (request.kind !== "LoginRequest") return;
    const username = request.username;
    if (this.#draining) {
      this.#refuse(connection, version, username, LoginResponse.NoPlaytime, "draining");
      return;
    }
    let result;
    try {
      result = await this.#options.store.accounts.authenticate(username, request.password, {
        ip: connection.remote.address,
        autoCreate: this.#options.autoCreateAccounts ?? false,
      });
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      // A name or password the store refuses to look at is simply wrong.
      const invalid: string[] = [
        STORE_ERROR_CODES.INVALID_NAME,
        STORE_ERROR_CODES.INVALID_PASSWORD,
        STORE_ERROR_CODES.INVALID_ARGUMENT,
        STORE_ERROR_CODES.DUPLICATE_NAME,
      ];
      if (!invalid.includes(error.code)) throw error;
      this.#refuse(connection, version, username, LoginResponse.InvalidCredentials, error.code);
      return;
    }
    if (connection.finished) return;
    if (!result.ok) {
      const code = result.reason === "banned" || result.reason === "disabled"
        ? LoginResponse.Banned
        : LoginResponse.InvalidCredentials;
      this.#refuse(connection, version, username, code, result.reason);
      return;
    }
    state.accountId = result.account.id;
    state.account = result.account.name;
    state.version = version;
    // One login session per account: the newer one wins.
    const older = this.#byAccount.get(state.accountId);
    if (older !== undefined && older !== connection) older.close("local");
    this.#byAccount.set(state.accountId, connection);
    this.counters.accepted++;
    if (result.created) this.counters.created++;
    this.#emit({ type: "login.accepted", account: state.account, accountId: state.accountId, created: result.created });
    this.#send(connection, version, { kind: "LoginReply", loginResponse: LoginResponse.Accepted });
  }

  #sendWorldList(connection: EqStreamConnection, state: ClientState): void {
    const worlds = this.worlds();
    this.#send(connection, state.version, {
      kind: "WorldList",
      worldList: worlds.map((w) => ({
        id: w.id,
        name: w.name,
        name2: w.name,
        tag: w.up ? WorldTag.Up : WorldTag.Down,
        locked: w.locked ? 1 : 0,
        hidden: 0,
        unknown: 0,
        numPlayers: Math.min(0xffff, w.numPlayers),
        load: 0,
        numberOnlineFlag: 1,
        unknown2: 0,
        allowedRaces: 0xffffffff,
      })),
    });
  }

  async #ask<R>(
    world: WorldEntry,
    what: string,
    send: (link: Link, options: RequestOptions) => Promise<R>,
  ): Promise<R | undefined> {
    const link = world.link;
    if (link === undefined) return undefined;
    try {
      return await send(link, {
        timeoutUs: this.#options.worldRequestTimeoutUs ?? LOGIN_DEFAULTS.worldRequestTimeoutUs,
      });
    } catch (error) {
      this.#platform.log.warn("login: world request failed", {
        world: world.name,
        request: what,
        error: error instanceof Error ? error.message : String(error),
      });
      return undefined;
    }
  }

  async #sendCharacters(connection: EqStreamConnection, state: ClientState): Promise<void> {
    const worlds = this.#upWorlds();
    const lists = await Promise.all(
      worlds.map((w) =>
        this.#ask(w, "CharacterList", (link, o) => link.request(CharacterList, { accountId: state.accountId }, o))
      ),
    );
    const characters = lists.flatMap((list, i) =>
      (list?.characters ?? []).map((c) => ({
        charid: c.id,
        serverId: worlds[i]!.id,
        name: c.name,
        race: c.race,
        class: c.class,
        gender: c.gender,
        level: c.level,
        zone: c.zone,
        zonename2: c.zone,
        zonedesc: c.zone,
        createdDate: Math.floor(c.createdMs / 1000),
        lastPlayed: Math.floor(c.updatedMs / 1000),
        version: 0,
      }))
    );
    this.#send(connection, state.version, {
      kind: "CharactersReply",
      characters,
      accountId: state.accountId,
      maxChars: 8,
    });
  }

  #world(serverId: number): WorldEntry | undefined {
    const up = this.#upWorlds();
    // A client that names no world (0) means the only one there is.
    if (serverId === 0 && up.length === 1) return up[0];
    return up.find((w) => w.id === serverId);
  }

  async #create(
    connection: EqStreamConnection,
    state: ClientState,
    message: Extract<Eq2LoginMessage, { kind: "CreateCharacterRequest" }>,
  ): Promise<void> {
    const world = this.#world(message.serverId);
    const reply = (response: number) =>
      this.#send(connection, state.version, {
        kind: "CreateCharacterReply",
        accountId: state.accountId,
        response,
        name: message.name,
      });
    if (world === undefined) {
      reply(CreateCharacterResponse.NoServersAvailable);
      return;
    }
    const result = await this.#ask(world, "CharacterCreate", (link, o) =>
      link.request(CharacterCreate, {
        accountId: state.accountId,
        name: message.name.slice(0, 64),
        race: message.race,
        class: message.class,
        gender: message.gender,
      }, o));
    reply(result?.result ?? CreateCharacterResponse.ServerOverloaded);
  }

  async #delete(
    connection: EqStreamConnection,
    state: ClientState,
    message: Extract<Eq2LoginMessage, { kind: "DeleteCharacterRequest" }>,
  ): Promise<void> {
    const world = this.#world(message.serverId);
    const result = world === undefined
      ? undefined
      : await this.#ask(world, "CharacterDelete", (link, o) =>
        link.request(CharacterDelete, { accountId: state.accountId, charId: message.charId }, o));
    this.#send(connection, state.version, {
      kind: "DeleteCharacterReply",
      response: result?.deleted === true ? DeleteCharacterResponse.Deleted : DeleteCharacterResponse.Refused,
      serverId: message.serverId,
      charId: message.charId,
      accountId: state.accountId,
      name: message.name,
      maxCharacters: 8,
    });
  }

  async #play(connection: EqStreamConnection, state: ClientState, serverId: number, charId: number): Promise<void> {
    const refuse = (response: number, reason: string) => {
      this.counters.playRefused++;
      this.#emit({ type: "play.refused", accountId: state.accountId, charId, reason });
      this.#send(connection, state.version, { kind: "PlayCharacterReply", response, accountId: state.accountId });
    };
    if (this.#draining) {
      refuse(PlayResponse.ServerShutdown, "login is draining");
      return;
    }
    const world = this.#world(serverId);
    if (world === undefined) {
      refuse(PlayResponse.ServerShutdown, `world ${serverId} is down`);
      return;
    }
    const response = await this.#ask(world, "UsertoWorldReq", (link, o) =>
      link.request(UsertoWorldReq, {
        lsAccountId: state.accountId,
        charId,
        worldId: world.id,
        fromId: 0,
        toId: 0,
        ipAddress: connection.remote.address.slice(0, 64),
      }, o));
    if (response === undefined) {
      refuse(PlayResponse.ServerTimeout, "world did not answer");
      return;
    }
    if (response.response !== UserToWorldResult.Allowed) {
      const code = response.response === UserToWorldResult.NoSuchCharacter
        ? PlayResponse.CharacterNotFound
        : response.response === UserToWorldResult.Banned || response.response === UserToWorldResult.Suspended
        ? PlayResponse.AccountBanned
        : response.response === UserToWorldResult.WorldFull
        ? PlayResponse.ServerTimeout
        : PlayResponse.ServerShutdown;
      refuse(code, `world answered ${response.response}`);
      return;
    }
    this.counters.playGranted++;
    this.#emit({ type: "play.granted", accountId: state.accountId, charId, worldId: world.id });
    this.#send(connection, state.version, {
      kind: "PlayCharacterReply",
      response: PlayResponse.Success,
      server: response.ipAddress,
      port: response.port,
      accountId: state.accountId,
      accessCode: response.accessKey,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Life cycle.

  /** Stops taking logins: new login requests are refused; sessions already logged in may finish. */
  drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    this.#emit({ type: "drain.started" });
    this.#platform.log.info("login: draining: new logins are refused");
  }

  /** Closes the world links (with a reason) and every client session, then the sockets. */
  async close(options: { readonly graceUs?: number } = {}): Promise<void> {
    if (this.#closed) return;
    this.drain();
    this.#closed = true;
    const sessions = this.eqstream.stats.sessions;
    this.eqstream.close();
    await this.servertalk.shutdown({ graceUs: options.graceUs ?? 2_000_000 });
    this.#emit({ type: "drain.finished", players: sessions });
  }
}

/**
 * Starts a login role on `platform`: EQStream for clients and a servertalk server for worlds.
 *
 * ```ts
 * const login = await startLogin(platform, { store, port: 9100, servertalk: { port: 9101 } });
 * login.worlds(); // the world list as clients see it
 * ```
 */
export async function startLogin(platform: Platform, options: LoginOptions): Promise<LoginServer> {
  const servertalk = new ServertalkServer(platform, {
    ...options.link,
    name: "login",
    role: ServerRole.Login,
    authenticator: storeAuthenticator(options.store, options.hashing === undefined ? {} : { hashing: options.hashing }),
    allowRoles: [ServerRole.World],
  });
  const holder: { login?: LoginServer } = {};
  const eqstream = await listenEqStream(platform, {
    address: options.address ?? LOGIN_DEFAULTS.address,
    port: options.port ?? LOGIN_DEFAULTS.port,
    ...(options.session === undefined ? {} : { session: options.session }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  }, {
    app: (connection, opcode, payload) => holder.login?.onApp(connection, opcode, payload),
    closed: (connection) => holder.login?.onClosed(connection),
  });
  const login = new LoginServer(platform, options, eqstream, servertalk);
  holder.login = login;
  login.installWorldHandlers();
  if (options.servertalk !== undefined) {
    try {
      login.servertalkAddress = await servertalk.listen({
        port: options.servertalk.port,
        ...(options.servertalk.address === undefined ? {} : { address: options.servertalk.address }),
        ...(options.servertalk.tls === undefined ? {} : { tls: options.servertalk.tls }),
      });
    } catch (error) {
      eqstream.close();
      throw error;
    }
  }
  platform.log.info("login: started", {
    eqstream: `udp ${eqstream.local.address}:${eqstream.local.port}`,
    servertalk: login.servertalkAddress === undefined
      ? "in-process"
      : `tcp ${login.servertalkAddress.address}:${login.servertalkAddress.port}`,
    autoCreateAccounts: options.autoCreateAccounts ?? false,
  });
  return login;
}
