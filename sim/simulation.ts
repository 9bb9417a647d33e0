/**
 * The deterministic simulation kernel: virtual time, the event queue, named random streams,
 * hosts with virtual Platforms, the UDP network with its fault pipeline, and the TCP model.
 * @module
 */
import { setImmediate as realSetImmediate } from "node:timers";
import { type MicrotaskDrain, syncMicrotaskDrain } from "../src/platform/microtask_drain.ts";
import type { LogFields, LogLevel, Platform } from "../src/platform/platform.ts";
import { EventQueue, PHASE, type SimEvent } from "./_event_queue.ts";
import { type GuardMode, RealTimeGuard, type Violation } from "./_guard.ts";
import { Datagram, HOST_STATUS, type HostStart, SimHost, SimLink } from "./_host.ts";
import { EVENT_KIND, type Kernel, type TcpModelOptions } from "./_kernel.ts";
import { copyBytes } from "./_slab.ts";
import { LOCAL_ADDRESSES } from "./_socket_error.ts";
import { TcpNetwork, type TcpStats } from "./_tcp.ts";
import { Trace, type TraceRecord } from "./_trace.ts";
import { createVirtualPlatform } from "./_virtual_platform.ts";
import type { HistogramSummary } from "./histogram.ts";
import { type LinkCounters, LinkModel } from "./link_model.ts";
import { DROP, DROP_CAUSES, type DropCause, type LinkSpec, mergeLinkSpecs, validateLinkSpec } from "./link_spec.ts";
import { SimRng } from "./rng.ts";
import type { CrossDatagram, SimShard } from "./shard_channel.ts";

// Captured at load time: the guard replaces the globals during a run, the kernel must not see that.
const realPerformanceNow = performance.now.bind(performance);

/** Options of {@linkcode Simulation}. */
export interface SimulationOptions {
  /** The seed (a safe integer); every random stream derives from it. */
  readonly seed: number;
  /** Events one `run` may process before it stops with `"stall"`; default 2^40 (practically unlimited). */
  readonly maxEvents?: number;
  /** Events at one virtual instant before the run stops with `"stall"` (a zero-time livelock); default 1,000,000. */
  readonly maxEventsPerInstant?: number;
  /** What a call to the real clock, timers or `Math.random` during a run does; default `"record"`. */
  readonly guard?: GuardMode;
  /** An error thrown by simulated code: `"throw"` (default) rejects `run`, `"record"` keeps it in `errors()`. */
  readonly onUncaught?: "throw" | "record";
  /** When to let pending promise continuations run: `"auto"` (default) or after `"always"` every event. */
  readonly asyncMode?: "auto" | "always";
  /**
   * How continuations run when an event needs them to: `"sync"` (default) drains the microtask queue
   * in place where the runtime can (`src/platform/microtask_drain.ts`), else yields a macrotask;
   * `"macrotask"` always yields. Both run every continuation before the next event.
   */
  readonly microtaskDrain?: "sync" | "macrotask";
  /** In `"auto"` mode, also yield to promise continuations every this many events; default 4096. */
  readonly yieldEvery?: number;
  /** Wall-clock time (ms since the epoch) at virtual time 0; default 2024-01-01T00:00:00Z. */
  readonly wallEpochMs?: number;
  /** Datagrams held for a paused host before more are dropped (`paused_overflow`); default 4096. */
  readonly pausedBufferLimit?: number;
  /** Datagrams held per clogged link before more are dropped (`clog_overflow`); default 4096. */
  readonly clogBufferLimit?: number;
  /** Record this many events for event-by-event comparison (see `traceRecords`); default 0. */
  readonly recordTrace?: number;
  /** Log lines kept (the most recent); default 1000. */
  readonly logLimit?: number;
  /** Lowest level kept and passed to `onLog`; default `"info"`. */
  readonly logLevel?: LogLevel;
  /** Receives every log line at or above `logLevel`. */
  readonly onLog?: (line: SimLogLine) => void;
  /** TCP model tuning. */
  readonly tcp?: TcpModelOptions;
  /**
   * Run as one side of a pair of simulations in two threads (see `shard_channel.ts`): only the
   * hosts this side owns start here, and UDP to the others crosses over. Runs then need a finite
   * `untilUs` and no `stopWhen`, and the hosts of the two sides may not talk TCP.
   */
  readonly shard?: SimShard;
}

/** Options of {@linkcode Simulation.addHost}. */
export interface HostOptions {
  /** IPv4 address; default `10.0.0.N` in the order hosts are added. */
  readonly address?: string;
  /** Runs at the beginning of the run and after every restart, with the fresh Platform. */
  readonly start?: HostStart;
}

/** Options of {@linkcode Simulation.run}. */
export interface RunOptions {
  /** Stop when virtual time would pass this (µs); the clock is then set to it. */
  readonly untilUs?: number;
  /** Events this call may process before stopping with `"stall"`. */
  readonly maxEvents?: number;
  /** Checked after every event; `true` stops the run with `"stopped"`. */
  readonly stopWhen?: () => boolean;
}

/** Why a run stopped. */
export type RunReason = "deadline" | "quiescent" | "stopped" | "stall";

/** The outcome of {@linkcode Simulation.run}. */
export interface RunResult {
  readonly reason: RunReason;
  /** Events processed by this call. */
  readonly events: number;
  /** Virtual time at the end, µs. */
  readonly simTimeUs: number;
  /** Real time this call took, s. */
  readonly wallSeconds: number;
  /** Why a `"stall"` happened. */
  readonly stall?: string;
}

/** One log line of a simulated host. */
export interface SimLogLine {
  readonly timeUs: number;
  readonly host: string;
  readonly level: LogLevel;
  readonly message: string;
  readonly fields: LogFields;
}

/** An error thrown (or a promise rejected) by simulated code. */
export interface SimError {
  readonly timeUs: number;
  /** Host id, or `""` for callbacks of the simulation itself. */
  readonly host: string;
  readonly message: string;
  readonly stack: string;
}

/** Statistics of one directed link. */
export interface LinkStats {
  readonly from: string;
  readonly to: string;
  readonly sent: number;
  readonly delivered: number;
  readonly dropped: Readonly<Record<DropCause, number>>;
  readonly droppedTotal: number;
  readonly duplicated: number;
  readonly corrupted: number;
  readonly truncated: number;
  readonly reordered: number;
  readonly held: number;
  readonly bytesSent: number;
  readonly bytesDelivered: number;
  readonly maxQueueBytes: number;
  /** One-way latency of delivered datagrams, µs. */
  readonly latencyUs: HistogramSummary;
  readonly tcpSegments: number;
  readonly tcpBytes: number;
}

/** A datagram seen by an observer: delivered, or dropped with a cause. */
export interface DatagramEvent {
  readonly type: "deliver" | "drop";
  readonly timeUs: number;
  readonly from: string;
  readonly to: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly bytes: Uint8Array;
  /** Virtual time it was sent, µs. */
  readonly sentAtUs: number;
  readonly cause?: DropCause;
}

/** Watches traffic (for checks); called synchronously, must not mutate `bytes`. */
export type DatagramObserver = (event: DatagramEvent) => void;

/** Options of {@linkcode Simulation.partition}. */
export interface PartitionOptions {
  /** Cut only traffic from earlier groups to later groups. */
  readonly oneWay?: boolean;
}

/** An active partition; `heal()` removes just this one. */
export interface Partition {
  heal(): void;
}

/** A scheduled callback; `cancel()` prevents it from running. */
export interface Scheduled {
  cancel(): void;
}

interface ActivePartition {
  readonly groupOf: Map<number, number>;
  readonly oneWay: boolean;
}

const DEFAULT_WALL_EPOCH_MS = Date.UTC(2024, 0, 1);
const LEVEL_RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };
const MAX_RECORDED_ERRORS = 100;

/** Sequence numbers of datagrams from the other side of a sharded pair: after every local event of their instant. */
const CROSSING_SEQ = 2 ** 52;

const SPIN = { drain: 0, deadline: 1, quiescent: 2, stopped: 3, stall: 4, periodic: 5 } as const;

/** The simulation. */
export class Simulation {
  readonly seed: number;
  #now = 0;
  #events = 0;
  #sameInstant = 0;
  #running = false;
  #pending = false;
  /** `Platform.timers.defer` callbacks of the current event, with their host and its incarnation. */
  #deferred: Array<() => void> = [];
  #deferredHosts: SimHost[] = [];
  #deferredIncarnations: number[] = [];
  /** Promises returned to the kernel by simulated code that have not settled yet. */
  #unsettled = 0;
  #fatal: unknown;
  /** Set while promise continuations run that no event announced. */
  #blind = false;
  #lateCalls = 0;
  #stall = "";
  readonly #queue = new EventQueue();
  readonly #trace: Trace;
  readonly #hosts: SimHost[] = [];
  readonly #byId = new Map<string, SimHost>();
  readonly #byAddress = new Map<string, SimHost>();
  readonly #links: SimLink[] = [];
  readonly #streams = new Map<string, SimRng>();
  #defaults: LinkSpec = {};
  readonly #partitions: ActivePartition[] = [];
  readonly #observers: DatagramObserver[] = [];
  readonly #guard: RealTimeGuard;
  readonly #errors: SimError[] = [];
  #errorCount = 0;
  readonly #logs: SimLogLine[] = [];
  readonly #logCounts: Record<LogLevel, number> = { debug: 0, info: 0, warn: 0, error: 0 };
  readonly #probes = new Map<string, { hits: number; checks: number; firstUs: number }>();
  readonly #tcp: TcpNetwork;
  readonly #kernel: Kernel;
  #unroutable = 0;
  readonly #shard: SimShard | undefined;
  /**
   * Sharded runs: the other side sends nothing that arrives before this plus the lookahead (as far
   * as this side knows: it only grows by asking again).
   */
  #otherBound = 0;
  /** The clock this side last published: it sends nothing before it (but on datagrams it has yet to read). */
  #published = 0;
  /** Datagrams for the other side sent since the last publication. */
  readonly #crossOut: CrossDatagram[] = [];
  /** Datagrams received from the other side so far: their place in its stream orders them. */
  #crossIn = 0;
  readonly #incoming: CrossDatagram[] = [];
  // Options.
  readonly #maxEvents: number;
  readonly #maxPerInstant: number;
  readonly #onUncaught: "throw" | "record";
  readonly #always: boolean;
  readonly #yieldMask: number;
  readonly #drainMicrotasks: MicrotaskDrain | undefined;
  readonly #wallEpochMs: number;
  readonly #pausedLimit: number;
  readonly #clogLimit: number;
  readonly #logLimit: number;
  readonly #logLevel: number;
  readonly #onLog: ((line: SimLogLine) => void) | undefined;

  constructor(options: SimulationOptions) {
    if (!Number.isSafeInteger(options.seed)) {
      throw new RangeError(`Invalid seed: ${options.seed} is not a safe integer`);
    }
    this.seed = options.seed;
    this.#maxEvents = options.maxEvents ?? 2 ** 40;
    this.#maxPerInstant = options.maxEventsPerInstant ?? 1_000_000;
    this.#onUncaught = options.onUncaught ?? "throw";
    this.#always = options.asyncMode === "always";
    const yieldEvery = options.yieldEvery ?? 4096;
    if (!Number.isInteger(Math.log2(yieldEvery))) {
      throw new RangeError(`Invalid yieldEvery: ${yieldEvery} is not a power of two`);
    }
    this.#yieldMask = yieldEvery - 1;
    this.#drainMicrotasks = options.microtaskDrain === "macrotask" ? undefined : syncMicrotaskDrain();
    this.#wallEpochMs = options.wallEpochMs ?? DEFAULT_WALL_EPOCH_MS;
    this.#pausedLimit = options.pausedBufferLimit ?? 4096;
    this.#clogLimit = options.clogBufferLimit ?? 4096;
    this.#logLimit = options.logLimit ?? 1000;
    this.#logLevel = LEVEL_RANK[options.logLevel ?? "info"];
    this.#onLog = options.onLog;
    this.#trace = new Trace(options.recordTrace ?? 0);
    this.#shard = options.shard;
    this.#guard = new RealTimeGuard(options.guard ?? "record", () => this.#now);
    const tcpOptions: Required<TcpModelOptions> = {
      maxSegmentBytes: 16384,
      windowBytes: 65536,
      highWaterBytes: 16384,
      lowWaterBytes: 0,
      maxBufferedBytes: 64 * 1024 * 1024,
      rtoUs: 200_000,
      userTimeoutUs: 20_000_000,
      receiveBufferBytes: 4 * 1024 * 1024,
      ...options.tcp,
    };
    // deno-lint-ignore no-this-alias
    const sim = this;
    this.#kernel = {
      get now() {
        return sim.#now;
      },
      get running() {
        return sim.#running;
      },
      trace: this.#trace,
      tcpOptions,
      schedule: (time, phase, kind, host, fn, arg) => {
        if (this.#blind) this.#lateCalls++;
        return this.#queue.push(time, phase, kind, host, fn, arg);
      },
      cancel: (event) => this.#queue.cancel(event),
      hold: (host, event) => {
        host.held.push(event);
      },
      settle: (host, settle) => this.#settle(host, settle),
      defer: (host, callback) => {
        if (this.#blind) this.#lateCalls++;
        this.#deferredHosts.push(host);
        this.#deferredIncarnations.push(host.incarnation);
        this.#deferred.push(callback);
      },
      watch: (result, host) => this.#watch(result, host),
      uncaught: (error, host) => this.#uncaught(error, host),
      host: (index) => this.#hosts[index]!,
      hostByAddress: (address, from) => this.#resolve(address, from),
      link: (from, to) => this.#link(from, to),
      rng: (name) => this.rng(name),
      log: (host, level, message, fields) => this.#log(host, level, message, fields),
      sendUdp: (from, srcPort, bytes, address, port) => this.#sendUdp(from, srcPort, bytes, address, port),
    };
    this.#tcp = new TcpNetwork(this.#kernel);
  }

  /** Always `"sim"` (a live environment says `"live"`). */
  get mode(): "sim" {
    return "sim";
  }

  /** Current virtual time, µs. */
  get now(): number {
    return this.#now;
  }

  /** Events processed so far. */
  get events(): number {
    return this.#events;
  }

  /** Whether `run` is in progress. */
  get running(): boolean {
    return this.#running;
  }

  // ---------------------------------------------------------------- hosts

  /** Adds a host. Its `start` (if any) runs at the current virtual time once the run begins. */
  addHost(id: string, options: HostOptions = {}): void {
    if (id === "" || this.#byId.has(id)) throw new Error(`Cannot add host '${id}': the id is empty or taken`);
    const address = options.address ?? `10.0.${(this.#hosts.length + 1) >> 8}.${(this.#hosts.length + 1) & 255}`;
    if (this.#byAddress.has(address) || LOCAL_ADDRESSES.has(address)) {
      throw new Error(`Cannot add host '${id}': address ${address} is taken or reserved`);
    }
    const host = new SimHost(this.#hosts.length, id, address);
    if (this.#shard !== undefined && !this.#shard.owns(id)) host.remote = true;
    this.#hosts.push(host);
    this.#byId.set(id, host);
    this.#byAddress.set(address, host);
    host.platform = this.#newPlatform(host);
    if (options.start !== undefined) host.starts.push(options.start);
    this.#queue.push(this.#now, PHASE.control, EVENT_KIND.start, host.index, this.#runStarts, host);
  }

  /** Adds another start function to a host (runs on the next start or restart, and at the first run). */
  onStart(id: string, start: HostStart): void {
    this.#host(id).starts.push(start);
  }

  /** Host ids in the order they were added. */
  hostIds(): string[] {
    return this.#hosts.map((h) => h.id);
  }

  /** The Platform of the host's current incarnation. */
  platform(id: string): Platform {
    return this.#host(id).platform;
  }

  /** Whether this simulation runs the host (false: the other half of a sharded pair does). */
  isLocal(id: string): boolean {
    return !this.#host(id).remote;
  }

  /** The host's address. */
  address(id: string): string {
    return this.#host(id).address;
  }

  /** `"up"`, `"paused"` or `"crashed"`. */
  hostStatus(id: string): "up" | "paused" | "crashed" {
    const status = this.#host(id).status;
    return status === HOST_STATUS.up ? "up" : status === HOST_STATUS.paused ? "paused" : "crashed";
  }

  /** How many times the host was restarted. */
  incarnation(id: string): number {
    return this.#host(id).incarnation;
  }

  /**
   * Crashes a host: its timers stop, its sockets close, its code never runs again until `restart`.
   * Its TCP peers get a reset, unless `silent` (a power loss), which leaves them half-open.
   */
  crash(id: string, options: { readonly silent?: boolean } = {}): void {
    const host = this.#host(id);
    if (host.status === HOST_STATUS.crashed) return;
    host.status = HOST_STATUS.crashed;
    host.incarnation++;
    host.udp.clear();
    host.tcpListeners.clear();
    host.tcpPorts.clear();
    host.held = [];
    host.heldDatagrams = 0;
    this.#tcp.crashHost(host, options.silent ?? false);
    this.#trace.mix(0xc4a5);
    this.#trace.mix(host.index);
  }

  /** Restarts a host with a fresh Platform and runs its start functions (crashing it first if it is up). */
  restart(id: string): void {
    const host = this.#host(id);
    if (host.status !== HOST_STATUS.crashed) this.crash(id);
    host.status = HOST_STATUS.up;
    host.platform = this.#newPlatform(host);
    this.#queue.push(this.#now, PHASE.control, EVENT_KIND.start, host.index, this.#runStarts, host);
  }

  /** Freezes a host: its timers and arriving datagrams wait (bounded) until `resume`. */
  pause(id: string): void {
    const host = this.#host(id);
    if (host.status === HOST_STATUS.up) host.status = HOST_STATUS.paused;
  }

  /** Resumes a paused host; what it missed happens now, in order. */
  resume(id: string): void {
    const host = this.#host(id);
    if (host.status !== HOST_STATUS.paused) return;
    host.status = HOST_STATUS.up;
    const held = host.held;
    host.held = [];
    host.heldDatagrams = 0;
    for (const event of held) if (!event.cancelled) this.#queue.requeue(event, this.#now, event.phase);
  }

  /** Makes the host's clock run `ppm` parts per million fast (negative: slow), from now on. */
  setClockDrift(id: string, ppm: number): void {
    if (!Number.isFinite(ppm) || ppm <= -1e6) throw new RangeError(`Invalid clock drift: ${ppm} ppm`);
    const host = this.#host(id);
    host.anchorHost = host.hostNow(this.#now);
    host.anchorSim = this.#now;
    host.rate = 1 + ppm / 1e6;
  }

  /** Steps the host's wall clock (`clock.wallMs`) by `deltaUs`; its monotonic clock is unaffected. */
  stepClock(id: string, deltaUs: number): void {
    this.#host(id).wallOffsetUs += Math.round(deltaUs);
  }

  // ---------------------------------------------------------------- network

  /** Sets the spec every directed link uses unless `setLink` overrides it (loopback excepted). */
  setLinkDefaults(spec: LinkSpec): void {
    validateLinkSpec(spec);
    this.#defaults = spec;
    for (const link of this.#links) {
      if (link.from !== link.to) link.model.setSpec(mergeLinkSpecs(spec, link.override ?? {}));
    }
  }

  /**
   * Sets one direction `from → to`: `spec`'s fields replace the defaults' (`replace: true` ignores
   * the defaults altogether).
   */
  setLink(from: string, to: string, spec: LinkSpec, options: { readonly replace?: boolean } = {}): void {
    validateLinkSpec(spec);
    const link = this.#link(this.#host(from), this.#host(to));
    link.override = spec;
    link.model.setSpec(options.replace === true || link.from === link.to ? spec : mergeLinkSpecs(this.#defaults, spec));
  }

  /** The spec in force for `from → to`. */
  linkSpec(from: string, to: string): LinkSpec {
    return this.#link(this.#host(from), this.#host(to)).model.spec;
  }

  /**
   * Cuts communication between groups of hosts (hosts in no group are unaffected). Datagrams in
   * flight across the cut are dropped on arrival; TCP segments wait and retransmit.
   */
  partition(groups: readonly (readonly string[])[], options: PartitionOptions = {}): Partition {
    const groupOf = new Map<number, number>();
    groups.forEach((group, g) => {
      for (const id of group) {
        const host = this.#host(id);
        if (groupOf.has(host.index)) throw new Error(`Cannot partition: host '${id}' is in two groups`);
        groupOf.set(host.index, g);
      }
    });
    const partition: ActivePartition = { groupOf, oneWay: options.oneWay ?? false };
    this.#partitions.push(partition);
    this.#recomputeBlocked();
    this.#trace.mix(0x9a27);
    return {
      heal: () => {
        const i = this.#partitions.indexOf(partition);
        if (i < 0) return;
        this.#partitions.splice(i, 1);
        this.#recomputeBlocked();
      },
    };
  }

  /** Removes every partition and clog. */
  heal(): void {
    this.#partitions.length = 0;
    this.#recomputeBlocked();
    for (const link of this.#links) if (link.clogged) this.#unclog(link);
  }

  /** Holds every datagram on `from → to` (bounded) until `unclog`; then they go on, in order. */
  clog(from: string, to: string): void {
    this.#link(this.#host(from), this.#host(to)).clogged = true;
  }

  /** Releases a clog. */
  unclog(from: string, to: string): void {
    this.#unclog(this.#link(this.#host(from), this.#host(to)));
  }

  /** Resets the open TCP connections between `a` and `b` (or all of `a`'s); returns how many. */
  resetTcp(a: string, b?: string): number {
    return this.#tcp.reset(this.#host(a), b === undefined ? undefined : this.#host(b));
  }

  /** Whether `from → to` is cut by a partition now. */
  isPartitioned(from: string, to: string): boolean {
    const a = this.#host(from).index;
    const b = this.#host(to).index;
    return this.#partitions.some((p) => blocks(p, a, b));
  }

  /** Watches every datagram delivered or dropped; returns a function that stops watching. */
  observe(observer: DatagramObserver): () => void {
    this.#observers.push(observer);
    return () => {
      const i = this.#observers.indexOf(observer);
      if (i >= 0) this.#observers.splice(i, 1);
    };
  }

  // ---------------------------------------------------------------- scheduling

  /** Runs `callback` at virtual time `timeUs` (or now, if that has passed). It may return a promise. */
  at(timeUs: number, callback: () => unknown): Scheduled {
    const time = Math.max(this.#now, Math.ceil(timeUs));
    const event = this.#queue.push(time, PHASE.control, EVENT_KIND.control, -1, this.#runControl, callback);
    return { cancel: () => this.#queue.cancel(event) };
  }

  /** Runs `callback` `delayUs` from now. */
  after(delayUs: number, callback: () => unknown): Scheduled {
    return this.at(this.#now + Math.max(0, delayUs), callback);
  }

  /** A promise that resolves `delayUs` of virtual time from now (for async drivers and tests). */
  sleep(delayUs: number): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#queue.push(this.#now + Math.max(0, Math.ceil(delayUs)), PHASE.control, EVENT_KIND.settle, -1, () => {
      this.#pending = true;
      resolve();
    }, undefined);
    return promise;
  }

  /** The named random stream (the same object for the same name). */
  rng(name: string): SimRng {
    let rng = this.#streams.get(name);
    if (rng === undefined) this.#streams.set(name, rng = new SimRng(this.seed, name));
    return rng;
  }

  /** Counts a `sometimes` probe: a condition the run should see hold at least once. */
  sometimes(name: string, condition = true): boolean {
    let probe = this.#probes.get(name);
    if (probe === undefined) this.#probes.set(name, probe = { hits: 0, checks: 0, firstUs: -1 });
    probe.checks++;
    if (condition) {
      probe.hits++;
      if (probe.firstUs < 0) probe.firstUs = this.#now;
    }
    return condition;
  }

  /** Every probe: how often it was evaluated, how often it held, and when first. */
  probes(): Array<{ name: string; hits: number; checks: number; firstUs: number }> {
    return [...this.#probes].map(([name, p]) => ({ name, ...p })).sort((a, b) => a.name.localeCompare(b.name));
  }

  // ---------------------------------------------------------------- running

  /** Runs events until a deadline, quiescence, `stopWhen`, or the event budget. */
  async run(options: RunOptions = {}): Promise<RunResult> {
    if (this.#running) throw new Error("Cannot run the simulation: it is already running");
    const deadline = options.untilUs ?? Infinity;
    if (this.#shard !== undefined) {
      if (deadline === Infinity || options.stopWhen !== undefined) {
        throw new Error(
          "Cannot run a sharded simulation without untilUs or with stopWhen: both halves must stop together",
        );
      }
    }
    const budget = this.#events + Math.min(options.maxEvents ?? this.#maxEvents, this.#maxEvents);
    const stopWhen = options.stopWhen;
    const started = realPerformanceNow();
    const startEvents = this.#events;
    this.#running = true;
    this.#stall = "";
    const restore = this.#guard.install();
    let code: number = SPIN.stopped;
    try {
      code = await this.#loop(deadline, budget, stopWhen);
    } catch (error) {
      this.#fatal ??= error;
    } finally {
      restore();
      this.#running = false;
    }
    if (this.#shard !== undefined && (this.#fatal !== undefined || code === SPIN.stall)) {
      this.#shard.abort(this.#fatal !== undefined ? String(this.#fatal) : this.#stall);
    }
    if (this.#fatal !== undefined) {
      const fatal = this.#fatal;
      this.#fatal = undefined;
      throw fatal;
    }
    // Time passes up to the deadline even when nothing is left to happen before it.
    if ((code === SPIN.deadline || code === SPIN.quiescent) && deadline !== Infinity && deadline > this.#now) {
      this.#now = deadline;
    }
    const reason: RunReason = code === SPIN.deadline
      ? "deadline"
      : code === SPIN.quiescent
      ? "quiescent"
      : code === SPIN.stopped
      ? "stopped"
      : "stall";
    const result: RunResult = {
      reason,
      events: this.#events - startEvents,
      simTimeUs: this.#now,
      wallSeconds: (realPerformanceNow() - started) / 1000,
      ...(reason === "stall" ? { stall: this.#stall } : {}),
    };
    return result;
  }

  /**
   * Runs events until the run is over; resolves with the last `#spin` code. After a turn it yields
   * to the event loop (a macrotask boundary runs every promise continuation), then runs what those
   * deferred, yielding again until nothing is left. With callbacks, not `await`: in role scenarios
   * a yield follows every event, and a promise and async frame per yield made it half again dearer.
   */
  #loop(deadline: number, budget: number, stopWhen: (() => boolean) | undefined): Promise<number> {
    return new Promise<number>((resolve) => {
      let code: number = SPIN.stopped;
      /** The yield in progress follows an event that has continuations (not a blind turn). */
      let draining = false;
      const step = (): void => {
        if (this.#fatal !== undefined) return resolve(code);
        code = this.#spin(deadline, budget, stopWhen);
        if (this.#fatal !== undefined) return resolve(code);
        this.#pending = false;
        draining = code === SPIN.drain;
        // Work the kernel was not told about (promise chains nobody returned to it) runs in a blind
        // turn; any Platform call it makes is counted as late.
        if (!draining) this.#blind = true;
        realSetImmediate(resume);
      };
      const afterTurn = (): void => {
        if (this.#runDeferred() && this.#fatal === undefined) {
          realSetImmediate(resume);
          return;
        }
        if (draining) {
          // The event's promises have settled: only now is `stopWhen` looking at its whole effect.
          if (this.#fatal === undefined && stopWhen !== undefined && stopWhen()) {
            code = SPIN.stopped;
            return resolve(code);
          }
          return step();
        }
        this.#blind = false;
        if (this.#fatal !== undefined) return resolve(code);
        if (code === SPIN.periodic) return step();
        if (code === SPIN.deadline || code === SPIN.quiescent) {
          const next = this.#queue.peek();
          if (next !== undefined && next.time <= deadline) return step();
        }
        resolve(code);
      };
      const resume = (): void => {
        try {
          afterTurn();
        } catch (error) {
          this.#blind = false;
          this.#fatal ??= error;
          resolve(code);
        }
      };
      try {
        step();
      } catch (error) {
        this.#fatal ??= error;
        resolve(code);
      }
    });
  }

  /** Runs the deferred callbacks (and those they defer); false if there were none. */
  #runDeferred(): boolean {
    const callbacks = this.#deferred;
    if (callbacks.length === 0) return false;
    const hosts = this.#deferredHosts;
    const incarnations = this.#deferredIncarnations;
    for (let i = 0; i < callbacks.length; i++) {
      const host = hosts[i]!;
      if (host.incarnation !== incarnations[i] || host.status === HOST_STATUS.crashed) continue;
      try {
        // Like a timer's, a returned promise is work the kernel waits for.
        this.#watch((callbacks[i] as () => unknown)(), host.index);
      } catch (error) {
        this.#uncaught(error, host.index);
        if (this.#fatal !== undefined) break;
      }
    }
    callbacks.length = 0;
    hosts.length = 0;
    incarnations.length = 0;
    return true;
  }

  /** Runs the continuations and deferred callbacks an event left; false if the runtime would not drain here. */
  #drainInPlace(drain: MicrotaskDrain): boolean {
    this.#pending = false;
    do {
      if (!drain()) return false;
    } while (this.#runDeferred() && this.#fatal === undefined);
    return true;
  }

  #spin(deadline: number, budget: number, stopWhen: (() => boolean) | undefined): number {
    const queue = this.#queue;
    const trace = this.#trace;
    const recording = trace.recording;
    const shard = this.#shard;
    const drain = this.#drainMicrotasks;
    for (;;) {
      const event = queue.peek();
      if (shard !== undefined) {
        const next = event === undefined || event.time > deadline ? deadline : event.time;
        if (next >= this.#otherBound + shard.lookaheadUs) {
          this.#awaitOther(next);
          continue;
        }
        if (next === deadline && (event === undefined || event.time > deadline)) {
          // Done: the other side may need this side's word that it sends nothing more before the deadline.
          this.#publish(deadline);
        } else if (this.#now > this.#published) this.#publish(this.#now);
      }
      if (event === undefined) return SPIN.quiescent;
      if (event.time > deadline) return SPIN.deadline;
      if (this.#events >= budget) {
        this.#stall = `event budget exhausted after ${this.#events} events at ${this.#now} µs`;
        return SPIN.stall;
      }
      queue.pop();
      if (event.time !== this.#now) {
        this.#now = event.time;
        this.#sameInstant = 0;
      } else if (++this.#sameInstant > this.#maxPerInstant) {
        this.#stall = `more than ${this.#maxPerInstant} events at ${this.#now} µs without time advancing`;
        queue.requeue(event, event.time, event.phase);
        return SPIN.stall;
      }
      this.#events++;
      trace.mix(event.time);
      trace.mix(event.kind * 65536 + event.host);
      try {
        event.fn(event.arg, event);
      } catch (error) {
        this.#uncaught(error, event.host);
        if (this.#fatal !== undefined) return SPIN.stopped;
      }
      if (this.#deferred.length > 0) {
        this.#runDeferred();
        if (this.#fatal !== undefined) return SPIN.stopped;
      }
      if (recording) trace.record(event.time, event.kind, event.host);
      if (this.#pending || this.#unsettled > 0 || this.#always) {
        // The same as the macrotask turn of `#loop`, without leaving the loop (when the runtime can).
        if (drain === undefined || !this.#drainInPlace(drain)) return SPIN.drain;
        if (this.#fatal !== undefined) return SPIN.stopped;
      }
      if (stopWhen !== undefined && stopWhen()) return SPIN.stopped;
      if ((this.#events & this.#yieldMask) === 0) return SPIN.periodic;
    }
  }

  /** Hands the other side what this side sent and promises it sends nothing before `clockUs`. */
  #publish(clockUs: number): void {
    // Published once per instant: the array is copied into the ring and kept for the next ones.
    const outgoing = this.#crossOut;
    this.#shard!.publish(outgoing, clockUs);
    if (outgoing.length > 0) outgoing.length = 0;
    this.#published = clockUs;
  }

  /**
   * The next event (or the deadline) is at `nextUs`, and the other side might still send something
   * that arrives before it: take what it has sent, and if that does not settle it, tell it where
   * this side stands and wait for it to move on. Its datagrams are queued in the order it sent them,
   * after this side's events of the same instant, whenever they are read: the run does not depend
   * on the threads' timing.
   */
  #awaitOther(nextUs: number): void {
    const shard = this.#shard!;
    // The bound counts what the other side has not read of what this side sent: hand it all over first.
    if (this.#crossOut.length > 0) this.#publish(this.#now);
    const incoming = this.#incoming;
    this.#otherBound = shard.receive(incoming);
    if (incoming.length > 0) {
      for (const d of incoming) this.#queueCrossing(d);
      incoming.length = 0;
      return;
    }
    if (nextUs < this.#otherBound + shard.lookaheadUs) return;
    // Nothing this side sends or runs from here on is earlier than `nextUs` (the other side's
    // datagrams not yet read included: it counts them in itself).
    this.#publish(nextUs);
    shard.waitForOther();
  }

  #queueCrossing(d: CrossDatagram): void {
    const from = this.#hosts[d.from];
    const to = this.#hosts[d.to];
    if (from === undefined || to === undefined || !from.remote || to.remote) {
      throw new Error(`Cannot take a datagram from host ${d.from} to ${d.to}: the halves disagree on hosts`);
    }
    if (d.at < this.#now) {
      throw new Error(
        `Cannot take a datagram from ${from.id} to ${to.id}: it arrives at ${d.at} µs, before this half's ${this.#now} µs (it was sent outside any event)`,
      );
    }
    const link = from.links[to.index] ?? this.#link(from, to);
    const datagram = new Datagram(link, d.bytes, d.srcPort, d.dstPort, d.sentAt);
    this.#queue.push(
      d.at,
      PHASE.network,
      EVENT_KIND.datagram,
      to.index,
      this.#deliver,
      datagram,
      CROSSING_SEQ + this.#crossIn++,
    );
  }

  // ---------------------------------------------------------------- results

  /** The trace hash so far: 16 hex digits. Same scenario + seed ⇒ same hash. */
  traceHash(): string {
    return this.#trace.digest();
  }

  /** Recorded events (with `recordTrace`). */
  traceRecords(): { count: number; at(index: number): TraceRecord | undefined } {
    return { count: this.#trace.recordedCount, at: (i) => this.#trace.at(i) };
  }

  /** Host id of a host index (for trace records), or `""`. */
  hostId(index: number): string {
    return this.#hosts[index]?.id ?? "";
  }

  /** Statistics of every directed link that carried traffic or was configured, in host order. */
  linkStats(): LinkStats[] {
    return [...this.#links]
      .sort((a, b) => a.from.index - b.from.index || a.to.index - b.to.index)
      .map((link) => {
        const c = link.model.counters;
        const dropped = Object.fromEntries(DROP_CAUSES.map((cause, i) => [cause, c.dropped[i]!])) as Record<
          DropCause,
          number
        >;
        return {
          from: link.from.id,
          to: link.to.id,
          sent: c.sent,
          delivered: c.delivered,
          dropped,
          droppedTotal: c.droppedTotal,
          duplicated: c.duplicated,
          corrupted: c.corrupted,
          truncated: c.truncated,
          reordered: c.reordered,
          held: c.held,
          bytesSent: c.bytesSent,
          bytesDelivered: c.bytesDelivered,
          maxQueueBytes: c.maxQueueBytes,
          latencyUs: c.latency.summary(),
          tcpSegments: link.tcpSegments,
          tcpBytes: link.tcpBytes,
        };
      });
  }

  /** The live counters of one directed link (with its latency histogram). */
  linkCounters(from: string, to: string): LinkCounters {
    return this.#link(this.#host(from), this.#host(to)).model.counters;
  }

  /** Counters of the TCP model. */
  tcpStats(): Readonly<TcpStats> {
    return { ...this.#tcp.stats };
  }

  /** Open TCP connections of a host. */
  openTcpConnections(id: string): number {
    return this.#tcp.openConnections(this.#host(id));
  }

  /**
   * Platform calls (timers, sends, connects) made by promise continuations the kernel was not told
   * about, so they ran at a drain point later than the event that caused them. Non-zero means some
   * code starts promise chains without returning them to the simulation: use `asyncMode: "always"`.
   */
  get lateAsyncCalls(): number {
    return this.#lateCalls;
  }

  /** Datagrams sent to an address no host has. */
  get unroutable(): number {
    return this.#unroutable;
  }

  /** Calls to real time, timers or randomness made during runs (the first ones with stacks). */
  violations(): { count: number; recorded: readonly Violation[] } {
    return { count: this.#guard.count, recorded: this.#guard.recorded };
  }

  /** Errors thrown by simulated code (with `onUncaught: "record"`); the first 100 are kept. */
  errors(): { count: number; recorded: readonly SimError[] } {
    return { count: this.#errorCount, recorded: this.#errors };
  }

  /** The most recent log lines, and the number of lines per level. */
  logs(): { lines: readonly SimLogLine[]; counts: Readonly<Record<LogLevel, number>> } {
    return { lines: this.#logs, counts: { ...this.#logCounts } };
  }

  // ---------------------------------------------------------------- internals

  #host(id: string): SimHost {
    const host = this.#byId.get(id);
    if (host === undefined) throw new Error(`Unknown host '${id}'`);
    return host;
  }

  #newPlatform(host: SimHost): Platform {
    return createVirtualPlatform(this.#kernel, host, { wallEpochMs: this.#wallEpochMs, tcp: this.#tcp });
  }

  readonly #runStarts = (arg: unknown): void => {
    const host = arg as SimHost;
    if (host.status === HOST_STATUS.crashed || host.remote) return;
    const platform = host.platform;
    for (const start of host.starts) this.#watch(start(platform), host.index);
  };

  readonly #runControl = (callback: unknown): void => {
    this.#watch((callback as () => unknown)(), -1);
  };

  #settle(host: SimHost, settle: () => void): void {
    if (!this.#running) {
      settle();
      return;
    }
    this.#queue.push(this.#now, PHASE.control, EVENT_KIND.settle, host.index, () => {
      this.#pending = true;
      settle();
    }, undefined);
  }

  #watch(result: unknown, host: number): void {
    if (result === undefined || result === null) return;
    if (typeof (result as PromiseLike<unknown>).then !== "function") return;
    this.#pending = true;
    this.#unsettled++;
    (result as PromiseLike<unknown>).then(() => {
      this.#unsettled--;
    }, (error: unknown) => {
      this.#unsettled--;
      this.#uncaught(error, host);
    });
  }

  #uncaught(error: unknown, hostIndex: number): void {
    this.#errorCount++;
    const host = hostIndex >= 0 ? this.#hosts[hostIndex]!.id : "";
    const message = error instanceof Error ? error.message : String(error);
    if (this.#onUncaught === "throw") {
      this.#fatal ??= new Error(
        `Uncaught error in simulated ${host === "" ? "callback" : `host '${host}'`} at ${this.#now} µs: ${message}`,
        { cause: error },
      );
      return;
    }
    if (this.#errors.length < MAX_RECORDED_ERRORS) {
      const stack = error instanceof Error ? error.stack ?? "" : "";
      this.#errors.push({ timeUs: this.#now, host, message, stack });
    }
  }

  #log(host: SimHost, level: LogLevel, message: string, fields: LogFields | undefined): void {
    this.#logCounts[level]++;
    if (LEVEL_RANK[level] < this.#logLevel) return;
    const line: SimLogLine = { timeUs: this.#now, host: host.id, level, message, fields: fields ?? {} };
    if (this.#logLimit > 0) {
      if (this.#logs.length >= this.#logLimit) this.#logs.shift();
      this.#logs.push(line);
    }
    this.#onLog?.(line);
  }

  #resolve(address: string, from: SimHost): SimHost | undefined {
    const host = this.#resolveAny(address, from);
    if (host?.remote === true) {
      throw new Error(`Cannot reach ${host.id} over TCP from ${from.id}: it runs in the other half of the simulation`);
    }
    return host;
  }

  #resolveAny(address: string, from: SimHost): SimHost | undefined {
    if (address === from.address || LOCAL_ADDRESSES.has(address)) return from;
    return this.#byAddress.get(address);
  }

  #link(from: SimHost, to: SimHost): SimLink {
    const existing = from.links[to.index];
    if (existing !== undefined) return existing;
    // The model's callbacks need the link, which needs the model.
    const self: { link?: SimLink } = {};
    const model = new LinkModel(from === to ? {} : this.#defaults, {
      rng: this.rng(`link:${from.id}>${to.id}`),
      emit: (bytes, at) => this.#emit(self.link!, bytes, at),
      drop: (cause, bytes) => {
        this.#trace.mix(0xd0 + cause);
        const l = self.link!;
        if (this.#observers.length > 0) this.#notify("drop", l, bytes, l.curSrc, l.curDst, l.curSentAt, cause);
      },
    });
    const link = new SimLink(from, to, model);
    self.link = link;
    from.links[to.index] = link;
    this.#links.push(link);
    link.blocked = this.#partitions.reduce((n, p) => n + (blocks(p, from.index, to.index) ? 1 : 0), 0);
    return link;
  }

  #recomputeBlocked(): void {
    for (const link of this.#links) {
      let n = 0;
      for (const p of this.#partitions) if (blocks(p, link.from.index, link.to.index)) n++;
      link.blocked = n;
    }
  }

  #unclog(link: SimLink): void {
    link.clogged = false;
    const held = link.clogHeld.splice(0);
    for (const d of held) {
      link.curSrc = d.srcPort;
      link.curDst = d.dstPort;
      link.curSentAt = d.sentAt;
      link.model.counters.held++;
      // Held datagrams were already counted as sent; the model counts them again, so undo that.
      link.model.counters.sent--;
      link.model.counters.bytesSent -= d.bytes.length;
      link.model.transmit(d.bytes, this.#now);
    }
  }

  #sendUdp(from: SimHost, srcPort: number, bytes: Uint8Array, address: string, port: number): void {
    if (this.#blind) this.#lateCalls++;
    const to = address === from.address
      ? from
      : this.#byAddress.get(address) ?? (LOCAL_ADDRESSES.has(address) ? from : undefined);
    if (to === undefined) {
      this.#unroutable++;
      return;
    }
    const link = from.links[to.index] ?? this.#link(from, to);
    this.#trace.mix(bytes.length);
    const copy = copyBytes(bytes);
    link.curSrc = srcPort;
    link.curDst = port;
    link.curSentAt = this.#now;
    if (link.blocked > 0) {
      const c = link.model.counters;
      c.sent++;
      c.bytesSent += copy.length;
      c.dropped[DROP.partition]!++;
      this.#trace.mix(0xd0 + DROP.partition);
      if (this.#observers.length > 0) this.#notify("drop", link, copy, srcPort, port, this.#now, DROP.partition);
      return;
    }
    if (link.clogged) {
      const c = link.model.counters;
      c.sent++;
      c.bytesSent += copy.length;
      if (link.clogHeld.length >= this.#clogLimit) {
        c.dropped[DROP.clog_overflow]!++;
        if (this.#observers.length > 0) this.#notify("drop", link, copy, srcPort, port, this.#now, DROP.clog_overflow);
      } else link.clogHeld.push(new Datagram(link, copy, srcPort, port, this.#now));
      return;
    }
    link.model.transmit(copy, this.#now);
  }

  #emit(link: SimLink, bytes: Uint8Array, at: number): void {
    if (link.to.remote) {
      if (at < this.#now + this.#shard!.lookaheadUs) {
        // The other side may already be past `at`: the split is wrong for these links.
        this.#fatal ??= new Error(
          `Cannot send from ${link.from.id} to ${link.to.id} across the shards: it would arrive after ${
            at - this.#now
          } µs, less than the shards' lookahead of ${this.#shard!.lookaheadUs} µs`,
        );
        return;
      }
      // The other side may answer it as soon as it arrives: this side's view of it must allow for that.
      if (at < this.#otherBound) this.#otherBound = at;
      this.#crossOut.push({
        at,
        sentAt: link.curSentAt,
        from: link.from.index,
        to: link.to.index,
        srcPort: link.curSrc,
        dstPort: link.curDst,
        bytes,
      });
      return;
    }
    const datagram = new Datagram(link, bytes, link.curSrc, link.curDst, link.curSentAt);
    this.#queue.push(at, PHASE.network, EVENT_KIND.datagram, link.to.index, this.#deliver, datagram);
  }

  readonly #deliver = (arg: unknown, event: SimEvent): void => {
    const d = arg as Datagram;
    const link = d.link;
    const to = link.to;
    const c = link.model.counters;
    const trace = this.#trace;
    trace.detail(link.from.index * 65536 + to.index, d.bytes.length);
    if (link.blocked > 0) return this.#dropAtArrival(d, DROP.partition);
    if (to.status !== HOST_STATUS.up) {
      if (to.status === HOST_STATUS.crashed) return this.#dropAtArrival(d, DROP.host_down);
      if (to.heldDatagrams >= this.#pausedLimit) return this.#dropAtArrival(d, DROP.paused_overflow);
      to.heldDatagrams++;
      c.held++;
      to.held.push(event);
      return;
    }
    const socket = to.udp.get(d.dstPort);
    if (socket === undefined) return this.#dropAtArrival(d, DROP.no_socket);
    c.delivered++;
    c.bytesDelivered += d.bytes.length;
    c.latency.record(this.#now - d.sentAt);
    trace.mixBytes(d.bytes);
    if (this.#observers.length > 0) this.#notify("deliver", link, d.bytes, d.srcPort, d.dstPort, d.sentAt, -1);
    const result = socket.handler(d.bytes, link.from.address, d.srcPort);
    if (result !== undefined) this.#watch(result, to.index);
  };

  #dropAtArrival(d: Datagram, cause: number): void {
    d.link.model.counters.dropped[cause]!++;
    this.#trace.mix(0xd0 + cause);
    this.#trace.mix(d.bytes.length);
    if (this.#observers.length > 0) this.#notify("drop", d.link, d.bytes, d.srcPort, d.dstPort, d.sentAt, cause);
  }

  #notify(
    type: "deliver" | "drop",
    link: SimLink,
    bytes: Uint8Array,
    srcPort: number,
    dstPort: number,
    sentAtUs: number,
    cause: number,
  ): void {
    const event: DatagramEvent = {
      type,
      timeUs: this.#now,
      from: link.from.id,
      to: link.to.id,
      srcPort,
      dstPort,
      bytes,
      sentAtUs,
      ...(cause >= 0 ? { cause: DROP_CAUSES[cause]! } : {}),
    };
    for (const observer of this.#observers) observer(event);
  }
}

function blocks(p: ActivePartition, from: number, to: number): boolean {
  const a = p.groupOf.get(from);
  const b = p.groupOf.get(to);
  if (a === undefined || b === undefined || a === b) return false;
  return !p.oneWay || a < b;
}
