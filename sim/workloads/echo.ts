/**
 * The built-in datagram echo workload: servers echo every datagram back; clients send numbered,
 * checksummed requests at a rate and match replies. It measures what the network does (RTT,
 * loss, duplicates, reordering, corruption caught by the checksum) and registers the checks
 * `echo_integrity` (safety) and `echo_liveness` (liveness after the heal phase).
 *
 * ```yaml
 * workload:
 *   echo: { servers: role:echo-server, clients: role:client, port: 7, rate: 20/s, size: 64..512, timeout: 2s }
 * checks: [echo_integrity, { echo_liveness: { minRatio: 0.95, grace: 2s } }]
 * ```
 * @module
 */
import type { Platform } from "../../src/platform/platform.ts";
import { crc32 } from "../../src/wire/crc32.ts";
import { registerCheck } from "../scenario/check_registry.ts";
import type { RunContext } from "../scenario/context.ts";
import { registerWorkload } from "./registry.ts";
import { log } from "../../src/platform/portable_math.ts";

/** Configuration of the echo workload. */
export interface EchoConfig {
  readonly servers: readonly string[];
  readonly clients: readonly string[];
  readonly port: number;
  /** Requests per second per client. */
  readonly ratePerSec: number;
  /** Request size range, bytes. */
  readonly size: readonly [number, number];
  /** A request unanswered this long counts as lost, µs. */
  readonly timeoutUs: number;
  /** Most requests a client remembers while waiting for replies. */
  readonly maxOutstanding: number;
}

/** A reply as classified by a client. */
export interface EchoReply {
  readonly client: string;
  readonly seq: number;
  readonly sentAtUs: number;
  readonly atUs: number;
  /**
   * `ok`: first answer in time; `late`: after the timeout; `duplicate`: answered before;
   * `unknown`: a request this client never sent; `mismatch`: checksum fine but bytes differ.
   */
  readonly status: "ok" | "late" | "duplicate" | "unknown" | "mismatch";
}

const MAGIC = 0x51456368; // "QEch"
const HEADER = 4 + 4 + 4 + 8; // magic, client index, seq, sent time
const MIN_SIZE = HEADER + 4; // + crc32

/** Deterministic filler so a reply can be compared with what was sent. */
function fill(bytes: Uint8Array, seed: number): void {
  let x = seed | 1;
  for (let i = HEADER; i < bytes.length - 4; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
}

function buildRequest(size: number, clientIndex: number, seq: number, sentAt: number): Uint8Array {
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC);
  view.setUint32(4, clientIndex);
  view.setUint32(8, seq);
  view.setFloat64(12, sentAt);
  fill(bytes, Math.imul(clientIndex + 1, 0x9e3779b1) ^ seq);
  view.setUint32(size - 4, crc32(bytes.subarray(0, size - 4)));
  return bytes;
}

interface Outstanding {
  readonly sentAt: number;
  readonly size: number;
  answered: boolean;
}

class EchoClient {
  readonly outstanding = new Map<number, Outstanding>();
  sent = 0;
  replies = 0;
  late = 0;
  duplicates = 0;
  corrupt = 0;
  timeouts = 0;
  lastSeq = -1;
}

function runEcho(ctx: RunContext, config: EchoConfig): void {
  const clients = new Map<string, EchoClient>();
  const rtt = ctx.histogram("echo.rtt", { unit: "us", label: "echo round-trip time" });
  let windowRtts: number[] = [];

  for (const id of config.servers) {
    ctx.startOn(id, async (p: Platform) => {
      const socket = await p.udp.bind({ address: "0.0.0.0", port: config.port }, (bytes, address, port) => {
        socket.send(bytes, address, port);
      });
    });
  }

  config.clients.forEach((id, clientIndex) => {
    const state = new EchoClient();
    clients.set(id, state);
    const rng = ctx.rng(`client:${id}`);
    let seq = 0;
    ctx.startOn(id, async (p: Platform) => {
      const server = config.servers[clientIndex % config.servers.length]!;
      const serverAddress = ctx.address(server);
      const socket = await p.udp.bind({ address: "0.0.0.0" }, (bytes) => {
        const now = ctx.now();
        if (bytes.length < MIN_SIZE) {
          state.corrupt++;
          ctx.sometimes("echo.corrupt_detected");
          return;
        }
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        if (
          view.getUint32(bytes.length - 4) !== crc32(bytes.subarray(0, bytes.length - 4)) || view.getUint32(0) !== MAGIC
        ) {
          state.corrupt++;
          ctx.sometimes("echo.corrupt_detected");
          return;
        }
        const replySeq = view.getUint32(8);
        const request = view.getUint32(4) === clientIndex ? state.outstanding.get(replySeq) : undefined;
        let status: EchoReply["status"];
        if (request === undefined) status = replySeq < seq && view.getUint32(4) === clientIndex ? "late" : "unknown";
        else {
          const expected = buildRequest(request.size, clientIndex, replySeq, request.sentAt);
          if (bytes.length !== expected.length || !bytes.every((b, i) => b === expected[i])) status = "mismatch";
          else if (request.answered) status = "duplicate";
          else if (now - request.sentAt > config.timeoutUs) status = "late";
          else status = "ok";
        }
        ctx.sometimes("echo.reordered", status === "ok" && replySeq < state.lastSeq);
        if (status === "ok") {
          request!.answered = true;
          state.replies++;
          state.lastSeq = Math.max(state.lastSeq, replySeq);
          const r = now - request!.sentAt;
          rtt.record(r);
          windowRtts.push(r);
        } else if (status === "duplicate") {
          state.duplicates++;
          ctx.sometimes("echo.duplicate");
        } else if (status === "late") {
          state.late++;
          ctx.sometimes("echo.late");
        }
        const sentAtUs = request?.sentAt ?? view.getFloat64(12);
        ctx.emit("echo.reply", { client: id, seq: replySeq, sentAtUs, atUs: now, status } satisfies EchoReply);
      });
      const send = () => {
        const [low, high] = config.size;
        const size = low + rng.u32() % (high - low + 1);
        const now = ctx.now();
        const s = seq++;
        socket.send(buildRequest(size, clientIndex, s, now), serverAddress, config.port);
        state.sent++;
        state.outstanding.set(s, { sentAt: now, size, answered: false });
        ctx.emit("echo.request", { client: id, seq: s, atUs: now, timeoutUs: config.timeoutUs });
        if (state.outstanding.size > config.maxOutstanding) {
          const oldest = state.outstanding.keys().next().value!;
          state.outstanding.delete(oldest);
        }
        // Exponential gaps: a Poisson stream of requests.
        const gap = Math.max(1, Math.round(-log(1 - rng.u32() / 0x1_0000_0000) * (1e6 / config.ratePerSec)));
        p.timers.setTimeout(send, gap);
      };
      // Expire requests that were never answered, so memory stays bounded by the timeout.
      const sweep = () => {
        const now = ctx.now();
        for (const [s, request] of state.outstanding) {
          if (now - request.sentAt <= config.timeoutUs) break;
          if (!request.answered) {
            state.timeouts++;
            ctx.sometimes("echo.timeout");
          }
          state.outstanding.delete(s);
        }
        p.timers.setTimeout(sweep, config.timeoutUs);
      };
      p.timers.setTimeout(send, rng.u32() % Math.max(1, Math.round(1e6 / config.ratePerSec)));
      p.timers.setTimeout(sweep, config.timeoutUs);
    });
  });

  const total = (key: "sent" | "replies" | "late" | "duplicates" | "corrupt" | "timeouts") => {
    let n = 0;
    for (const c of clients.values()) n += c[key];
    return n;
  };
  let lastReplies = 0;
  let lastSent = 0;
  let lastAt = 0;
  ctx.gauge("echo.replies/s", () => {
    const now = ctx.now();
    const replies = total("replies");
    const rate = now > lastAt ? ((replies - lastReplies) * 1e6) / (now - lastAt) : 0;
    lastReplies = replies;
    return rate;
  }, { unit: "/s", label: "replies per second", chart: "echo throughput" });
  ctx.gauge("echo.requests/s", () => {
    const now = ctx.now();
    const sent = total("sent");
    const rate = now > lastAt ? ((sent - lastSent) * 1e6) / (now - lastAt) : 0;
    lastSent = sent;
    lastAt = now;
    return rate;
  }, { unit: "/s", label: "requests per second", chart: "echo throughput" });
  ctx.gauge("echo.rtt.p50", () => {
    const sorted = windowRtts.sort((a, b) => a - b);
    const median = sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)]! / 1000;
    windowRtts = [];
    return median;
  }, { unit: "ms", label: "median RTT in the interval", chart: "echo RTT" });
  ctx.metric("echo.sent", () => total("sent"));
  ctx.metric("echo.replies", () => total("replies"));
  ctx.metric("echo.timeouts", () => total("timeouts"));
  ctx.metric("echo.late", () => total("late"));
  ctx.metric("echo.duplicates", () => total("duplicates"));
  ctx.metric("echo.corrupt_detected", () => total("corrupt"));
  ctx.metric("echo.reply_ratio", () => total("sent") === 0 ? 0 : total("replies") / total("sent"));
}

registerWorkload<EchoConfig>({
  name: "echo",
  description: "datagram echo: clients send checksummed numbered requests at a rate, servers echo them",
  parse(node, context) {
    const m = node.kind === "null" ? undefined : node.map([
      "servers",
      "clients",
      "port",
      "rate",
      "size",
      "timeout",
      "maxOutstanding",
    ]);
    const hosts = (key: string, fallbackRole: string): string[] => {
      const given = m?.get(key);
      if (given !== undefined) return context.hostsMatching(given);
      const byRole = context.hosts.filter((h) => h.role === fallbackRole).map((h) => h.id);
      if (byRole.length === 0) node.fail(`The echo workload needs '${key}' or hosts with role ${fallbackRole}`);
      return byRole;
    };
    const servers = hosts("servers", "echo-server");
    const clients = hosts("clients", "client");
    const both = clients.find((c) => servers.includes(c));
    if (both !== undefined) {
      (m?.get("clients") ?? node).fail(`Host '${both}' cannot be both an echo server and a client`);
    }
    const size = m?.get("size")?.range("size") ?? [64, 64];
    if (size[0] < MIN_SIZE || size[1] > 65_507) {
      m!.get("size")!.fail(`Echo request sizes must be within ${MIN_SIZE}..65507 bytes`);
    }
    const ratePerSec = m?.get("rate")?.rate() ?? 10;
    if (ratePerSec <= 0 || ratePerSec > 1e6) {
      m!.get("rate")!.fail("The echo rate must be above 0/s and at most 1000000/s");
    }
    return {
      servers,
      clients,
      port: m?.get("port")?.number({ integer: true, min: 1, max: 65535 }) ?? 7,
      ratePerSec,
      size,
      timeoutUs: m?.get("timeout")?.duration({ min: 1000 }) ?? 2_000_000,
      maxOutstanding: m?.get("maxOutstanding")?.number({ integer: true, min: 1, max: 1_000_000 }) ?? 100_000,
    };
  },
  setup: runEcho,
});

registerCheck({
  name: "echo_integrity",
  kind: "safety",
  description: "every echo reply that passes its checksum is byte-identical to a request the client sent",
  create(ctx) {
    let checked = 0;
    ctx.on("echo.reply", (event) => {
      const reply = event as EchoReply;
      checked++;
      if (reply.status === "mismatch") {
        ctx.fail(`${reply.client} got a reply to #${reply.seq} whose bytes differ from the request`);
      }
      if (reply.status === "unknown") ctx.fail(`${reply.client} got a reply to #${reply.seq}, which it never sent`);
    });
    return { finish: () => ctx.pass(`${checked} replies checked`) };
  },
});

/** Parameters of `echo_liveness`. */
export interface EchoLivenessParams {
  /** Fraction of requests in the window that must be answered; default 0.9. */
  readonly minRatio: number;
  /** Time after the heal before the window opens; default 2 s. */
  readonly graceUs: number;
}

registerCheck<EchoLivenessParams>({
  name: "echo_liveness",
  kind: "liveness",
  description:
    "after the heal (and a grace period), clients get answers again: reply ratio of late requests ≥ minRatio",
  parse(node) {
    const m = node?.map(["minRatio", "grace"]);
    return {
      minRatio: m?.get("minRatio")?.probability() ?? 0.9,
      graceUs: m?.get("grace")?.duration() ?? 2_000_000,
    };
  },
  create(ctx, params) {
    const requests = new Map<string, number>();
    const answered = new Set<string>();
    const opens = ctx.chaosEndUs + params.graceUs;
    let timeoutUs = 0;
    ctx.on("echo.request", (event) => {
      const r = event as { client: string; seq: number; atUs: number; timeoutUs: number };
      timeoutUs = Math.max(timeoutUs, r.timeoutUs);
      if (r.atUs >= opens) requests.set(`${r.client}#${r.seq}`, r.atUs);
    });
    ctx.on("echo.reply", (event) => {
      const reply = event as EchoReply;
      if (reply.status === "ok") answered.add(`${reply.client}#${reply.seq}`);
    });
    return {
      finish() {
        // Requests too young to have timed out by the end are left out.
        const cutoff = ctx.endUs - Math.max(timeoutUs, 1);
        let asked = 0;
        let got = 0;
        for (const [key, at] of requests) {
          if (at > cutoff) continue;
          asked++;
          if (answered.has(key)) got++;
        }
        const window = `${(opens / 1e6).toFixed(1)}s..${(cutoff / 1e6).toFixed(1)}s`;
        if (asked === 0) return ctx.fail(`no requests in the liveness window ${window}: lengthen the heal phase`);
        const ratio = got / asked;
        const detail = `${got}/${asked} answered (${(ratio * 100).toFixed(1)} %) in ${window}, need ${
          (params.minRatio * 100).toFixed(1)
        } %`;
        if (ratio < params.minRatio) ctx.fail(detail, ctx.endUs);
        else ctx.pass(detail);
      },
    };
  },
});
