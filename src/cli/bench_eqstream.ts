/**
 * `qeynos bench eqstream server|client …`: EQStream measured with the same message patterns as the
 * ENet harness (`enet_bench`), so both can run through the same impairment proxy.
 *
 *   server --port P
 *   client --target 127.0.0.1:P --mode thr|lat|tick --size N --count N [--duration S] [--tick-us U]
 *
 * Each client run prints one JSON line with msgsPerSec, mbPerSec, p50Us, p90Us, p99Us, retransmits
 * and disconnected (plus the session's own figures).
 * @module
 */
import process from "node:process";
import { connect, type EqStreamConnection, listen } from "../eqstream/mod.ts";
import type { SessionOptions } from "../eqstream/options.ts";
import { createConsoleLog, createRealPlatform, runtimeName } from "../platform/mod.ts";
import type { Platform } from "../platform/platform.ts";
import { addressFlag, type Command, integerFlag, parseCommandArgs, UsageError } from "./command.ts";

const HELP = `Usage: qeynos bench eqstream server --port P [options]
       qeynos bench eqstream client --target HOST:PORT --mode thr|lat|tick --size N --count N [options]

Measures EQStream on real UDP with the message patterns of the ENet harness, so that both can run
through the same impairment proxy. The client prints one JSON line per run.

Modes:
  thr    one-way reliable stream of COUNT messages of SIZE bytes (at most --window ahead of the
         server's confirmations); --duration S stops after S seconds and reports goodput
  lat    ping-pong: one message outstanding, COUNT round trips after 1000 warm-up ones
  tick   one reliable message every --tick-us (default 16667, 60 Hz), echoed by the server

Options:
  --port P              server: UDP port to listen on
  --address A           server: address to bind (default 127.0.0.1)
  --target HOST:PORT    client: the server (or the impairment proxy in front of it)
  --mode M              client: thr, lat or tick
  --size N              client: message size in bytes (8..65000)
  --count N             client: messages to send
  --duration S          client thr: stop after S seconds
  --tick-us U           client tick: interval between messages (default 16667)
  --window W            client thr: messages in flight beyond the server's confirmations (default 4096)
  --max-datagram N      largest datagram to negotiate (default 1400; the EQ2 client uses 512)
                        (both ends also use a 4096-packet window and 8 MiB queues, for bulk paths)
  --cc NAME             congestion controller: bbr (default) or newreno
  -h, --help            show this help`;

const OP_START = 1;
const OP_DATA = 3;
const OP_PROGRESS = 5;
const OP_DONE = 6;
const MODES = { thr: 1, lat: 2, tick: 3 } as const;
type Mode = keyof typeof MODES;
const PROGRESS_EVERY = 256;
const WARMUP = 1000;

/**
 * Session options of both ends: the defaults, except the datagram size, the controller, and windows
 * and queues sized for a 50 Mbit/s × 100 ms path (the defaults suit game traffic).
 */
function sessionOptions(maxDatagram: number, cc: string): SessionOptions {
  return {
    maxDatagramBytes: maxDatagram,
    congestionControl: cc === "newreno" ? "newreno" : "bbr",
    outOfOrderWindow: 4096,
    maxOutOfOrderBytes: 8 * 1024 * 1024,
    maxSendQueueBytes: 8 * 1024 * 1024,
  };
}

function u32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at, true);
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
}

interface ServerTest {
  mode: number;
  size: number;
  count: number;
  got: number;
  bad: number;
  firstUs: number;
}

async function runServer(platform: Platform, address: string, port: number, options: SessionOptions): Promise<number> {
  const server = await listen(platform, { address, port, session: options }, {
    app(connection, opcode, payload) {
      if (opcode === OP_START) {
        connection.data = {
          mode: payload[0]!,
          size: u32(payload, 1),
          count: u32(payload, 5),
          got: 0,
          bad: 0,
          firstUs: 0,
        } satisfies ServerTest;
        return;
      }
      const test = connection.data as ServerTest | undefined;
      if (opcode !== OP_DATA || test === undefined) return;
      if (test.mode !== MODES.thr) {
        connection.sendApp(OP_DATA, payload);
        return;
      }
      if (test.got === 0) test.firstUs = platform.clock.now();
      if (payload.length !== test.size || payload[0] !== (test.got & 0xff)) test.bad++;
      test.got++;
      if (test.got % PROGRESS_EVERY === 0 && test.got < test.count) {
        const progress = new Uint8Array(4);
        new DataView(progress.buffer).setUint32(0, test.got, true);
        connection.sendApp(OP_PROGRESS, progress);
      }
      if (test.got === test.count) {
        const elapsedUs = platform.clock.now() - test.firstUs;
        const done = new Uint8Array(12);
        const view = new DataView(done.buffer);
        view.setUint32(0, test.got, true);
        view.setUint32(4, elapsedUs >>> 0, true);
        view.setUint32(8, test.bad, true);
        connection.sendApp(OP_DONE, done);
        console.log(JSON.stringify({
          bench: "eqstream-server",
          mode: "thr",
          size: test.size,
          count: test.got,
          bad: test.bad,
          firstToLastS: elapsedUs / 1e6,
        }));
      }
    },
    closed(connection, reason) {
      const test = connection.data as ServerTest | undefined;
      if (test?.mode === MODES.thr && test.got < test.count) {
        console.log(JSON.stringify({ bench: "eqstream-server", mode: "thr", partial: true, got: test.got, reason }));
      }
    },
  });
  console.error(`eqstream bench server listening on ${server.local.address}:${server.local.port}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  server.close();
  return 0;
}

interface ClientRun {
  readonly mode: Mode;
  readonly size: number;
  readonly count: number;
  readonly durationS: number;
  readonly tickUs: number;
  readonly window: number;
}

async function runClient(
  platform: Platform,
  target: { address: string; port: number },
  run: ClientRun,
  options: SessionOptions,
): Promise<number> {
  let onApp: (opcode: number, payload: Uint8Array) => void = () => {};
  let disconnected = false;
  let onClosed: () => void = () => {};
  const connection: EqStreamConnection = await connect(platform, target, { ...options, connectTimeoutUs: 15_000_000 }, {
    app: (_c, opcode, payload) => onApp(opcode, payload),
    drain: () => pump(),
    closed: () => {
      disconnected = true;
      onClosed();
    },
  });
  const start = new Uint8Array(9);
  start[0] = MODES[run.mode];
  new DataView(start.buffer).setUint32(1, run.size, true);
  new DataView(start.buffer).setUint32(5, run.mode === "lat" ? run.count + WARMUP : run.count, true);
  connection.sendApp(OP_START, start);

  const now = () => platform.clock.now();
  const payload = new Uint8Array(run.size);
  let pump: () => void = () => {};
  const finished = Promise.withResolvers<void>();
  onClosed = () => finished.resolve();
  const result: Record<string, unknown> = {};
  let rtts = new Float64Array(0);
  let rttCount = 0;

  if (run.mode === "thr") {
    let sent = 0;
    let confirmed = 0;
    let confirmedAt = 0;
    const t0 = now();
    const deadline = run.durationS > 0 ? t0 + run.durationS * 1e6 : Infinity;
    let serverElapsedUs = 0;
    let bad = 0;
    let done = false;
    pump = () => {
      while (sent < run.count && sent - confirmed < run.window && now() < deadline) {
        payload[0] = sent & 0xff;
        try {
          connection.sendApp(OP_DATA, payload);
        } catch {
          return; // Send queue full: the drain callback resumes.
        }
        sent++;
        if ((sent & 63) === 0) break;
      }
      if (sent < run.count && sent - confirmed < run.window && now() < deadline && !disconnected) {
        platform.timers.setTimeout(pump, 0);
      }
    };
    onApp = (opcode, data) => {
      if (opcode === OP_PROGRESS) {
        confirmed = Math.max(confirmed, u32(data, 0));
        confirmedAt = now();
        pump();
      } else if (opcode === OP_DONE) {
        confirmed = u32(data, 0);
        confirmedAt = now();
        serverElapsedUs = u32(data, 4);
        bad = u32(data, 8);
        done = true;
        finished.resolve();
      }
    };
    const stop = run.durationS > 0
      ? platform.timers.setTimeout(() => finished.resolve(), run.durationS * 1e6 + 1)
      : undefined;
    pump();
    await finished.promise;
    if (stop !== undefined) platform.timers.clearTimeout(stop);
    const elapsed = ((done ? now() : confirmedAt) - t0) / 1e6;
    const delivered = done ? run.count : confirmed;
    Object.assign(result, {
      delivered,
      elapsedS: elapsed,
      serverFirstToLastS: serverElapsedUs / 1e6,
      bad,
      msgsPerSec: Math.round(delivered / elapsed),
      mbPerSec: Number(((delivered * run.size) / elapsed / 1e6).toFixed(3)),
    });
  } else if (run.mode === "lat") {
    const total = run.count + WARMUP;
    rtts = new Float64Array(run.count);
    let i = 0;
    let sentAt = 0;
    const view = new DataView(payload.buffer);
    const send = () => {
      view.setUint32(0, i, true);
      sentAt = now();
      connection.sendApp(OP_DATA, payload);
    };
    onApp = (opcode, data) => {
      if (opcode !== OP_DATA || u32(data, 0) !== i) return;
      if (i >= WARMUP) rtts[rttCount++] = now() - sentAt;
      if (++i === total) finished.resolve();
      else send();
    };
    const t0 = now();
    send();
    await finished.promise;
    const elapsed = (now() - t0) / 1e6;
    Object.assign(result, { elapsedS: elapsed, msgsPerSec: Math.round(total / elapsed) });
  } else {
    rtts = new Float64Array(run.count);
    const sentAt = new Float64Array(run.count);
    const echoed = new Uint8Array(run.count);
    const view = new DataView(payload.buffer);
    let i = 0;
    let next = now();
    let lastSend = 0;
    onApp = (opcode, data) => {
      if (opcode !== OP_DATA) return;
      const k = u32(data, 0);
      if (k >= run.count || echoed[k]) return;
      echoed[k] = 1;
      rtts[rttCount++] = now() - sentAt[k]!;
      if (rttCount === run.count) finished.resolve();
    };
    const tick = () => {
      if (disconnected) return;
      const t = now();
      while (i < run.count && t >= next) {
        view.setUint32(0, i, true);
        sentAt[i] = now();
        connection.sendApp(OP_DATA, payload);
        i++;
        next += run.tickUs;
        lastSend = t;
      }
      if (i < run.count) platform.timers.setTimeout(tick, Math.max(0, next - now()));
      else giveUp = platform.timers.setTimeout(() => finished.resolve(), 20_000_000);
    };
    let giveUp: number | undefined;
    const t0 = now();
    tick();
    await finished.promise;
    if (giveUp !== undefined) platform.timers.clearTimeout(giveUp);
    Object.assign(result, {
      elapsedS: (now() - t0) / 1e6,
      sent: i,
      echoed: rttCount,
      lastSendS: (lastSend - t0) / 1e6,
      msgsPerSec: Math.round(rttCount / ((now() - t0) / 1e6)),
    });
  }
  const sorted = rtts.subarray(0, rttCount).sort();
  const stats = connection.stats;
  const line = {
    bench: "eqstream",
    runtime: runtimeName(),
    mode: run.mode,
    size: run.size,
    count: run.count,
    maxDatagramBytes: stats.maxDatagramBytes,
    congestionControl: stats.congestionControl,
    msgsPerSec: 0,
    mbPerSec: 0,
    ...result,
    p50Us: percentile(sorted, 0.5),
    p90Us: percentile(sorted, 0.9),
    p99Us: percentile(sorted, 0.99),
    maxUs: sorted.length > 0 ? Math.round(sorted[sorted.length - 1]!) : 0,
    retransmits: stats.retransmissions,
    redundantCopies: stats.redundantCopies,
    timeouts: stats.timeouts,
    rttAvgUs: stats.rttAvgUs,
    rttMinUs: stats.rttMinUs,
    cwndBytes: stats.cwndBytes,
    pacingRateBytesPerSec: stats.pacingRateBytesPerSec,
    congestionState: stats.congestionState,
    lossRate: Number(stats.lossRate.toFixed(4)),
    packetsSent: stats.packetsSent,
    packetsReceived: stats.packetsReceived,
    disconnected,
  };
  if (run.mode !== "thr") line.mbPerSec = Number(((line.msgsPerSec * run.size) / 1e6).toFixed(3));
  console.log(JSON.stringify(line));
  if (!disconnected) connection.close("local", { graceful: false });
  await new Promise<void>((resolve) => platform.timers.setTimeout(resolve, 20_000));
  return 0;
}

function parseTarget(text: string | undefined): { address: string; port: number } {
  return addressFlag("target", text, HELP);
}

/** Runs `qeynos bench eqstream …` with the arguments after `eqstream`. */
export async function benchEqStream(args: string[]): Promise<number> {
  const { values, positionals, help } = parseCommandArgs(args, {
    port: { type: "string" },
    address: { type: "string" },
    target: { type: "string" },
    mode: { type: "string" },
    size: { type: "string" },
    count: { type: "string" },
    duration: { type: "string" },
    "tick-us": { type: "string" },
    window: { type: "string" },
    "max-datagram": { type: "string" },
    cc: { type: "string" },
  }, HELP);
  if (help) {
    console.log(HELP);
    return 0;
  }
  const [role, ...rest] = positionals;
  if (rest.length > 0) throw new UsageError(`Unexpected argument '${rest[0]}'`, HELP);
  const maxDatagram = integerFlag("max-datagram", values["max-datagram"], 1400, [64, 65_000], HELP);
  const cc = values.cc ?? "bbr";
  if (cc !== "bbr" && cc !== "newreno") {
    throw new UsageError(`Invalid value for --cc: '${cc}' is not bbr or newreno`, HELP);
  }
  const platform = createRealPlatform(createConsoleLog({ level: "error" }));
  const options = sessionOptions(maxDatagram, cc);
  if (role === "server") {
    if (values.port === undefined) throw new UsageError("Missing --port", HELP);
    const port = integerFlag("port", values.port, 0, [1, 65535], HELP);
    return await runServer(platform, values.address ?? "127.0.0.1", port, options);
  }
  if (role === "client") {
    const target = parseTarget(values.target);
    const mode = values.mode;
    if (mode !== "thr" && mode !== "lat" && mode !== "tick") {
      throw new UsageError(`Invalid value for --mode: '${mode ?? ""}' is not thr, lat or tick`, HELP);
    }
    if (values.size === undefined || values.count === undefined) {
      throw new UsageError("Missing --size or --count", HELP);
    }
    const duration = values.duration === undefined ? 0 : Number(values.duration);
    if (!(duration >= 0 && duration <= 86_400)) {
      throw new UsageError(`Invalid value for --duration: '${values.duration}' is not seconds in 0..86400`, HELP);
    }
    return await runClient(platform, target, {
      mode,
      size: integerFlag("size", values.size, 100, [8, 65_000], HELP),
      count: integerFlag("count", values.count, 1000, [1, 100_000_000], HELP),
      durationS: duration,
      tickUs: integerFlag("tick-us", values["tick-us"], 16_667, [100, 10_000_000], HELP),
      window: integerFlag("window", values.window, 4096, [1, 1_000_000], HELP),
    }, options);
  }
  throw new UsageError(role === undefined ? "Missing server or client" : `Unknown bench role '${role}'`, HELP);
}

/** The `eqstream` benchmark target of `qeynos bench`. */
export const eqstreamBenchTarget: Command = {
  name: "eqstream",
  summary: "EQStream over real UDP: throughput, ping-pong and 60 Hz ticks, side by side with ENet",
  help: HELP,
  run: benchEqStream,
};

if (import.meta.main) {
  process.exitCode = await benchEqStream(process.argv.slice(2)).catch((error) => {
    if (error instanceof UsageError) {
      console.error(`qeynos bench eqstream: ${error.message}\n\n${error.usage}`);
      return 2;
    }
    throw error;
  });
}
