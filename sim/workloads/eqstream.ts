/**
 * The `eqstream` workload: client hosts open EQStream sessions to a server host through the real
 * `connect`/`listen` drivers and send numbered, checksummed reliable messages at a rate; the server
 * checks each one and echoes it. A closed session is replaced by a new one after a pause.
 *
 * ```yaml
 * workload:
 *   eqstream: { server: server, clients: "bot*", sessions: 2, rate: 30/s, size: 16..3000, echo: true }
 * checks: [eqstream_in_order, { eqstream_complete: { grace: 5s } }]
 * ```
 *
 * Checks: `eqstream_in_order` (safety: each session delivers an intact, in-order prefix of what was
 * sent, both ways) and `eqstream_complete` (liveness: what was sent before the end minus a grace period
 * arrived, unless the session reported its end — never silent loss).
 * @module
 */
import { connect, type EqStreamConnection, listen, type SessionOptions } from "../../src/eqstream/mod.ts";
import type { Platform } from "../../src/platform/platform.ts";
import { crc32 } from "../../src/wire/crc32.ts";
import { registerCheck } from "../scenario/check_registry.ts";
import type { RunContext } from "../scenario/context.ts";
import { registerWorkload } from "./registry.ts";
import { log } from "../../src/platform/portable_math.ts";

/** Configuration of the eqstream workload. */
export interface EqStreamWorkloadConfig {
  readonly server: string;
  readonly clients: readonly string[];
  /** Sessions per client host. */
  readonly sessions: number;
  readonly port: number;
  /** Messages per second per session. */
  readonly ratePerSec: number;
  /** Message size range, bytes. */
  readonly size: readonly [number, number];
  /** The server echoes every message back. */
  readonly echo: boolean;
  /** Session options of both ends. */
  readonly session: SessionOptions;
  /** Pause before a closed session is replaced, µs. */
  readonly reconnectUs: number;
}

/** A message the server (`to: "server"`) or a client (`to: "client"`) received. */
export interface EqStreamDelivery {
  readonly session: string;
  readonly to: "server" | "client";
  readonly seq: number;
  /** The sequence number this session expected next. */
  readonly expected: number;
  /** The checksum matched. */
  readonly intact: boolean;
  readonly atUs: number;
}

/** A message a client sent. */
export interface EqStreamSent {
  readonly session: string;
  readonly seq: number;
  readonly atUs: number;
}

/** A session that ended, seen from the client. */
export interface EqStreamClosed {
  readonly session: string;
  readonly reason: string;
  readonly atUs: number;
}

const APP_OPCODE = 0x30;
const MAGIC = 0x45515331; // "EQS1"
/** magic, session key length, key, seq, crc. */
const MIN_SIZE = 4 + 1 + 24 + 4 + 4;

function encodeMessage(session: string, seq: number, size: number, fill: number): Uint8Array {
  const key = new TextEncoder().encode(session.slice(0, 24));
  const bytes = new Uint8Array(Math.max(size, MIN_SIZE));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC);
  bytes[4] = key.length;
  bytes.set(key, 5);
  view.setUint32(29, seq);
  let x = (fill ^ Math.imul(seq + 1, 0x9e3779b1)) >>> 0 || 1;
  for (let i = 33; i < bytes.length - 4; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  view.setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)));
  return bytes;
}

function decodeMessage(bytes: Uint8Array): { session: string; seq: number; intact: boolean } | undefined {
  if (bytes.length < MIN_SIZE) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== MAGIC || bytes[4]! > 24) return undefined;
  const session = new TextDecoder().decode(bytes.subarray(5, 5 + bytes[4]!));
  const intact = view.getUint32(bytes.length - 4) === crc32(bytes.subarray(0, bytes.length - 4));
  return { session, seq: view.getUint32(29), intact };
}

function runEqStream(ctx: RunContext, config: EqStreamWorkloadConfig): void {
  const latency = ctx.histogram("eqstream.latency", { unit: "us", label: "EQStream echo round trip" });
  const live = new Set<EqStreamConnection>();
  const totals = { sent: 0, delivered: 0, echoed: 0, sessions: 0, closed: 0 };
  const lastStats = new Map<string, { retransmissions: number; cwnd: number; inflight: number }>();

  ctx.startOn(config.server, async (p: Platform) => {
    const expected = new Map<EqStreamConnection, { session: string; next: number }>();
    await listen(p, { address: "0.0.0.0", port: config.port, session: config.session }, {
      app(connection, _opcode, payload) {
        const message = decodeMessage(payload);
        if (message === undefined) {
          ctx.emit(
            "eqstream.delivered",
            {
              session: "?",
              to: "server",
              seq: -1,
              expected: -1,
              intact: false,
              atUs: ctx.now(),
            } satisfies EqStreamDelivery,
          );
          return;
        }
        let state = expected.get(connection);
        if (state === undefined) expected.set(connection, state = { session: message.session, next: 0 });
        ctx.emit(
          "eqstream.delivered",
          {
            session: message.session,
            to: "server",
            seq: message.seq,
            expected: state.next,
            intact: message.intact && message.session === state.session,
            atUs: ctx.now(),
          } satisfies EqStreamDelivery,
        );
        state.next = message.seq + 1;
        totals.delivered++;
        if (config.echo) connection.sendApp(APP_OPCODE, payload);
      },
      closed(connection) {
        expected.delete(connection);
      },
    });
  });

  for (const host of config.clients) {
    for (let s = 0; s < config.sessions; s++) {
      const rng = ctx.rng(`${host}:${s}`);
      let generation = 0;
      ctx.startOn(host, (p: Platform) => {
        const open = async () => {
          const session = `${host}/${s}/${generation++}`;
          const sentAt: number[] = [];
          let next = 0;
          let echoNext = 0;
          let connection: EqStreamConnection;
          try {
            connection = await connect(p, { address: ctx.address(config.server), port: config.port }, {
              ...config.session,
              bindAddress: "0.0.0.0",
            }, {
              app(_c, _opcode, payload) {
                const message = decodeMessage(payload);
                const at = ctx.now();
                ctx.emit(
                  "eqstream.delivered",
                  {
                    session,
                    to: "client",
                    seq: message?.seq ?? -1,
                    expected: echoNext,
                    intact: message !== undefined && message.intact && message.session === session,
                    atUs: at,
                  } satisfies EqStreamDelivery,
                );
                if (message !== undefined && message.seq === echoNext) {
                  latency.record(at - sentAt[message.seq]!);
                  totals.echoed++;
                }
                echoNext = (message?.seq ?? echoNext) + 1;
              },
              closed(c, reason) {
                live.delete(c);
                totals.closed++;
                ctx.emit("eqstream.closed", { session, reason, atUs: ctx.now() } satisfies EqStreamClosed);
                p.timers.setTimeout(() => void open(), config.reconnectUs);
              },
            });
          } catch (error) {
            ctx.emit(
              "eqstream.closed",
              {
                session,
                reason: `connect failed: ${error instanceof Error ? error.message : error}`,
                atUs: ctx.now(),
              } satisfies EqStreamClosed,
            );
            p.timers.setTimeout(() => void open(), config.reconnectUs);
            return;
          }
          live.add(connection);
          totals.sessions++;
          const fill = rng.u32();
          const send = () => {
            if (connection.finished) return;
            const [low, high] = config.size;
            const size = low + (rng.u32() % (high - low + 1));
            try {
              connection.sendApp(APP_OPCODE, encodeMessage(session, next, size, fill));
              sentAt[next] = ctx.now();
              ctx.emit("eqstream.sent", { session, seq: next, atUs: ctx.now() } satisfies EqStreamSent);
              next++;
              totals.sent++;
            } catch {
              // Send queue full: this tick's message is skipped (nothing was queued).
            }
            const gap = Math.max(1, Math.round(-log(1 - rng.float()) * (1e6 / config.ratePerSec)));
            p.timers.setTimeout(send, gap);
          };
          send();
        };
        return open();
      });
    }
  }

  const sample = () => {
    let retransmissions = 0;
    let cwnd = 0;
    let inflight = 0;
    for (const connection of live) {
      const s = connection.stats;
      retransmissions += s.retransmissions;
      cwnd += s.cwndBytes;
      inflight += s.inflightBytes;
    }
    lastStats.set("all", { retransmissions, cwnd, inflight });
    return { retransmissions, cwnd, inflight };
  };
  ctx.gauge("eqstream.sessions", () => live.size, { unit: "sessions", label: "open client sessions" });
  ctx.gauge("eqstream.cwnd", () => sample().cwnd / 1024, { unit: "KiB", label: "congestion windows", chart: "window" });
  ctx.gauge("eqstream.inflight", () => (lastStats.get("all")?.inflight ?? 0) / 1024, {
    unit: "KiB",
    label: "bytes in flight",
    chart: "window",
  });
  ctx.metric("eqstream.sent", () => totals.sent);
  ctx.metric("eqstream.delivered", () => totals.delivered);
  ctx.metric("eqstream.echoed", () => totals.echoed);
  ctx.metric("eqstream.sessions_opened", () => totals.sessions);
  ctx.metric("eqstream.sessions_closed", () => totals.closed);
  ctx.metric("eqstream.retransmissions_open_sessions", () => lastStats.get("all")?.retransmissions ?? 0);
}

registerWorkload<EqStreamWorkloadConfig>({
  name: "eqstream",
  description: "EQStream sessions from client hosts to a server: numbered, checksummed reliable messages, echoed",
  parse(node, context) {
    const m = node.kind === "null" ? undefined : node.map([
      "server",
      "clients",
      "sessions",
      "port",
      "rate",
      "size",
      "echo",
      "maxDatagram",
      "giveUp",
      "idleTimeout",
      "reconnect",
      "congestionControl",
    ]);
    const pick = (key: string, role: string): string[] => {
      const given = m?.get(key);
      if (given !== undefined) return context.hostsMatching(given);
      const byRole = context.hosts.filter((h) => h.role === role).map((h) => h.id);
      if (byRole.length === 0) node.fail(`The eqstream workload needs '${key}' or hosts with role ${role}`);
      return byRole;
    };
    const servers = pick("server", "server");
    if (servers.length !== 1) (m?.get("server") ?? node).fail("The eqstream workload needs exactly one server host");
    const clients = pick("clients", "client");
    if (clients.includes(servers[0]!)) (m?.get("clients") ?? node).fail("The server cannot also be a client");
    const size = m?.get("size")?.range("size") ?? [64, 256];
    if (size[0] < MIN_SIZE || size[1] > 500_000) {
      m!.get("size")!.fail(`Message sizes must be within ${MIN_SIZE}..500000 bytes`);
    }
    const ratePerSec = m?.get("rate")?.rate() ?? 10;
    if (ratePerSec <= 0 || ratePerSec > 100_000) {
      m!.get("rate")!.fail("The rate must be above 0/s and at most 100000/s");
    }
    const cc = m?.get("congestionControl")?.oneOf(["bbr", "newreno"]) ?? "bbr";
    const session: SessionOptions = {
      maxDatagramBytes: m?.get("maxDatagram")?.number({ integer: true, min: 64, max: 65_000 }) ?? 512,
      giveUpUs: m?.get("giveUp")?.duration({ min: 1_000 }) ?? 30_000_000,
      idleTimeoutUs: m?.get("idleTimeout")?.duration({ min: 1_000 }) ?? 45_000_000,
      congestionControl: cc as "bbr" | "newreno",
    };
    return {
      server: servers[0]!,
      clients,
      sessions: m?.get("sessions")?.number({ integer: true, min: 1, max: 1000 }) ?? 1,
      port: m?.get("port")?.number({ integer: true, min: 1, max: 65535 }) ?? 9100,
      ratePerSec,
      size,
      echo: m?.get("echo")?.boolean() ?? true,
      session,
      reconnectUs: m?.get("reconnect")?.duration({ min: 1_000 }) ?? 1_000_000,
    };
  },
  setup: runEqStream,
});

registerCheck({
  name: "eqstream_in_order",
  kind: "safety",
  description: "every EQStream session delivers an intact, in-order prefix of what was sent (no loss, dup, reorder)",
  create(ctx) {
    let checked = 0;
    ctx.on("eqstream.delivered", (event) => {
      const d = event as EqStreamDelivery;
      checked++;
      if (!d.intact) ctx.fail(`${d.session}: message #${d.seq} arrived at the ${d.to} altered or unreadable`);
      else if (d.seq !== d.expected) {
        ctx.fail(`${d.session}: the ${d.to} got message #${d.seq} while #${d.expected} was next`);
      }
    });
    return { finish: () => ctx.pass(`${checked} deliveries in order and intact`) };
  },
});

/** Parameters of `eqstream_complete`. */
export interface EqStreamCompleteParams {
  /** Messages sent within this long of the end may still be in flight; default 5 s. */
  readonly graceUs: number;
}

registerCheck<EqStreamCompleteParams>({
  name: "eqstream_complete",
  kind: "liveness",
  description: "every message sent before the end minus a grace period reached the server, or its session " +
    "reported its end (never silent loss)",
  parse(node) {
    return { graceUs: node?.map(["grace"]).get("grace")?.duration() ?? 5_000_000 };
  },
  create(ctx, params) {
    const sent = new Map<string, { count: number; lastAt: number }>();
    const delivered = new Map<string, number>();
    const closed = new Set<string>();
    ctx.on("eqstream.sent", (event) => {
      const e = event as EqStreamSent;
      const s = sent.get(e.session) ?? { count: 0, lastAt: 0 };
      if (e.atUs <= ctx.endUs - params.graceUs) s.count = e.seq + 1;
      s.lastAt = e.atUs;
      sent.set(e.session, s);
    });
    ctx.on("eqstream.delivered", (event) => {
      const d = event as EqStreamDelivery;
      if (d.to === "server") delivered.set(d.session, Math.max(delivered.get(d.session) ?? 0, d.seq + 1));
    });
    ctx.on("eqstream.closed", (event) => closed.add((event as EqStreamClosed).session));
    return {
      finish() {
        let sessions = 0;
        for (const [session, s] of sent) {
          sessions++;
          const got = delivered.get(session) ?? 0;
          if (got < s.count && !closed.has(session)) {
            ctx.fail(`${session}: ${s.count - got} of ${s.count} messages never arrived and the session did not end`);
            return;
          }
        }
        ctx.pass(`${sessions} sessions complete or explicitly ended`);
      },
    };
  },
});
