/**
 * The dialing side of servertalk: connects (TCP, TLS, or an in-process pipe), says hello with its
 * credentials, and keeps the link up — reconnecting with exponential backoff and jitter after any
 * loss, and running the `onConnect` hooks (re-registration) after every successful handshake.
 * @module
 */
import type { Platform, TcpConnection, TimerId, TlsClientOptions } from "../platform/platform.ts";
import { ALL_FEATURES, type ServerRole } from "./control.ts";
import { type CloseInfo, Link, type LinkOptions, type RawReply, type ReplyOf, type RequestOptions } from "./link.ts";
import { SystemwideMessage, type SystemwideMessageValue } from "./messages.ts";
import { addTotals, type ClientMetrics, RateMeter, type TrafficTotals } from "./metrics.ts";
import { type Handler, Router } from "./router.ts";
import type { MessageType } from "./schema.ts";
import { ServertalkError, ServertalkErrorCode } from "./servertalk_error.ts";

/** Reconnection policy. */
export interface ReconnectOptions {
  /** Reconnect after losing the link or failing to connect; default true. */
  readonly enabled?: boolean;
  /** First delay; default 100 ms. */
  readonly initialDelayUs?: number;
  /** Largest delay; default 30 s. */
  readonly maxDelayUs?: number;
  /** Growth per failed attempt; default 2. */
  readonly multiplier?: number;
  /** Random spread, as a fraction of the delay (0.2 means ±20 %); default 0.2. */
  readonly jitter?: number;
}

/** Defaults of {@linkcode ReconnectOptions}. */
export const RECONNECT_DEFAULTS = {
  enabled: true,
  initialDelayUs: 100_000,
  maxDelayUs: 30_000_000,
  multiplier: 2,
  jitter: 0.2,
} as const;

/** Refusals that retrying cannot fix: the client stops and `wait()` resolves with the error. */
export const FATAL_REFUSALS: ReadonlySet<string> = new Set([
  ServertalkErrorCode.BadCredentials,
  ServertalkErrorCode.AccountDisabled,
  ServertalkErrorCode.Banned,
  ServertalkErrorCode.RoleNotAllowed,
  ServertalkErrorCode.VersionMismatch,
]);

/** Options of {@linkcode ServertalkClient}. */
export interface ClientOptions extends LinkOptions {
  /** Server host (with `port`), unless `connect` is given. */
  readonly address?: string;
  readonly port?: number;
  /** Speak TLS to the server. */
  readonly tls?: TlsClientOptions;
  /** A custom transport, e.g. `() => server.connectInProcess()`; replaces address/port. */
  readonly connect?: () => Promise<TcpConnection> | TcpConnection;
  /** Give up a TCP connection attempt after this long; default 10 s. */
  readonly connectTimeoutUs?: number;
  /** This peer's server name (unique among the server's live links). */
  readonly name: string;
  /** This peer's `ServerRole`. */
  readonly role: ServerRole;
  readonly account?: string;
  readonly password?: string;
  /** Build identifier sent in the hello; default `"qeynos"`. */
  readonly buildId?: string;
  readonly reconnect?: ReconnectOptions;
  /** Feature bits offered; default all. */
  readonly features?: number;
  /** Protocol version announced; default this build's. Only for diagnostics (watching a refusal). */
  readonly protocolVersion?: number;
  /** Handlers; default a new Router. */
  readonly router?: Router;
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** A servertalk client that keeps one link to one server alive. */
export class ServertalkClient {
  readonly router: Router;
  readonly #platform: Platform;
  readonly #options: ClientOptions;
  /** Random per client: tells the server a reconnect is this same run, not an impostor. */
  readonly #instance: string;
  readonly #connectHooks: Array<(link: Link) => void | Promise<void>> = [];
  readonly #disconnectHooks: Array<(info: CloseInfo) => void> = [];
  readonly #refusedHooks: Array<(error: ServertalkError) => void> = [];
  #link: Link | undefined;
  #ready = Promise.withResolvers<Link>();
  readonly #stopped = Promise.withResolvers<ServertalkError | undefined>();
  #started = false;
  #closed = false;
  #sleepTimer: TimerId | undefined;
  #wakeSleep: (() => void) | undefined;
  #attempt = 0;
  #connects = 0;
  #failedAttempts = 0;
  #lastError: string | undefined;
  #lastFailure: ServertalkError | undefined;
  #totals: TrafficTotals = { bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0 };
  readonly #meter = new RateMeter();
  #load = 0;
  readonly #seenNotices = new Map<string, number>();

  constructor(platform: Platform, options: ClientOptions) {
    this.#platform = platform;
    this.#options = options;
    this.router = options.router ?? new Router();
    this.#instance = hex(platform.rng.fill(new Uint8Array(16)));
    this.#ready.promise.catch(() => {});
  }

  // ---------------------------------------------------------------------------------------------
  // Handlers and hooks.

  handle<T, R>(type: MessageType<T, R>, ...handlers: Handler<T, R>[]): this {
    this.router.handle(type, ...handlers);
    return this;
  }
  handleRaw(opcode: number, ...handlers: Handler<Uint8Array, Uint8Array>[]): this {
    this.router.handleRaw(opcode, ...handlers);
    return this;
  }
  handleUnknown(...handlers: Handler<Uint8Array, Uint8Array>[]): this {
    this.router.handleUnknown(...handlers);
    return this;
  }
  hookAll(...handlers: Handler<unknown, unknown>[]): this {
    this.router.hookAll(...handlers);
    return this;
  }

  /**
   * Runs after every successful handshake, before `ready()` resolves: (re-)register here. Hooks run
   * in order; one that throws or rejects closes the link, and the client reconnects.
   */
  onConnect(hook: (link: Link) => void | Promise<void>): this {
    this.#connectHooks.push(hook);
    return this;
  }
  /** Runs when an open link closes. */
  onDisconnect(hook: (info: CloseInfo) => void): this {
    this.#disconnectHooks.push(hook);
    return this;
  }
  /** Runs when the server refuses the hello (with its code). */
  onRefused(hook: (error: ServertalkError) => void): this {
    this.#refusedHooks.push(hook);
    return this;
  }

  /**
   * Handles server-wide notices ({@linkcode SystemwideMessage}) once each: a notice replayed after a
   * reconnect, or repeated with the same id and issue time, is not delivered again while it lives.
   */
  onNotice(handler: (notice: SystemwideMessageValue, link: Link) => void): this {
    return this.handle(SystemwideMessage, (ctx) => {
      const notice = ctx.message;
      const key = `${notice.id}@${notice.issuedAtMs}`;
      const now = this.#platform.clock.wallMs();
      for (const [seen, expiresAtMs] of this.#seenNotices) if (expiresAtMs <= now) this.#seenNotices.delete(seen);
      if (this.#seenNotices.has(key)) return;
      this.#seenNotices.set(key, notice.issuedAtMs + notice.ttlMs);
      while (this.#seenNotices.size > 1024) this.#seenNotices.delete(this.#seenNotices.keys().next().value!);
      handler(notice, ctx.link);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle.

  /** Starts connecting (and keeps reconnecting); resolves with the first open link. */
  dial(): Promise<Link> {
    if (!this.#started) {
      this.#started = true;
      void this.#run();
    }
    return this.#ready.promise;
  }

  /**
   * The current open link once its `onConnect` hooks have run; waits for the next one while
   * disconnected. Rejects when the client stops (closed, or a fatal refusal).
   */
  ready(): Promise<Link> {
    return this.#ready.promise;
  }

  /** Whether a link is open and registered right now. */
  connected(): boolean {
    return this.#link !== undefined && this.#link.state === "open";
  }

  /** The current open link, if any. */
  get link(): Link | undefined {
    return this.connected() ? this.#link : undefined;
  }

  /** Resolves when the client stops for good: `undefined` after `close()`, the error after a fatal refusal. */
  wait(): Promise<ServertalkError | undefined> {
    return this.#stopped.promise;
  }

  /** Stops reconnecting and closes the link gracefully. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelSleep();
    const link = this.#link;
    if (link !== undefined) await link.close(ServertalkErrorCode.Shutdown, `Client ${this.#options.name} closed`);
    this.#stop(undefined);
  }

  #stop(error: ServertalkError | undefined): void {
    this.#closed = true;
    this.#cancelSleep();
    this.#ready.reject(error ?? new ServertalkError(ServertalkErrorCode.Closed, "Client closed"));
    this.#stopped.resolve(error);
  }

  /** Load reported to the server in heartbeats. */
  get load(): number {
    return this.#load;
  }
  set load(value: number) {
    this.#load = value;
    if (this.#link !== undefined) this.#link.load = value;
  }

  // ---------------------------------------------------------------------------------------------
  // Sending through the current link.

  #current(what: string): Link {
    const link = this.link;
    if (link === undefined) {
      throw new ServertalkError(ServertalkErrorCode.NotConnected, `Cannot send ${what}: not connected to the server`);
    }
    return link;
  }

  /** Sends a one-way message on the current link (throws `SERVERTALK_NOT_CONNECTED` without one). */
  send<T>(type: MessageType<T, unknown>, value: T): boolean {
    return this.#current(type.name).send(type, value);
  }

  /** Sends a request on the current link. */
  request<T, R>(type: MessageType<T, R>, value: T, options?: RequestOptions): Promise<ReplyOf<R>> {
    try {
      return this.#current(type.name).request(type, value, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Sends a raw request on the current link. */
  requestRaw(opcode: number, payload: Uint8Array, options?: RequestOptions): Promise<RawReply> {
    try {
      return this.#current(`opcode ${opcode}`).requestRaw(opcode, payload, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  metrics(): ClientMetrics {
    const link = this.#link;
    const m = link?.metrics();
    const totals = m === undefined ? this.#totals : addTotals(this.#totals, m);
    return {
      ...totals,
      connected: this.connected(),
      connects: this.#connects,
      reconnects: Math.max(0, this.#connects - 1),
      failedAttempts: this.#failedAttempts,
      perSecond: this.#meter.rates(totals, this.#platform.clock.now()),
      rttUs: m?.rttUs,
      queuedBytes: m?.queuedBytes ?? 0,
      lastError: this.#lastError,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // The connect loop.

  async #openTransport(): Promise<TcpConnection> {
    const options = this.#options;
    if (options.connect !== undefined) return await options.connect();
    if (options.address === undefined || options.port === undefined) {
      throw new ServertalkError(ServertalkErrorCode.BadArgument, "Cannot connect: give address and port, or connect");
    }
    return await this.#platform.tcp.connect({
      address: options.address,
      port: options.port,
      ...(options.connectTimeoutUs === undefined ? {} : { timeoutUs: options.connectTimeoutUs }),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
    });
  }

  async #run(): Promise<void> {
    const log = this.#platform.log;
    while (!this.#closed) {
      let connection: TcpConnection;
      try {
        connection = await this.#openTransport();
      } catch (error) {
        this.#failedAttempts++;
        this.#lastError = error instanceof Error ? error.message : String(error);
        this.#lastFailure = new ServertalkError(
          ServertalkErrorCode.NotConnected,
          `Cannot connect: ${this.#lastError}`,
          {
            cause: error,
          },
        );
        log.debug("servertalk: connect failed", { name: this.#options.name, error: this.#lastError });
        if (!(await this.#backoff())) return;
        continue;
      }
      if (this.#closed) {
        connection.destroy();
        return;
      }
      const link = new Link(this.#platform, connection, {
        ...this.#options,
        side: "dialer",
        router: this.router,
        features: this.#options.features ?? ALL_FEATURES,
      });
      this.#link = link;
      link.load = this.#load;
      link.start({
        buildId: this.#options.buildId ?? "qeynos",
        role: this.#options.role,
        name: this.#options.name,
        account: this.#options.account ?? "",
        password: this.#options.password ?? "",
        instance: this.#instance,
        ...(this.#options.protocolVersion === undefined ? {} : { protocolVersion: this.#options.protocolVersion }),
      });
      try {
        await link.opened;
      } catch (error) {
        this.#link = undefined;
        this.#failedAttempts++;
        const failure = error as ServertalkError;
        this.#lastFailure = failure;
        this.#lastError = `${failure.code}: ${failure.message}`;
        this.#absorb(link);
        if (link.closeInfo?.byPeer === true && failure.code !== ServertalkErrorCode.ConnectionLost) {
          for (const hook of this.#refusedHooks) hook(failure);
          log.warn("servertalk: server refused the hello", { name: this.#options.name, code: failure.code });
          if (FATAL_REFUSALS.has(failure.code)) {
            this.#stop(failure);
            return;
          }
        }
        if (!(await this.#backoff(failure.retryAfterMs))) return;
        continue;
      }
      this.#connects++;
      this.#attempt = 0;
      try {
        for (const hook of this.#connectHooks) await hook(link);
      } catch (error) {
        this.#lastError = error instanceof Error ? error.message : String(error);
        log.error("servertalk: onConnect hook failed; reconnecting", {
          name: this.#options.name,
          error: this.#lastError,
        });
        await link.close(ServertalkErrorCode.HandlerFailed, "Registration failed");
      }
      if (link.state === "open" && !this.#closed) {
        this.#ready.resolve(link);
      }
      const info = await link.closed;
      this.#link = undefined;
      this.#absorb(link);
      this.#lastFailure = info.error;
      this.#lastError = `${info.error.code}: ${info.error.message}`;
      // Later callers of ready() wait for the next link.
      this.#ready = Promise.withResolvers<Link>();
      this.#ready.promise.catch(() => {});
      for (const hook of this.#disconnectHooks) {
        try {
          hook(info);
        } catch (error) {
          log.error("servertalk: onDisconnect hook failed", {
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }
      if (this.#closed) break;
      log.info("servertalk: link lost; reconnecting", { name: this.#options.name, code: info.error.code });
      if (!(await this.#backoff())) return;
    }
    this.#stop(undefined);
  }

  #absorb(link: Link): void {
    this.#totals = addTotals(this.#totals, link.metrics());
  }

  /** Sleeps before the next attempt; false when the client should stop instead. */
  async #backoff(atLeastMs?: number): Promise<boolean> {
    const policy = { ...RECONNECT_DEFAULTS, ...this.#options.reconnect };
    if (!policy.enabled || this.#closed) {
      // Without reconnection the client stops, reporting what ended the last attempt.
      this.#stop(this.#closed ? undefined : this.#lastFailure);
      return false;
    }
    const base = Math.min(policy.maxDelayUs, policy.initialDelayUs * policy.multiplier ** this.#attempt);
    this.#attempt++;
    const spread = 1 + policy.jitter * (2 * this.#platform.rng.float() - 1);
    const delayUs = Math.max(Math.round(base * spread), (atLeastMs ?? 0) * 1000);
    await new Promise<void>((resolve) => {
      this.#wakeSleep = resolve;
      this.#sleepTimer = this.#platform.timers.setTimeout(resolve, delayUs);
    });
    this.#sleepTimer = undefined;
    this.#wakeSleep = undefined;
    return !this.#closed;
  }

  #cancelSleep(): void {
    if (this.#sleepTimer !== undefined) this.#platform.timers.clearTimeout(this.#sleepTimer);
    this.#sleepTimer = undefined;
    this.#wakeSleep?.();
  }
}
