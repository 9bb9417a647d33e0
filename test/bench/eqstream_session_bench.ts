/**
 * Cost of the sans-IO EQStream session per datagram, in the traffic pattern of a busy zone: the
 * server sends a small movement update (30 bytes) to the client every 10 ms, the client answers
 * with its own update every 100 ms, and lone acks wait 25 ms (the zone sessions' ack delay). No
 * socket, timer or simulator: two `Session`s, a constant 1 ms one-way delay and virtual time.
 * Prints one JSON line: wall µs per server datagram (send + receive + acks), per poll, and the
 * datagram counts each way.
 *
 *   deno run -A test/bench/eqstream_session_bench.ts [--seconds 600] [--repeat 3]
 *   bun test/bench/eqstream_session_bench.ts
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { runtimeName } from "../../src/platform/mod.ts";
import { decodeDatagram, ProtocolOp } from "../../src/eqstream/packets.ts";
import { Session } from "../../src/eqstream/session.ts";
import { seededRng } from "../eqstream/_pair.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { seconds: { type: "string", default: "600" }, repeat: { type: "string", default: "3" } },
});

const DELAY_US = 1_000;
const ACK_DELAY_US = 25_000;
const UPDATE_EVERY_US = 10_000;
const MOVE_EVERY_US = 100_000;

interface Flight {
  readonly at: number;
  readonly bytes: Uint8Array;
}

interface Run {
  readonly wallMs: number;
  readonly down: number;
  readonly up: number;
  readonly polls: number;
  readonly appDelivered: number;
}

function run(simSeconds: number): Run {
  const rng = seededRng(7);
  const options = { ackDelayUs: ACK_DELAY_US };
  const client = Session.connect(options, rng, 0);
  let server: Session | undefined;
  const up: Flight[] = [];
  const down: Flight[] = [];
  let upHead = 0;
  let downHead = 0;
  let now = 0;
  let clientWake = 0;
  let serverWake = Infinity;
  let counting = false;
  let downCount = 0;
  let upCount = 0;
  let polls = 0;
  let delivered = 0;
  const update = new Uint8Array(30).fill(7);
  const move = new Uint8Array(28).fill(3);
  const pollClient = () => {
    const r = client.poll(now);
    polls++;
    for (const d of r.datagrams) {
      up.push({ at: now + DELAY_US, bytes: d });
      if (counting) upCount++;
    }
    for (const e of r.events) if (e.type === "app") delivered++;
    clientWake = r.wakeAtUs;
  };
  const pollServer = () => {
    if (server === undefined) return;
    const r = server.poll(now);
    polls++;
    for (const d of r.datagrams) {
      down.push({ at: now + DELAY_US, bytes: d });
      if (counting) downCount++;
    }
    serverWake = r.wakeAtUs;
  };
  let nextUpdate = 500_000;
  let nextMove = 500_000;
  const warmupUs = 2_000_000;
  const endUs = warmupUs + simSeconds * 1_000_000;
  let started = 0;
  for (;;) {
    const upAt = upHead < up.length ? up[upHead]!.at : Infinity;
    const downAt = downHead < down.length ? down[downHead]!.at : Infinity;
    const next = Math.min(upAt, downAt, clientWake, serverWake, nextUpdate, nextMove);
    if (next > endUs) break;
    if (!counting && next >= warmupUs) {
      counting = true;
      polls = 0;
      delivered = 0;
      started = performance.now();
    }
    now = next;
    if (upAt === next) {
      const bytes = up[upHead++]!.bytes;
      if (server === undefined) {
        const packet = decodeDatagram(bytes);
        if (packet.op === ProtocolOp.SessionRequest) server = Session.accept(packet, options, rng, now);
      } else server.receive(bytes, now);
      pollServer();
    } else if (downAt === next) {
      client.receive(down[downHead++]!.bytes, now);
      pollClient();
    } else if (nextUpdate === next) {
      nextUpdate += UPDATE_EVERY_US;
      if (server !== undefined && server.state === "open") {
        server.sendApp(0x42, update);
        pollServer();
      }
    } else if (nextMove === next) {
      nextMove += MOVE_EVERY_US;
      if (client.state === "open") {
        client.sendApp(0x41, move);
        pollClient();
      }
    } else if (clientWake === next) pollClient();
    else pollServer();
    if (upHead > 4096) {
      up.splice(0, upHead);
      upHead = 0;
    }
    if (downHead > 4096) {
      down.splice(0, downHead);
      downHead = 0;
    }
  }
  return { wallMs: performance.now() - started, down: downCount, up: upCount, polls, appDelivered: delivered };
}

const seconds = Number(values.seconds);
const samples: Run[] = [];
for (let i = 0; i < Number(values.repeat); i++) samples.push(run(seconds));
const usPerDown = samples.map((s) => Number(((s.wallMs * 1000) / s.down).toFixed(3))).sort((a, b) => a - b);
const median = samples[samples.length >> 1]!;
console.log(JSON.stringify({
  bench: "eqstream_session",
  runtime: runtimeName(),
  usPerServerDatagram: usPerDown[usPerDown.length >> 1],
  samples: usPerDown,
  datagramsDownPerSimSecond: Math.round(median.down / seconds),
  datagramsUpPerSimSecond: Math.round(median.up / seconds),
  pollsPerServerDatagram: Number((median.polls / median.down).toFixed(2)),
  appPacketsDelivered: median.appDelivered,
}));
