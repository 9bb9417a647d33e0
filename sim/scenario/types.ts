/**
 * The parsed form of a scenario file.
 * @module
 */
import type { TcpModelOptions } from "../_kernel.ts";
import type { LinkSpec } from "../link_spec.ts";
import type { ConfigNode } from "./config_node.ts";

/** One host after `count` expansion. */
export interface ScenarioHost {
  readonly id: string;
  readonly role: string;
  /** The `id` written in the file (`bot` for `bot1`…`bot100`). */
  readonly group: string;
  readonly address?: string;
  /** Role-specific settings (`zone: qeynos_harbor`, `params: {...}`). */
  readonly params: Readonly<Record<string, unknown>>;
  readonly clockDriftPpm?: number;
}

/** A link override: every direction from a host matching `from` to one matching `to`. */
export interface LinkOverride {
  readonly from: readonly string[];
  readonly to: readonly string[];
  readonly spec: LinkSpec;
  /** Also the reverse direction. */
  readonly both: boolean;
}

/** What a fault does. Host lists hold resolved host ids. */
export type FaultAction =
  | { readonly kind: "partition"; readonly groups: readonly (readonly string[])[]; readonly oneWay: boolean }
  | { readonly kind: "heal" }
  | { readonly kind: "crash"; readonly hosts: readonly string[]; readonly silent: boolean }
  | { readonly kind: "restart"; readonly hosts: readonly string[] }
  | { readonly kind: "pause"; readonly hosts: readonly string[] }
  | { readonly kind: "resume"; readonly hosts: readonly string[] }
  | { readonly kind: "clog"; readonly from: readonly string[]; readonly to: readonly string[] }
  | { readonly kind: "unclog"; readonly from: readonly string[]; readonly to: readonly string[] }
  | { readonly kind: "link"; readonly from: readonly string[]; readonly to: readonly string[]; readonly spec: LinkSpec }
  | { readonly kind: "clockDrift"; readonly hosts: readonly string[]; readonly ppm: number }
  | { readonly kind: "clockStep"; readonly hosts: readonly string[]; readonly byUs: number }
  | { readonly kind: "resetTcp"; readonly hosts: readonly string[]; readonly peers?: readonly string[] };

/** Kinds of {@linkcode FaultAction}. */
export type FaultKind = FaultAction["kind"];

/** A fault at a time, optionally undone after `forUs`. */
export interface Fault {
  readonly atUs: number;
  readonly forUs?: number;
  readonly action: FaultAction;
  /** `"plan"` (the file's `faults`) or `"nemesis"` (sampled). */
  readonly source: "plan" | "nemesis";
  /** Line in the scenario file. */
  readonly line: number;
}

/** Random faults of one kind at a rate during the chaos phase. */
export interface NemesisSpec {
  readonly kind: "partition" | "crash" | "pause" | "clog" | "link" | "resetTcp" | "clockStep";
  /** Mean faults per second (exponential gaps). */
  readonly ratePerSec: number;
  /** How long each fault lasts, µs `[low, high]`. */
  readonly durationUs: readonly [number, number];
  /** Hosts the nemesis may hit (resolved ids). */
  readonly hosts: readonly string[];
  readonly silent: boolean;
  readonly oneWay: boolean;
  /** For `link`: the degraded spec. */
  readonly spec?: LinkSpec;
  /** For `clockStep`: the step range, µs. */
  readonly stepUs?: readonly [number, number];
  readonly line: number;
}

/** A check to evaluate, with its parsed parameters. */
export interface CheckUse {
  readonly name: string;
  readonly params: unknown;
  readonly line: number;
}

/** A workload to install, with its parsed configuration. */
export interface WorkloadUse {
  readonly name: string;
  readonly config: unknown;
  readonly line: number;
}

/** Simulation settings of a scenario. */
export interface SimulationSettings {
  readonly asyncMode: "auto" | "always";
  readonly maxEvents?: number;
  readonly tcp: TcpModelOptions;
}

/** A validated scenario file. */
export interface Scenario {
  readonly version: 1;
  readonly name: string;
  readonly description: string;
  readonly seed: number | "random";
  readonly chaosUs: number;
  readonly healUs: number;
  readonly hosts: readonly ScenarioHost[];
  readonly linkDefault: LinkSpec;
  readonly overrides: readonly LinkOverride[];
  readonly faults: readonly Fault[];
  readonly nemesis: readonly NemesisSpec[];
  readonly workloads: readonly WorkloadUse[];
  readonly checks: readonly CheckUse[];
  readonly report: { readonly formats: readonly ("json" | "html")[]; readonly sampleEveryUs: number };
  readonly simulation: SimulationSettings;
  /** The file name, its text and the SHA-256 of the text. */
  readonly source: { readonly file: string; readonly text: string; readonly hash: string };
}

/** What `parse` functions of workloads and checks get besides their own node. */
export interface ParseContext {
  /** Hosts of the scenario (after `count` expansion). */
  readonly hosts: readonly ScenarioHost[];
  /** Resolves host patterns (`bot*`, `role:client`, ids); an unmatched pattern is an error at `node`. */
  hostsMatching(node: ConfigNode): string[];
}
