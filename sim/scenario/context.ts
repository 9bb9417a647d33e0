/**
 * What workloads and checks see while a scenario runs: the environment (a {@linkcode Simulation},
 * or real sockets through `qeynos netem` for `--live`), the scenario, named random streams, an
 * event bus between workloads and checks, and metrics for the report.
 * @module
 */
import type { Platform, Rng } from "../../src/platform/platform.ts";
import type { HostStart } from "../_host.ts";
import type { Histogram } from "../histogram.ts";
import type { LinkSpec } from "../link_spec.ts";
import type {
  DatagramObserver,
  LinkStats,
  Partition,
  PartitionOptions,
  RunOptions,
  RunResult,
  Scheduled,
  Simulation,
} from "../simulation.ts";
import type { Scenario, ScenarioHost } from "./types.ts";

/** The network a scenario runs on: the simulator, or loopback sockets behind impairment proxies. */
export interface ScenarioEnvironment {
  readonly mode: "sim" | "live";
  /** µs since the run began. */
  readonly now: number;
  addHost(id: string, options?: { readonly address?: string }): void;
  onStart(id: string, start: HostStart): void;
  platform(id: string): Platform;
  address(id: string): string;
  setLinkDefaults(spec: LinkSpec): void;
  setLink(from: string, to: string, spec: LinkSpec, options?: { readonly replace?: boolean }): void;
  linkSpec(from: string, to: string): LinkSpec;
  partition(groups: readonly (readonly string[])[], options?: PartitionOptions): Partition;
  heal(): void;
  clog(from: string, to: string): void;
  unclog(from: string, to: string): void;
  crash(id: string, options?: { readonly silent?: boolean }): void;
  restart(id: string): void;
  pause(id: string): void;
  resume(id: string): void;
  setClockDrift(id: string, ppm: number): void;
  stepClock(id: string, deltaUs: number): void;
  resetTcp(a: string, b?: string): number;
  hostStatus(id: string): "up" | "paused" | "crashed";
  at(timeUs: number, callback: () => unknown): Scheduled;
  sometimes(name: string, condition?: boolean): boolean;
  probes(): Array<{ name: string; hits: number; checks: number; firstUs: number }>;
  observe(observer: DatagramObserver): () => void;
  run(options?: RunOptions): Promise<RunResult>;
  linkStats(): LinkStats[];
  traceHash(): string;
}

/** How a series or metric is shown. */
export interface MetricOptions {
  /** Unit shown in the report (`"ms"`, `"msg/s"`, …). */
  readonly unit?: string;
  /** Longer label for plots; default the name. */
  readonly label?: string;
  /** Plot group: series with the same group share a chart; default the name. */
  readonly chart?: string;
}

/** A time series: each `record` adds a point at the current time. */
export interface Series {
  record(value: number): void;
}

/** Shared by workloads and checks. */
export interface RunContext {
  readonly mode: "sim" | "live";
  /** The simulation, in `"sim"` mode. */
  readonly sim: Simulation | undefined;
  readonly env: ScenarioEnvironment;
  readonly scenario: Scenario;
  readonly seed: number;
  /** End of the chaos phase (faults heal here), µs. */
  readonly chaosEndUs: number;
  /** End of the run, µs. */
  readonly endUs: number;
  /** Hosts matching a pattern (`bot*`, `role:client`, an id), or all. */
  hosts(pattern?: string): readonly ScenarioHost[];
  address(hostId: string): string;
  /** Current time, µs since the run began. */
  now(): number;
  at(timeUs: number, callback: () => unknown): Scheduled;
  /** Adds a start function to a host (runs at the beginning and after each restart). */
  startOn(hostId: string, start: HostStart): void;
  /** A random stream private to the caller (`name` is namespaced by the workload or check). */
  rng(name: string): Rng;
  sometimes(name: string, condition?: boolean): boolean;
  /** Publishes an event to every listener of `type` (checks listen to workloads this way). */
  emit(type: string, event: unknown): void;
  on(type: string, listener: (event: unknown) => void): void;
  series(name: string, options?: MetricOptions): Series;
  /** Samples `read()` on the report's clock (every `report.sample`). */
  gauge(name: string, read: () => number, options?: MetricOptions): void;
  histogram(name: string, options?: MetricOptions): Histogram;
  /** A final scalar for the report; a function is read when the run ends. */
  metric(name: string, value: number | (() => number), options?: MetricOptions): void;
  /** Runs when the run ends, before checks finish. */
  onFinish(callback: () => void): void;
}

/** What a check gets. */
export interface CheckContext extends RunContext {
  /**
   * Records a violation (at `atUs`, default now); the check fails, and the first violation's time
   * and detail are reported.
   */
  fail(detail: string, atUs?: number): void;
  /** How the run ended (set before `finish` is called). */
  readonly result: RunResult | undefined;
  /** The detail shown when the check passes. */
  pass(detail: string): void;
  /** Whether the check has failed. */
  readonly failed: boolean;
}
