/**
 * The EQStream server: one UDP socket, a table of sessions keyed by remote address, and the
 * admission rules that keep a flood of spoofed SessionRequests cheap (per-source and global rate
 * limits, caps per IP, on half-open sessions and in total).
 * @module
 */
import type { Platform, SocketAddress } from "../platform/platform.ts";
import { AddressMap } from "./_address_map.ts";
import { Driver } from "./_driver.ts";
import { RateLimiter, TokenBucket } from "./_rate_limiter.ts";
import { EqStreamConnection, type EqStreamHandlers } from "./connection.ts";
import { EqStreamError, EqStreamErrorCode } from "./errors.ts";
import { decodeBody, PacketSize, ProtocolOp } from "./packets.ts";
import { type ServerSessionOptions, Session } from "./session.ts";

/** Admission limits of a server. */
export interface ServerLimits {
  /** Most sessions at once; default 10 000. */
  readonly maxSessions?: number;
  /** Most sessions from one IP address; default 32. */
  readonly maxSessionsPerIp?: number;
  /** Most sessions whose handshake has not completed yet; default 1 024. */
  readonly maxHalfOpen?: number;
  /** SessionRequests accepted per second from one IP (burst twice that); default 10. */
  readonly requestsPerSecondPerIp?: number;
  /** SessionRequests accepted per second from everyone (burst twice that); default 1 000. */
  readonly requestsPerSecond?: number;
  /** Source addresses the rate limiter remembers at once; default 4 096. */
  readonly maxTrackedSources?: number;
}

/** Options of {@linkcode listen}. */
export interface ServerOptions {
  /** Local address; default "127.0.0.1". */
  readonly address?: string;
  /** Local port; default 0 (any free one). */
  readonly port?: number;
  /** Options of every session. */
  readonly session?: ServerSessionOptions;
  /** Admission limits. */
  readonly limits?: ServerLimits;
  /** Answer datagrams from unknown addresses with OutOfSession (rate-limited per source); default true. */
  readonly outOfSessionReplies?: boolean;
  /** Called after every poll of a session (for metrics and tests: `connection.stats` is current then). */
  readonly observe?: (connection: EqStreamConnection) => void;
}

/** Counters of a server. */
export interface ServerStats {
  readonly sessions: number;
  readonly halfOpen: number;
  readonly accepted: number;
  /** SessionRequests dropped by a rate limit. */
  readonly rateLimited: number;
  /** SessionRequests dropped by a session cap. */
  readonly overCapacity: number;
  /** SessionRequests refused as unusable (max length too small). */
  readonly badRequests: number;
  /** Datagrams from unknown addresses that were not SessionRequests. */
  readonly strays: number;
  readonly outOfSessionReplies: number;
  /** Sources the rate limiter tracks. */
  readonly trackedSources: number;
}

const DEFAULT_LIMITS: Required<ServerLimits> = {
  maxSessions: 10_000,
  maxSessionsPerIp: 32,
  maxHalfOpen: 1_024,
  requestsPerSecondPerIp: 10,
  requestsPerSecond: 1_000,
  maxTrackedSources: 4_096,
};

const OUT_OF_SESSION = Uint8Array.of(0, ProtocolOp.OutOfSession);

/** A listening EQStream server. */
export class EqStreamServer {
  /** The bound address (with the real port when 0 was asked for). */
  readonly local: SocketAddress;
  readonly #driver: Driver;
  readonly #options: ServerOptions;
  readonly #limits: Required<ServerLimits>;
  readonly #handlers: EqStreamHandlers;
  readonly #sessions = new AddressMap<EqStreamConnection>();
  readonly #perIp = new Map<string, number>();
  readonly #halfOpen = new Set<EqStreamConnection>();
  readonly #perSource: RateLimiter;
  readonly #global: TokenBucket;
  #accepted = 0;
  #rateLimited = 0;
  #overCapacity = 0;
  #badRequests = 0;
  #strays = 0;
  #outOfSession = 0;
  #closed = false;

  /** @internal Use {@linkcode listen}. */
  constructor(driver: Driver, local: SocketAddress, options: ServerOptions, handlers: EqStreamHandlers) {
    this.#driver = driver;
    this.local = local;
    this.#options = options;
    this.#handlers = handlers;
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits };
    const l = this.#limits;
    this.#perSource = new RateLimiter(l.requestsPerSecondPerIp, {
      burst: 2 * l.requestsPerSecondPerIp,
      maxSources: l.maxTrackedSources,
    });
    this.#global = new TokenBucket(l.requestsPerSecond, 2 * l.requestsPerSecond);
  }

  /** Live connections. */
  connections(): IterableIterator<EqStreamConnection> {
    return this.#sessions.values();
  }

  get stats(): ServerStats {
    return {
      sessions: this.#sessions.size,
      halfOpen: this.#halfOpen.size,
      accepted: this.#accepted,
      rateLimited: this.#rateLimited,
      overCapacity: this.#overCapacity,
      badRequests: this.#badRequests,
      strays: this.#strays,
      outOfSessionReplies: this.#outOfSession,
      trackedSources: this.#perSource.size,
    };
  }

  /** @internal Every datagram of the socket comes here. */
  receive(bytes: Uint8Array, address: string, port: number): void {
    if (this.#closed) return;
    const connection = this.#sessions.get(address, port);
    const isRequest = bytes.length >= PacketSize.SessionRequest && bytes[0] === 0 &&
      bytes[1] === ProtocolOp.SessionRequest;
    if (connection !== undefined) {
      if (isRequest) {
        const request = decodeBody(ProtocolOp.SessionRequest, bytes, 0, bytes.length);
        if (request.op === ProtocolOp.SessionRequest && !connection.session.handleSessionRequest(request)) {
          // The same address starts over with a new session id: the old session is gone for good.
          connection.session.close("replaced", { graceful: false });
          this.#driver.service(connection);
          this.#forget(connection);
          this.#admit(bytes, address, port);
          return;
        }
      } else {
        connection.session.receive(bytes, this.#driver.now());
      }
      this.#driver.service(connection);
      return;
    }
    if (isRequest) {
      this.#admit(bytes, address, port);
      return;
    }
    this.#strays++;
    // Tell a client whose session we lost, but no faster than the source may open sessions.
    if (
      this.#options.outOfSessionReplies !== false && bytes.length >= 2 && bytes[0] === 0 &&
      bytes[1] !== ProtocolOp.OutOfSession && this.#perSource.take(address, this.#driver.now())
    ) {
      this.#outOfSession++;
      this.#driver.socket?.send(OUT_OF_SESSION, address, port);
    }
  }

  #admit(bytes: Uint8Array, address: string, port: number): void {
    const now = this.#driver.now();
    const l = this.#limits;
    if (!this.#perSource.take(address, now) || !this.#global.take(now)) {
      this.#rateLimited++;
      return;
    }
    const fromIp = this.#perIp.get(address) ?? 0;
    if (this.#sessions.size >= l.maxSessions || fromIp >= l.maxSessionsPerIp || this.#halfOpen.size >= l.maxHalfOpen) {
      this.#overCapacity++;
      return;
    }
    const request = decodeBody(ProtocolOp.SessionRequest, bytes, 0, bytes.length);
    if (request.op !== ProtocolOp.SessionRequest) return;
    let session: Session;
    try {
      session = Session.accept(request, this.#options.session ?? {}, this.#driver.platform.rng, now);
    } catch (error) {
      if (error instanceof EqStreamError && error.code === EqStreamErrorCode.BadSessionRequest) {
        this.#badRequests++;
        return;
      }
      throw error;
    }
    const handlers = this.#handlers;
    const connection: EqStreamConnection = new EqStreamConnection(session, {
      driver: this.#driver,
      remote: { address, port },
      handlers: {
        ...handlers,
        opened: (c) => {
          this.#halfOpen.delete(c);
          handlers.opened?.(c);
        },
      },
      onFinished: (c) => this.#forget(c),
    });
    this.#accepted++;
    this.#sessions.set(address, port, connection);
    this.#perIp.set(address, fromIp + 1);
    this.#halfOpen.add(connection);
    this.#driver.service(connection);
  }

  #forget(connection: EqStreamConnection): void {
    const { address, port } = connection.remote;
    if (this.#sessions.get(address, port) !== connection) return;
    this.#sessions.delete(address, port);
    this.#halfOpen.delete(connection);
    const left = (this.#perIp.get(connection.remote.address) ?? 1) - 1;
    if (left <= 0) this.#perIp.delete(connection.remote.address);
    else this.#perIp.set(connection.remote.address, left);
  }

  /** Closes every session at once (each peer gets a SessionDisconnect) and the socket. */
  close(): void {
    if (this.#closed) return;
    for (const connection of [...this.#sessions.values()]) {
      connection.session.close("local", { graceful: false });
      this.#driver.service(connection);
    }
    this.#closed = true;
    this.#driver.close();
    this.#driver.socket?.close();
  }
}

/**
 * Binds a UDP socket on `platform` and serves EQStream sessions on it.
 *
 * ```ts
 * const server = await listen(platform, { port: 9100 }, {
 *   app(connection, opcode, payload) { connection.sendApp(opcode, payload); },
 * });
 * ```
 */
export async function listen(
  platform: Platform,
  options: ServerOptions,
  handlers: EqStreamHandlers,
): Promise<EqStreamServer> {
  const driver = new Driver(platform, options.observe);
  const holder: { server?: EqStreamServer } = {};
  const socket = await platform.udp.bind(
    { address: options.address ?? "127.0.0.1", port: options.port ?? 0 },
    (bytes, address, port) => holder.server?.receive(bytes, address, port),
  );
  driver.socket = socket;
  holder.server = new EqStreamServer(driver, socket.local, options, handlers);
  return holder.server;
}
