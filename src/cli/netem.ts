/**
 * `qeynos netem`: a UDP impairment proxy on loopback with the simulator's fault model.
 * @module
 */
import process from "node:process";
import { NetemProxy } from "../netem/proxy.ts";
import { createConsoleLog, createRealPlatform } from "../platform/mod.ts";
import type { LinkSpec } from "../../sim/link_spec.ts";
import { addressFlag, type Command, integerFlag, parseFlags, UsageError } from "./command.ts";

const HELP = `Usage: qeynos netem --listen 127.0.0.1:P --forward 127.0.0.1:Q [options]

A UDP impairment proxy on loopback: datagrams sent to --listen go to --forward,
replies go back to the client that sent last. Each direction is impaired on its
own, with the simulator's fault model and its own seeded random stream:
loss → MTU → corruption → duplication → bandwidth queue → delay + jitter → order.

Options:
  --listen ADDR:PORT   where clients send (port 0 picks one; printed at start)
  --forward ADDR:PORT  the server
  --loss P             drop probability per datagram (0..1)
  --delay MS           one-way delay in milliseconds
  --jitter MS          extra delay, uniform in 0..MS; never reorders by itself
  --dup P              probability a datagram is delivered twice
  --reorder P          probability a datagram waits max(2×jitter, 1 ms) more and is overtaken
  --corrupt P          probability a datagram gets a flipped bit
  --mtu BYTES          drop datagrams larger than this
  --rate-kbps K        bottleneck bandwidth in kbit/s (0: unlimited)
  --queue-ms MS        drop-tail queue in front of the bottleneck, in ms at that rate (default 100)
  --seed N             seed of both directions' random streams (default 1)
  --stats-s S          print statistics every S seconds (default: only at exit)
  --duration S         stop after S seconds (default: until interrupted)
  -h, --help           show this help

Statistics are JSON lines on stdout: {"netem":"stats","direction":"up"|"down",...}.
Only loopback addresses are accepted.`;

const OPTIONS = {
  listen: { type: "string" },
  forward: { type: "string" },
  loss: { type: "string" },
  delay: { type: "string" },
  jitter: { type: "string" },
  dup: { type: "string" },
  reorder: { type: "string" },
  corrupt: { type: "string" },
  mtu: { type: "string" },
  "rate-kbps": { type: "string" },
  "queue-ms": { type: "string" },
  seed: { type: "string" },
  "stats-s": { type: "string" },
  duration: { type: "string" },
} as const;

function isLoopback(address: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) || address === "::1";
}

function endpoint(name: string, text: string | undefined): { address: string; port: number } {
  const { address, port } = addressFlag(name, text, HELP, { allowPortZero: true });
  if (!isLoopback(address)) {
    throw new UsageError(`Invalid value for --${name}: ${address} is not a loopback address`, HELP);
  }
  if (name === "forward" && port === 0) throw new UsageError("Invalid value for --forward: port 0", HELP);
  return { address, port };
}

function number(name: string, text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value < 0 || value > max) {
    throw new UsageError(`Invalid value for --${name}: '${text}' is not a number in 0..${max}`, HELP);
  }
  return value;
}

/** The link spec `qeynos netem` flags describe. */
export function netemSpec(values: Record<string, string | undefined>): LinkSpec {
  const ms = (name: string) => Math.round(number(name, values[name], 0, 3_600_000) * 1000);
  const rateKbps = number("rate-kbps", values["rate-kbps"], 0, 1e9);
  const queueMs = number("queue-ms", values["queue-ms"], 100, 60_000);
  const spec: Record<string, unknown> = {
    latency: ms("delay"),
    jitter: ms("jitter"),
    loss: number("loss", values.loss, 0, 1),
    dup: number("dup", values.dup, 0, 1),
    reorder: number("reorder", values.reorder, 0, 1),
    corrupt: number("corrupt", values.corrupt, 0, 1),
  };
  if (values.mtu !== undefined) spec.mtu = integerFlag("mtu", values.mtu, 0, [1, 65_535], HELP);
  if (rateKbps > 0) {
    spec.bandwidth = rateKbps * 1000;
    spec.queueBytes = Math.max(1, Math.round(((rateKbps * 1000) / 8) * (queueMs / 1000)));
  }
  return spec as LinkSpec;
}

/** `qeynos netem`. */
export const netemCommand: Command = {
  name: "netem",
  summary: "UDP impairment proxy on loopback with the simulator's fault model",
  help: HELP,
  async run(args) {
    const values = parseFlags(args, OPTIONS, HELP);
    if (values === undefined) return 0;
    const listen = endpoint("listen", values.listen);
    const forward = endpoint("forward", values.forward);
    const spec = netemSpec(values);
    const seed = integerFlag("seed", values.seed, 1, [0, Number.MAX_SAFE_INTEGER], HELP);
    const statsS = number("stats-s", values["stats-s"], 0, 86_400);
    const durationS = number("duration", values.duration, 0, 31_536_000);
    const platform = createRealPlatform(createConsoleLog({ level: "warn" }));
    const proxy = await NetemProxy.start(platform, { listen, forward, up: spec, seed });
    const local = proxy.listenAddress;
    console.log(
      JSON.stringify({
        netem: "start",
        listen: `${local.address}:${local.port}`,
        forward: `${forward.address}:${forward.port}`,
        seed,
        spec,
      }),
    );
    const print = () => {
      for (const s of proxy.stats()) console.log(JSON.stringify({ netem: "stats", ...s }));
    };
    const { promise: stopped, resolve: stop } = Promise.withResolvers<void>();
    const onSignal = () => stop();
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    let statsTimer: number | undefined;
    if (statsS > 0) {
      const tick = () => {
        print();
        statsTimer = platform.timers.setTimeout(tick, statsS * 1e6);
      };
      statsTimer = platform.timers.setTimeout(tick, statsS * 1e6);
    }
    const durationTimer = durationS > 0 ? platform.timers.setTimeout(() => stop(), durationS * 1e6) : undefined;
    await stopped;
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (statsTimer !== undefined) platform.timers.clearTimeout(statsTimer);
    if (durationTimer !== undefined) platform.timers.clearTimeout(durationTimer);
    proxy.close();
    print();
    return 0;
  },
};
