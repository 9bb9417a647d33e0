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
  runBot,
  startCluster,
  type ZoneServer,
} from "../roles/mod.ts";
import { openSqliteStore } from "../store/mod.ts";
import { loadScenario } from "../../sim/scenario/loader.ts";
import { runScenario } from "../../sim/scenario/runner.ts";
import { Simulation } from "../../sim/simulation.ts";
import "../../sim/workloads/all.ts";
import { RoleGame } from "../../sim/workloads/roles/mod.ts";
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
  /** Simulated datagrams (every link) per simulated second. */
  readonly datagramsPerSec?: number;
  /** Simulator events per simulated second. */
  readonly eventsPerSec?: number;
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

/** Runs the benchmark in the simulator. */
export async function benchZoneSim(o: ZoneBenchOptions): Promise<ZoneBenchResult> {
  // Bound before the run: the simulator guards the global clocks while it runs.
  const realNow = performance.now.bind(performance);
  const cpuNow = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const rampUs = rampSeconds(o.bots) * 1_000_000;
  const startUs = 1_000_000 + rampUs + o.warmupSeconds * 1_000_000;
  const endUs = startUs + o.seconds * 1_000_000;
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
  default: { latency: { dist: uniform, min: 500us, max: 1500us } }
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
  const latency = new Histogram();
  const datagrams = () => sim!.linkStats().reduce((n, l) => n + l.sent, 0);
  let at:
    | { wall: number; cpu: number; zone: ZoneWindow; inZone: number; events: number; datagrams: number }
    | undefined;
  let end:
    | { wall: number; cpu: number; zone: ZoneWindow; tick: HistogramSnapshot; events: number; datagrams: number }
    | undefined;
  let sim: Simulation | undefined;
  const zoneOf = () => RoleGame.find(sim!)?.zones.get("zone1");
  await runScenario(scenario, {
    environment: (seed) => {
      sim = new Simulation({ seed, onUncaught: "record", logLevel: "error", logLimit: 10 });
      RoleGame.prepare(sim, {
        zone: { tickDurationClock: { now: () => Math.round(realNow() * 1000) }, ...zoneTuning(o) },
        botSession: botTuning(o),
        onMoveLatency: (us, atUs) => {
          if (atUs >= startUs) latency.record(us);
        },
      });
      sim.at(startUs, () => {
        const zone = zoneOf();
        if (zone === undefined) return;
        zone.tick.resetStats();
        at = {
          wall: realNow(),
          cpu: cpuNow(),
          zone: zoneCounts(zone),
          inZone: zone.playerCount,
          events: sim!.events,
          datagrams: datagrams(),
        };
      });
      sim.at(endUs - 1, () => {
        const zone = zoneOf();
        if (zone === undefined) return;
        end = {
          wall: realNow(),
          cpu: cpuNow(),
          zone: zoneCounts(zone),
          tick: zone.tickStats().durationUs,
          events: sim!.events,
          datagrams: datagrams(),
        };
      });
      return sim;
    },
  });
  if (at === undefined || end === undefined) throw new Error("Cannot measure the zone: it never started");
  const game = RoleGame.find(sim!)!;
  const wallSeconds = (end.wall - at.wall) / 1000;
  const simSeconds = (endUs - 1 - startUs) / 1e6;
  const moves = end.zone.movesIn - at.zone.movesIn;
  const updates = end.zone.updatesOut - at.zone.updatesOut;
  return {
    ...zoneFigures(o, "sim", {
      seconds: simSeconds,
      inZone: at.inZone,
      moves,
      updates,
      latency: latency.snapshot(),
      tick: end.tick,
      cpu: (end.cpu - at.cpu) / wallSeconds,
    }),
    simWallRatio: Math.round((simSeconds / wallSeconds) * 1000) / 1000,
    datagramsPerSec: Math.round((end.datagrams - at.datagrams) / simSeconds),
    eventsPerSec: Math.round((end.events - at.events) / simSeconds),
    wallSeconds: Math.round(wallSeconds * 1000) / 1000,
    failedBots: game.botList().filter((b) => b.state === "failed").length,
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
          } else if (e.type === "move.seen" && measuring) {
            const t = sent.get(e.fromCharId)?.[e.sequence & 255];
            if (t !== undefined && t >= 0) latency.record(now() - t);
          }
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
    const options: ZoneBenchOptions = {
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
    };
    if (values["bots-only"] === true) {
      return await runBotProcess(options, addressFlag("server", values.server, HELP));
    }
    const result = values.live === true ? await benchZoneLive(options) : await benchZoneSim(options);
    console.log(JSON.stringify(result));
    return 0;
  },
};
