/**
 * `qeynos bench servertalk [--size N]`: servertalk's codec, throughput and latency next to raw TCP.
 * Prints one JSON line with `encodeOpsPerSec`, `decodeOpsPerSec`, `msgsPerSec` (one link, one way,
 * real loopback TCP), `rttP50Us`, `rttP99Us`, `rawTcpMsgsPerSec` (the same message sizes written to a
 * plain socket, one write each, in the same run) and the ratio between them.
 *
 * The receiving end runs in a child process of the same runtime (`--receiver`), as two roles would;
 * `--in-process` keeps both ends in this process.
 * @module
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import process from "node:process";
import { setImmediate } from "node:timers";
import { fileURLToPath } from "node:url";
import { createDenoTcp } from "../platform/deno_tcp.ts";
import { createConsoleLog, createRealPlatform, runtimeName } from "../platform/mod.ts";
import { createNodeTcp } from "../platform/node_tcp.ts";
import type { Platform, TcpConnection } from "../platform/platform.ts";
import { ServertalkClient } from "../servertalk/client.ts";
import { ServerRole } from "../servertalk/control.ts";
import { FrameDecoder, FrameFlag, writeFrameHeader } from "../servertalk/frame.ts";
import type { CompressionMode } from "../servertalk/link_core.ts";
import { ChannelMessage, ChatType, ZoneToZoneRequest } from "../servertalk/messages.ts";
import type { MessageType } from "../servertalk/schema.ts";
import { ServertalkServer } from "../servertalk/server.ts";
import { ByteWriter } from "../wire/byte_writer.ts";
import { type Command, integerFlag, parseCommandArgs, UsageError } from "./command.ts";

const HELP = `Usage: qeynos bench servertalk [--size N] [options]

Measures servertalk on this machine and prints one JSON line:
  encodeOpsPerSec    typed message → frame bytes
  decodeOpsPerSec    frame bytes → typed message (frame parsing included)
  msgsPerSec         one link, one way, over real loopback TCP, handled by the receiver
  rttP50Us/rttP99Us  request → reply round trip of the same message, one at a time
  rawTcpMsgsPerSec   the same message size written to a plain socket, one write per message
  ratioToRawTcp      msgsPerSec / rawTcpMsgsPerSec
The receiver runs in a child process of the same runtime, like two roles on one machine.

Options:
  --size N         frame size in bytes, header included (64..65536, default 200)
  --message M      zone (ZoneToZoneRequest: ids, a location and a state blob; default) or
                   chat (ChannelMessage: mostly text)
  --seconds S      seconds per throughput measurement (1..60, default 2)
  --compression C  off (default), auto or always
  --tcp A          TCP adapter: node (node:net, what every real Platform uses; default) or
                   deno (the Deno runtime's own TCP API, Deno only)
  --in-process     run the receiver in this process instead of a child process
  --receiver       (internal) run as the receiving child and print its ports
  -h, --help       show this help`;

/** Opcodes of the benchmark's own raw requests (outside the declared range). */
const OP_COUNT = 0x4ff0;
const OP_ECHO = 0x4ff1;
const OP_RESET = 0x4ff2;
const WARMUP_ROUND_TRIPS = 2000;
const ROUND_TRIPS = 20_000;

type BenchMessage = "zone" | "chat";

interface Sample {
  readonly type: MessageType<unknown, unknown>;
  readonly value: unknown;
}

/** A message of `kind` whose notification frame is exactly `size` bytes. */
function sample(kind: BenchMessage, size: number): Sample {
  const build = (fill: number): Sample =>
    kind === "zone"
      ? {
        type: ZoneToZoneRequest,
        value: {
          charId: 123_456,
          accountId: 7_890,
          name: "Antonia",
          to: { zoneId: 12, instanceId: 3, x: 130.5, y: -4.25, z: 877.75, heading: 180 },
          accessKey: 0x5eed_f00d,
          state: new Uint8Array(fill).map((_, i) => (i * 31) & 0xff),
        },
      }
      : {
        type: ChannelMessage,
        value: {
          chatType: ChatType.Channel,
          from: "Antonia",
          to: "",
          channel: "qeynos",
          targetId: 0,
          language: 0,
          text: "Gnolls gather at the gates of Qeynos; bring a healer and meet at the docks. ".repeat(20).slice(
            0,
            fill,
          ),
        },
      };
  const base = build(0);
  const overhead = 7 + base.type.encode(base.value as never).length;
  let fill = Math.max(0, size - overhead);
  let result = build(fill);
  // A VarInt length prefix grows by a byte at 128: settle on the exact size.
  while (7 + result.type.encode(result.value as never).length > size && fill > 0) result = build(--fill);
  return result;
}

function frameOf(type: MessageType<unknown, unknown>, value: unknown, flags: number): Uint8Array {
  const payload = type.encode(value);
  const w = new ByteWriter();
  writeFrameHeader(w, { opcode: type.opcode, flags, id: 1, payloadLength: payload.length });
  return w.bytes(payload).toBytes();
}

/** Runs `body` in rounds until `seconds` have passed; returns operations per second. */
function measure(seconds: number, body: (rounds: number) => number): number {
  body(1000); // warm up
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  let rounds = 1000;
  while (elapsed < seconds * 1000) {
    ops += body(rounds);
    elapsed = performance.now() - start;
    if (elapsed < 50) rounds *= 2;
  }
  return Math.round(ops / (elapsed / 1000));
}

function benchCodec(s: Sample, seconds: number): { encodeOpsPerSec: number; decodeOpsPerSec: number } {
  const scratch = new ByteWriter({ capacity: 4096 });
  const out = new ByteWriter({ capacity: 1 << 20 });
  const encodeOpsPerSec = measure(seconds / 2, (rounds) => {
    for (let i = 0; i < rounds; i++) {
      // What a link does per message: encode the payload, frame it into the send buffer.
      scratch.reset();
      s.type.encodeInto(scratch, s.value);
      const payload = scratch.finish();
      if (out.length > (1 << 20) - 70_000) out.reset();
      writeFrameHeader(out, { opcode: s.type.opcode, flags: FrameFlag.Notify, id: 0, payloadLength: payload.length });
      out.bytes(payload);
    }
    return rounds;
  });
  // 1000 frames back to back, as they arrive from TCP.
  const one = frameOf(s.type, s.value, FrameFlag.Notify);
  const batch = new Uint8Array(one.length * 1000);
  for (let i = 0; i < 1000; i++) batch.set(one, i * one.length);
  const decoder = new FrameDecoder();
  let checksum = 0;
  const sink = (_opcode: number, _flags: number, _id: number, payload: Uint8Array) => {
    const message = s.type.decode(payload) as { charId?: number; chatType?: number };
    checksum += message.charId ?? message.chatType ?? 0;
  };
  const decodeOpsPerSec = measure(seconds / 2, (rounds) => {
    const batches = Math.max(1, Math.round(rounds / 1000));
    for (let i = 0; i < batches; i++) decoder.push(batch, sink);
    return batches * 1000;
  });
  if (checksum === -1) console.error("unreachable");
  return { encodeOpsPerSec, decodeOpsPerSec };
}

/** The receiving end: servertalk (counting, echoing) and raw TCP (counting bytes, answering). */
async function startReceiver(
  platform: Platform,
  s: Sample,
): Promise<{ servertalkPort: number; rawPort: number; stop: () => Promise<void> }> {
  const server = new ServertalkServer(platform, {
    name: "bench-receiver",
    role: ServerRole.Tool,
    requireAuth: false,
    maxInboundQueueBytes: 256 * 1024 * 1024,
  });
  let count = 0;
  server.handle(s.type, () => void count++);
  server.handleRaw(OP_RESET, (ctx) => {
    count = 0;
    ctx.replyRaw(OP_RESET, new Uint8Array(0));
  });
  server.handleRaw(OP_COUNT, (ctx) => {
    const reply = new ByteWriter().u32le(count).finish();
    ctx.replyRaw(OP_COUNT, reply);
  });
  server.handleRaw(OP_ECHO, (ctx) => {
    s.type.decode(ctx.message); // a real handler decodes what it answers
    ctx.replyRaw(OP_ECHO, ctx.message);
  });
  const servertalk = await server.listen({ port: 0 });
  const rawConnections = new Set<TcpConnection>();
  const raw = await platform.tcp.listen({ port: 0 }, (connection) => {
    rawConnections.add(connection);
    // Protocol: an 8-byte header says how many bytes follow; one byte answers when all arrived.
    let expected = -1;
    let received = 0;
    const header = new Uint8Array(8);
    let headerFill = 0;
    connection.start({
      data(bytes) {
        let at = 0;
        while (headerFill < 8 && at < bytes.length) header[headerFill++] = bytes[at++]!;
        if (headerFill < 8) return;
        if (expected < 0) expected = new DataView(header.buffer).getFloat64(0, true);
        received += bytes.length - at;
        if (received >= expected) {
          connection.write(Uint8Array.of(1));
          expected = -1;
          received = 0;
          headerFill = 0;
        }
      },
      drain() {},
      close() {},
    });
  });
  return {
    servertalkPort: servertalk.port,
    rawPort: raw.local.port,
    // Everything this end opened, so that a process holding both ends can exit.
    stop: async () => {
      for (const connection of rawConnections) connection.destroy();
      await raw.close();
      await server.shutdown({ graceUs: 0 });
    },
  };
}

async function benchThroughput(
  platform: Platform,
  port: number,
  s: Sample,
  seconds: number,
  compression: CompressionMode,
): Promise<{ msgsPerSec: number; rttP50Us: number; rttP99Us: number }> {
  const client = new ServertalkClient(platform, {
    address: "127.0.0.1",
    port,
    name: "bench-sender",
    role: ServerRole.Tool,
    compression,
    reconnect: { enabled: false },
    highWaterBytes: 4 * 1024 * 1024,
    maxQueuedBytes: 64 * 1024 * 1024,
    requestTimeoutUs: 120_000_000,
  });
  const link = await client.dial();
  const type = s.type as MessageType<unknown, unknown>;
  // Warm-up run, then the measured one.
  let msgsPerSec = 0;
  for (const phaseSeconds of [Math.min(1, seconds / 2), seconds]) {
    await link.requestRaw(OP_RESET, new Uint8Array(0));
    let sent = 0;
    const start = performance.now();
    const deadline = start + phaseSeconds * 1000;
    while (performance.now() < deadline) {
      for (let i = 0; i < 4096; i++) {
        sent++;
        if (!link.send(type, s.value)) {
          await link.drained();
          break;
        }
      }
      // Let the event loop write and read between bursts.
      if (link.writable) await new Promise((resolve) => setImmediate(resolve));
    }
    // Messages are handled in order, so this reply means all of them were.
    const reply = await link.requestRaw(OP_COUNT, new Uint8Array(0));
    const elapsed = (performance.now() - start) / 1000;
    const handled = new DataView(reply.payload.buffer, reply.payload.byteOffset).getUint32(0, true);
    if (handled !== sent) throw new Error(`Receiver handled ${handled} of ${sent} messages`);
    msgsPerSec = Math.round(sent / elapsed);
  }
  const payload = type.encode(s.value);
  const rtts = new Float64Array(ROUND_TRIPS);
  for (let i = 0; i < WARMUP_ROUND_TRIPS + ROUND_TRIPS; i++) {
    const start = performance.now();
    await link.requestRaw(OP_ECHO, payload);
    if (i >= WARMUP_ROUND_TRIPS) rtts[i - WARMUP_ROUND_TRIPS] = (performance.now() - start) * 1000;
  }
  rtts.sort();
  await client.close();
  return {
    msgsPerSec,
    rttP50Us: Math.round(rtts[Math.floor(ROUND_TRIPS * 0.5)]!),
    rttP99Us: Math.round(rtts[Math.floor(ROUND_TRIPS * 0.99)]!),
  };
}

/** Raw TCP: `size`-byte messages, one `write` each, for `seconds`; messages per second delivered. */
async function benchRawTcp(platform: Platform, port: number, size: number, seconds: number): Promise<number> {
  const connection: TcpConnection = await platform.tcp.connect({ address: "127.0.0.1", port });
  let writable = true;
  let drained: (() => void) | undefined;
  let answered: (() => void) | undefined;
  connection.start({
    data: () => answered?.(),
    drain: () => {
      writable = true;
      drained?.();
    },
    close() {},
  });
  const message = new Uint8Array(size).fill(0x51);
  let result = 0;
  for (const phaseSeconds of [Math.min(1, seconds / 2), seconds]) {
    // The header announces the byte total: the warm-up's rate sizes the measured run.
    const count = Math.max(1000, Math.round((result || 300_000) * phaseSeconds));
    const header = new Uint8Array(8);
    new DataView(header.buffer).setFloat64(0, count * size, true);
    const done = new Promise<void>((resolve) => (answered = resolve));
    const start = performance.now();
    connection.write(header);
    for (let i = 0; i < count; i++) {
      if (!connection.write(message)) {
        writable = false;
        await new Promise<void>((resolve) => (drained = resolve));
      }
      if ((i & 4095) === 4095 && writable) await new Promise((resolve) => setImmediate(resolve));
    }
    await done;
    result = Math.round(count / ((performance.now() - start) / 1000));
  }
  connection.destroy();
  return result;
}

/** Starts the receiver: a child process of the same runtime, or this process. */
async function receiver(
  platform: Platform,
  inProcess: boolean,
  args: { size: number; message: BenchMessage; tcp: string },
): Promise<{ servertalkPort: number; rawPort: number; stop: () => void | Promise<void> }> {
  if (inProcess) return await startReceiver(platform, sample(args.message, args.size));
  const main = fileURLToPath(new URL("../main.ts", import.meta.url));
  const command = existsSync(main)
    ? runtimeName() === "deno" ? [process.execPath, "run", "-A", main] : [process.execPath, main]
    : [process.execPath]; // a compiled executable runs itself
  const child = spawn(command[0]!, [
    ...command.slice(1),
    "bench",
    "servertalk",
    "--receiver",
    "--size",
    String(args.size),
    "--message",
    args.message,
    "--tcp",
    args.tcp,
  ], { stdio: ["ignore", "pipe", "inherit"] });
  const ports = await new Promise<{ servertalkPort: number; rawPort: number }>((resolve, reject) => {
    let text = "";
    child.stdout!.on("data", (chunk: Uint8Array) => {
      text += new TextDecoder().decode(chunk);
      const line = text.split("\n")[0];
      if (text.includes("\n") && line !== undefined) resolve(JSON.parse(line));
    });
    child.on("exit", (code) => reject(new Error(`Benchmark receiver exited with code ${code}`)));
  });
  return { ...ports, stop: () => void child.kill() };
}

/** `qeynos bench servertalk`. */
export const servertalkBenchTarget: Command = {
  name: "servertalk",
  summary: "servertalk codec, throughput and RTT vs raw TCP",
  help: HELP,
  async run(args) {
    const { values, positionals, help } = parseCommandArgs(args, {
      size: { type: "string" },
      message: { type: "string" },
      seconds: { type: "string" },
      compression: { type: "string" },
      "in-process": { type: "boolean" },
      tcp: { type: "string" },
      receiver: { type: "boolean" },
    }, HELP);
    if (help) {
      console.log(HELP);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`Unexpected argument '${positionals[0]}'`, HELP);
    const size = integerFlag("size", values.size, 200, [64, 65536], HELP);
    const seconds = integerFlag("seconds", values.seconds, 2, [1, 60], HELP);
    const message = values.message ?? "zone";
    if (message !== "zone" && message !== "chat") {
      throw new UsageError(`Invalid value for --message: '${message}' is not zone or chat`, HELP);
    }
    const compression = values.compression ?? "off";
    if (compression !== "off" && compression !== "auto" && compression !== "always") {
      throw new UsageError(`Invalid value for --compression: '${compression}' is not off, auto or always`, HELP);
    }
    const base = createRealPlatform(createConsoleLog({ level: "error" }));
    const tcpName = values.tcp ?? "node";
    if (tcpName !== "node" && !(tcpName === "deno" && runtimeName() === "deno")) {
      throw new UsageError(
        `Invalid value for --tcp: '${tcpName}' is not node${runtimeName() === "deno" ? " or deno" : ""}`,
        HELP,
      );
    }
    const platform = { ...base, tcp: tcpName === "deno" ? createDenoTcp() : createNodeTcp() };
    if (values.receiver === true) {
      const { servertalkPort, rawPort } = await startReceiver(platform, sample(message, size));
      console.log(JSON.stringify({ servertalkPort, rawPort }));
      await new Promise(() => {}); // serve until killed
    }
    const s = sample(message, size);
    const codec = benchCodec(s, seconds);
    const inProcess = values["in-process"] === true;
    const far = await receiver(platform, inProcess, { size, message, tcp: tcpName });
    try {
      const link = await benchThroughput(platform, far.servertalkPort, s, seconds, compression);
      const rawTcpMsgsPerSec = await benchRawTcp(platform, far.rawPort, size, seconds);
      console.log(JSON.stringify({
        bench: "servertalk",
        runtime: runtimeName(),
        tcp: tcpName,
        receiver: inProcess ? "in-process" : "child-process",
        message: s.type.name,
        size,
        compression,
        ...codec,
        ...link,
        rawTcpMsgsPerSec,
        ratioToRawTcp: Number((link.msgsPerSec / rawTcpMsgsPerSec).toFixed(2)),
      }));
    } finally {
      await far.stop();
    }
    return 0;
  },
};
