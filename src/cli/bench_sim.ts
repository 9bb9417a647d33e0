/**
 * `qeynos bench sim`: the simulator's speed. Prints one JSON line:
 *
 * - `eventsPerSec`: scheduler events per second (1000 timers re-arming at random delays);
 * - `asyncEventsPerSec`: the same while a host's promise is pending, as in role scenarios where each
 *   bot's flow is one long `async` function: the kernel then yields to the event loop after every
 *   event so that promise continuations run at that event's virtual time;
 * - `datagramsPerSec`: datagrams per second through the whole fault pipeline (loss, MTU,
 *   corruption, duplication, bandwidth queue, delay distribution with jitter, reordering), with
 *   about 2000 datagrams in flight between an echo client and server;
 * - `simWallRatio`: simulated seconds per wall second for a single link (1000 echo requests per
 *   second over a 40 ms lossy link).
 *
 * Each figure is the median of `--repeat` runs (default 3).
 * @module
 */
import process from "node:process";
import { runtimeName } from "../platform/mod.ts";
import type { Platform } from "../platform/platform.ts";
import type { LinkSpec } from "../../sim/link_spec.ts";
import { Simulation } from "../../sim/simulation.ts";
import { type Command, integerFlag, parseCommandArgs, UsageError } from "./command.ts";

const HELP = `Usage: qeynos bench sim [--repeat N] [--events N] [--datagrams N] [--sim-seconds S]

Measures the simulator and prints one JSON line with eventsPerSec, asyncEventsPerSec
(the same while a promise is pending: a yield after every event), datagramsPerSec
(through the whole fault pipeline) and simWallRatio (one echo link). Each figure is
the median of --repeat runs.

Options:
  --repeat N       runs per figure (default 3)
  --events N       scheduler events per timer run (default 3000000; a tenth with a
                   pending promise)
  --datagrams N    datagrams per pipeline run (default 2000000)
  --sim-seconds S  simulated seconds of the single-link run (default 120)
  -h, --help       show this help`;

/** The fault pipeline every benchmarked datagram goes through. */
export const BENCH_LINK: LinkSpec = {
  latency: { dist: "normal", mean: 20_000, sd: 4_000, min: 5_000 },
  jitter: 2_000,
  loss: 0.01,
  dup: 0.005,
  corrupt: 0.001,
  reorder: 0.01,
  mtu: 1400,
  bandwidth: 1_000_000_000,
  queueBytes: 4 * 1024 * 1024,
};

/**
 * Scheduler events per second with `timers` self-re-arming timers; with `pending`, the host's start
 * also returns a promise that stays pending (so every event is followed by a yield).
 */
export async function measureEvents(
  events: number,
  timers = 1000,
  pending = false,
): Promise<{ eventsPerSec: number; events: number }> {
  const sim = new Simulation({ seed: 1 });
  sim.addHost("a", {
    start(p: Platform) {
      for (let i = 0; i < timers; i++) {
        const tick = () => void p.timers.setTimeout(tick, 1 + (p.rng.u32() & 1023));
        tick();
      }
      return pending ? new Promise<void>(() => {}) : undefined;
    },
  });
  await sim.run({ maxEvents: 50_000 }); // warm-up
  const result = await sim.run({ maxEvents: events });
  return { eventsPerSec: result.events / result.wallSeconds, events: result.events };
}

/** Datagrams per second through the full fault pipeline, with about 2000 in flight. */
export async function measureDatagrams(datagrams: number): Promise<{ datagramsPerSec: number; datagrams: number }> {
  const sim = new Simulation({ seed: 2 });
  const payload = new Uint8Array(100).fill(7);
  sim.addHost("server", {
    start(p: Platform) {
      const bound = p.udp.bind({ port: 7 }, (bytes, address, port) => server?.send(bytes, address, port));
      let server: { send(b: Uint8Array, a: string, port: number): void } | undefined;
      void bound.then((s) => (server = s));
    },
  });
  sim.setLinkDefaults(BENCH_LINK);
  sim.addHost("client");
  const serverAddress = sim.address("server");
  const inFlight = () => {
    let n = 0;
    for (const [from, to] of [["client", "server"], ["server", "client"]] as const) {
      const c = sim.linkCounters(from, to);
      n += c.sent + c.duplicated - c.delivered - c.droppedTotal;
    }
    return n;
  };
  sim.onStart("client", (p: Platform) => {
    void p.udp.bind({}, () => socket?.send(payload, serverAddress, 7)).then((s) => {
      socket = s;
      // Losses shrink the window and duplicates grow it: top it up to 2000 every millisecond.
      const topUp = () => {
        for (let deficit = 2000 - inFlight(); deficit > 0; deficit--) s.send(payload, serverAddress, 7);
        p.timers.setTimeout(topUp, 1000);
      };
      topUp();
    });
    let socket: { send(b: Uint8Array, a: string, port: number): void } | undefined;
  });
  const sent = () => sim.linkStats().reduce((n, l) => n + l.sent, 0);
  await sim.run({ untilUs: 200_000 }); // warm-up
  const before = sent();
  const result = await sim.run({ maxEvents: datagrams });
  const done = sent() - before;
  return { datagramsPerSec: done / result.wallSeconds, datagrams: done };
}

/** Simulated seconds per wall second for one echo link at 1000 requests per second. */
export async function measureRatio(simSeconds: number): Promise<{ simWallRatio: number; simSeconds: number }> {
  const sim = new Simulation({ seed: 3 });
  sim.addHost("server", {
    start(p: Platform) {
      void p.udp.bind({ port: 7 }, (bytes, address, port) => server?.send(bytes, address, port)).then((
        s,
      ) => (server = s));
      let server: { send(b: Uint8Array, a: string, port: number): void } | undefined;
    },
  });
  sim.addHost("client", {
    start(p: Platform) {
      const payload = new Uint8Array(100).fill(7);
      void p.udp.bind({}, () => {}).then((socket) => {
        const tick = () => {
          socket.send(payload, sim.address("server"), 7);
          p.timers.setTimeout(tick, 1000);
        };
        tick();
      });
    },
  });
  sim.setLinkDefaults(BENCH_LINK);
  const result = await sim.run({ untilUs: simSeconds * 1_000_000 });
  return { simWallRatio: result.simTimeUs / 1e6 / result.wallSeconds, simSeconds: result.simTimeUs / 1e6 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs every measurement `repeat` times and returns the JSON object `qeynos bench sim` prints. */
export async function benchSim(options: { repeat: number; events: number; datagrams: number; simSeconds: number }) {
  const events: number[] = [];
  const asyncEvents: number[] = [];
  const datagrams: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < options.repeat; i++) {
    events.push((await measureEvents(options.events)).eventsPerSec);
    asyncEvents.push((await measureEvents(Math.ceil(options.events / 10), 1000, true)).eventsPerSec);
    datagrams.push((await measureDatagrams(options.datagrams)).datagramsPerSec);
    ratios.push((await measureRatio(options.simSeconds)).simWallRatio);
  }
  return {
    bench: "sim",
    runtime: `${runtimeName()} ${process.versions[runtimeName()] ?? process.version}`,
    eventsPerSec: Math.round(median(events)),
    asyncEventsPerSec: Math.round(median(asyncEvents)),
    datagramsPerSec: Math.round(median(datagrams)),
    simWallRatio: Math.round(median(ratios)),
    samples: {
      eventsPerSec: events.map(Math.round),
      asyncEventsPerSec: asyncEvents.map(Math.round),
      datagramsPerSec: datagrams.map(Math.round),
      simWallRatio: ratios.map(Math.round),
    },
    config: { events: options.events, datagrams: options.datagrams, simSeconds: options.simSeconds, link: BENCH_LINK },
  };
}

/** The `sim` target of `qeynos bench`. */
export const simBenchTarget: Command = {
  name: "sim",
  summary: "simulator speed: scheduler events/s, datagrams/s through the fault pipeline, sim/wall ratio",
  help: HELP,
  async run(args) {
    const { values, positionals, help } = parseCommandArgs(args, {
      repeat: { type: "string" },
      events: { type: "string" },
      datagrams: { type: "string" },
      "sim-seconds": { type: "string" },
    }, HELP);
    if (help) {
      console.log(HELP);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`Unexpected argument '${positionals[0]}'`, HELP);
    const result = await benchSim({
      repeat: integerFlag("repeat", values.repeat, 3, [1, 100], HELP),
      events: integerFlag("events", values.events, 3_000_000, [1000, 1_000_000_000], HELP),
      datagrams: integerFlag("datagrams", values.datagrams, 2_000_000, [1000, 1_000_000_000], HELP),
      simSeconds: integerFlag("sim-seconds", values["sim-seconds"], 120, [1, 1_000_000], HELP),
    });
    console.log(JSON.stringify(result));
    return 0;
  },
};
