/**
 * The `--live` environment of `qeynos scenario run`: every host gets a Platform on real loopback
 * sockets, and every pair of UDP sockets that talk is joined by a {@linkcode NetemProxy} that
 * applies the scenario's link specs, partitions and clogs. Hosts keep their virtual addresses
 * (`10.0.0.N`): the environment maps them to real loopback ports and back, so workloads run
 * unchanged. Time is real; the run is not deterministic (datagram contents drawn from the host
 * random streams still are).
 *
 * Limits: TCP connections are real loopback connections without impairment (partitions, clogs
 * and link specs apply to UDP only; crashes and `resetTcp` do close them); pausing a host defers
 * its timers and holds its incoming datagrams.
 * @module
 */
import { NetemProxy } from "../netem/proxy.ts";
import { createConsoleLog, createRealPlatform } from "../platform/mod.ts";
import type {
  DatagramHandler,
  Log,
  Platform,
  Tcp,
  TcpConnection,
  TcpConnectOptions,
  TcpListenOptions,
  TimerId,
  UdpBindOptions,
  UdpSocket,
} from "../platform/platform.ts";
import type { HostStart } from "../../sim/_host.ts";
import { LOCAL_ADDRESSES, SimSocketError } from "../../sim/_socket_error.ts";
import { LinkCounters } from "../../sim/link_model.ts";
import { DROP_CAUSES, type DropCause, type LinkSpec, mergeLinkSpecs, validateLinkSpec } from "../../sim/link_spec.ts";
import { SimRng } from "../../sim/rng.ts";
import type { ScenarioEnvironment } from "../../sim/scenario/context.ts";
import type { Scenario } from "../../sim/scenario/types.ts";
import type {
  DatagramObserver,
  LinkStats,
  Partition,
  PartitionOptions,
  RunOptions,
  RunResult,
  Scheduled,
} from "../../sim/simulation.ts";

const PAUSED_LIMIT = 4096;

interface LiveSocket {
  readonly id: number;
  readonly host: LiveHost;
  readonly incarnation: number;
  readonly port: number;
  readonly real: UdpSocket;
  readonly handler: DatagramHandler;
}

interface Pair {
  /** The side that sent first: it talks to the proxy's listen port. */
  readonly a: LiveSocket;
  readonly b: LiveSocket;
  proxy: NetemProxy | undefined;
  /** Datagrams sent while the proxy was starting. */
  readonly pending: Array<{ from: LiveSocket; bytes: Uint8Array }>;
  closed: boolean;
}

interface LiveHost {
  readonly id: string;
  readonly address: string;
  status: "up" | "paused" | "crashed";
  incarnation: number;
  platform: Platform;
  readonly starts: HostStart[];
  readonly sockets: Map<number, LiveSocket>;
  readonly tcpPorts: Map<number, number>;
  readonly connections: Set<TcpConnection>;
  readonly listeners: Set<{ close(): Promise<void> }>;
  held: Array<() => void>;
  rate: number;
  anchorReal: number;
  anchorHost: number;
  wallOffsetUs: number;
  nextPort: number;
}

interface ActivePartition {
  readonly groupOf: Map<string, number>;
  readonly oneWay: boolean;
}

/** Builds the live environment for a scenario (used as `runScenario`'s `environment`). */
export function liveEnvironment(seed: number, _scenario: Scenario): ScenarioEnvironment {
  return new LiveEnvironment(seed);
}

/** Real loopback sockets behind impairment proxies. */
export class LiveEnvironment implements ScenarioEnvironment {
  readonly mode = "live" as const;
  readonly #seed: number;
  readonly #real: Platform;
  readonly #log: Log;
  readonly #hosts = new Map<string, LiveHost>();
  readonly #byAddress = new Map<string, LiveHost>();
  #defaults: LinkSpec = {};
  readonly #links = new Map<string, LinkSpec>();
  readonly #partitions: ActivePartition[] = [];
  readonly #clogs = new Set<string>();
  readonly #pairs = new Map<string, Pair>();
  readonly #sources = new Map<number, { address: string; port: number }>();
  readonly #probes = new Map<string, { hits: number; checks: number; firstUs: number }>();
  readonly #observers: DatagramObserver[] = [];
  readonly #scheduled: Array<{ timeUs: number; callback: () => unknown; cancelled: boolean; timer?: TimerId }> = [];
  readonly #timers = new Set<TimerId>();
  /** Counters of proxies already closed (their sockets closed or their host crashed). */
  readonly #retired: Array<{ from: string; to: string; counters: LinkCounters }> = [];
  #nextSocket = 1;
  #startReal = 0;
  #running = false;
  #callbacks = 0;

  constructor(seed: number, real: Platform = createRealPlatform(createConsoleLog({ level: "warn" }))) {
    this.#seed = seed;
    this.#real = real;
    this.#log = real.log;
  }

  get now(): number {
    return this.#running ? this.#real.clock.now() - this.#startReal : 0;
  }

  addHost(id: string, options: { readonly address?: string } = {}): void {
    if (this.#hosts.has(id)) throw new Error(`Cannot add host '${id}': the id is taken`);
    const n = this.#hosts.size + 1;
    const address = options.address ?? `10.0.${n >> 8}.${n & 255}`;
    const host: LiveHost = {
      id,
      address,
      status: "up",
      incarnation: 0,
      platform: undefined as unknown as Platform,
      starts: [],
      sockets: new Map(),
      tcpPorts: new Map(),
      connections: new Set(),
      listeners: new Set(),
      held: [],
      rate: 1,
      anchorReal: 0,
      anchorHost: 0,
      wallOffsetUs: 0,
      nextPort: 49152,
    };
    host.platform = this.#platformOf(host);
    this.#hosts.set(id, host);
    this.#byAddress.set(address, host);
  }

  onStart(id: string, start: HostStart): void {
    this.#host(id).starts.push(start);
  }

  platform(id: string): Platform {
    return this.#host(id).platform;
  }

  address(id: string): string {
    return this.#host(id).address;
  }

  hostStatus(id: string): "up" | "paused" | "crashed" {
    return this.#host(id).status;
  }

  setLinkDefaults(spec: LinkSpec): void {
    validateLinkSpec(spec);
    this.#defaults = spec;
    this.#refreshProxies();
  }

  setLink(from: string, to: string, spec: LinkSpec, options: { readonly replace?: boolean } = {}): void {
    validateLinkSpec(spec);
    this.#links.set(`${from}>${to}`, options.replace === true ? spec : mergeLinkSpecs(this.#defaults, spec));
    this.#refreshProxies();
  }

  linkSpec(from: string, to: string): LinkSpec {
    return this.#links.get(`${from}>${to}`) ?? this.#defaults;
  }

  partition(groups: readonly (readonly string[])[], options: PartitionOptions = {}): Partition {
    const groupOf = new Map<string, number>();
    groups.forEach((group, g) => group.forEach((id) => groupOf.set(this.#host(id).id, g)));
    const partition = { groupOf, oneWay: options.oneWay ?? false };
    this.#partitions.push(partition);
    this.#refreshProxies();
    return {
      heal: () => {
        const i = this.#partitions.indexOf(partition);
        if (i >= 0) this.#partitions.splice(i, 1);
        this.#refreshProxies();
      },
    };
  }

  heal(): void {
    this.#partitions.length = 0;
    this.#clogs.clear();
    this.#refreshProxies();
  }

  clog(from: string, to: string): void {
    this.#clogs.add(`${from}>${to}`);
    this.#refreshProxies();
  }

  unclog(from: string, to: string): void {
    this.#clogs.delete(`${from}>${to}`);
    this.#refreshProxies();
  }

  crash(id: string): void {
    const host = this.#host(id);
    if (host.status === "crashed") return;
    host.status = "crashed";
    host.incarnation++;
    host.held = [];
    for (const socket of host.sockets.values()) this.#closeSocket(socket);
    host.sockets.clear();
    for (const connection of host.connections) connection.destroy();
    host.connections.clear();
    for (const listener of host.listeners) void listener.close();
    host.listeners.clear();
    host.tcpPorts.clear();
  }

  restart(id: string): void {
    const host = this.#host(id);
    if (host.status !== "crashed") this.crash(id);
    host.status = "up";
    host.platform = this.#platformOf(host);
    if (this.#running) this.#startHost(host);
  }

  pause(id: string): void {
    const host = this.#host(id);
    if (host.status === "up") host.status = "paused";
  }

  resume(id: string): void {
    const host = this.#host(id);
    if (host.status !== "paused") return;
    host.status = "up";
    const held = host.held;
    host.held = [];
    for (const run of held) run();
  }

  setClockDrift(id: string, ppm: number): void {
    const host = this.#host(id);
    host.anchorHost = this.#hostNow(host);
    host.anchorReal = this.#real.clock.now();
    host.rate = 1 + ppm / 1e6;
  }

  stepClock(id: string, deltaUs: number): void {
    this.#host(id).wallOffsetUs += Math.round(deltaUs);
  }

  resetTcp(a: string, b?: string): number {
    const host = this.#host(a);
    const peer = b === undefined ? undefined : this.#host(b);
    let n = 0;
    for (const connection of [...host.connections]) {
      if (peer !== undefined && connection.remote.address !== peer.address) continue;
      connection.destroy();
      n++;
    }
    return n;
  }

  at(timeUs: number, callback: () => unknown): Scheduled {
    const entry: { timeUs: number; callback: () => unknown; cancelled: boolean; timer?: TimerId } = {
      timeUs,
      callback,
      cancelled: false,
    };
    if (this.#running) this.#arm(entry);
    else this.#scheduled.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
        if (entry.timer !== undefined) this.#real.timers.clearTimeout(entry.timer);
      },
    };
  }

  sometimes(name: string, condition = true): boolean {
    let probe = this.#probes.get(name);
    if (probe === undefined) this.#probes.set(name, probe = { hits: 0, checks: 0, firstUs: -1 });
    probe.checks++;
    if (condition) {
      probe.hits++;
      if (probe.firstUs < 0) probe.firstUs = this.now;
    }
    return condition;
  }

  probes(): Array<{ name: string; hits: number; checks: number; firstUs: number }> {
    return [...this.#probes].map(([name, p]) => ({ name, ...p })).sort((a, b) => a.name.localeCompare(b.name));
  }

  observe(observer: DatagramObserver): () => void {
    this.#observers.push(observer);
    return () => {
      const i = this.#observers.indexOf(observer);
      if (i >= 0) this.#observers.splice(i, 1);
    };
  }

  async run(options: RunOptions = {}): Promise<RunResult> {
    const untilUs = options.untilUs ?? 10_000_000;
    const wallStart = this.#real.clock.now();
    this.#startReal = wallStart;
    this.#running = true;
    for (const entry of this.#scheduled.splice(0)) this.#arm(entry);
    for (const host of this.#hosts.values()) this.#startHost(host);
    await new Promise<void>((resolve) => {
      const id = this.#real.timers.setTimeout(() => resolve(), untilUs);
      this.#timers.add(id);
    });
    const simTimeUs = this.now;
    this.#running = false;
    for (const id of this.#timers) this.#real.timers.clearTimeout(id);
    this.#timers.clear();
    for (const host of this.#hosts.values()) {
      for (const socket of host.sockets.values()) socket.real.close();
      for (const connection of host.connections) connection.destroy();
      for (const listener of host.listeners) void listener.close();
      host.incarnation++;
    }
    for (const pair of this.#pairs.values()) pair.proxy?.close();
    return {
      reason: "deadline",
      events: this.#callbacks,
      simTimeUs,
      wallSeconds: (this.#real.clock.now() - wallStart) / 1e6,
    };
  }

  linkStats(): LinkStats[] {
    const byPair = new Map<string, { from: string; to: string; parts: LinkCounters[] }>();
    const add = (from: string, to: string, counters: LinkCounters) => {
      const key = `${from}>${to}`;
      let entry = byPair.get(key);
      if (entry === undefined) byPair.set(key, entry = { from, to, parts: [] });
      entry.parts.push(counters);
    };
    for (const pair of this.#pairs.values()) {
      if (pair.proxy === undefined) continue;
      add(pair.a.host.id, pair.b.host.id, pair.proxy.counters("up"));
      add(pair.b.host.id, pair.a.host.id, pair.proxy.counters("down"));
    }
    for (const { from, to, counters } of this.#retired) add(from, to, counters);
    const order = [...this.#hosts.keys()];
    return [...byPair.values()]
      .sort((x, y) => order.indexOf(x.from) - order.indexOf(y.from) || order.indexOf(x.to) - order.indexOf(y.to))
      .map(({ from, to, parts }) => summarize(from, to, parts));
  }

  traceHash(): string {
    return "live";
  }

  // ------------------------------------------------------------------ internals

  #host(id: string): LiveHost {
    const host = this.#hosts.get(id);
    if (host === undefined) throw new Error(`Unknown host '${id}'`);
    return host;
  }

  #hostNow(host: LiveHost): number {
    return Math.floor(host.anchorHost + (this.#real.clock.now() - host.anchorReal) * host.rate);
  }

  #arm(entry: { timeUs: number; callback: () => unknown; cancelled: boolean; timer?: TimerId }): void {
    const delay = Math.max(0, entry.timeUs - this.now);
    const id = this.#real.timers.setTimeout(() => {
      this.#timers.delete(id);
      if (entry.cancelled || !this.#running) return;
      this.#callbacks++;
      this.#watch(() => entry.callback(), "scenario");
    }, delay);
    entry.timer = id;
    this.#timers.add(id);
  }

  #watch(call: () => unknown, where: string): void {
    try {
      const result = call();
      if (
        result !== null && typeof result === "object" && typeof (result as PromiseLike<unknown>).then === "function"
      ) {
        (result as PromiseLike<unknown>).then(
          undefined,
          (error) => this.#log.error("Live host failed", { where, error }),
        );
      }
    } catch (error) {
      this.#log.error("Live host failed", { where, error });
    }
  }

  #startHost(host: LiveHost): void {
    if (host.status === "crashed") return;
    const platform = host.platform;
    for (const start of host.starts) this.#watch(() => start(platform), host.id);
  }

  #blocks(from: string, to: string): boolean {
    return this.#partitions.some((p) => {
      const a = p.groupOf.get(from);
      const b = p.groupOf.get(to);
      return a !== undefined && b !== undefined && a !== b && (!p.oneWay || a < b);
    });
  }

  #refreshProxies(): void {
    for (const pair of this.#pairs.values()) this.#configure(pair);
  }

  #configure(pair: Pair): void {
    const proxy = pair.proxy;
    if (proxy === undefined) return;
    const a = pair.a.host.id;
    const b = pair.b.host.id;
    proxy.setSpec("up", a === b ? {} : this.linkSpec(a, b));
    proxy.setSpec("down", a === b ? {} : this.linkSpec(b, a));
    proxy.setBlocked("up", this.#blocks(a, b));
    proxy.setBlocked("down", this.#blocks(b, a));
    if (this.#clogs.has(`${a}>${b}`)) proxy.clog("up");
    else proxy.unclog("up");
    if (this.#clogs.has(`${b}>${a}`)) proxy.clog("down");
    else proxy.unclog("down");
  }

  #closeSocket(socket: LiveSocket): void {
    socket.real.close();
    for (const [key, pair] of this.#pairs) {
      if (pair.a !== socket && pair.b !== socket) continue;
      pair.closed = true;
      if (pair.proxy !== undefined) {
        // Keep its counters for the report.
        this.#retired.push(
          { from: pair.a.host.id, to: pair.b.host.id, counters: pair.proxy.counters("up") },
          { from: pair.b.host.id, to: pair.a.host.id, counters: pair.proxy.counters("down") },
        );
        this.#sources.delete(pair.proxy.listenAddress.port);
        this.#sources.delete(pair.proxy.upstreamAddress.port);
        pair.proxy.close();
      }
      this.#pairs.delete(key);
    }
  }

  #send(from: LiveSocket, bytes: Uint8Array, address: string, port: number): void {
    const target = address === from.host.address || LOCAL_ADDRESSES.has(address)
      ? from.host
      : this.#byAddress.get(address);
    const to = target?.sockets.get(port);
    if (to === undefined) return;
    const key = from.id < to.id ? `${from.id}:${to.id}` : `${to.id}:${from.id}`;
    let pair = this.#pairs.get(key);
    if (pair === undefined) {
      const created: Pair = { a: from, b: to, proxy: undefined, pending: [], closed: false };
      pair = created;
      this.#pairs.set(key, created);
      void NetemProxy.start(this.#real, {
        listen: { address: "127.0.0.1", port: 0 },
        forward: to.real.local,
        up: {},
        seed: this.#seed + this.#pairs.size,
        onForward: (direction, data) => this.#forwarded(created, direction, data),
      }).then((proxy) => {
        if (created.closed) {
          proxy.close();
          return;
        }
        created.proxy = proxy;
        this.#sources.set(proxy.upstreamAddress.port, { address: created.a.host.address, port: created.a.port });
        this.#sources.set(proxy.listenAddress.port, { address: created.b.host.address, port: created.b.port });
        this.#configure(created);
        for (const { from: sender, bytes: data } of created.pending.splice(0)) this.#through(created, sender, data);
      }, (error) => this.#log.error("Cannot start a live link proxy", { error }));
    }
    if (pair.proxy === undefined) pair.pending.push({ from, bytes: bytes.slice() });
    else this.#through(pair, from, bytes);
  }

  #through(pair: Pair, from: LiveSocket, bytes: Uint8Array): void {
    const proxy = pair.proxy!;
    const target = from === pair.a ? proxy.listenAddress : proxy.upstreamAddress;
    from.real.send(bytes, target.address, target.port);
  }

  #forwarded(pair: Pair, direction: "up" | "down", bytes: Uint8Array): void {
    if (this.#observers.length === 0) return;
    const [src, dst] = direction === "up" ? [pair.a, pair.b] : [pair.b, pair.a];
    const event = {
      type: "deliver" as const,
      timeUs: this.now,
      from: src.host.id,
      to: dst.host.id,
      srcPort: src.port,
      dstPort: dst.port,
      bytes,
      sentAtUs: this.now,
    };
    for (const observer of this.#observers) observer(event);
  }

  #platformOf(host: LiveHost): Platform {
    const incarnation = host.incarnation;
    const real = this.#real;
    const alive = () => host.incarnation === incarnation && host.status !== "crashed";
    const guard = (run: () => unknown) => {
      if (!alive()) return;
      if (host.status === "paused") {
        if (host.held.length < PAUSED_LIMIT) host.held.push(() => guard(run));
        return;
      }
      this.#callbacks++;
      this.#watch(run, host.id);
    };
    const udp = {
      bind: (options: UdpBindOptions, onDatagram: DatagramHandler): Promise<UdpSocket> => {
        const address = options.address ?? "127.0.0.1";
        const requested = options.port ?? 0;
        if (address !== host.address && !LOCAL_ADDRESSES.has(address)) {
          return Promise.reject(
            new SimSocketError(
              `Cannot bind UDP ${address}:${requested}: address not available on host ${host.id}`,
              "EADDRNOTAVAIL",
            ),
          );
        }
        if (requested !== 0 && host.sockets.has(requested)) {
          return Promise.reject(
            new SimSocketError(`Cannot bind UDP ${address}:${requested}: address in use`, "EADDRINUSE"),
          );
        }
        let port = requested;
        while (port === 0 || host.sockets.has(port)) port = host.nextPort++;
        const self: { socket?: LiveSocket } = {};
        return real.udp.bind({ address: "127.0.0.1", port: 0 }, (bytes, _realAddress, realPort) => {
          const source = this.#sources.get(realPort);
          if (source === undefined || self.socket === undefined) return;
          guard(() => onDatagram(bytes, source.address, source.port));
        }).then((realSocket) => {
          const socket: LiveSocket = {
            id: this.#nextSocket++,
            host,
            incarnation,
            port,
            real: realSocket,
            handler: onDatagram,
          };
          self.socket = socket;
          if (!alive()) {
            realSocket.close();
            return new Promise<UdpSocket>(() => {});
          }
          host.sockets.set(port, socket);
          let closed = false;
          return {
            local: { address: host.address, port },
            send: (bytes: Uint8Array, toAddress: string, toPort: number) => {
              if (closed || !alive()) return;
              this.#send(socket, bytes, toAddress, toPort);
            },
            close: () => {
              if (closed) return;
              closed = true;
              if (host.sockets.get(port) === socket) host.sockets.delete(port);
              this.#closeSocket(socket);
            },
          };
        });
      },
    };
    const tcp: Tcp = {
      listen: async (options: TcpListenOptions, onConnection: (connection: TcpConnection) => void) => {
        const listener = await real.tcp.listen({ address: "127.0.0.1", port: 0 }, (connection) => {
          if (!alive()) return connection.destroy();
          host.connections.add(connection);
          guard(() => onConnection(connection));
        });
        let port = options.port;
        while (port === 0 || host.tcpPorts.has(port)) port = host.nextPort++;
        host.tcpPorts.set(port, listener.local.port);
        host.listeners.add(listener);
        return {
          local: { address: host.address, port },
          close: () => {
            host.tcpPorts.delete(port);
            host.listeners.delete(listener);
            return listener.close();
          },
        };
      },
      connect: async (options: TcpConnectOptions) => {
        const target = this.#byAddress.get(options.address) ??
          (LOCAL_ADDRESSES.has(options.address) ? host : undefined);
        const realPort = target?.tcpPorts.get(options.port);
        if (realPort === undefined) {
          throw new SimSocketError(
            `Cannot connect to ${options.address}:${options.port}: connection refused`,
            "ECONNREFUSED",
          );
        }
        const connection = await real.tcp.connect({ ...options, address: "127.0.0.1", port: realPort });
        host.connections.add(connection);
        return connection;
      },
    };
    const setTimeout = (callback: () => void, delayUs: number): TimerId => {
      const id: TimerId = real.timers.setTimeout(() => {
        this.#timers.delete(id);
        guard(callback);
      }, Math.max(0, delayUs / host.rate));
      this.#timers.add(id);
      return id;
    };
    return {
      name: real.name,
      clock: {
        now: () => this.#hostNow(host),
        wallMs: () => Math.floor(real.clock.wallMs() + host.wallOffsetUs / 1000),
      },
      timers: {
        setTimeout,
        clearTimeout: (id: TimerId) => {
          this.#timers.delete(id);
          real.timers.clearTimeout(id);
        },
        // A timer of 0 is the runtime's next turn too, and it is cancelled with the scenario's timers.
        defer: (callback: () => void) => void setTimeout(callback, 0),
      },
      rng: new SimRng(this.#seed, `host:${host.id}:${incarnation}`),
      udp,
      tcp,
      log: this.#log.child({ host: host.id }),
    };
  }
}

function summarize(from: string, to: string, parts: LinkCounters[]): LinkStats {
  const total = new LinkCounters();
  for (const c of parts) {
    total.sent += c.sent;
    total.delivered += c.delivered;
    total.bytesSent += c.bytesSent;
    total.bytesDelivered += c.bytesDelivered;
    total.duplicated += c.duplicated;
    total.corrupted += c.corrupted;
    total.truncated += c.truncated;
    total.reordered += c.reordered;
    total.held += c.held;
    total.maxQueueBytes = Math.max(total.maxQueueBytes, c.maxQueueBytes);
    c.dropped.forEach((n, i) => (total.dropped[i] = total.dropped[i]! + n));
    total.latency.merge(c.latency);
  }
  const dropped = Object.fromEntries(DROP_CAUSES.map((cause, i) => [cause, total.dropped[i]!])) as Record<
    DropCause,
    number
  >;
  return {
    from,
    to,
    sent: total.sent,
    delivered: total.delivered,
    dropped,
    droppedTotal: total.droppedTotal,
    duplicated: total.duplicated,
    corrupted: total.corrupted,
    truncated: total.truncated,
    reordered: total.reordered,
    held: total.held,
    bytesSent: total.bytesSent,
    bytesDelivered: total.bytesDelivered,
    maxQueueBytes: total.maxQueueBytes,
    latencyUs: total.latency.summary(),
    tcpSegments: 0,
    tcpBytes: 0,
  };
}
