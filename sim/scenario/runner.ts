/**
 * Runs a scenario: builds the environment (a {@linkcode Simulation}, or loopback sockets for
 * `--live`), applies the topology, links and fault timeline, installs workloads and checks,
 * runs the chaos phase, heals everything, runs the heal phase, and gathers a report.
 * @module
 */
import process from "node:process";
import { runtimeName } from "../../src/platform/mod.ts";
import type { Rng } from "../../src/platform/platform.ts";
import { VERSION } from "../../src/version.ts";
import { Histogram, type HistogramSummary } from "../histogram.ts";
import { type LinkSpec, mergeLinkSpecs } from "../link_spec.ts";
import { SimRng } from "../rng.ts";
import { type LinkStats, type Partition, type RunResult, Simulation } from "../simulation.ts";
import { getWorkload } from "../workloads/registry.ts";
import { ALWAYS_ON_CHECKS } from "./builtin_checks.ts";
import { type CheckInstance, getCheck } from "./check_registry.ts";
import type { CheckContext, MetricOptions, RunContext, ScenarioEnvironment, Series } from "./context.ts";
import { matchHosts } from "./loader.ts";
import { describeFault, sampleNemesis } from "./nemesis.ts";
import type { Fault, FaultAction, Scenario, ScenarioHost } from "./types.ts";

/** Options of {@linkcode runScenario}. */
export interface RunScenarioOptions {
  /** Overrides the file's seed. */
  readonly seed?: number;
  /** Builds the environment instead of a Simulation (used by `--live`). */
  readonly environment?: (seed: number, scenario: Scenario) => ScenarioEnvironment;
  /** Record this many events for event-by-event comparison (simulation only). */
  readonly recordTrace?: number;
  /** Receives log lines of simulated hosts (warn and above unless `logLevel`). */
  readonly onLog?: (line: string) => void;
  readonly logLevel?: "debug" | "info" | "warn" | "error";
}

/** One check's verdict. */
export interface CheckResult {
  readonly name: string;
  readonly kind: "safety" | "liveness";
  readonly passed: boolean;
  readonly detail: string;
  /** Time of the first violation, µs. */
  readonly firstViolationUs?: number;
  readonly violations: number;
}

/** A fault as it happened, for the timeline. */
export interface TimelineEntry {
  readonly atUs: number;
  readonly untilUs?: number;
  readonly kind: string;
  readonly description: string;
  readonly source: "plan" | "nemesis" | "phase";
}

/** A time series in the report. */
export interface ReportSeries {
  readonly name: string;
  readonly label: string;
  readonly unit: string;
  readonly chart: string;
  readonly points: Array<[number, number]>;
}

/** The machine-readable report of one run (`report.json`). */
export interface ScenarioReport {
  readonly format: "qeynos-scenario-report/1";
  readonly scenario: {
    readonly name: string;
    readonly description: string;
    readonly file: string;
    readonly hash: string;
    readonly source: string;
  };
  /** The scenario after random sampling: concrete hosts, links and faults. */
  readonly resolved: {
    readonly hosts: ReadonlyArray<{ id: string; role: string; address: string }>;
    readonly chaosUs: number;
    readonly healUs: number;
    readonly linkDefault: LinkSpec;
    readonly links: ReadonlyArray<{ from: string; to: string; spec: LinkSpec }>;
    readonly faults: ReadonlyArray<
      { atUs: number; forUs?: number; source: string; description: string; action: FaultAction }
    >;
    readonly workloads: ReadonlyArray<{ name: string; config: unknown }>;
    readonly checks: ReadonlyArray<{ name: string; params: unknown }>;
  };
  readonly seed: number;
  readonly mode: "sim" | "live";
  readonly deterministic: boolean;
  readonly traceHash: string;
  readonly passed: boolean;
  readonly reason: RunResult["reason"];
  readonly stall?: string;
  readonly simSeconds: number;
  readonly wallSeconds: number;
  readonly simWallRatio: number;
  readonly events: number;
  readonly runtime: string;
  readonly version: string;
  /** The one-line command that replays this run (filled in by the CLI). */
  replay: string;
  readonly checks: readonly CheckResult[];
  readonly probes: ReadonlyArray<{ name: string; hits: number; checks: number; firstUs: number }>;
  readonly phases: { readonly chaosEndUs: number; readonly endUs: number };
  readonly timeline: readonly TimelineEntry[];
  readonly links: ReadonlyArray<LinkStats & { latencyCdf: Array<[number, number]> }>;
  readonly tcp?: Readonly<Record<string, number>>;
  readonly series: readonly ReportSeries[];
  readonly histograms: ReadonlyArray<
    { name: string; label: string; unit: string; summary: HistogramSummary; cdf: Array<[number, number]> }
  >;
  readonly metrics: ReadonlyArray<{ name: string; value: number; unit: string }>;
  readonly violations: {
    readonly count: number;
    readonly first: ReadonlyArray<{ api: string; timeUs: number; stack: string }>;
  };
  readonly errors: {
    readonly count: number;
    readonly first: ReadonlyArray<{ host: string; timeUs: number; message: string }>;
  };
  readonly lateAsyncCalls: number;
  readonly logs: ReadonlyArray<{ timeUs: number; host: string; level: string; message: string }>;
}

/** The outcome of {@linkcode runScenario}. */
export interface ScenarioRun {
  readonly report: ScenarioReport;
  readonly passed: boolean;
  /** The simulation (not in live mode), e.g. to inspect recorded trace events. */
  readonly sim: Simulation | undefined;
}

const MAX_SERIES_POINTS = 50_000;

/** A random seed for `seed: random` (drawn before the run, outside the simulation). */
export function randomSeed(): number {
  const words = crypto.getRandomValues(new Uint32Array(2));
  return (words[0]! & 0x1fffff) * 0x1_0000_0000 + words[1]!;
}

/** Runs `scenario` once. */
export async function runScenario(scenario: Scenario, options: RunScenarioOptions = {}): Promise<ScenarioRun> {
  const seed = options.seed ?? (scenario.seed === "random" ? randomSeed() : scenario.seed);
  const sim = options.environment === undefined
    ? new Simulation({
      seed,
      onUncaught: "record",
      asyncMode: scenario.simulation.asyncMode,
      tcp: scenario.simulation.tcp,
      logLevel: options.logLevel ?? "warn",
      logLimit: 200,
      ...(scenario.simulation.maxEvents === undefined ? {} : { maxEvents: scenario.simulation.maxEvents }),
      ...(options.recordTrace === undefined ? {} : { recordTrace: options.recordTrace }),
      ...(options.onLog === undefined ? {} : {
        onLog: (l) =>
          options.onLog!(
            `${(l.timeUs / 1e6).toFixed(6)} ${l.host} ${l.level.toUpperCase()} ${l.message}${
              Object.keys(l.fields).length > 0 ? ` ${JSON.stringify(l.fields)}` : ""
            }`,
          ),
      }),
    })
    : undefined;
  const env: ScenarioEnvironment = sim ?? options.environment!(seed, scenario);
  const streams = new Map<string, SimRng>();
  const stream = (name: string) => {
    let rng = streams.get(name);
    if (rng === undefined) streams.set(name, rng = sim?.rng(name) ?? new SimRng(seed, name));
    return rng;
  };
  const chaosEndUs = scenario.chaosUs;
  const endUs = scenario.chaosUs + scenario.healUs;

  // Topology.
  for (const host of scenario.hosts) {
    env.addHost(host.id, host.address === undefined ? {} : { address: host.address });
    if (host.clockDriftPpm !== undefined) env.setClockDrift(host.id, host.clockDriftPpm);
  }
  env.setLinkDefaults(scenario.linkDefault);
  const baseLinks = new Map<string, { from: string; to: string; spec: LinkSpec }>();
  for (const o of scenario.overrides) {
    const pairs: Array<[string, string]> = [];
    for (const from of o.from) for (const to of o.to) if (from !== to) pairs.push([from, to]);
    if (o.both) { for (const from of o.from) for (const to of o.to) if (from !== to) pairs.push([to, from]); }
    for (const [from, to] of pairs) {
      const key = `${from}>${to}`;
      const spec = mergeLinkSpecs(baseLinks.get(key)?.spec ?? {}, o.spec);
      baseLinks.set(key, { from, to, spec });
    }
  }
  for (const { from, to, spec } of baseLinks.values()) env.setLink(from, to, spec);
  const baseSpec = (from: string, to: string) => baseLinks.get(`${from}>${to}`)?.spec ?? {};

  // Faults: the plan plus sampled nemesis faults.
  const faults: Fault[] = [...scenario.faults, ...sampleNemesis(scenario.nemesis, stream, chaosEndUs)]
    .sort((a, b) => a.atUs - b.atUs || (a.source === b.source ? 0 : a.source === "plan" ? -1 : 1));
  const timeline: TimelineEntry[] = [];
  const degraded = new Set<string>();
  const crashedByFaults = new Set<string>();
  const pausedByFaults = new Set<string>();
  for (const fault of faults) {
    const untilUs = fault.forUs === undefined ? undefined : Math.min(fault.atUs + fault.forUs, chaosEndUs);
    timeline.push({
      atUs: fault.atUs,
      ...(untilUs === undefined ? {} : { untilUs }),
      kind: fault.action.kind,
      description: describeFault(fault),
      source: fault.source,
    });
    env.at(fault.atUs, () => {
      const undo = applyFault(env, fault.action, { degraded, crashedByFaults, pausedByFaults });
      if (untilUs !== undefined && undo !== undefined && untilUs < chaosEndUs) env.at(untilUs, undo);
    });
  }
  if (scenario.healUs > 0 || faults.length > 0) {
    timeline.push({
      atUs: chaosEndUs,
      kind: "heal",
      description: "heal phase: network healed, hosts restarted",
      source: "phase",
    });
  }
  env.at(chaosEndUs, () => {
    env.heal();
    for (const key of degraded) {
      const [from, to] = key.split(">") as [string, string];
      env.setLink(from, to, baseSpec(from, to));
    }
    degraded.clear();
    for (const id of pausedByFaults) if (env.hostStatus(id) === "paused") env.resume(id);
    for (const id of crashedByFaults) if (env.hostStatus(id) === "crashed") env.restart(id);
    pausedByFaults.clear();
    crashedByFaults.clear();
  });

  // Workloads, checks and metrics.
  const listeners = new Map<string, Array<(event: unknown) => void>>();
  const series = new Map<string, { options: MetricOptions; points: Array<[number, number]> }>();
  const gauges: Array<{ name: string; read: () => number }> = [];
  const histograms = new Map<string, { options: MetricOptions; histogram: Histogram }>();
  const metrics = new Map<string, { value: number | (() => number); options: MetricOptions }>();
  const finishers: Array<() => void> = [];
  // Filled in when the run ends; checks read it in finish().
  const outcome: { result?: RunResult } = {};
  const addSeries = (name: string, options: MetricOptions = {}) => {
    let s = series.get(name);
    if (s === undefined) series.set(name, s = { options, points: [] });
    return s;
  };
  const makeContext = (namespace: string): RunContext => ({
    mode: env.mode,
    sim,
    env,
    scenario,
    seed,
    chaosEndUs,
    endUs,
    hosts: (pattern?: string): readonly ScenarioHost[] => {
      if (pattern === undefined) return scenario.hosts;
      const ids = new Set(matchHosts(pattern, scenario.hosts));
      return scenario.hosts.filter((h) => ids.has(h.id));
    },
    address: (id) => env.address(id),
    now: () => env.now,
    at: (timeUs, callback) => env.at(timeUs, callback),
    startOn: (id, start) => env.onStart(id, start),
    rng: (name): Rng => stream(`${namespace}:${name}`),
    sometimes: (name, condition) => env.sometimes(name, condition),
    emit(type, event) {
      const list = listeners.get(type);
      if (list !== undefined) { for (const listener of list) listener(event); }
    },
    on(type, listener) {
      let list = listeners.get(type);
      if (list === undefined) listeners.set(type, list = []);
      list.push(listener);
    },
    series(name, options): Series {
      const s = addSeries(name, options);
      return {
        record(value: number) {
          if (s.points.length < MAX_SERIES_POINTS) s.points.push([env.now, value]);
        },
      };
    },
    gauge(name, read, options) {
      addSeries(name, options);
      gauges.push({ name, read });
    },
    histogram(name, options = {}) {
      let h = histograms.get(name);
      if (h === undefined) histograms.set(name, h = { options, histogram: new Histogram() });
      return h.histogram;
    },
    metric(name, value, options = {}) {
      metrics.set(name, { value, options });
    },
    onFinish(callback) {
      finishers.push(callback);
    },
  });

  for (const use of scenario.workloads) getWorkload(use.name)!.setup(makeContext(`workload:${use.name}`), use.config);

  const checkUses = [
    ...ALWAYS_ON_CHECKS.filter((name) => !scenario.checks.some((c) => c.name === name)).map((name) => ({
      name,
      params: getCheck(name)!.parse?.(undefined, { hosts: scenario.hosts, hostsMatching: () => [] }),
      line: 0,
    })),
    ...scenario.checks,
  ];
  const checkStates = checkUses.map((use) => {
    const definition = getCheck(use.name)!;
    const state = { name: use.name, kind: definition.kind, failed: false, first: "", firstUs: -1, count: 0, pass: "" };
    const ctx: CheckContext = {
      ...makeContext(`check:${use.name}`),
      get result() {
        return outcome.result;
      },
      get failed() {
        return state.failed;
      },
      fail(detail: string, atUs?: number) {
        state.count++;
        if (state.failed) return;
        state.failed = true;
        state.first = detail;
        state.firstUs = atUs ?? env.now;
      },
      pass(detail: string) {
        state.pass = detail;
      },
    };
    const instance: CheckInstance | void = definition.create(ctx, use.params as never);
    return { state, instance };
  });

  // Sampling for time series: network counters and gauges.
  const sampleEvery = scenario.report.sampleEveryUs;
  const netSamples: Array<{ t: number; stats: LinkStats[] }> = [];
  const sample = () => {
    netSamples.push({ t: env.now, stats: env.linkStats() });
    for (const g of gauges) {
      const s = series.get(g.name)!;
      const v = g.read();
      if (s.points.length < MAX_SERIES_POINTS && Number.isFinite(v)) s.points.push([env.now, v]);
    }
  };
  for (let t = sampleEvery; t <= endUs; t += sampleEvery) env.at(t, sample);

  const result = await env.run({ untilUs: endUs });
  outcome.result = result;
  for (const finish of finishers) finish();
  for (const { instance } of checkStates) instance?.finish?.();

  const checks: CheckResult[] = checkStates.map(({ state }) => ({
    name: state.name,
    kind: state.kind,
    passed: !state.failed,
    detail: state.failed
      ? (state.count > 1 ? `${state.first} (${state.count} violations)` : state.first)
      : state.pass || "ok",
    ...(state.failed ? { firstViolationUs: state.firstUs } : {}),
    violations: state.count,
  }));
  const passed = checks.every((c) => c.passed);
  const links = env.linkStats();
  const report: ScenarioReport = {
    format: "qeynos-scenario-report/1",
    scenario: {
      name: scenario.name,
      description: scenario.description,
      file: scenario.source.file,
      hash: scenario.source.hash,
      source: scenario.source.text,
    },
    resolved: {
      hosts: scenario.hosts.map((h) => ({ id: h.id, role: h.role, address: env.address(h.id) })),
      chaosUs: scenario.chaosUs,
      healUs: scenario.healUs,
      linkDefault: scenario.linkDefault,
      links: [...baseLinks.values()],
      faults: faults.map((f) => ({
        atUs: f.atUs,
        ...(f.forUs === undefined ? {} : { forUs: f.forUs }),
        source: f.source,
        description: describeFault(f),
        action: f.action,
      })),
      workloads: scenario.workloads.map((w) => ({ name: w.name, config: w.config })),
      checks: checkUses.map((c) => ({ name: c.name, params: c.params ?? null })),
    },
    seed,
    mode: env.mode,
    deterministic: env.mode === "sim",
    traceHash: env.traceHash(),
    passed,
    reason: result.reason,
    ...(result.stall === undefined ? {} : { stall: result.stall }),
    simSeconds: result.simTimeUs / 1e6,
    wallSeconds: result.wallSeconds,
    simWallRatio: result.wallSeconds > 0 ? result.simTimeUs / 1e6 / result.wallSeconds : 0,
    events: result.events,
    runtime: `${runtimeName()} ${process.versions[runtimeName()] ?? process.version}`,
    version: VERSION,
    replay: "",
    checks,
    probes: env.probes(),
    phases: { chaosEndUs, endUs },
    timeline,
    links: links.map((l) => ({
      ...l,
      latencyCdf: sim === undefined ? [] : thin(sim.linkCounters(l.from, l.to).latency.cdf(), 200),
    })),
    ...(sim === undefined ? {} : { tcp: { ...sim.tcpStats() } }),
    series: [
      ...networkSeries(netSamples),
      ...[...series].map(([name, s]) => ({
        name,
        label: s.options.label ?? name,
        unit: s.options.unit ?? "",
        chart: s.options.chart ?? name,
        points: s.points,
      })),
    ],
    histograms: [...histograms].map(([name, h]) => ({
      name,
      label: h.options.label ?? name,
      unit: h.options.unit ?? "",
      summary: h.histogram.summary(),
      cdf: thin(h.histogram.cdf(), 200),
    })),
    metrics: [...metrics].map(([name, m]) => ({
      name,
      value: typeof m.value === "function" ? m.value() : m.value,
      unit: m.options.unit ?? "",
    })),
    violations: {
      count: sim?.violations().count ?? 0,
      first: (sim?.violations().recorded ?? []).slice(0, 5).map((v) => ({ ...v })),
    },
    errors: {
      count: sim?.errors().count ?? 0,
      first: (sim?.errors().recorded ?? []).slice(0, 10).map((e) => ({
        host: e.host,
        timeUs: e.timeUs,
        message: e.message,
      })),
    },
    lateAsyncCalls: sim?.lateAsyncCalls ?? 0,
    logs: (sim?.logs().lines ?? []).slice(-50).map((l) => ({
      timeUs: l.timeUs,
      host: l.host,
      level: l.level,
      message: l.message,
    })),
  };
  return { report, passed, sim };
}

interface FaultState {
  readonly degraded: Set<string>;
  readonly crashedByFaults: Set<string>;
  readonly pausedByFaults: Set<string>;
}

/** Applies a fault now; returns what undoes it (for `for:`), if anything. */
function applyFault(env: ScenarioEnvironment, action: FaultAction, state: FaultState): (() => void) | undefined {
  switch (action.kind) {
    case "partition": {
      const partition: Partition = env.partition(action.groups, { oneWay: action.oneWay });
      return () => partition.heal();
    }
    case "heal":
      env.heal();
      return undefined;
    case "crash":
      for (const id of action.hosts) {
        env.crash(id, { silent: action.silent });
        state.crashedByFaults.add(id);
      }
      return () => {
        for (const id of action.hosts) {
          if (env.hostStatus(id) === "crashed") env.restart(id);
          state.crashedByFaults.delete(id);
        }
      };
    case "restart":
      for (const id of action.hosts) {
        env.restart(id);
        state.crashedByFaults.delete(id);
      }
      return undefined;
    case "pause":
      for (const id of action.hosts) {
        env.pause(id);
        state.pausedByFaults.add(id);
      }
      return () => {
        for (const id of action.hosts) {
          env.resume(id);
          state.pausedByFaults.delete(id);
        }
      };
    case "resume":
      for (const id of action.hosts) {
        env.resume(id);
        state.pausedByFaults.delete(id);
      }
      return undefined;
    case "clog":
    case "unclog": {
      const pairs = action.from.flatMap((f) => action.to.filter((t) => t !== f).map((t) => [f, t] as const));
      for (const [f, t] of pairs) action.kind === "clog" ? env.clog(f, t) : env.unclog(f, t);
      return action.kind === "clog" ? () => pairs.forEach(([f, t]) => env.unclog(f, t)) : undefined;
    }
    case "link": {
      const pairs = action.from.flatMap((f) => action.to.filter((t) => t !== f).map((t) => [f, t] as const));
      const before = pairs.map(([f, t]) => env.linkSpec(f, t));
      pairs.forEach(([f, t]) => {
        env.setLink(f, t, mergeLinkSpecs(env.linkSpec(f, t), action.spec), { replace: true });
        state.degraded.add(`${f}>${t}`);
      });
      return () => pairs.forEach(([f, t], i) => env.setLink(f, t, before[i]!, { replace: true }));
    }
    case "clockDrift":
      for (const id of action.hosts) env.setClockDrift(id, action.ppm);
      return undefined;
    case "clockStep":
      for (const id of action.hosts) env.stepClock(id, action.byUs);
      return undefined;
    case "resetTcp":
      for (const id of action.hosts) {
        if (action.peers === undefined) env.resetTcp(id);
        else for (const peer of action.peers) env.resetTcp(id, peer);
      }
      return undefined;
  }
}

/** Per-interval network rates from cumulative link counters. */
function networkSeries(samples: ReadonlyArray<{ t: number; stats: LinkStats[] }>): ReportSeries[] {
  const out: ReportSeries[] = [];
  if (samples.length === 0) return out;
  const total = (stats: LinkStats[], pick: (l: LinkStats) => number) => stats.reduce((n, l) => n + pick(l), 0);
  const rate = (pick: (l: LinkStats) => number) => {
    const points: Array<[number, number]> = [];
    let prevT = 0;
    let prev = 0;
    for (const s of samples) {
      const v = total(s.stats, pick);
      points.push([s.t, s.t > prevT ? ((v - prev) * 1e6) / (s.t - prevT) : 0]);
      prevT = s.t;
      prev = v;
    }
    return points;
  };
  out.push({ name: "net.sent", label: "datagrams sent/s", unit: "/s", chart: "network", points: rate((l) => l.sent) });
  out.push({
    name: "net.delivered",
    label: "delivered/s",
    unit: "/s",
    chart: "network",
    points: rate((l) => l.delivered),
  });
  out.push({
    name: "net.dropped",
    label: "dropped/s",
    unit: "/s",
    chart: "network",
    points: rate((l) => l.droppedTotal),
  });
  const last = samples[samples.length - 1]!.stats;
  const causes = Object.keys(last[0]?.dropped ?? {}) as Array<keyof LinkStats["dropped"]>;
  for (const cause of causes) {
    if (total(last, (l) => l.dropped[cause]) === 0) continue;
    out.push({
      name: `net.drop.${cause}`,
      label: cause,
      unit: "/s",
      chart: "drops by cause",
      points: rate((l) => l.dropped[cause]),
    });
  }
  if (total(last, (l) => l.tcpSegments) > 0) {
    out.push({
      name: "net.tcp",
      label: "TCP segments/s",
      unit: "/s",
      chart: "tcp",
      points: rate((l) => l.tcpSegments),
    });
  }
  return out;
}

/** At most `n` points, always keeping the last. */
function thin(points: Array<[number, number]>, n: number): Array<[number, number]> {
  if (points.length <= n) return points;
  const step = points.length / n;
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) out.push(points[Math.floor(i * step)]!);
  out.push(points[points.length - 1]!);
  return out;
}
