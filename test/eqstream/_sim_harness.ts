/**
 * EQStream on the simulator: a server host echoing every application packet and client hosts that
 * send numbered, self-checking messages through the real `listen`/`connect` drivers. The result says,
 * per client, what each side sent and received, in order, and how (and when) sessions ended.
 */
import { type LinkSpec, type Platform, Simulation } from "../../sim/mod.ts";
import { connect, type EqStreamConnection, listen, type SessionOptions } from "../../src/eqstream/mod.ts";
import type { CloseReason } from "../../src/eqstream/session.ts";
import type { SessionStats } from "../../src/eqstream/stats.ts";

/** A fault on the client ↔ server links. */
export type Fault =
  | { readonly kind: "partition"; readonly atUs: number; readonly forUs: number }
  | { readonly kind: "link"; readonly atUs: number; readonly spec: LinkSpec };

/** What to run. */
export interface SimRun {
  readonly seed: number;
  readonly clients?: number;
  /** Sizes of the messages each client sends, in order. */
  readonly sizes: readonly number[];
  /** Gap between a client's messages (0: all at once). */
  readonly intervalUs?: number;
  /** Echo each message back (checks the server → client direction too); default true. */
  readonly echo?: boolean;
  /** Both directions of every client link. */
  readonly link?: LinkSpec;
  readonly up?: LinkSpec;
  readonly down?: LinkSpec;
  readonly faults?: readonly Fault[];
  readonly untilUs: number;
  readonly session?: SessionOptions;
  readonly serverSession?: SessionOptions;
  /** Called after every poll of every session (client and server side) with its stats. */
  readonly observe?: (side: "client" | "server", client: number, stats: SessionStats, nowUs: number) => void;
  /** Called with the simulation before it runs (to observe datagrams, schedule more faults). */
  readonly onSim?: (sim: Simulation) => void;
  /** Wraps the Platform a client's session runs on (to watch its timers). */
  readonly clientPlatform?: (platform: Platform) => Platform;
  /** Stop early once every client got every echo (or closed); default true. */
  readonly stopWhenDone?: boolean;
}

/** One client's outcome. */
export interface ClientOutcome {
  /** Indices of messages the server received from this client, in delivery order (-1: wrong bytes). */
  readonly serverGot: number[];
  /** Indices of echoes the client received, in delivery order (-1: wrong bytes). */
  readonly clientGot: number[];
  /** Messages whose bytes were not the expected next message. */
  corrupt: number;
  sent: number;
  clientClosed?: { reason: CloseReason; atUs: number };
  serverClosed?: { reason: CloseReason; atUs: number };
  clientStats?: SessionStats;
  serverStats?: SessionStats;
  connectedAtUs: number;
  /** Virtual time each echo arrived, by index (for latency). */
  readonly echoAt: number[];
  /** Virtual time each message reached the server, in delivery order. */
  readonly serverAt: number[];
  readonly sentAt: number[];
}

/** The outcome of a run. */
export interface SimOutcome {
  readonly clients: ClientOutcome[];
  readonly sim: Simulation;
  readonly endUs: number;
}

/** The bytes of message `index` from `client`: exactly `size` bytes derived from both. */
export function messageBytes(client: number, index: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = (Math.imul(client + 1, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Records the next message of a stream: its index when the bytes are the expected next ones, else -1. */
function record(got: number[], outcome: ClientOutcome, client: number, sizes: readonly number[], payload: Uint8Array) {
  const index = got.length;
  const ok = index < sizes.length && same(payload, messageBytes(client, index, sizes[index]!));
  if (!ok) outcome.corrupt++;
  got.push(ok ? index : -1);
  return ok ? index : -1;
}

const APP_OPCODE = 9;

/** Runs one simulation. */
export async function runEqStreamSim(run: SimRun): Promise<SimOutcome> {
  const sim = new Simulation({ seed: run.seed });
  const clientCount = run.clients ?? 1;
  const outcomes: ClientOutcome[] = [];
  for (let i = 0; i < clientCount; i++) {
    outcomes.push({
      serverGot: [],
      clientGot: [],
      corrupt: 0,
      sent: 0,
      connectedAtUs: -1,
      echoAt: [],
      sentAt: [],
      serverAt: [],
    });
  }
  const echo = run.echo ?? true;
  const serverConnections = new Map<EqStreamConnection, number>();
  sim.addHost("server", {
    start: async (platform: Platform) => {
      await listen(platform, {
        address: sim.address("server"),
        port: 9100,
        session: { ...run.session, ...run.serverSession },
        ...(run.observe
          ? {
            observe: (connection: EqStreamConnection) => {
              const client = clientOf.get(connection.remote.address);
              if (client !== undefined) run.observe!("server", client, connection.stats, platform.clock.now());
            },
          }
          : {}),
      }, {
        app(connection, _opcode, payload) {
          const client = clientOf.get(connection.remote.address);
          if (client === undefined) return;
          const outcome = outcomes[client]!;
          serverConnections.set(connection, client);
          record(outcome.serverGot, outcome, client, run.sizes, payload);
          outcome.serverAt.push(platform.clock.now());
          if (echo) connection.sendApp(APP_OPCODE, payload);
        },
        closed(connection, reason) {
          const client = serverConnections.get(connection);
          if (client === undefined) return;
          outcomes[client]!.serverClosed = { reason, atUs: platform.clock.now() };
          outcomes[client]!.serverStats = connection.stats;
        },
      });
    },
  });
  const names: string[] = [];
  const clientOf = new Map<string, number>();
  for (let c = 0; c < clientCount; c++) {
    const name = `client${c}`;
    names.push(name);
    const outcome = outcomes[c]!;
    sim.addHost(name, {
      start: async (platform: Platform) => {
        clientOf.set(sim.address(name), c);
        await sim.sleep(1_000 + c * 137);
        let connection: EqStreamConnection;
        try {
          connection = await connect(run.clientPlatform?.(platform) ?? platform, {
            address: sim.address("server"),
            port: 9100,
          }, {
            ...run.session,
            bindAddress: sim.address(name),
            ...(run.observe
              ? { observe: (cn: EqStreamConnection) => run.observe!("client", c, cn.stats, platform.clock.now()) }
              : {}),
          }, {
            app(_c, _opcode, payload) {
              const index = record(outcome.clientGot, outcome, c, run.sizes, payload);
              if (index >= 0) outcome.echoAt[index] = platform.clock.now();
            },
            closed(c, reason) {
              outcome.clientClosed = { reason, atUs: platform.clock.now() };
              outcome.clientStats = c.stats;
            },
          });
        } catch {
          outcome.clientClosed = { reason: "connect_timeout", atUs: platform.clock.now() };
          return;
        }
        outcome.connectedAtUs = platform.clock.now();
        const interval = run.intervalUs ?? 0;
        let index = 0;
        const sendNext = () => {
          if (connection.finished) return;
          while (index < run.sizes.length) {
            try {
              connection.sendApp(APP_OPCODE, messageBytes(c, index, run.sizes[index]!));
            } catch {
              // Send queue full: try again shortly.
              platform.timers.setTimeout(sendNext, 5_000);
              return;
            }
            outcome.sentAt[index] = platform.clock.now();
            index++;
            outcome.sent = index;
            if (interval > 0) {
              platform.timers.setTimeout(sendNext, interval);
              return;
            }
          }
        };
        sendNext();
        const watch = () => {
          if (connection.finished) return;
          outcome.clientStats = connection.stats;
          platform.timers.setTimeout(watch, 50_000);
        };
        watch();
      },
    });
  }
  const up = { ...run.link, ...run.up };
  const down = { ...run.link, ...run.down };
  for (const name of names) {
    sim.setLink(name, "server", up);
    sim.setLink("server", name, down);
  }
  for (const fault of run.faults ?? []) {
    if (fault.kind === "partition") {
      sim.at(fault.atUs, () => {
        const partition = sim.partition([["server"], names]);
        sim.after(fault.forUs, () => partition.heal());
      });
    } else {
      sim.at(fault.atUs, () => {
        for (const name of names) {
          sim.setLink(name, "server", fault.spec);
          sim.setLink("server", name, fault.spec);
        }
      });
    }
  }
  run.onSim?.(sim);
  const total = run.sizes.length;
  const done = () =>
    outcomes.every((o) => o.clientClosed !== undefined || (echo ? o.clientGot : o.serverGot).length === total);
  const result = await sim.run({
    untilUs: run.untilUs,
    ...(run.stopWhenDone === false ? {} : { stopWhen: done }),
  });
  if (result.reason === "stall") throw new Error(`Simulation stalled: ${result.stall}`);
  return { clients: outcomes, sim, endUs: sim.now };
}
