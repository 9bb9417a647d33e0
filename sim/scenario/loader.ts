/**
 * Loads and validates scenario files (format: `docs/scenarios.md`). Every error names the file,
 * the line and what is wrong; unknown keys are errors.
 * @module
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { TcpModelOptions } from "../_kernel.ts";
import { type DelayDist, type LinkSpec, LinkSpecError, type LossSpec, validateLinkSpec } from "../link_spec.ts";
import { getWorkload, listWorkloads } from "../workloads/registry.ts";
import { getCheck, listChecks } from "./check_registry.ts";
import { type ConfigMap, type ConfigNode, parseYaml, ScenarioError } from "./config_node.ts";
import { parseSize } from "./units.ts";
import type {
  CheckUse,
  Fault,
  FaultAction,
  LinkOverride,
  NemesisSpec,
  ParseContext,
  Scenario,
  ScenarioHost,
  SimulationSettings,
  WorkloadUse,
} from "./types.ts";

const TOP_KEYS = [
  "version",
  "name",
  "description",
  "seed",
  "duration",
  "hosts",
  "links",
  "faults",
  "nemesis",
  "workload",
  "checks",
  "report",
  "simulation",
] as const;

const LINK_KEYS = [
  "latency",
  "jitter",
  "loss",
  "dup",
  "corrupt",
  "corruptBits",
  "mtu",
  "mtuMode",
  "reorder",
  "reorderDelay",
  "bandwidth",
  "queue",
  "overhead",
] as const;

const FAULT_ACTIONS = [
  "partition",
  "heal",
  "crash",
  "restart",
  "pause",
  "resume",
  "clog",
  "unclog",
  "link",
  "clockDrift",
  "clockStep",
  "resetTcp",
] as const;

const NEMESIS_KINDS = ["partition", "crash", "pause", "clog", "link", "resetTcp", "clockStep"] as const;

/** Most hosts a scenario may declare after `count` expansion. */
export const MAX_HOSTS = 10_000;

/** Reads and validates a scenario file. */
export async function readScenarioFile(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ScenarioError(path, 1, `Cannot read the scenario file: ${(error as Error).message}`);
  }
  return loadScenario(text, path);
}

/** Validates scenario text; `file` is used in error messages. */
export function loadScenario(text: string, file: string): Scenario {
  const root = parseYaml(text, file);
  if (root.kind === "null") root.fail("The scenario file is empty");
  const top = root.map(TOP_KEYS);
  const version = top.require("version").number({ integer: true });
  if (version !== 1) {
    top.require("version").fail(`Unsupported scenario version ${version} (this build reads version 1)`);
  }
  const name = top.require("name").string();
  const description = top.get("description")?.string() ?? "";
  const seed = parseSeed(top.get("seed"));
  const { chaosUs, healUs } = parseDurations(top.require("duration"));
  const hosts = parseHosts(top.require("hosts"));
  const context = parseContext(hosts);
  const links = top.get("links");
  let linkDefault: LinkSpec = {};
  const overrides: LinkOverride[] = [];
  if (links !== undefined && links.kind !== "null") {
    const map = links.map(["default", "overrides"]);
    const def = map.get("default");
    if (def !== undefined && def.kind !== "null") linkDefault = parseLinkSpec(def.map(LINK_KEYS), def);
    for (const item of map.get("overrides")?.list() ?? []) {
      const m = item.map([...LINK_KEYS, "from", "to", "both"]);
      overrides.push({
        from: context.hostsMatching(m.require("from")),
        to: context.hostsMatching(m.require("to")),
        both: m.get("both")?.boolean() ?? false,
        spec: parseLinkSpec(m, item),
      });
    }
  }
  const endUs = chaosUs + healUs;
  const faults = (top.get("faults")?.kind === "null" ? [] : top.get("faults")?.list() ?? []).map((node) =>
    parseFault(node, context, chaosUs)
  );
  const nemesis = (top.get("nemesis")?.kind === "null" ? [] : top.get("nemesis")?.list() ?? []).map((node) =>
    parseNemesis(node, context)
  );
  const workloads = parseWorkloads(top.get("workload"), context);
  const checks = parseChecks(top.get("checks"), context);
  const report = parseReport(top.get("report"), endUs);
  const simulation = parseSimulation(top.get("simulation"));
  const hash = createHash("sha256").update(text).digest("hex");
  return {
    version: 1,
    name,
    description,
    seed,
    chaosUs,
    healUs,
    hosts,
    linkDefault,
    overrides,
    faults: faults.sort((a, b) => a.atUs - b.atUs),
    nemesis,
    workloads,
    checks,
    report,
    simulation,
    source: { file, text, hash },
  };
}

function parseSeed(node: ConfigNode | undefined): number | "random" {
  if (node === undefined) return "random";
  if (node.kind === "scalar" && node.plain() === "random") return "random";
  return node.number({ integer: true, min: 0, max: Number.MAX_SAFE_INTEGER });
}

function parseDurations(node: ConfigNode): { chaosUs: number; healUs: number } {
  if (node.kind === "scalar") return { chaosUs: node.duration({ min: 1 }), healUs: 0 };
  const map = node.map(["chaos", "heal"]);
  const chaosUs = map.require("chaos").duration();
  const healUs = map.get("heal")?.duration() ?? 0;
  if (chaosUs + healUs <= 0) node.fail("The scenario must last longer than 0s");
  return { chaosUs, healUs };
}

const ID = /^[A-Za-z][A-Za-z0-9_-]*$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

function parseHosts(node: ConfigNode): ScenarioHost[] {
  const hosts: ScenarioHost[] = [];
  const seen = new Set<string>();
  const addresses = new Set<string>();
  for (const item of node.list()) {
    const m = item.map(["id", "role", "count", "address", "zone", "params", "clockDrift"]);
    const idNode = m.require("id");
    const id = idNode.string();
    if (!ID.test(id)) idNode.fail(`Invalid host id '${id}': use letters, digits, '_' and '-', starting with a letter`);
    const role = m.require("role").string();
    const count = m.get("count")?.number({ integer: true, min: 1, max: MAX_HOSTS }) ?? 1;
    const addressNode = m.get("address");
    const address = addressNode?.string();
    if (address !== undefined && !IPV4.test(address)) addressNode!.fail(`Invalid IPv4 address '${address}'`);
    if (address !== undefined && count > 1) addressNode!.fail("A host with 'count' cannot have a fixed address");
    const params: Record<string, unknown> = {};
    const zone = m.get("zone");
    if (zone !== undefined) params.zone = zone.string();
    const extra = m.get("params");
    if (extra !== undefined && extra.kind !== "null") {
      const value = extra.plain();
      if (typeof value !== "object" || value === null || Array.isArray(value)) extra.fail("Expected a map of params");
      Object.assign(params, value);
    }
    const drift = m.get("clockDrift")?.number({ min: -100_000, max: 100_000 });
    for (let i = 1; i <= count; i++) {
      const hostId = count === 1 ? id : `${id}${i}`;
      if (seen.has(hostId)) idNode.fail(`Duplicate host id '${hostId}'`);
      seen.add(hostId);
      if (address !== undefined) {
        if (addresses.has(address)) addressNode!.fail(`Duplicate address ${address}`);
        addresses.add(address);
      }
      hosts.push({
        id: hostId,
        role,
        group: id,
        ...(address === undefined ? {} : { address }),
        params,
        ...(drift === undefined ? {} : { clockDriftPpm: drift }),
      });
      if (hosts.length > MAX_HOSTS) idNode.fail(`Too many hosts: more than ${MAX_HOSTS}`);
    }
  }
  if (hosts.length === 0) node.fail("A scenario needs at least one host");
  return hosts;
}

/** Host ids matching `pattern`: an id, a glob (`bot*`, `zone?`) or `role:<role>`. */
export function matchHosts(pattern: string, hosts: readonly ScenarioHost[]): string[] {
  if (pattern.startsWith("role:")) {
    const role = pattern.slice(5);
    return hosts.filter((h) => h.role === role).map((h) => h.id);
  }
  if (!/[*?]/.test(pattern)) {
    const exact = hosts.filter((h) => h.id === pattern);
    return exact.length > 0 ? [pattern] : hosts.filter((h) => h.group === pattern).map((h) => h.id);
  }
  const regex = new RegExp(
    `^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".")}$`,
  );
  return hosts.filter((h) => regex.test(h.id)).map((h) => h.id);
}

function parseContext(hosts: readonly ScenarioHost[]): ParseContext {
  return {
    hosts,
    hostsMatching(node: ConfigNode): string[] {
      const out: string[] = [];
      for (const item of node.listOrOne()) {
        const pattern = item.string();
        const matched = matchHosts(pattern, hosts);
        if (matched.length === 0) item.fail(`No host matches '${pattern}'`);
        for (const id of matched) if (!out.includes(id)) out.push(id);
      }
      return out;
    },
  };
}

function parseDelay(node: ConfigNode): number | DelayDist {
  if (node.kind === "scalar") return node.duration();
  const dist = node.map(["dist", "value", "min", "max", "mean", "sd", "scale", "shape", "of"]);
  const kind = dist.require("dist").oneOf(["constant", "uniform", "normal", "exponential", "pareto", "mix"] as const);
  const allowed: Record<typeof kind, string[]> = {
    constant: ["value"],
    uniform: ["min", "max"],
    normal: ["mean", "sd", "min"],
    exponential: ["mean", "min"],
    pareto: ["scale", "shape", "max"],
    mix: ["of"],
  };
  for (const key of dist.keys) {
    if (key !== "dist" && !allowed[kind].includes(key)) {
      dist.get(key)!.fail(`Unknown key '${key}' for a ${kind} distribution (expected: ${allowed[kind].join(", ")})`);
    }
  }
  const d = (key: string) => dist.require(key).duration();
  const optional = (key: string) => dist.has(key) ? { [key]: d(key) } : {};
  switch (kind) {
    case "constant":
      return { dist: kind, value: d("value") };
    case "uniform": {
      const min = d("min");
      const max = d("max");
      if (max < min) dist.require("max").fail("A uniform distribution's max must not be below its min");
      return { dist: kind, min, max };
    }
    case "normal":
      return { dist: kind, mean: d("mean"), sd: d("sd"), ...optional("min") };
    case "exponential":
      return { dist: kind, mean: d("mean"), ...optional("min") };
    case "pareto":
      return {
        dist: kind,
        scale: d("scale"),
        shape: dist.require("shape").number({ min: 0.01, max: 100 }),
        ...optional("max"),
      };
    case "mix":
      return {
        dist: kind,
        of: dist.require("of").list().map((part) => {
          const p = part.map(["weight", "delay"]);
          return { weight: p.require("weight").number({ min: 1e-9 }), delay: parseDelay(p.require("delay")) };
        }),
      };
  }
}

function parseLoss(node: ConfigNode): LossSpec {
  if (node.kind !== "map") return node.probability();
  const m = node.map(["model", "p", "r", "bad", "good"]);
  const model = m.require("model").oneOf(["bernoulli", "gilbert"] as const);
  if (model === "bernoulli") {
    for (const key of ["r", "bad", "good"]) {
      if (m.has(key)) m.get(key)!.fail(`'${key}' only applies to the gilbert model`);
    }
    return { model, p: m.require("p").probability() };
  }
  return {
    model,
    p: m.require("p").probability(),
    r: m.require("r").probability(),
    ...(m.has("bad") ? { bad: m.get("bad")!.probability() } : {}),
    ...(m.has("good") ? { good: m.get("good")!.probability() } : {}),
  };
}

/** Reads the link keys of `map` (other keys are the caller's) into a validated {@linkcode LinkSpec}. */
export function parseLinkSpec(map: ConfigMap, node: ConfigNode): LinkSpec {
  const spec: Record<string, unknown> = {};
  const get = (key: string) => map.get(key);
  if (get("latency")) spec.latency = parseDelay(get("latency")!);
  if (get("jitter")) spec.jitter = get("jitter")!.duration();
  if (get("loss")) spec.loss = parseLoss(get("loss")!);
  for (const key of ["dup", "corrupt", "reorder"]) if (get(key)) spec[key] = get(key)!.probability();
  if (get("corruptBits")) spec.corruptBits = get("corruptBits")!.number({ integer: true, min: 1, max: 64 });
  if (get("mtu")) spec.mtu = get("mtu")!.size({ max: 1 << 20 });
  if (get("mtuMode")) spec.mtuMode = get("mtuMode")!.oneOf(["drop", "truncate"] as const);
  if (get("reorderDelay")) spec.reorderDelay = get("reorderDelay")!.duration();
  if (get("bandwidth")) spec.bandwidth = get("bandwidth")!.bandwidth();
  if (get("overhead")) spec.overhead = get("overhead")!.size({ max: 1024 });
  const queue = get("queue");
  if (queue !== undefined) {
    const raw = queue.plain();
    if (parseSize(raw) !== undefined) spec.queueBytes = queue.size({ max: 1 << 30 });
    else {
      const us = queue.duration();
      if (spec.bandwidth === undefined) queue.fail("A queue given as a time needs a bandwidth on the same link");
      spec.queueBytes = Math.max(1, Math.round(((spec.bandwidth as number) / 8) * (us / 1e6)));
    }
  }
  try {
    validateLinkSpec(spec);
  } catch (error) {
    if (error instanceof LinkSpecError) {
      const at = map.get(String(error.path[0] ?? "")) ?? node;
      at.fail(error.message);
    }
    throw error;
  }
  return spec as LinkSpec;
}

function parseFault(node: ConfigNode, context: ParseContext, chaosUs: number): Fault {
  const m = node.map(["at", "for", "oneWay", "silent", ...FAULT_ACTIONS]);
  const atUs = m.require("at").duration();
  const actions = FAULT_ACTIONS.filter((a) => m.has(a));
  if (actions.length !== 1) {
    node.fail(
      actions.length === 0
        ? `A fault needs one of: ${FAULT_ACTIONS.join(", ")}`
        : `A fault has one action, got ${actions.join(" and ")}`,
    );
  }
  const kind = actions[0]!;
  const value = m.get(kind)!;
  const forNode = m.get("for");
  const forUs = forNode?.duration({ min: 1 });
  if (atUs >= chaosUs) {
    m.require("at").fail(
      `A fault must start during the chaos phase (before ${chaosUs / 1e6}s); the heal phase has none`,
    );
  }
  const undoable = ["partition", "crash", "pause", "clog", "link"];
  if (forNode !== undefined && !undoable.includes(kind)) forNode.fail(`'for' does not apply to ${kind}`);
  for (const option of ["oneWay", "silent"] as const) {
    const wanted = option === "oneWay" ? "partition" : "crash";
    if (m.has(option) && kind !== wanted) m.get(option)!.fail(`'${option}' only applies to ${wanted}`);
  }
  const pair = (n: ConfigNode) => {
    const p = n.map(["from", "to"]);
    return { from: context.hostsMatching(p.require("from")), to: context.hostsMatching(p.require("to")) };
  };
  let action: FaultAction;
  switch (kind) {
    case "partition": {
      const groups = value.list().map((g) => context.hostsMatching(g));
      if (groups.length < 2) value.fail("A partition needs at least two groups");
      const all = groups.flat();
      const twice = all.find((id, i) => all.indexOf(id) !== i);
      if (twice !== undefined) value.fail(`Host '${twice}' is in two partition groups`);
      action = { kind, groups, oneWay: m.get("oneWay")?.boolean() ?? false };
      break;
    }
    case "heal":
      if (value.kind !== "null" && value.boolean() !== true) value.fail("Write 'heal: true'");
      action = { kind };
      break;
    case "crash":
      action = { kind, hosts: context.hostsMatching(value), silent: m.get("silent")?.boolean() ?? false };
      break;
    case "restart":
    case "pause":
    case "resume":
      action = { kind, hosts: context.hostsMatching(value) };
      break;
    case "clog":
    case "unclog":
      action = { kind, ...pair(value) };
      break;
    case "link": {
      const lm = value.map(["from", "to", ...LINK_KEYS]);
      action = {
        kind,
        from: context.hostsMatching(lm.require("from")),
        to: context.hostsMatching(lm.require("to")),
        spec: parseLinkSpec(lm, value),
      };
      break;
    }
    case "clockDrift": {
      const c = value.map(["host", "ppm"]);
      action = {
        kind,
        hosts: context.hostsMatching(c.require("host")),
        ppm: c.require("ppm").number({ min: -100_000, max: 100_000 }),
      };
      break;
    }
    case "clockStep": {
      const c = value.map(["host", "by"]);
      action = {
        kind,
        hosts: context.hostsMatching(c.require("host")),
        byUs: c.require("by").duration({ allowNegative: true }),
      };
      break;
    }
    case "resetTcp": {
      if (value.kind === "map") {
        const c = value.map(["host", "peer"]);
        const peer = c.get("peer");
        action = {
          kind,
          hosts: context.hostsMatching(c.require("host")),
          ...(peer === undefined ? {} : { peers: context.hostsMatching(peer) }),
        };
      } else action = { kind, hosts: context.hostsMatching(value) };
      break;
    }
  }
  return { atUs, ...(forUs === undefined ? {} : { forUs }), action, source: "plan", line: node.line };
}

function parseNemesis(node: ConfigNode, context: ParseContext): NemesisSpec {
  const m = node.map(["kind", "rate", "duration", "hosts", "silent", "oneWay", "link", "step"]);
  const kind = m.require("kind").oneOf(NEMESIS_KINDS);
  const ratePerSec = m.require("rate").rate();
  if (ratePerSec <= 0) m.require("rate").fail("A nemesis rate must be above 0");
  const needsDuration = kind !== "resetTcp" && kind !== "clockStep";
  const durationNode = m.get("duration");
  if (!needsDuration && durationNode !== undefined) durationNode.fail(`'duration' does not apply to ${kind}`);
  const durationUs = needsDuration ? m.require("duration").range("duration") : [0, 0] as [number, number];
  const hosts = m.has("hosts") ? context.hostsMatching(m.get("hosts")!) : context.hosts.map((h) => h.id);
  if ((kind === "partition" || kind === "clog" || kind === "link") && hosts.length < 2) {
    (m.get("hosts") ?? node).fail(`A ${kind} nemesis needs at least two hosts`);
  }
  const only = (key: string, wanted: string) => {
    if (m.has(key) && kind !== wanted) m.get(key)!.fail(`'${key}' only applies to a ${wanted} nemesis`);
  };
  only("silent", "crash");
  only("oneWay", "partition");
  only("link", "link");
  only("step", "clockStep");
  let spec: LinkSpec | undefined;
  if (kind === "link") {
    const l = m.require("link");
    spec = parseLinkSpec(l.map(LINK_KEYS), l);
  }
  const stepUs = kind === "clockStep" ? m.require("step").range("duration") : undefined;
  return {
    kind,
    ratePerSec,
    durationUs,
    hosts,
    silent: m.get("silent")?.boolean() ?? false,
    oneWay: m.get("oneWay")?.boolean() ?? false,
    ...(spec === undefined ? {} : { spec }),
    ...(stepUs === undefined ? {} : { stepUs }),
    line: node.line,
  };
}

function parseWorkloads(node: ConfigNode | undefined, context: ParseContext): WorkloadUse[] {
  if (node === undefined || node.kind === "null") return [];
  const known = listWorkloads().map((w) => w.name);
  const map = node.map();
  return map.keys.map((name) => {
    const value = map.get(name)!;
    const definition = getWorkload(name);
    if (definition === undefined) {
      return value.fail(`Unknown workload '${name}' (known: ${known.join(", ") || "none"})`);
    }
    return { name, config: definition.parse(value, context), line: value.line };
  });
}

function parseChecks(node: ConfigNode | undefined, context: ParseContext): CheckUse[] {
  if (node === undefined || node.kind === "null") return [];
  const known = listChecks().map((c) => c.name);
  return node.list().map((item) => {
    let name: string;
    let params: ConfigNode | undefined;
    if (item.kind === "map") {
      const map = item.map();
      if (map.keys.length !== 1) item.fail("Write a check as a name or as { name: parameters }");
      name = map.keys[0]!;
      params = map.get(name);
    } else name = item.string();
    const definition = getCheck(name);
    if (definition === undefined) return item.fail(`Unknown check '${name}' (known: ${known.join(", ")})`);
    if (params !== undefined && definition.parse === undefined && params.kind !== "null") {
      params.fail(`The check '${name}' takes no parameters`);
    }
    const parsed = definition.parse?.(params?.kind === "null" ? undefined : params, context);
    return { name, params: parsed, line: item.line };
  });
}

function parseReport(node: ConfigNode | undefined, endUs: number): Scenario["report"] {
  const defaultSample = Math.max(1000, Math.ceil(endUs / 200 / 1000) * 1000);
  if (node === undefined || node.kind === "null") return { formats: ["json", "html"], sampleEveryUs: defaultSample };
  const m = node.map(["formats", "sample"]);
  const formats = m.get("formats")?.listOrOne().map((f) => f.oneOf(["json", "html"] as const)) ?? ["json", "html"];
  if (!formats.includes("json")) m.get("formats")!.fail("The json format is always written (replay reads it)");
  const sampleEveryUs = m.get("sample")?.duration({ min: 1000 }) ?? defaultSample;
  if (endUs / sampleEveryUs > 100_000) m.get("sample")!.fail("The sample interval gives more than 100000 points");
  return { formats: [...new Set(formats)], sampleEveryUs };
}

function parseSimulation(node: ConfigNode | undefined): SimulationSettings {
  if (node === undefined || node.kind === "null") return { asyncMode: "auto", tcp: {} };
  const m = node.map(["asyncMode", "maxEvents", "tcp"]);
  const asyncMode = m.get("asyncMode")?.oneOf(["auto", "always"] as const) ?? "auto";
  const maxEvents = m.get("maxEvents")?.number({ integer: true, min: 1, max: 2 ** 50 });
  const tcp: Record<string, number> = {};
  const t = m.get("tcp");
  if (t !== undefined && t.kind !== "null") {
    const tm = t.map(["maxSegment", "window", "highWater", "lowWater", "maxBuffered", "rto", "userTimeout"]);
    const sizes: Array<[string, keyof TcpModelOptions]> = [
      ["maxSegment", "maxSegmentBytes"],
      ["window", "windowBytes"],
      ["highWater", "highWaterBytes"],
      ["lowWater", "lowWaterBytes"],
      ["maxBuffered", "maxBufferedBytes"],
    ];
    for (const [key, option] of sizes) {
      if (tm.has(key)) tcp[option] = tm.get(key)!.size({ min: key === "lowWater" ? 0 : 1 });
    }
    if (tm.has("rto")) tcp.rtoUs = tm.get("rto")!.duration({ min: 1 });
    if (tm.has("userTimeout")) tcp.userTimeoutUs = tm.get("userTimeout")!.duration({ min: 1 });
  }
  return { asyncMode, ...(maxEvents === undefined ? {} : { maxEvents }), tcp };
}
