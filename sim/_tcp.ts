/**
 * The simulated TCP model used by servertalk links.
 *
 * Each connection has two one-way *pipes*. A pipe carries items (SYN, SYN-ACK, data, ACK, FIN, RST)
 * strictly in order: only the head item has an arrival event; the next one is scheduled when the
 * head gets through. A head that cannot get through (partition, receiver crashed or paused) is
 * retried with a doubling retransmission timeout; after the user timeout the sending side fails
 * with `ETIMEDOUT`. Datagram loss on the link becomes extra retransmission delay, so the stream
 * stays ordered and complete. Writes are cut into randomly sized segments (seeded), so a reader
 * sees arbitrary chunk boundaries; bytes in flight are limited by a window, acknowledged when the
 * receiving application has them, which gives back-pressure: `write` returns false past the
 * high-water mark and `drain` follows. A crash resets the host's connections (or, with
 * `silent`, leaves its peers half-open until they write and time out).
 * @module
 */
import type {
  SocketAddress,
  Tcp,
  TcpConnection,
  TcpConnectOptions,
  TcpHandlers,
  TcpListener,
  TcpListenOptions,
} from "../src/platform/platform.ts";
import { PHASE, type SimEvent } from "./_event_queue.ts";
import { HOST_STATUS, type SimHost, type SimLink } from "./_host.ts";
import { EVENT_KIND, type Kernel } from "./_kernel.ts";
import { LOCAL_ADDRESSES, SimSocketError } from "./_socket_error.ts";
import type { SimRng } from "./rng.ts";

const ITEM = { syn: 1, synAck: 2, data: 3, ack: 4, fin: 5, rst: 6 } as const;
const MAX_RTO_US = 2_000_000;
const DEFAULT_CONNECT_TIMEOUT_US = 10_000_000;

class Item {
  stalledSince = -1;
  retries = 0;
  constructor(readonly type: number, readonly n: number, readonly bytes: Uint8Array | undefined, public at: number) {}
}

class Pipe {
  readonly items: Item[] = [];
  head = 0;
  event: SimEvent | undefined;
  lastAt = 0;
  freeAt = 0;
  constructor(readonly conn: Connection, readonly dir: 0 | 1, readonly link: SimLink, readonly rng: SimRng) {}

  get empty(): boolean {
    return this.head === this.items.length;
  }

  clear(): void {
    this.items.length = 0;
    this.head = 0;
  }
}

class Connection {
  readonly ends: [Endpoint, Endpoint | undefined];
  readonly pipes: [Pipe, Pipe];
  connectTimer: SimEvent | undefined;
  resolveConnect: ((connection: TcpConnection) => void) | undefined;
  rejectConnect: ((error: Error) => void) | undefined;
  constructor(
    readonly id: number,
    readonly network: TcpNetwork,
    client: Endpoint,
    readonly serverHost: SimHost,
    readonly serverPort: number,
    readonly target: string,
  ) {
    this.ends = [client, undefined];
    const k = network.kernel;
    const up = k.link(client.host, serverHost);
    const down = k.link(serverHost, client.host);
    this.pipes = [
      new Pipe(this, 0, up, k.rng(`tcp:${client.host.id}>${serverHost.id}`)),
      new Pipe(this, 1, down, k.rng(`tcp:${serverHost.id}>${client.host.id}`)),
    ];
  }
}

const STATE = { syn: 0, open: 1, closed: 2 } as const;

class Endpoint implements TcpConnection {
  readonly local: SocketAddress;
  readonly remote: SocketAddress;
  state: number;
  conn!: Connection;
  started = false;
  handlers: TcpHandlers | undefined;
  inbox: Uint8Array[] = [];
  pendingClose: { error: Error | undefined } | undefined;
  peerFin = false;
  finSent = false;
  endRequested = false;
  queue: Uint8Array[] = [];
  queueHead = 0;
  queueOffset = 0;
  queued = 0;
  inFlight = 0;
  needDrain = false;

  constructor(
    readonly network: TcpNetwork,
    readonly host: SimHost,
    readonly incarnation: number,
    readonly side: 0 | 1,
    local: SocketAddress,
    remote: SocketAddress,
    state: number,
  ) {
    this.local = local;
    this.remote = remote;
    this.state = state;
  }

  get alive(): boolean {
    return this.host.incarnation === this.incarnation && this.host.status !== HOST_STATUS.crashed;
  }

  get bufferedBytes(): number {
    return this.queued;
  }

  start(handlers: TcpHandlers): void {
    if (this.started) throw new Error("Cannot start TCP connection: already started");
    this.started = true;
    this.handlers = handlers;
    if (this.inbox.length > 0 || this.pendingClose !== undefined) this.network.scheduleFlush(this);
  }

  write(bytes: Uint8Array): boolean {
    if (this.state !== STATE.open || this.endRequested || !this.alive) return false;
    const limits = this.network.kernel.tcpOptions;
    if (bytes.length > 0) {
      this.queue.push(bytes.slice());
      this.queued += bytes.length;
    }
    if (this.queued > limits.maxBufferedBytes) {
      const error = new SimSocketError(
        `TCP send buffer overflow: ${this.queued} bytes buffered exceeds limit ${limits.maxBufferedBytes}`,
        "SIM_TCP_BUFFER_OVERFLOW",
      );
      this.network.abort(this, error);
      return false;
    }
    this.network.pump(this);
    const ok = this.queued < limits.highWaterBytes;
    if (!ok) this.needDrain = true;
    return ok;
  }

  end(): void {
    if (this.state !== STATE.open || this.endRequested || !this.alive) return;
    this.endRequested = true;
    this.network.pump(this);
  }

  destroy(): void {
    if (this.state === STATE.closed || !this.alive) return;
    const wasOpen = this.state === STATE.open;
    this.network.close(this, undefined);
    if (wasOpen && !this.finSent) {
      this.finSent = true;
      this.network.send(this, ITEM.fin, 0, undefined);
    }
  }

  /** Takes `n` bytes from the front of the send queue. */
  take(n: number): Uint8Array {
    const first = this.queue[this.queueHead]!;
    const available = first.length - this.queueOffset;
    let out: Uint8Array;
    if (available >= n) {
      out = first.subarray(this.queueOffset, this.queueOffset + n);
      this.queueOffset += n;
    } else {
      out = new Uint8Array(n);
      let filled = 0;
      while (filled < n) {
        const chunk = this.queue[this.queueHead]!;
        const part = Math.min(n - filled, chunk.length - this.queueOffset);
        out.set(chunk.subarray(this.queueOffset, this.queueOffset + part), filled);
        filled += part;
        this.queueOffset += part;
        if (this.queueOffset === chunk.length) {
          this.queueHead++;
          this.queueOffset = 0;
        }
      }
    }
    if (this.queueHead < this.queue.length && this.queueOffset === this.queue[this.queueHead]!.length) {
      this.queueHead++;
      this.queueOffset = 0;
    }
    if (this.queueHead > 64 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    this.queued -= n;
    return out;
  }

  dropQueue(): void {
    this.queue = [];
    this.queueHead = 0;
    this.queueOffset = 0;
    this.queued = 0;
  }
}

/** Counters of the TCP model. */
export interface TcpStats {
  connectionsOpened: number;
  connectionsRefused: number;
  connectionsTimedOut: number;
  resets: number;
  segments: number;
  bytes: number;
  retransmits: number;
}

/** The TCP model of one simulation. */
export class TcpNetwork {
  readonly kernel: Kernel;
  readonly #endpoints = new Map<number, Set<Endpoint>>();
  #nextConnection = 1;
  readonly stats: TcpStats = {
    connectionsOpened: 0,
    connectionsRefused: 0,
    connectionsTimedOut: 0,
    resets: 0,
    segments: 0,
    bytes: 0,
    retransmits: 0,
  };
  readonly #arrive = (pipe: unknown) => this.#arrival(pipe as Pipe);
  readonly #flush = (endpoint: unknown) => this.#flushInbox(endpoint as Endpoint);
  readonly #drain = (endpoint: unknown) => {
    const e = endpoint as Endpoint;
    if (e.state === STATE.open && e.alive && e.handlers !== undefined) {
      this.kernel.watch(e.handlers.drain(), e.host.index);
    }
  };
  readonly #closed = (arg: unknown) => {
    const { endpoint, error } = arg as { endpoint: Endpoint; error: Error | undefined };
    if (!endpoint.alive) return;
    if (endpoint.started && endpoint.handlers !== undefined) {
      this.kernel.watch(endpoint.handlers.close(error), endpoint.host.index);
    } else endpoint.pendingClose = { error };
  };

  constructor(kernel: Kernel) {
    this.kernel = kernel;
  }

  #register(endpoint: Endpoint): void {
    let set = this.#endpoints.get(endpoint.host.index);
    if (set === undefined) this.#endpoints.set(endpoint.host.index, set = new Set());
    set.add(endpoint);
  }

  /** The `Tcp` of one host incarnation. */
  platformTcp(host: SimHost, incarnation: number): Tcp {
    const k = this.kernel;
    const alive = () => host.incarnation === incarnation && host.status !== HOST_STATUS.crashed;
    return {
      listen: (options: TcpListenOptions, onConnection: (connection: TcpConnection) => void) => {
        const { promise, resolve, reject } = Promise.withResolvers<TcpListener>();
        if (!alive()) return promise;
        const address = options.address ?? "127.0.0.1";
        const where = `${address}:${options.port}`;
        let failure: SimSocketError | undefined;
        if (address !== host.address && !LOCAL_ADDRESSES.has(address)) {
          failure = new SimSocketError(
            `Cannot listen on TCP ${where}: address not available on host ${host.id} (${host.address})`,
            "EADDRNOTAVAIL",
          );
        } else if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
          failure = new SimSocketError(`Cannot listen on TCP ${where}: invalid port`, "EINVAL");
        } else if (options.port !== 0 && host.tcpPorts.has(options.port)) {
          failure = new SimSocketError(`Cannot listen on TCP ${where}: address in use`, "EADDRINUSE");
        }
        const port = failure === undefined ? (options.port === 0 ? host.ephemeral("tcp") : options.port) : 0;
        if (failure === undefined && port === 0) {
          failure = new SimSocketError(`Cannot listen on TCP ${where}: no free port`, "EADDRINUSE");
        }
        if (failure !== undefined) {
          const error = failure;
          k.settle(host, () => reject(error));
          return promise;
        }
        host.tcpPorts.add(port);
        host.tcpListeners.set(port, { port, incarnation, onConnection });
        let closed = false;
        const listener: TcpListener = {
          local: { address: host.address, port },
          close: () => {
            const done = Promise.withResolvers<void>();
            if (!closed && alive()) {
              closed = true;
              host.tcpListeners.delete(port);
              host.tcpPorts.delete(port);
            }
            k.settle(host, () => done.resolve());
            return done.promise;
          },
        };
        k.settle(host, () => resolve(listener));
        return promise;
      },

      connect: (options: TcpConnectOptions) => {
        const { promise, resolve, reject } = Promise.withResolvers<TcpConnection>();
        if (!alive()) return promise;
        const target = `${options.address}:${options.port}`;
        const server = k.hostByAddress(options.address, host);
        const port = server === undefined ? 0 : host.ephemeral("tcp");
        if (server === undefined || port === 0) {
          const error = server === undefined
            ? new SimSocketError(`Cannot connect to ${target}: no route to host`, "EHOSTUNREACH")
            : new SimSocketError(`Cannot connect to ${target}: no free local port`, "EADDRNOTAVAIL");
          k.settle(host, () => reject(error));
          return promise;
        }
        host.tcpPorts.add(port);
        const client = new Endpoint(
          this,
          host,
          incarnation,
          0,
          { address: host.address, port },
          { address: server.address, port: options.port },
          STATE.syn,
        );
        const conn = new Connection(this.#nextConnection++, this, client, server, options.port, target);
        client.conn = conn;
        conn.resolveConnect = resolve;
        conn.rejectConnect = reject;
        this.#register(client);
        const timeoutUs = options.timeoutUs ?? DEFAULT_CONNECT_TIMEOUT_US;
        conn.connectTimer = k.schedule(k.now + timeoutUs, PHASE.timer, EVENT_KIND.tcp, host.index, () => {
          if (client.state !== STATE.syn || !client.alive) return;
          this.stats.connectionsTimedOut++;
          this.#failConnect(
            client,
            new SimSocketError(
              `Cannot connect to ${target}: timed out after ${Math.round(timeoutUs / 1000)} ms`,
              "ETIMEDOUT",
            ),
          );
        }, undefined);
        this.send(client, ITEM.syn, 0, undefined);
        return promise;
      },
    };
  }

  #failConnect(client: Endpoint, error: Error): void {
    const conn = client.conn;
    client.state = STATE.closed;
    client.host.tcpPorts.delete(client.local.port);
    this.#endpoints.get(client.host.index)?.delete(client);
    if (conn.connectTimer !== undefined) this.kernel.cancel(conn.connectTimer);
    const reject = conn.rejectConnect;
    conn.resolveConnect = conn.rejectConnect = undefined;
    if (reject !== undefined) this.kernel.settle(client.host, () => reject(error));
  }

  /** Queues an item on `from`'s outgoing pipe. */
  send(from: Endpoint, type: number, n: number, bytes: Uint8Array | undefined): void {
    const k = this.kernel;
    const pipe = from.conn.pipes[from.side];
    const model = pipe.link.model;
    const rng = pipe.rng;
    let at = k.now;
    const size = (bytes?.length ?? 0) + 40;
    if (model.bitsPerUs > 0) {
      const start = pipe.freeAt > at ? pipe.freeAt : at;
      pipe.freeAt = start + Math.ceil((size * 8) / model.bitsPerUs);
      at = pipe.freeAt;
    }
    at += model.sampleDelay(rng);
    const loss = model.lossProbability;
    // A lost segment arrives one retransmission timeout (doubling per repeated loss) later.
    for (let rto = k.tcpOptions.rtoUs, tries = 0; loss > 0 && tries < 8 && rng.float() < loss; tries++) {
      at += rto;
      rto = Math.min(rto * 2, MAX_RTO_US);
      this.stats.retransmits++;
    }
    if (at < pipe.lastAt) at = pipe.lastAt;
    pipe.lastAt = at;
    pipe.items.push(new Item(type, n, bytes, at));
    pipe.link.tcpSegments++;
    pipe.link.tcpBytes += size;
    this.stats.segments++;
    this.stats.bytes += bytes?.length ?? 0;
    if (pipe.event === undefined) this.#scheduleHead(pipe);
  }

  #scheduleHead(pipe: Pipe): void {
    const item = pipe.items[pipe.head]!;
    const k = this.kernel;
    const at = item.at > k.now ? item.at : k.now;
    pipe.event = k.schedule(at, PHASE.network, EVENT_KIND.tcp, pipe.link.to.index, this.#arrive, pipe);
  }

  #arrival(pipe: Pipe): void {
    const k = this.kernel;
    pipe.event = undefined;
    const item = pipe.items[pipe.head];
    if (item === undefined) return;
    const to = pipe.link.to;
    k.trace.mix(item.type);
    k.trace.mix(item.n);
    k.trace.detail(pipe.conn.id, item.type);
    if (pipe.link.blocked > 0 || to.status !== HOST_STATUS.up) {
      // No answer: retransmit later, or give up after the user timeout.
      if (item.stalledSince < 0) item.stalledSince = k.now;
      const sender = pipe.conn.ends[pipe.dir];
      if (k.now - item.stalledSince >= k.tcpOptions.userTimeoutUs) {
        pipe.clear();
        if (sender !== undefined) this.#timeout(sender);
        return;
      }
      const rto = Math.min(k.tcpOptions.rtoUs * 2 ** item.retries, MAX_RTO_US);
      item.retries++;
      this.stats.retransmits++;
      pipe.event = k.schedule(k.now + rto, PHASE.network, EVENT_KIND.tcp, to.index, this.#arrive, pipe);
      return;
    }
    pipe.head++;
    if (pipe.head === pipe.items.length) pipe.clear();
    else if (pipe.head > 64 && pipe.head * 2 > pipe.items.length) {
      pipe.items.splice(0, pipe.head);
      pipe.head = 0;
    }
    if (!pipe.empty) this.#scheduleHead(pipe);
    this.#deliver(pipe, item);
  }

  #timeout(sender: Endpoint): void {
    if (!sender.alive) return;
    if (sender.state === STATE.syn) {
      this.stats.connectionsTimedOut++;
      this.#failConnect(
        sender,
        new SimSocketError(`Cannot connect to ${sender.conn.target}: no answer from the peer`, "ETIMEDOUT"),
      );
    } else if (sender.state === STATE.open) {
      this.close(sender, new SimSocketError("Connection timed out: the peer did not acknowledge data", "ETIMEDOUT"));
    }
  }

  #deliver(pipe: Pipe, item: Item): void {
    const conn = pipe.conn;
    const dst = (1 - pipe.dir) as 0 | 1;
    if (item.type === ITEM.syn) return this.#accept(conn);
    const endpoint = conn.ends[dst];
    if (endpoint === undefined) return;
    if (!endpoint.alive) {
      // The host restarted: its new incarnation knows nothing of this connection.
      if (item.type !== ITEM.rst && item.type !== ITEM.ack) this.#resetFrom(conn, dst);
      return;
    }
    if (endpoint.state === STATE.closed) {
      if (item.type === ITEM.data || item.type === ITEM.synAck) this.#resetFrom(conn, dst);
      return;
    }
    switch (item.type) {
      case ITEM.synAck: {
        if (endpoint.state !== STATE.syn) return;
        endpoint.state = STATE.open;
        this.stats.connectionsOpened++;
        if (conn.connectTimer !== undefined) this.kernel.cancel(conn.connectTimer);
        const resolve = conn.resolveConnect;
        conn.resolveConnect = conn.rejectConnect = undefined;
        if (resolve !== undefined) this.kernel.settle(endpoint.host, () => resolve(endpoint));
        return;
      }
      case ITEM.data: {
        const bytes = item.bytes!;
        if (endpoint.started && endpoint.handlers !== undefined) {
          this.send(endpoint, ITEM.ack, bytes.length, undefined);
          this.kernel.watch(endpoint.handlers.data(bytes), endpoint.host.index);
        } else endpoint.inbox.push(bytes);
        return;
      }
      case ITEM.ack: {
        endpoint.inFlight -= item.n;
        this.pump(endpoint);
        return;
      }
      case ITEM.fin: {
        endpoint.peerFin = true;
        if (endpoint.finSent) this.close(endpoint, undefined);
        else {
          // As the node:net adapter does: a peer that ended has nothing more to say, so end too.
          endpoint.endRequested = true;
          this.pump(endpoint);
        }
        return;
      }
      case ITEM.rst: {
        this.stats.resets++;
        if (endpoint.state === STATE.syn) {
          this.stats.connectionsRefused++;
          this.#failConnect(
            endpoint,
            new SimSocketError(`Cannot connect to ${conn.target}: connection refused`, "ECONNREFUSED"),
          );
        } else this.close(endpoint, new SimSocketError("Connection reset by peer", "ECONNRESET"));
        return;
      }
    }
  }

  #accept(conn: Connection): void {
    const k = this.kernel;
    const server = conn.serverHost;
    const client = conn.ends[0];
    const listener = server.tcpListeners.get(conn.serverPort);
    if (conn.ends[1] !== undefined) return;
    if (listener === undefined || listener.incarnation !== server.incarnation) {
      // Refused: answer from the server side of this connection.
      const ghost = new Endpoint(
        this,
        server,
        server.incarnation,
        1,
        { address: server.address, port: conn.serverPort },
        client.local,
        STATE.closed,
      );
      ghost.conn = conn;
      this.send(ghost, ITEM.rst, 0, undefined);
      return;
    }
    const endpoint = new Endpoint(
      this,
      server,
      server.incarnation,
      1,
      { address: server.address, port: conn.serverPort },
      client.local,
      STATE.open,
    );
    endpoint.conn = conn;
    conn.ends[1] = endpoint;
    this.#register(endpoint);
    this.send(endpoint, ITEM.synAck, 0, undefined);
    k.watch(listener.onConnection(endpoint), server.index);
  }

  /** Sends a reset from side `side` of `conn` (whatever state that side is in). */
  #resetFrom(conn: Connection, side: 0 | 1): void {
    const from = conn.ends[side];
    if (from === undefined) return;
    this.send(from, ITEM.rst, 0, undefined);
  }

  /** Moves queued bytes into the pipe as the window allows; sends FIN once ended and flushed. */
  pump(e: Endpoint): void {
    if (e.state !== STATE.open || !e.alive) return;
    const opts = this.kernel.tcpOptions;
    const rng = e.conn.pipes[e.side].rng;
    while (e.queued > 0 && e.inFlight < opts.windowBytes) {
      const max = Math.min(e.queued, opts.maxSegmentBytes, opts.windowBytes - e.inFlight);
      const n = rng.float() < 0.5 ? max : 1 + rng.below(max);
      const bytes = e.take(n);
      e.inFlight += n;
      this.send(e, ITEM.data, n, bytes);
    }
    if (e.needDrain && e.queued <= opts.lowWaterBytes) {
      e.needDrain = false;
      this.kernel.schedule(this.kernel.now, PHASE.control, EVENT_KIND.tcp, e.host.index, this.#drain, e);
    }
    if (e.endRequested && e.queued === 0 && !e.finSent) {
      e.finSent = true;
      this.send(e, ITEM.fin, 0, undefined);
      if (e.peerFin) this.close(e, undefined);
    }
  }

  /** Closes an endpoint locally; its `close` handler runs in its own event. */
  close(e: Endpoint, error: Error | undefined): void {
    if (e.state === STATE.closed) return;
    e.state = STATE.closed;
    e.dropQueue();
    e.needDrain = false;
    if (e.side === 0) e.host.tcpPorts.delete(e.local.port);
    this.#endpoints.get(e.host.index)?.delete(e);
    this.kernel.schedule(this.kernel.now, PHASE.control, EVENT_KIND.tcp, e.host.index, this.#closed, {
      endpoint: e,
      error,
    });
  }

  /** Closes an endpoint with an error and resets its peer. */
  abort(e: Endpoint, error: Error): void {
    if (e.state === STATE.closed) return;
    this.close(e, error);
    this.send(e, ITEM.rst, 0, undefined);
  }

  scheduleFlush(e: Endpoint): void {
    this.kernel.schedule(this.kernel.now, PHASE.control, EVENT_KIND.tcp, e.host.index, this.#flush, e);
  }

  #flushInbox(e: Endpoint): void {
    if (!e.alive || e.handlers === undefined) return;
    const inbox = e.inbox;
    e.inbox = [];
    for (const bytes of inbox) {
      if (e.state === STATE.open) this.send(e, ITEM.ack, bytes.length, undefined);
      this.kernel.watch(e.handlers.data(bytes), e.host.index);
    }
    const pending = e.pendingClose;
    if (pending !== undefined) {
      e.pendingClose = undefined;
      this.kernel.watch(e.handlers.close(pending.error), e.host.index);
    }
  }

  /** A host crashed: its connections vanish; unless `silent`, each peer is sent a reset. */
  crashHost(host: SimHost, silent: boolean): void {
    const set = this.#endpoints.get(host.index);
    if (set === undefined) return;
    this.#endpoints.delete(host.index);
    for (const e of set) {
      const wasOpen = e.state === STATE.open;
      e.state = STATE.closed;
      e.dropQueue();
      if (e.conn.connectTimer !== undefined) this.kernel.cancel(e.conn.connectTimer);
      if (!silent && wasOpen) this.send(e, ITEM.rst, 0, undefined);
    }
  }

  /** Resets every open connection between `a` and `b` (or every connection of `a`): both ends see ECONNRESET. */
  reset(a: SimHost, b: SimHost | undefined): number {
    let count = 0;
    for (const e of [...(this.#endpoints.get(a.index) ?? [])]) {
      if (e.state !== STATE.open) continue;
      const peer = e.side === 0 ? e.conn.serverHost : e.conn.ends[0].host;
      if (b !== undefined && peer !== b) continue;
      count++;
      this.abort(e, new SimSocketError("Connection reset by peer", "ECONNRESET"));
      this.stats.resets++;
    }
    return count;
  }

  /** Open connections per host index. */
  openConnections(host: SimHost): number {
    let n = 0;
    for (const e of this.#endpoints.get(host.index) ?? []) if (e.state === STATE.open) n++;
    return n;
  }
}
