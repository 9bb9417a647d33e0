/**
 * The deterministic network simulator: a virtual clock and event queue, named random streams, a
 * UDP network with a per-direction fault pipeline, a TCP model, and a virtual {@linkcode Platform}
 * per host so that protocol drivers run unchanged.
 *
 * ```ts
 * const sim = new Simulation({ seed: 42 });
 * sim.addHost("server", { start: (platform) => startEcho(platform) });
 * sim.addHost("client", { start: (platform) => startClient(platform, sim.address("server")) });
 * sim.setLinkDefaults({ latency: { dist: "normal", mean: 40_000, sd: 8_000 }, loss: 0.01 });
 * const result = await sim.run({ untilUs: 60_000_000 });
 * console.log(result.reason, sim.traceHash(), sim.linkStats());
 * ```
 * @module
 */
export type { Platform } from "../src/platform/platform.ts";
export {
  type DatagramEvent,
  type DatagramObserver,
  type HostOptions,
  type LinkStats,
  type Partition,
  type PartitionOptions,
  type RunOptions,
  type RunReason,
  type RunResult,
  type Scheduled,
  type SimError,
  type SimLogLine,
  Simulation,
  type SimulationOptions,
} from "./simulation.ts";
export type { HostStart } from "./_host.ts";
export { EVENT_KIND, EVENT_KIND_NAMES, type TcpModelOptions } from "./_kernel.ts";
export { type GuardMode, RealTimeAccessError, type Violation } from "./_guard.ts";
export { SimSocketError } from "./_socket_error.ts";
export type { TcpStats } from "./_tcp.ts";
export type { TraceRecord } from "./_trace.ts";
export { Histogram, type HistogramSummary } from "./histogram.ts";
export { LinkCounters, type LinkEmit, LinkModel, type LinkModelOptions } from "./link_model.ts";
export {
  type DelayDist,
  delaySampler,
  DROP_CAUSES,
  type DropCause,
  type LinkSpec,
  LinkSpecError,
  type LossSpec,
  mergeLinkSpecs,
  minDelayUs,
  validateLinkSpec,
} from "./link_spec.ts";
export { hashString, SimRng } from "./rng.ts";
