/**
 * The seam between Qeynos code and the world: time, timers, randomness, sockets and logging.
 *
 * Protocol cores (`src/eqstream`, `src/servertalk`), roles and the store never touch a runtime API
 * directly; they receive a `Platform`. The real adapters (`deno.ts`, `bun.ts`, `node.ts`) wrap the
 * runtime, and `sim/` provides a virtual one with the same shape, so the same code runs on real
 * sockets and inside a deterministic simulation.
 *
 * Time is integer microseconds throughout.
 */

/** Monotonic and wall-clock time. */
export interface Clock {
  /** Monotonic time in integer microseconds since an arbitrary origin. */
  now(): number;
  /** Wall-clock time in milliseconds since the Unix epoch (for records, expiries and logs). */
  wallMs(): number;
}

/** Opaque handle of a scheduled timer. */
export type TimerId = number;

/** One-shot timers in microseconds. Repeating work re-arms itself. */
export interface Timers {
  /** Runs `callback` once, `delayUs` microseconds from now (0 means "as soon as possible"). */
  setTimeout(callback: () => void, delayUs: number): TimerId;
  /** Cancels a timer; unknown or already-fired ids are ignored. */
  clearTimeout(id: TimerId): void;
  /**
   * Runs `callback` once the current task is done: on a runtime, on the next turn of the event loop
   * (as a delay of 0 does); in the simulator, at the same virtual instant right after the current
   * event, without an event of its own. It cannot be cancelled.
   */
  defer(callback: () => void): void;
}

/** A source of random numbers; seeded in simulation, cryptographic on real adapters. */
export interface Rng {
  /** A uniform unsigned 32-bit integer. */
  u32(): number;
  /** A uniform float in [0, 1). */
  float(): number;
  /** Fills `bytes` with random bytes and returns it. */
  fill(bytes: Uint8Array): Uint8Array;
}

/** An IPv4 or IPv6 address with a port. */
export interface SocketAddress {
  readonly address: string;
  readonly port: number;
}

/**
 * Called for each received datagram. The receiver owns `bytes` and may keep it.
 * `address`/`port` are passed separately so that the hot path allocates no address object.
 */
export type DatagramHandler = (bytes: Uint8Array, address: string, port: number) => void;

/** Options for binding a UDP socket. */
export interface UdpBindOptions {
  /** Local address; default `"127.0.0.1"`. */
  readonly address?: string;
  /** Local port; default 0 (any free port). */
  readonly port?: number;
}

/** A bound UDP socket. */
export interface UdpSocket {
  /** The address actually bound (with the real port when 0 was asked for). */
  readonly local: SocketAddress;
  /** Sends one datagram. Never throws for a transient network error; such errors are logged and the datagram is lost. */
  send(bytes: Uint8Array, address: string, port: number): void;
  /** Closes the socket; further sends are ignored. */
  close(): void;
}

/** UDP sockets. */
export interface Udp {
  /** Binds a socket; every datagram received is passed to `onDatagram`. */
  bind(options: UdpBindOptions, onDatagram: DatagramHandler): Promise<UdpSocket>;
}

/** Callbacks of a TCP connection, installed once with {@linkcode TcpConnection.start}. */
export interface TcpHandlers {
  /** Bytes arrived, in order. The receiver owns `bytes`. */
  data(bytes: Uint8Array): void;
  /** The write buffer fell below its low-water mark after `write` returned `false`. */
  drain(): void;
  /** The connection is gone: closed by the peer (`error` undefined) or failed. Called exactly once. */
  close(error?: Error): void;
}

/** An established TCP (or TLS) connection. */
export interface TcpConnection {
  readonly local: SocketAddress;
  readonly remote: SocketAddress;
  /** Bytes written but not yet handed to the kernel. */
  readonly bufferedBytes: number;
  /**
   * Installs the handlers and starts delivering data. Nothing is delivered before this call,
   * so a connection can be handed around without losing bytes.
   */
  start(handlers: TcpHandlers): void;
  /** Queues bytes. Returns `false` when the caller should wait for `drain` before writing more. */
  write(bytes: Uint8Array): boolean;
  /** Half-closes after the queued bytes are flushed; `close` fires when the peer finishes too. */
  end(): void;
  /** Closes at once, dropping queued bytes. */
  destroy(): void;
}

/** TLS options for a listener. */
export interface TlsServerOptions {
  /** PEM certificate chain. */
  readonly cert: string;
  /** PEM private key. */
  readonly key: string;
}

/** TLS options for an outgoing connection. */
export interface TlsClientOptions {
  /** PEM CA certificates to trust instead of the system store. */
  readonly ca?: string;
  /** Name to verify in the server certificate; default the host connected to. */
  readonly serverName?: string;
}

/** Options for a TCP listener. */
export interface TcpListenOptions {
  /** Local address; default `"127.0.0.1"`. */
  readonly address?: string;
  /** Local port; 0 picks a free one. */
  readonly port: number;
  /** Serve TLS instead of plain TCP. */
  readonly tls?: TlsServerOptions;
}

/** Options for an outgoing TCP connection. */
export interface TcpConnectOptions {
  readonly address: string;
  readonly port: number;
  /** Give up after this many microseconds; default 10 s. */
  readonly timeoutUs?: number;
  /** Speak TLS. */
  readonly tls?: TlsClientOptions;
}

/** A listening TCP socket. */
export interface TcpListener {
  readonly local: SocketAddress;
  /** Stops accepting; existing connections stay open. */
  close(): Promise<void>;
}

/** TCP sockets. */
export interface Tcp {
  listen(options: TcpListenOptions, onConnection: (connection: TcpConnection) => void): Promise<TcpListener>;
  connect(options: TcpConnectOptions): Promise<TcpConnection>;
}

/** Severity of a log line. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Structured fields attached to a log line. Never put a password or a hash here. */
export type LogFields = Readonly<Record<string, unknown>>;

/** A structured logger. */
export interface Log {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Log;
}

/** Everything a protocol core, role or store may use from the outside world. */
export interface Platform {
  /** `"deno"`, `"bun"`, `"node"` or `"sim"`. */
  readonly name: string;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly rng: Rng;
  readonly udp: Udp;
  readonly tcp: Tcp;
  readonly log: Log;
}
