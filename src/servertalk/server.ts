/**
 * The accepting side of servertalk: listens (TCP, TLS, or in-process pipes), authenticates each
 * peer's hello (fail-closed), keeps one live link per server name, dispatches messages to handler
 * chains, fans messages out to many links, keeps server-wide notices alive for their TTL, tracks
 * metrics, and shuts down gracefully.
 * @module
 */
import type {
  Platform,
  SocketAddress,
  TcpConnection,
  TcpListener,
  TimerId,
  TlsServerOptions,
} from "../platform/platform.ts";
import type { Authenticator } from "./auth.ts";
import { ALL_FEATURES, Goodbye, type HelloMessage, roleName, type ServerRole } from "./control.ts";
import { type CloseInfo, Link, type LinkOptions } from "./link.ts";
import { LinkCore } from "./link_core.ts";
import { SystemwideMessage, type SystemwideMessageValue } from "./messages.ts";
import { Opcode } from "./opcodes.ts";
import { addTotals, RateMeter, type ServerMetrics, type TrafficTotals } from "./metrics.ts";
import { createPipe } from "./pipe.ts";
import { type Handler, Router } from "./router.ts";
import type { MessageType } from "./schema.ts";
import { ServertalkError, ServertalkErrorCode } from "./servertalk_error.ts";

/** Diarkis-style server states. */
export type ServerStateName = "online" | "taken" | "offline";

/** Options of {@linkcode ServertalkServer}. */
export interface ServerOptions extends LinkOptions {
  /** This server's name, sent in every welcome. */
  readonly name: string;
  /** This server's `ServerRole`. */
  readonly role: ServerRole;
  /** Build identifier sent in welcomes; default `"qeynos"`. */
  readonly buildId?: string;
  /** Checks credentials. Without one, `requireAuth` decides. */
  readonly authenticator?: Authenticator;
  /**
   * Refuse peers that cannot be authenticated; default true. With no authenticator and
   * `requireAuth` true, every hello is refused (`SERVERTALK_AUTH_UNAVAILABLE`).
   */
  readonly requireAuth?: boolean;
  /** Roles allowed to connect at all; default any. */
  readonly allowRoles?: readonly number[];
  /** Links (including ones still in their handshake) at most; default 1024. */
  readonly maxLinks?: number;
  /** Live notices kept for late joiners, at most; default 256. */
  readonly maxNotices?: number;
  /** Feature bits offered; default all. */
  readonly features?: number;
  /** Feature bits a peer must offer, or be refused with `SERVERTALK_VERSION_MISMATCH`; default none. */
  readonly requiredFeatures?: number;
  /** Handlers; default a new Router. Share one to serve the same handlers on several servers. */
  readonly router?: Router;
}

/** Defaults of {@linkcode ServerOptions}. */
export const SERVER_DEFAULTS = { maxLinks: 1024, maxNotices: 256 } as const;

/** A refused hello, as reported to `onRefused` hooks. */
export interface Refusal {
  readonly code: string;
  readonly message: string;
  readonly name: string;
  readonly account: string;
  readonly role: number;
  readonly address: string;
}

interface LinkRecord {
  readonly link: Link;
  hello: HelloMessage | undefined;
  open: boolean;
}

interface Notice {
  readonly message: SystemwideMessageValue;
  readonly expiresAtUs: number;
}

/** A servertalk server. */
export class ServertalkServer {
  readonly router: Router;
  readonly #platform: Platform;
  readonly #options: ServerOptions;
  readonly #records = new Map<Link, LinkRecord>();
  readonly #byName = new Map<string, Link>();
  readonly #listeners: TcpListener[] = [];
  readonly #connectHooks: Array<(link: Link) => void> = [];
  readonly #disconnectHooks: Array<(link: Link, info: CloseInfo) => void> = [];
  readonly #refusedHooks: Array<(refusal: Refusal) => void> = [];
  readonly #notices = new Map<string, Notice>();
  readonly #meter = new RateMeter();
  #closedTotals: TrafficTotals = { bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0 };
  #state: ServerStateName = "online";
  #load = 0;
  #openCount = 0;
  #maxConnections = 0;
  #accepted = 0;
  #refused = 0;
  #nextLinkId = 1;
  #takenTimer: TimerId | undefined;

  constructor(platform: Platform, options: ServerOptions) {
    this.#platform = platform;
    this.#options = options;
    this.router = options.router ?? new Router();
  }

  // ---------------------------------------------------------------------------------------------
  // Handlers and hooks.

  /** See {@linkcode Router.handle}. */
  handle<T, R>(type: MessageType<T, R>, ...handlers: Handler<T, R>[]): this {
    this.router.handle(type, ...handlers);
    return this;
  }
  /** See {@linkcode Router.handleRaw}. */
  handleRaw(opcode: number, ...handlers: Handler<Uint8Array, Uint8Array>[]): this {
    this.router.handleRaw(opcode, ...handlers);
    return this;
  }
  /** See {@linkcode Router.handleUnknown}. */
  handleUnknown(...handlers: Handler<Uint8Array, Uint8Array>[]): this {
    this.router.handleUnknown(...handlers);
    return this;
  }
  /** See {@linkcode Router.hookAll}. */
  hookAll(...handlers: Handler<unknown, unknown>[]): this {
    this.router.hookAll(...handlers);
    return this;
  }
  /** Called when a peer has authenticated and its link is open. */
  onConnect(hook: (link: Link) => void): this {
    this.#connectHooks.push(hook);
    return this;
  }
  /** Called when a hello is refused (with the code the peer receives); never sees the password. */
  onRefused(hook: (refusal: Refusal) => void): this {
    this.#refusedHooks.push(hook);
    return this;
  }
  /** Called when an open link closes (for whatever reason). */
  onDisconnect(hook: (link: Link, info: CloseInfo) => void): this {
    this.#disconnectHooks.push(hook);
    return this;
  }

  // ---------------------------------------------------------------------------------------------
  // Accepting.

  /** Listens on TCP (or TLS); resolves to the bound address. */
  async listen(options: { address?: string; port: number; tls?: TlsServerOptions }): Promise<SocketAddress> {
    if (this.#state === "offline") {
      throw new ServertalkError(ServertalkErrorCode.ServerOffline, "Cannot listen: server is shut down");
    }
    const listener = await this.#platform.tcp.listen(
      { port: options.port, address: options.address ?? "127.0.0.1", ...(options.tls ? { tls: options.tls } : {}) },
      (connection) => this.accept(connection),
    );
    this.#listeners.push(listener);
    return listener.local;
  }

  /** Serves a connection obtained elsewhere (a listener of your own, or a pipe). */
  accept(connection: TcpConnection): Link | undefined {
    this.#accepted++;
    const full = this.#records.size >= (this.#options.maxLinks ?? SERVER_DEFAULTS.maxLinks);
    if (full || this.#state === "offline") {
      // Too busy to run a link: say why in a goodbye and hang up.
      this.#refused++;
      const reason = full
        ? {
          code: ServertalkErrorCode.ServerTaken,
          message: `Server ${this.#options.name} has no room for another link`,
        }
        : { code: ServertalkErrorCode.ServerOffline, message: `Server ${this.#options.name} is shutting down` };
      connection.start({ data() {}, drain() {}, close() {} });
      connection.write(LinkCore.prepareFrame(Opcode.Goodbye, Goodbye.encode(reason)));
      connection.end();
      return undefined;
    }
    const link = new Link(this.#platform, connection, {
      ...this.#options,
      side: "acceptor",
      router: this.router,
      features: this.#options.features ?? ALL_FEATURES,
      hooks: {
        onHello: (l, hello) => this.#onHello(l, hello),
        onOpen: (l) => this.#onOpen(l),
        onClose: (l, info) => this.#onClose(l, info),
      },
    });
    this.#records.set(link, { link, hello: undefined, open: false });
    return link;
  }

  /** A connection to this server through an in-process pipe: pass it to a client's `connect` option. */
  connectInProcess(): TcpConnection {
    const [dialer, acceptor] = createPipe(this.#platform);
    this.accept(acceptor);
    return dialer;
  }

  async #onHello(link: Link, hello: HelloMessage): Promise<void> {
    const record = this.#records.get(link);
    if (record === undefined) return;
    record.hello = hello;
    const log = this.#platform.log;
    const refuse = (error: ServertalkError) => {
      this.#refused++;
      // Never the password, never a hash.
      log.warn("servertalk: refused peer", {
        code: error.code,
        name: hello.name,
        account: hello.account,
        role: roleName(hello.role),
        address: link.remote.address,
      });
      link.refuse(error);
      const refusal: Refusal = {
        code: error.code,
        message: error.message,
        name: hello.name,
        account: hello.account,
        role: hello.role,
        address: link.remote.address,
      };
      for (const hook of this.#refusedHooks) {
        try {
          hook(refusal);
        } catch (hookError) {
          log.error("servertalk: onRefused hook failed", {
            error: hookError instanceof Error ? hookError.message : String(hookError),
          });
        }
      }
    };
    if (this.#state !== "online") {
      const code = this.#state === "taken" ? ServertalkErrorCode.ServerTaken : ServertalkErrorCode.ServerOffline;
      return refuse(
        new ServertalkError(code, `Cannot accept link: server ${this.#options.name} is ${this.#state}`, {
          retryAfterMs: 5000,
        }),
      );
    }
    const required = this.#options.requiredFeatures ?? 0;
    if ((hello.features & required) !== required) {
      return refuse(
        new ServertalkError(
          ServertalkErrorCode.VersionMismatch,
          `Cannot accept link: features 0x${hello.features.toString(16)} lack required 0x${required.toString(16)}`,
        ),
      );
    }
    const allowed = this.#options.allowRoles;
    if (allowed !== undefined && !allowed.includes(hello.role)) {
      return refuse(
        new ServertalkError(
          ServertalkErrorCode.RoleNotAllowed,
          `Cannot accept link: ${roleName(hello.role)} peers are not served here`,
        ),
      );
    }
    let account = hello.account;
    const authenticator = this.#options.authenticator;
    if (authenticator !== undefined) {
      let result;
      try {
        result = await authenticator.authenticate({
          account: hello.account,
          password: hello.password,
          name: hello.name,
          role: hello.role,
          address: link.remote.address,
          nowUs: this.#platform.clock.now(),
          wallMs: this.#platform.clock.wallMs(),
        });
      } catch (error) {
        log.error("servertalk: authenticator failed", {
          error: error instanceof Error ? error.message : String(error),
        });
        return refuse(
          new ServertalkError(ServertalkErrorCode.AuthUnavailable, "Cannot authenticate now; try again later", {
            retryAfterMs: 5000,
          }),
        );
      }
      if (!result.ok) return refuse(result.error);
      account = result.account;
    } else if (this.#options.requireAuth ?? true) {
      return refuse(
        new ServertalkError(
          ServertalkErrorCode.AuthUnavailable,
          "Cannot authenticate: this server requires authentication and has no authenticator",
        ),
      );
    }
    if (link.state !== "authenticating") return; // the peer left while we were checking
    if (this.#state !== "online") {
      return refuse(
        new ServertalkError(
          ServertalkErrorCode.ServerOffline,
          `Cannot accept link: server ${this.#options.name} is ${this.#state}`,
        ),
      );
    }
    // A name belongs to its live, authenticated holder. Only that same process run (same instance)
    // may take it over, e.g. reconnecting before its old link timed out.
    const holder = this.#byName.get(hello.name);
    if (holder !== undefined && holder !== link) {
      const held = this.#records.get(holder);
      const sameRun = held?.hello !== undefined && hello.instance !== "" && held.hello.instance === hello.instance &&
        held.hello.account === account;
      if (!sameRun) {
        const retryAfterMs = Math.ceil((this.#options.heartbeatTimeoutUs ?? 30_000_000) / 1000);
        return refuse(
          new ServertalkError(
            ServertalkErrorCode.DuplicateName,
            `Cannot register ${hello.name}: another live link holds the name`,
            { retryAfterMs },
          ),
        );
      }
      this.#byName.delete(hello.name);
      void holder.close(ServertalkErrorCode.DuplicateName, `Replaced by a newer link of ${hello.name}`);
    }
    this.#byName.set(hello.name, link);
    record.hello = { ...hello, account, password: "" };
    link.accept({
      serverName: this.#options.name,
      role: this.#options.role,
      linkId: this.#nextLinkId++,
      buildId: this.#options.buildId ?? "qeynos",
    });
  }

  #onOpen(link: Link): void {
    const record = this.#records.get(link);
    if (record === undefined) return;
    record.open = true;
    link.load = this.#load;
    this.#openCount++;
    this.#maxConnections = Math.max(this.#maxConnections, this.#openCount);
    this.#platform.log.info("servertalk: peer connected", {
      link: link.id,
      name: link.peer?.name,
      role: roleName(link.peer?.role ?? 0),
      address: link.remote.address,
    });
    for (const hook of this.#connectHooks) {
      try {
        hook(link);
      } catch (error) {
        this.#platform.log.error("servertalk: onConnect hook failed", {
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    this.#replayNotices(link);
  }

  #onClose(link: Link, info: CloseInfo): void {
    const record = this.#records.get(link);
    if (record === undefined) return;
    this.#records.delete(link);
    const m = link.metrics();
    this.#closedTotals = addTotals(this.#closedTotals, m);
    const name = record.hello?.name;
    if (name !== undefined && this.#byName.get(name) === link) this.#byName.delete(name);
    if (!record.open) return;
    this.#openCount--;
    this.#platform.log.info("servertalk: peer disconnected", { link: link.id, name, code: info.error.code });
    for (const hook of this.#disconnectHooks) {
      try {
        hook(link, info);
      } catch (error) {
        this.#platform.log.error("servertalk: onDisconnect hook failed", {
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Links, broadcast and notices.

  /** Open links. */
  links(): Link[] {
    const out: Link[] = [];
    for (const record of this.#records.values()) if (record.open) out.push(record.link);
    return out;
  }

  /** The open link registered under `name`, if any. */
  linkByName(name: string): Link | undefined {
    const link = this.#byName.get(name);
    return link !== undefined && this.#records.get(link)?.open ? link : undefined;
  }

  /**
   * Sends one message to many links: encoded and framed once, the same bytes queued on each open
   * link that passes `filter`. Returns how many links it was queued on. Links that are closing or
   * whose queue is full are skipped (and counted out).
   */
  broadcast<T>(type: MessageType<T, unknown>, value: T, filter?: (link: Link) => boolean): number {
    const payload = type.encode(value);
    let plain: Uint8Array | undefined;
    let compressed: Uint8Array | undefined;
    let sent = 0;
    for (const record of this.#records.values()) {
      if (!record.open || (filter !== undefined && !filter(record.link))) continue;
      const link = record.link;
      try {
        if (payload.length > link.core.maxFramePayload) {
          link.send(type, value); // too large for one frame: this link streams it
        } else if (link.core.acceptsCompression && this.#options.compression !== "off") {
          compressed ??= LinkCore.prepareFrame(
            type.opcode,
            payload,
            this.#options.compression ?? "auto",
            this.#options.compressThresholdBytes,
          );
          link.sendPrepared(compressed);
        } else {
          plain ??= LinkCore.prepareFrame(type.opcode, payload, "off");
          link.sendPrepared(plain);
        }
        sent++;
      } catch (error) {
        if (!(error instanceof ServertalkError)) throw error;
        this.#platform.log.warn("servertalk: broadcast skipped a link", { link: link.id, code: error.code });
      }
    }
    return sent;
  }

  /**
   * Publishes a server-wide notice: broadcast now, and sent to every peer that connects until it
   * expires (`ttlMs` after now). A notice with the same `id` replaces the previous one.
   */
  notify(notice: { id: string; text: string; ttlMs: number; type?: number }): SystemwideMessageValue {
    const message: SystemwideMessageValue = {
      id: notice.id,
      type: notice.type ?? 0,
      text: notice.text,
      issuedAtMs: this.#platform.clock.wallMs(),
      ttlMs: notice.ttlMs,
    };
    SystemwideMessage.encode(message); // validate before keeping it
    const now = this.#platform.clock.now();
    this.#expireNotices(now);
    this.#notices.delete(notice.id);
    this.#notices.set(notice.id, { message, expiresAtUs: now + notice.ttlMs * 1000 });
    const max = this.#options.maxNotices ?? SERVER_DEFAULTS.maxNotices;
    while (this.#notices.size > max) this.#notices.delete(this.#notices.keys().next().value!);
    this.broadcast(SystemwideMessage, message);
    return message;
  }

  /** Withdraws a notice: peers connecting later no longer get it. */
  cancelNotice(id: string): void {
    this.#notices.delete(id);
  }

  /** Notices still alive. */
  notices(): SystemwideMessageValue[] {
    this.#expireNotices(this.#platform.clock.now());
    return [...this.#notices.values()].map((n) => n.message);
  }

  #expireNotices(nowUs: number): void {
    for (const [id, notice] of this.#notices) if (notice.expiresAtUs <= nowUs) this.#notices.delete(id);
  }

  #replayNotices(link: Link): void {
    const now = this.#platform.clock.now();
    this.#expireNotices(now);
    for (const notice of this.#notices.values()) {
      try {
        link.send(SystemwideMessage, notice.message);
      } catch {
        return; // the link closed or is saturated; it will get live notices if it stays
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // State, load and metrics.

  /** ONLINE accepts new links, TAKEN refuses new ones (existing stay), OFFLINE is shutting down. */
  get state(): ServerStateName {
    return this.#state;
  }
  set state(state: ServerStateName) {
    if (this.#state === "offline") return;
    this.#state = state;
  }

  /**
   * Evaluates `full` every `intervalUs` (default 2 s): true marks the server TAKEN, false ONLINE.
   * Has no effect once the server is OFFLINE. Replaces an earlier rule.
   */
  markTakenIf(full: () => boolean, intervalUs = 2_000_000): void {
    if (this.#takenTimer !== undefined) this.#platform.timers.clearTimeout(this.#takenTimer);
    const tick = () => {
      if (this.#state === "offline") return;
      this.#state = full() ? "taken" : "online";
      this.#takenTimer = this.#platform.timers.setTimeout(tick, intervalUs);
    };
    tick();
  }

  /** Load reported to peers in heartbeats (0 idle … 65535 overloaded). */
  get load(): number {
    return this.#load;
  }
  set load(value: number) {
    this.#load = value;
    for (const record of this.#records.values()) record.link.load = value;
  }

  metrics(): ServerMetrics {
    let totals = this.#closedTotals;
    let rttSum = 0;
    let rttCount = 0;
    let queued = 0;
    for (const record of this.#records.values()) {
      const m = record.link.metrics();
      totals = addTotals(totals, m);
      queued += m.queuedBytes;
      if (m.rttUs !== undefined) {
        rttSum += m.rttUs;
        rttCount++;
      }
    }
    return {
      ...totals,
      connections: this.#openCount,
      maxConnections: this.#maxConnections,
      accepted: this.#accepted,
      refused: this.#refused,
      perSecond: this.#meter.rates(totals, this.#platform.clock.now()),
      meanRttUs: rttCount === 0 ? undefined : Math.round(rttSum / rttCount),
      queuedBytes: queued,
      state: this.#state,
    };
  }

  /** Addresses this server listens on. */
  addresses(): SocketAddress[] {
    return this.#listeners.map((l) => l.local);
  }

  // ---------------------------------------------------------------------------------------------
  // Shutdown.

  /**
   * Graceful shutdown: stop listening, refuse new peers (OFFLINE), let every link finish the
   * messages it has received and flush what it queued, say goodbye (`SERVERTALK_SHUTDOWN`), and
   * wait for the links to close — at most `graceUs` (default 5 s), after which the rest are dropped.
   */
  async shutdown(options: { graceUs?: number } = {}): Promise<void> {
    this.#state = "offline";
    if (this.#takenTimer !== undefined) this.#platform.timers.clearTimeout(this.#takenTimer);
    this.#takenTimer = undefined;
    // A listener reports closed only once its connections are gone, so links are closed meanwhile.
    const listenersClosed = Promise.all(this.#listeners.splice(0).map((l) => l.close()));
    const links = [...this.#records.keys()];
    const closing = Promise.all(
      links.map((link) => link.close(ServertalkErrorCode.Shutdown, `Server ${this.#options.name} is shutting down`)),
    );
    let timer: TimerId | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = this.#platform.timers.setTimeout(resolve, options.graceUs ?? 5_000_000);
    });
    await Promise.race([closing, grace]);
    for (const link of this.#records.keys()) link.destroy();
    await Promise.race([listenersClosed, grace]);
    if (timer !== undefined) this.#platform.timers.clearTimeout(timer);
  }
}
