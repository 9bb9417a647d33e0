/**
 * `qeynos bench zone`: how many players one zone server carries. N bots log in (the whole flow),
 * spawn over a disc of `--spread` units in one instance of one zone and walk at `--hz`; after a
 * warm-up the benchmark measures for `--seconds` and prints one JSON line:
 *
 * - `moveLatencyMs` p50/p99/max: from a bot sending a movement update to another bot in view
 *   receiving it (both clocks are the same process's);
 * - `tickMs` p50/p99/max: the zone's fixed-rate tick (interest updates, saves, status), real time;
 * - `cpu`: CPU time over wall time of the process(es), 1 = one core busy;
 * - `movesPerSec`, `updatesPerMove` (average number of players in view), `updatesPerSec`;
 * - with `--sim`, `simWallRatio`: simulated seconds per wall second (≥ 1 is real time or faster).
 *
 * `--sim` (default) runs the login, world and zone roles and every bot in the deterministic
 * simulator, through the same `login`/`move` workloads scenario files use. `--live` runs the server
 * (`startCluster`, what `qeynos serve` runs) in this process and the bots (`runBot`, what
 * `qeynos bot` runs) in a second process, over real loopback UDP.
 * @module
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { createConsoleLog, createRealPlatform, runtimeName } from "../platform/mod.ts";
import type { Platform } from "../platform/platform.ts";
import {
  botCharacterName,
  type BotOutcome,
  type Cluster,
  Histogram,
  type HistogramSnapshot,
  type HistogramState,
  runBot,
  startCluster,
  type ZoneServer,
} from "../roles/mod.ts";
import { openSqliteStore } from "../store/mod.ts";
import { lz4WasmBytes } from "../wire/lz4.ts";
import { loadScenario } from "../../sim/scenario/loader.ts";
import { runScenario } from "../../sim/scenario/runner.ts";
import { ShardChannel } from "../../sim/shard_channel.ts";
import { Simulation } from "../../sim/simulation.ts";
import "../../sim/workloads/all.ts";
import { RoleGame, SharedMoveSendLog } from "../../sim/workloads/roles/mod.ts";
import { addressFlag, type Command, integerFlag, parseFlags, UsageError } from "./command.ts";
import { loopbackLimits } from "./serve.ts";

const HELP = `Usage: qeynos bench zone [--bots N] [--hz 10] [--seconds S] [--sim | --live] [options]

N bots log in, spawn in one instance of one zone and walk; after a warm-up the
zone is measured for S seconds. Prints one JSON line: movement latency p50/p99
(a bot's update → other bots in view receive it), zone tick duration p50/p99,
CPU (CPU time / wall time; 1 = one core), moves and relayed updates per second,
and with --sim the simulated/wall time ratio.

Options:
  --bots N        bots (default 100)
  --hz N          movement updates per bot per second (default 10)
  --seconds S     measured seconds (default 10)
  --sim           run everything in the simulator (default)
  --live          server in this process, bots in a second process, real
                  loopback UDP
  --spread R      bots spawn uniformly over a disc of radius R units (default
                  1000; the zone's view radius is 100, so about
                  N × (100 / R)² players are in view of each)
  --warmup S      seconds between the last login and the measurement
                  (default 3)
  --seed N        simulation seed (default 1)
  --batch-ms N    the zone's movement batch window: updates for a player
                  within N ms of the last ones sent to them go out together
                  (default the zone's, 20; 0: each on its own)
  --zone-ack-ms N EQStream ack delay of the zone's client sessions (default
                  the zone's, 25 ms)
  --bot-ack-ms N  EQStream ack delay of the bots' zone sessions (default
                  25 ms, like the zone's)
  --latency-ms A-B
                  --sim: one-way latency of every link, uniform between A
                  and B ms (default 0.5-1.5)
  --shards N      --sim in 1 thread (default) or 2: login, world and zone in
                  one, the bots in the other, each running at most A ms of
                  simulated time (the shortest latency) ahead of the other;
                  the same run as in 1 thread but for the order of events
                  in the same microsecond
  -h, --help      show this help`;

const FLAGS = {
  bots: { type: "string" },
  hz: { type: "string" },
  seconds: { type: "string" },
  sim: { type: "boolean" },
  live: { type: "boolean" },
  spread: { type: "string" },
  warmup: { type: "string" },
  seed: { type: "string" },
  "batch-ms": { type: "string" },
  "zone-ack-ms": { type: "string" },
  "bot-ack-ms": { type: "string" },
  shards: { type: "string" },
  "latency-ms": { type: "string" },
  // Internal: the bot process of a --live run.
  "bots-only": { type: "boolean" },
  server: { type: "string" },
} as const;

/** Options of a zone benchmark. */
export interface ZoneBenchOptions {
  readonly bots: number;
  readonly hz: number;
  readonly seconds: number;
  readonly spread: number;
  readonly warmupSeconds: number;
  readonly seed: number;
  /** The zone's movement batch window, ms; default the zone's (20). */
  readonly moveBatchMs?: number;
  /** EQStream ack delay of the zone's sessions, ms; default the zone's (25). */
  readonly zoneAckDelayMs?: number;
  /** EQStream ack delay of the bots' zone sessions, ms; default 25. */
  readonly botAckDelayMs?: number;
  /** Simulation threads: 1 (default), or 2 (server roles in one, bots in the other). */
  readonly shards?: 1 | 2;
  /** Simulated one-way latency, ms, uniform between the two; default 0.5–1.5. */
  readonly linkLatencyMs?: readonly [number, number];
}

/** Zone options the tuning flags set (nothing: the roles' defaults). */
function zoneTuning(
  o: ZoneBenchOptions,
): { moveBatchUs?: number; session?: { ackDelayUs: number } } {
  return {
    ...(o.moveBatchMs === undefined ? {} : { moveBatchUs: o.moveBatchMs * 1000 }),
    ...(o.zoneAckDelayMs === undefined ? {} : { session: { ackDelayUs: o.zoneAckDelayMs * 1000 } }),
  };
}

/** The tuning flags given, for the result line. */
function tuningOf(
  o: ZoneBenchOptions,
): { moveBatchMs?: number; zoneAckDelayMs?: number; botAckDelayMs?: number } {
  return {
    ...(o.moveBatchMs === undefined ? {} : { moveBatchMs: o.moveBatchMs }),
    ...(o.zoneAckDelayMs === undefined ? {} : { zoneAckDelayMs: o.zoneAckDelayMs }),
    ...(o.botAckDelayMs === undefined ? {} : { botAckDelayMs: o.botAckDelayMs }),
  };
}

/** Bot session options the tuning flags set. */
function botTuning(o: ZoneBenchOptions): { ackDelayUs?: number } {
  return o.botAckDelayMs === undefined ? {} : { ackDelayUs: o.botAckDelayMs * 1000 };
}

/** Milliseconds, rounded to µs. */
function ms(us: number): number {
  return Math.round(us) / 1000;
}

function summary(h: HistogramSnapshot): { p50: number; p99: number; max: number; count: number } {
  return { p50: ms(h.p50), p99: ms(h.p99), max: ms(h.max), count: h.count };
}

/** Seconds the bots take to log in: about 200 a second, at least 2 s. */
function rampSeconds(bots: number): number {
  return Math.max(2, Math.ceil(bots / 200));
}

/** The measured figures. */
export interface ZoneBenchResult {
  readonly bench: "zone";
  readonly mode: "sim" | "live";
  readonly runtime: string;
  readonly bots: number;
  readonly hz: number;
  readonly spread: number;
  readonly seconds: number;
  readonly inZone: number;
  readonly movesPerSec: number;
  readonly updatesPerSec: number;
  readonly updatesPerMove: number;
  readonly moveLatencyMs: { p50: number; p99: number; max: number; count: number };
  readonly tickMs: { p50: number; p99: number; max: number; count: number };
  readonly cpu: number;
  readonly cpuBots?: number;
  /** Live: the zone's EQStream datagrams per second both ways, and its retransmissions and timeouts. */
  readonly zoneDatagrams?: {
    sentPerSec: number;
    receivedPerSec: number;
    retransmissions: number;
    tailLossProbes: number;
    spuriousRetransmissions: number;
    timeouts: number;
  };
  /** Live, on Linux: datagrams the kernel dropped for want of socket buffer during the measurement (whole machine). */
  readonly receiveBufferDrops?: number;
  /** Live, on Linux: of those, the ones at the zone's socket. */
  readonly zoneSocketDrops?: number;
  readonly simWallRatio?: number;
  /** Sim: the links' one-way latency range, ms. */
  readonly linkLatencyMs?: number[];
  /** Simulated datagrams (every link) per simulated second. */
  readonly datagramsPerSec?: number;
  /** Simulator events per simulated second. */
  readonly eventsPerSec?: number;
  /** `--shards 2`: times each half had to wait for the other per simulated second, and real ms it waited. */
  readonly shards?: number;
  readonly shardWaitsPerSec?: number[];
  readonly shardWaitMs?: number[];
  readonly wallSeconds: number;
  readonly failedBots: number;
  /** The tuning flags given (absent: defaults). */
  readonly moveBatchMs?: number;
  readonly zoneAckDelayMs?: number;
  readonly botAckDelayMs?: number;
}

/** What both shapes of the benchmark report, from the counts of a window of `seconds`. */
function zoneFigures(
  o: ZoneBenchOptions,
  mode: "sim" | "live",
  m: {
    readonly seconds: number;
    readonly inZone: number;
    readonly moves: number;
    readonly updates: number;
    readonly latency: HistogramSnapshot;
    readonly tick: HistogramSnapshot;
    /** CPU time over wall time. */
    readonly cpu: number;
  },
) {
  return {
    bench: "zone",
    mode,
    runtime: runtimeName(),
    bots: o.bots,
    hz: o.hz,
    spread: o.spread,
    seconds: Math.round(m.seconds * 1000) / 1000,
    inZone: m.inZone,
    movesPerSec: Math.round(m.moves / m.seconds),
    updatesPerSec: Math.round(m.updates / m.seconds),
    updatesPerMove: m.moves === 0 ? 0 : Math.round((m.updates / m.moves) * 100) / 100,
    moveLatencyMs: summary(m.latency),
    tickMs: summary(m.tick),
    cpu: Math.round(m.cpu * 100) / 100,
  } as const;
}

interface ZoneWindow {
  readonly movesIn: number;
  readonly updatesOut: number;
}

function zoneCounts(zone: ZoneServer): ZoneWindow {
  return { movesIn: zone.counters.movesIn, updatesOut: zone.counters.moveUpdatesOut };
}

/** EQStream totals over the zone's client sessions. */
function sessionTotals(
  zone: ZoneServer,
): Record<"sent" | "received" | "retransmissions" | "timeouts" | "probes" | "spurious", number> {
  const t = { sent: 0, received: 0, retransmissions: 0, timeouts: 0, probes: 0, spurious: 0 };
  for (const c of zone.eqstream.connections()) {
    const s = c.stats;
    t.sent += s.packetsSent;
    t.received += s.packetsReceived;
    t.retransmissions += s.retransmissions;
    t.timeouts += s.timeouts;
    t.probes += s.tailLossProbes;
    t.spurious += s.spuriousRetransmissions;
  }
  return t;
}

/** Datagrams the kernel dropped at the loopback UDP socket bound to `port` (Linux), if readable. */
function socketDrops(port: number): number | undefined {
  try {
    const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
    for (const line of readFileSync("/proc/net/udp", "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.endsWith(hex)) return Number(fields[fields.length - 1]);
    }
  } catch {
    // not Linux
  }
  return undefined;
}

/** Datagrams the kernel dropped for want of socket buffer (Linux, every socket of the machine), if readable. */
function receiveBufferDrops(): number | undefined {
  try {
    const lines = readFileSync("/proc/net/snmp", "utf8").split("\n").filter((l) => l.startsWith("Udp:"));
    const names = lines[0]!.split(/\s+/);
    const values = lines[1]!.split(/\s+/);
    const value = Number(values[names.indexOf("RcvbufErrors")]);
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** One-way latency of the simulated links by default, ms: uniform between the two. */
export const DEFAULT_LINK_LATENCY_MS: readonly [number, number] = [0.5, 1.5];

/** What one simulation measured (with `--shards 2`, one half: the server's or the bots'). */
export interface ZoneSimPart {
  readonly wall: number;
  readonly cpu: number;
  readonly events: number;
  readonly datagrams: number;
  /** The zone's figures (the half that runs it). */
  readonly zone?: {
    readonly inZone: number;
    readonly moves: number;
    readonly updates: number;
    readonly tick: HistogramSnapshot;
  };
  /** The figures of the bots this simulation ran. */
  readonly bots: { readonly latency: HistogramState; readonly failed: number };
  /** Sharded: times this half had to wait for the other, and real ms spent so. */
  readonly waits: number;
  readonly waitedMs: number;
}

/**
 * Which half of a sharded run: 0 runs login, world, zone (and SERVER_HALF_BOT_SHARE of the bots), 1 the other
 * bots. Both share `buffer` (the halves' meeting point) and `moveLog` (moves' send times).
 */
export interface ZoneSimShard {
  readonly side: 0 | 1;
  readonly buffer: SharedArrayBuffer;
  readonly moveLog: SharedArrayBuffer;
}

/**
 * The share of the bots the server half runs, to even out the halves' loads. None: with windowed
 * synchronisation 0, 5 and 10 % measured 0.86, 0.81 and 0.78 × real time (medians of 4 interleaved
 * runs, Deno); with continuous synchronisation the server half waits more than the bots' half, but 3
 * and 6 % measured within the noise of none (0.94 and 0.94 × against 0.89 ×, the waits together grew);
 * with promise continuations drained in place, 5 and 10 % measured 1.24 and 1.29 × against 1.49 ×.
 */
const SERVER_HALF_BOT_SHARE = 0;

/** Runs the benchmark's simulation, whole or one half of it. */
export async function runZoneSim(o: ZoneBenchOptions, half?: ZoneSimShard): Promise<ZoneSimPart> {
  // Bound before the run: the simulator guards the global clocks while it runs.
  const realNow = performance.now.bind(performance);
  const cpuNow = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const rampUs = rampSeconds(o.bots) * 1_000_000;
  const startUs = 1_000_000 + rampUs + o.warmupSeconds * 1_000_000;
  const endUs = startUs + o.seconds * 1_000_000;
  const [minMs, maxMs] = o.linkLatencyMs ?? DEFAULT_LINK_LATENCY_MS;
  const minUs = Math.round(minMs * 1000);
  const maxUs = Math.round(maxMs * 1000);
  const scenario = loadScenario(
    `version: 1
name: bench-zone
seed: ${o.seed}
duration: ${Math.ceil(endUs / 1000)}ms
hosts:
  - { id: login, role: login }
  - { id: world, role: world }
  - { id: zone1, role: zone }
  - { id: bot, role: client, count: ${o.bots} }
links:
  default: { latency: { dist: uniform, min: ${minUs}us, max: ${maxUs}us } }
workload:
  login:
    count: ${o.bots}
    window: ${rampUs / 1000}ms
    start: 1s
    play: ${Math.ceil(endUs / 1_000_000) + 60}s
    attempts: 1
    server: { zones: [qeynos], spawnRadius: ${o.spread}, maxPlayersPerInstance: ${o.bots + 1}, zoneMaxPlayers: ${
      o.bots + 1
    } }
  move: { hz: ${o.hz} }
checks: []
report: { formats: [json], sample: 1h }
`,
    "bench-zone.yaml",
  );
  // Every n-th bot runs with the server roles, the others in the bots' half.
  const share = SERVER_HALF_BOT_SHARE;
  const clientIds = scenario.hosts.filter((h) => h.role === "client").map((h) => h.id);
  const botsHalf = new Set(clientIds.filter((_, i) => Math.floor((i + 1) * share) === Math.floor(i * share)));
  const shard = half === undefined
    ? undefined
    : new ShardChannel(half.buffer, half.side, (id) => botsHalf.has(id) === (half.side === 1), minUs);
  const latency = new Histogram();
  const datagrams = () => sim!.linkStats().reduce((n, l) => n + l.sent, 0);
  interface Mark {
    readonly wall: number;
    readonly cpu: number;
    readonly events: number;
    readonly datagrams: number;
    readonly waits: number;
    readonly waitedMs: number;
    readonly zone: (ZoneWindow & { readonly inZone: number }) | undefined;
  }
  let at: Mark | undefined;
  let end: (Mark & { readonly tick: HistogramSnapshot | undefined }) | undefined;
  let sim: Simulation | undefined;
  const zoneOf = () => RoleGame.find(sim!)?.zones.get("zone1");
  const mark = (): Mark => {
    const zone = zoneOf();
    return {
      wall: realNow(),
      cpu: cpuNow(),
      // Not counting the marking event itself, which both halves of a sharded run have.
      events: sim!.events - 1,
      datagrams: datagrams(),
      waits: shard?.waits ?? 0,
      waitedMs: shard?.waitedMs ?? 0,
      zone: zone === undefined ? undefined : { ...zoneCounts(zone), inZone: zone.playerCount },
    };
  };
  await runScenario(scenario, {
    environment: (seed) => {
      sim = new Simulation({
        seed,
        onUncaught: "record",
        logLevel: "error",
        logLimit: 10,
        // Continuations run right after the event that released them. The bots' pending scripts
        // make a whole simulation do that anyway; the server half alone must be told.
        asyncMode: "always",
        ...(shard === undefined ? {} : { shard }),
      });
      RoleGame.prepare(sim, {
        zone: { tickDurationClock: { now: () => Math.round(realNow() * 1000) }, ...zoneTuning(o) },
        botSession: botTuning(o),
        ...(half === undefined ? {} : { moveSendLog: new SharedMoveSendLog(half.moveLog) }),
        onMoveLatency: (us, atUs) => {
          if (atUs >= startUs) latency.record(us);
        },
      });
      sim.at(startUs, () => {
        zoneOf()?.tick.resetStats();
        at = mark();
      });
      sim.at(endUs - 1, () => {
        end = { ...mark(), tick: zoneOf()?.tickStats().durationUs };
      });
      return sim;
    },
  });
  if (at === undefined || end === undefined) throw new Error("Cannot measure the zone: the run ended early");
  if (half?.side !== 1 && (at.zone === undefined || end.zone === undefined)) {
    throw new Error("Cannot measure the zone: it never started");
  }
  const game = RoleGame.find(sim!)!;
  return {
    wall: end.wall - at.wall,
    cpu: end.cpu - at.cpu,
    events: end.events - at.events,
    datagrams: end.datagrams - at.datagrams,
    ...(at.zone === undefined || end.zone === undefined ? {} : {
      zone: {
        inZone: at.zone.inZone,
        moves: end.zone.movesIn - at.zone.movesIn,
        updates: end.zone.updatesOut - at.zone.updatesOut,
        tick: end.tick!,
      },
    }),
    bots: {
      latency: latency.state(),
      failed: game.botList().filter((b) => b.state === "failed" && sim!.isLocal(b.host)).length,
    },
    waits: end.waits - at.waits,
    waitedMs: end.waitedMs - at.waitedMs,
  };
}

/** Where the worker module of a half is (an executable may keep it elsewhere). */
let halfWorkerUrl: string = new URL("./_bench_zone_half.ts", import.meta.url).href;

/** Sets where `_bench_zone_half.ts` is for `new Worker` (the Bun executable embeds it as its own entry point). */
export function setZoneSimHalfWorkerUrl(url: string): void {
  halfWorkerUrl = url;
}

/** Runs the two halves of a sharded simulation in two worker threads. */
function runZoneSimHalves(o: ZoneBenchOptions): Promise<ZoneSimPart[]> {
  const buffer = ShardChannel.createBuffer();
  const moveLog = SharedMoveSendLog.createBuffer(o.bots + 64);
  // Handed over: a worker of an executable cannot find the embedded file itself.
  const lz4Wasm = lz4WasmBytes();
  const workers: Worker[] = [];
  const halves = ([0, 1] as const).map((side) =>
    new Promise<ZoneSimPart>((resolve, reject) => {
      const worker = new Worker(halfWorkerUrl, { type: "module" });
      workers.push(worker);
      worker.onmessage = (event: MessageEvent) => {
        const reply = event.data as { part?: ZoneSimPart; error?: string };
        if (reply.part !== undefined) resolve(reply.part);
        else reject(new Error(reply.error ?? "no figures"));
      };
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        reject(new Error(`Cannot run half ${side} of the simulation: ${event.message}`));
      };
      worker.postMessage({ options: o, half: { side, buffer, moveLog } satisfies ZoneSimShard, lz4Wasm });
    })
  );
  return Promise.all(halves).finally(() => {
    for (const worker of workers) worker.terminate();
  });
}

/** Runs the benchmark in the simulator: in this thread, or split over two (`o.shards` 2). */
export async function benchZoneSim(o: ZoneBenchOptions): Promise<ZoneBenchResult> {
  const parts = (o.shards ?? 1) === 2 ? await runZoneSimHalves(o) : [await runZoneSim(o)];
  const zone = parts.find((p) => p.zone !== undefined)!.zone!;
  const latency = new Histogram();
  for (const part of parts) latency.merge(part.bots.latency);
  // The halves meet every window: the slower one's time is the run's.
  const wallSeconds = Math.max(...parts.map((p) => p.wall)) / 1000;
  // CPU time is the process's (both threads) whichever half reads it.
  const cpuSeconds = Math.max(...parts.map((p) => p.cpu));
  const simSeconds = (o.seconds * 1_000_000 - 1) / 1e6;
  const sum = (f: (p: ZoneSimPart) => number) => parts.reduce((n, p) => n + f(p), 0);
  return {
    ...zoneFigures(o, "sim", {
      seconds: simSeconds,
      inZone: zone.inZone,
      moves: zone.moves,
      updates: zone.updates,
      latency: latency.snapshot(),
      tick: zone.tick,
      cpu: cpuSeconds / wallSeconds,
    }),
    simWallRatio: Math.round((simSeconds / wallSeconds) * 1000) / 1000,
    linkLatencyMs: [...(o.linkLatencyMs ?? DEFAULT_LINK_LATENCY_MS)],
    datagramsPerSec: Math.round(sum((p) => p.datagrams) / simSeconds),
    eventsPerSec: Math.round(sum((p) => p.events) / simSeconds),
    wallSeconds: Math.round(wallSeconds * 1000) / 1000,
    failedBots: sum((p) => p.bots.failed),
    ...(parts.length === 2
      ? {
        shards: 2,
        shardWaitsPerSec: parts.map((p) => Math.round(p.waits / simSeconds)),
        shardWaitMs: parts.map((p) => Math.round(p.waitedMs)),
      }
      : {}),
    ...tuningOf(o),
  };
}

// -------------------------------------------------------------------------------------------------
// Live: the server here, the bots in a child process that reports its own measurements.

interface BotProcessReport {
  readonly phase: "measuring" | "measured" | "done";
  readonly inZone?: number;
  readonly latency?: HistogramSnapshot;
  readonly cpu?: number;
  readonly failed?: number;
}

/** Runs the bots of a live benchmark (the child process): prints `measuring`, then the figures. */
async function runBotProcess(o: ZoneBenchOptions, server: { address: string; port: number }): Promise<number> {
  const platform = createRealPlatform(createConsoleLog({ level: "error" }));
  const sent = new Map<number, Float64Array>();
  const latency = new Histogram();
  let measuring = false;
  let inZone = 0;
  const signal = { aborted: false };
  const rampMs = rampSeconds(o.bots) * 1000;
  const now = () => platform.clock.now();
  const outcomes = Array.from({ length: o.bots }, (_, i): Promise<BotOutcome> => {
    const start = Math.floor((i * rampMs) / o.bots);
    return new Promise<void>((resolve) => platform.timers.setTimeout(resolve, start * 1000)).then(() =>
      runBot(platform, {
        server,
        account: `zonebench${i + 1}`,
        password: "botpassword",
        characterName: botCharacterName("Bench", i + 1),
        script: "walk",
        moveHz: o.hz,
        durationUs: 3_600_000_000,
        session: botTuning(o),
        signal,
        observer: (e) => {
          if (e.type === "entered") inZone++;
          else if (e.type === "move.sent") {
            let ring = sent.get(e.charId);
            if (ring === undefined) sent.set(e.charId, ring = new Float64Array(256).fill(-1));
            ring[e.sequence & 255] = now();
          }
        },
        onMoveSeen: (fromCharId, sequence) => {
          if (!measuring) return;
          const t = sent.get(fromCharId)?.[sequence & 255];
          if (t !== undefined && t >= 0) latency.record(now() - t);
        },
      })
    );
  });
  const sleep = (us: number) => new Promise<void>((resolve) => platform.timers.setTimeout(resolve, us));
  const deadline = now() + (rampMs + 60_000) * 1000;
  while (inZone < o.bots && now() < deadline) await sleep(100_000);
  await sleep(o.warmupSeconds * 1_000_000);
  const cpu0 = process.cpuUsage();
  const wall0 = now();
  measuring = true;
  console.log(JSON.stringify({ phase: "measuring", inZone } satisfies BotProcessReport));
  await sleep(o.seconds * 1_000_000);
  measuring = false;
  const cpu1 = process.cpuUsage();
  const cpu = (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / (now() - wall0);
  console.log(
    JSON.stringify({ phase: "measured", inZone, latency: latency.snapshot(), cpu } satisfies BotProcessReport),
  );
  signal.aborted = true;
  const done = await Promise.all(outcomes);
  const failed = done.filter((d) => !d.ok).length;
  console.log(JSON.stringify({ phase: "done", failed } satisfies BotProcessReport));
  return 0;
}

/** Runs the benchmark on real sockets: the server here, the bots in a second process. */
export async function benchZoneLive(o: ZoneBenchOptions): Promise<ZoneBenchResult> {
  const platform: Platform = createRealPlatform(createConsoleLog({ level: "error" }));
  const store = await openSqliteStore(":memory:", { platform, bcryptCost: 4 });
  const limits = loopbackLimits("127.0.0.1", undefined);
  const cluster: Cluster = await startCluster(platform, {
    store,
    address: "127.0.0.1",
    loginPort: 0,
    worldPort: 0,
    zonePort: 0,
    zoneServers: 1,
    login: { autoCreateAccounts: true, ...(limits === undefined ? {} : { limits }) },
    world: {
      zones: ["qeynos"],
      spawnRadius: o.spread,
      maxPlayersPerInstance: o.bots + 1,
      maxPlayers: o.bots + 10,
      ...(limits === undefined ? {} : { limits }),
    },
    zone: {
      maxPlayers: o.bots + 1,
      ...(limits === undefined ? {} : { limits }),
      ...zoneTuning(o),
    },
  });
  const zone = cluster.zones[0]!;
  const main = fileURLToPath(new URL("../main.ts", import.meta.url));
  const args = [
    "bench",
    "zone",
    "--bots-only",
    "--server",
    `127.0.0.1:${cluster.login.address.port}`,
    "--bots",
    String(o.bots),
    "--hz",
    String(o.hz),
    "--seconds",
    String(o.seconds),
    "--warmup",
    String(o.warmupSeconds),
    ...(o.botAckDelayMs === undefined ? [] : ["--bot-ack-ms", String(o.botAckDelayMs)]),
  ];
  const command = runtimeName() === "deno" ? ["run", "-A", main, ...args] : [main, ...args];
  const child = spawn(process.execPath, command, { stdio: ["ignore", "pipe", "inherit"] });
  let window:
    | {
      wall: number;
      cpu: number;
      zone: ZoneWindow;
      inZone: number;
      sessions: ReturnType<typeof sessionTotals>;
      drops: number | undefined;
      zoneDrops: number | undefined;
    }
    | undefined;
  let report: BotProcessReport | undefined;
  let failed = 0;
  let result: ZoneBenchResult | undefined;
  const cpuNow = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let buffer = "";
      child.stdout!.setEncoding("utf8");
      child.stdout!.on("data", (chunk: string) => {
        buffer += chunk;
        for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
          const line = buffer.slice(0, i).trim();
          buffer = buffer.slice(i + 1);
          if (!line.startsWith("{")) continue;
          const message = JSON.parse(line) as BotProcessReport;
          if (message.phase === "measuring") {
            zone.tick.resetStats();
            window = {
              wall: platform.clock.now(),
              cpu: cpuNow(),
              zone: zoneCounts(zone),
              inZone: zone.playerCount,
              sessions: sessionTotals(zone),
              drops: receiveBufferDrops(),
              zoneDrops: socketDrops(zone.eqstream.local.port),
            };
          } else if (message.phase === "done") {
            failed = message.failed ?? 0;
          } else if (message.phase === "measured" && window !== undefined) {
            const wallSeconds = (platform.clock.now() - window.wall) / 1e6;
            const counts = zoneCounts(zone);
            report = message;
            const moves = counts.movesIn - window.zone.movesIn;
            const updates = counts.updatesOut - window.zone.updatesOut;
            const sessions = sessionTotals(zone);
            result = {
              ...zoneFigures(o, "live", {
                seconds: wallSeconds,
                inZone: window.inZone,
                moves,
                updates,
                latency: message.latency!,
                tick: zone.tickStats().durationUs,
                cpu: (cpuNow() - window.cpu) / wallSeconds,
              }),
              cpuBots: Math.round(message.cpu! * 100) / 100,
              zoneDatagrams: {
                sentPerSec: Math.round((sessions.sent - window.sessions.sent) / wallSeconds),
                receivedPerSec: Math.round((sessions.received - window.sessions.received) / wallSeconds),
                retransmissions: sessions.retransmissions - window.sessions.retransmissions,
                tailLossProbes: sessions.probes - window.sessions.probes,
                spuriousRetransmissions: sessions.spurious - window.sessions.spurious,
                timeouts: sessions.timeouts - window.sessions.timeouts,
              },
              ...(window.drops === undefined ? {} : { receiveBufferDrops: (receiveBufferDrops() ?? 0) - window.drops }),
              ...(window.zoneDrops === undefined
                ? {}
                : { zoneSocketDrops: (socketDrops(zone.eqstream.local.port) ?? 0) - window.zoneDrops }),
              wallSeconds: Math.round(wallSeconds * 1000) / 1000,
              failedBots: 0,
            };
          }
        }
      });
      child.on("error", reject);
      child.on(
        "exit",
        (code) =>
          code === 0 && report !== undefined
            ? resolve()
            : reject(new Error(`The bot process exited with ${code} before reporting`)),
      );
    });
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    await cluster.close({ graceUs: 2_000_000 });
    await store.close();
  }
  return { ...result!, failedBots: failed, ...tuningOf(o) };
}

/** `qeynos bench zone`. */
export const zoneBenchTarget: Command = {
  name: "zone",
  summary: "one zone server under N walking bots: movement latency, tick time, CPU (--sim or --live)",
  help: HELP,
  async run(args) {
    const values = parseFlags(args, FLAGS, HELP);
    if (values === undefined) return 0;
    if (values.sim === true && values.live === true) throw new UsageError("Give --sim or --live, not both", HELP);
    let options: ZoneBenchOptions = {
      bots: integerFlag("bots", values.bots, 100, [2, 20_000], HELP),
      hz: integerFlag("hz", values.hz, 10, [1, 60], HELP),
      seconds: integerFlag("seconds", values.seconds, 10, [1, 3_600], HELP),
      spread: integerFlag("spread", values.spread, 1000, [0, 100_000], HELP),
      warmupSeconds: integerFlag("warmup", values.warmup, 3, [0, 600], HELP),
      seed: integerFlag("seed", values.seed, 1, [0, 2 ** 31], HELP),
      ...(values["batch-ms"] === undefined
        ? {}
        : { moveBatchMs: integerFlag("batch-ms", values["batch-ms"], 20, [0, 1000], HELP) }),
      ...(values["zone-ack-ms"] === undefined
        ? {}
        : { zoneAckDelayMs: integerFlag("zone-ack-ms", values["zone-ack-ms"], 2, [0, 1000], HELP) }),
      ...(values["bot-ack-ms"] === undefined
        ? {}
        : { botAckDelayMs: integerFlag("bot-ack-ms", values["bot-ack-ms"], 2, [0, 1000], HELP) }),
      shards: integerFlag("shards", values.shards, 1, [1, 2], HELP) as 1 | 2,
    };
    if (values["latency-ms"] !== undefined) {
      const match = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(values["latency-ms"]);
      const range = match === null ? undefined : [Number(match[1]), Number(match[2])] as const;
      if (range === undefined || !(range[0] >= 0.1 && range[0] <= range[1] && range[1] <= 10_000)) {
        throw new UsageError(
          `Invalid value for --latency-ms: '${values["latency-ms"]}' is not A-B with 0.1 <= A <= B <= 10000`,
          HELP,
        );
      }
      options = { ...options, linkLatencyMs: range };
    }
    if ((options.shards === 2 || options.linkLatencyMs !== undefined) && values.live === true) {
      throw new UsageError("--shards and --latency-ms are for --sim", HELP);
    }
    if (values["bots-only"] === true) {
      return await runBotProcess(options, addressFlag("server", values.server, HELP));
    }
    const result = values.live === true ? await benchZoneLive(options) : await benchZoneSim(options);
    console.log(JSON.stringify(result));
    return 0;
  },
};
