/**
 * Link specifications: what one direction of a simulated (or `qeynos netem`) link does to datagrams.
 * All times are integer microseconds, sizes bytes, bandwidth bits per second.
 * @module
 */
import type { SimRng } from "./rng.ts";
import { pow } from "../src/platform/portable_math.ts";

/** A one-way delay distribution. Every variant has a lower bound, reported by {@linkcode minDelayUs}. */
export type DelayDist =
  | { readonly dist: "constant"; readonly value: number }
  | { readonly dist: "uniform"; readonly min: number; readonly max: number }
  /** Normal, clamped below at `min` (default 0). */
  | { readonly dist: "normal"; readonly mean: number; readonly sd: number; readonly min?: number }
  /** `min` (default 0) plus an exponential with mean `mean`. */
  | { readonly dist: "exponential"; readonly mean: number; readonly min?: number }
  /** Pareto with scale (the minimum) and shape α; heavy-tailed for α ≤ 2. Capped at `max` (default 60 s). */
  | { readonly dist: "pareto"; readonly scale: number; readonly shape: number; readonly max?: number }
  /** A weighted mixture. */
  | { readonly dist: "mix"; readonly of: readonly { readonly weight: number; readonly delay: number | DelayDist }[] };

/** Datagram loss: a probability (Bernoulli) or a Gilbert-Elliott two-state burst model. */
export type LossSpec =
  | number
  | { readonly model: "bernoulli"; readonly p: number }
  | {
    readonly model: "gilbert";
    /** Probability of moving good → bad, per datagram. */
    readonly p: number;
    /** Probability of moving bad → good, per datagram. */
    readonly r: number;
    /** Loss probability in the bad state; default 1. */
    readonly bad?: number;
    /** Loss probability in the good state; default 0. */
    readonly good?: number;
  };

/** One direction of a link. Every field is optional; the defaults are a perfect zero-delay link. */
export interface LinkSpec {
  /** Propagation delay: a constant (µs) or a distribution. Default 0. */
  readonly latency?: number | DelayDist;
  /** Extra uniform delay in `[0, jitter]` µs added to every datagram. Default 0. */
  readonly jitter?: number;
  readonly loss?: LossSpec;
  /** Probability that a datagram is delivered twice (the copy gets its own delay). */
  readonly dup?: number;
  /** Probability that a datagram has bits flipped. */
  readonly corrupt?: number;
  /** Bits flipped in a corrupted datagram; default 1. */
  readonly corruptBits?: number;
  /** Largest datagram carried, in bytes; 0 (default) means no limit. */
  readonly mtu?: number;
  /** What happens to a datagram over the MTU; default `"drop"`. */
  readonly mtuMode?: "drop" | "truncate";
  /**
   * Probability that a datagram leaves the link's FIFO order and is held `reorderDelay` µs longer,
   * so that later datagrams overtake it. Without it, jitter never reorders.
   */
  readonly reorder?: number;
  /** Extra delay of a reordered datagram; default `max(2 * jitter, 1000)` µs. */
  readonly reorderDelay?: number;
  /** Bottleneck bandwidth in bits per second; 0 (default) means unlimited. */
  readonly bandwidth?: number;
  /** Drop-tail queue bound in bytes in front of the bottleneck; default 65536. Only with `bandwidth`. */
  readonly queueBytes?: number;
  /** Bytes added to each datagram for serialization time (IP + UDP headers); default 28. */
  readonly overhead?: number;
}

/** Why a datagram was not delivered. */
export const DROP_CAUSES = [
  "partition",
  "clog_overflow",
  "loss",
  "mtu",
  "queue",
  "host_down",
  "paused_overflow",
  "no_socket",
] as const;

/** One of {@linkcode DROP_CAUSES}. */
export type DropCause = typeof DROP_CAUSES[number];

/** Index of each drop cause in counters. */
export const DROP = Object.fromEntries(DROP_CAUSES.map((c, i) => [c, i])) as { readonly [K in DropCause]: number };

/** Thrown by {@linkcode validateLinkSpec} with the path of the offending field. */
export class LinkSpecError extends Error {
  readonly code = "SIM_BAD_LINK_SPEC";
  /** Field path, e.g. `["latency", "sd"]`. */
  readonly path: readonly (string | number)[];
  constructor(message: string, path: readonly (string | number)[]) {
    super(message);
    this.name = "LinkSpecError";
    this.path = path;
  }
}

const LINK_KEYS = new Set([
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
  "queueBytes",
  "overhead",
]);

/** Largest delay any distribution may be configured with (1 hour): keeps virtual times far from 2^53. */
export const MAX_DELAY_US = 3_600_000_000;

function fail(message: string, path: readonly (string | number)[]): never {
  throw new LinkSpecError(message, path);
}

function probability(value: unknown, path: (string | number)[]): void {
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
    fail(`Invalid probability: ${JSON.stringify(value)} is not a number in 0..1`, path);
  }
}

function nonNegative(value: unknown, path: (string | number)[], max = MAX_DELAY_US): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > max) {
    fail(`Invalid value: ${JSON.stringify(value)} is not a number in 0..${max}`, path);
  }
}

function validateDelay(value: unknown, path: (string | number)[]): void {
  if (typeof value === "number") return nonNegative(value, path);
  if (typeof value !== "object" || value === null) fail(`Invalid delay: expected a number or a distribution`, path);
  const d = value as Record<string, unknown>;
  const allowed: Record<string, string[]> = {
    constant: ["value"],
    uniform: ["min", "max"],
    normal: ["mean", "sd", "min"],
    exponential: ["mean", "min"],
    pareto: ["scale", "shape", "max"],
    mix: ["of"],
  };
  const keys = allowed[String(d.dist)];
  if (keys === undefined) {
    fail(`Invalid delay distribution: '${String(d.dist)}' is not one of ${Object.keys(allowed).join(", ")}`, [
      ...path,
      "dist",
    ]);
  }
  for (const key of Object.keys(d)) {
    if (key !== "dist" && !keys.includes(key)) fail(`Unknown key '${key}' in a ${d.dist} distribution`, [...path, key]);
  }
  switch (d.dist) {
    case "constant":
      return nonNegative(d.value, [...path, "value"]);
    case "uniform":
      nonNegative(d.min, [...path, "min"]);
      nonNegative(d.max, [...path, "max"]);
      if ((d.max as number) < (d.min as number)) fail(`Invalid uniform delay: max is below min`, [...path, "max"]);
      return;
    case "normal":
      nonNegative(d.mean, [...path, "mean"]);
      nonNegative(d.sd, [...path, "sd"]);
      if (d.min !== undefined) nonNegative(d.min, [...path, "min"]);
      return;
    case "exponential":
      nonNegative(d.mean, [...path, "mean"]);
      if (d.min !== undefined) nonNegative(d.min, [...path, "min"]);
      return;
    case "pareto":
      nonNegative(d.scale, [...path, "scale"]);
      if (typeof d.shape !== "number" || !(d.shape > 0 && d.shape <= 100)) {
        fail(`Invalid Pareto shape: ${JSON.stringify(d.shape)} is not a number in (0, 100]`, [...path, "shape"]);
      }
      if (d.max !== undefined) nonNegative(d.max, [...path, "max"]);
      return;
    case "mix": {
      if (!Array.isArray(d.of) || d.of.length === 0) {
        fail(`Invalid mixture: 'of' must be a non-empty list`, [...path, "of"]);
      }
      d.of.forEach((part: unknown, i: number) => {
        const where = [...path, "of", i];
        if (typeof part !== "object" || part === null) fail(`Invalid mixture part: expected { weight, delay }`, where);
        const p = part as Record<string, unknown>;
        for (const key of Object.keys(p)) {
          if (key !== "weight" && key !== "delay") fail(`Unknown key '${key}' in a mixture part`, [...where, key]);
        }
        if (typeof p.weight !== "number" || !(p.weight > 0) || !Number.isFinite(p.weight)) {
          fail(`Invalid mixture weight: ${JSON.stringify(p.weight)} is not a positive number`, [...where, "weight"]);
        }
        validateDelay(p.delay, [...where, "delay"]);
      });
    }
  }
}

/** Checks a link spec; throws {@linkcode LinkSpecError} naming the first bad field. */
export function validateLinkSpec(spec: unknown): asserts spec is LinkSpec {
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    fail(`Invalid link spec: expected an object`, []);
  }
  const s = spec as Record<string, unknown>;
  for (const key of Object.keys(s)) if (!LINK_KEYS.has(key)) fail(`Unknown link key '${key}'`, [key]);
  if (s.latency !== undefined) validateDelay(s.latency, ["latency"]);
  if (s.jitter !== undefined) nonNegative(s.jitter, ["jitter"]);
  if (s.loss !== undefined) {
    const loss = s.loss;
    if (typeof loss === "number") probability(loss, ["loss"]);
    else if (typeof loss === "object" && loss !== null) {
      const l = loss as Record<string, unknown>;
      const keys = l.model === "bernoulli" ? ["p"] : l.model === "gilbert" ? ["p", "r", "bad", "good"] : undefined;
      if (keys === undefined) {
        fail(`Invalid loss model: '${String(l.model)}' is not bernoulli or gilbert`, ["loss", "model"]);
      }
      for (const key of Object.keys(l)) {
        if (key !== "model" && !keys.includes(key)) fail(`Unknown key '${key}' in a ${l.model} loss`, ["loss", key]);
      }
      probability(l.p, ["loss", "p"]);
      if (l.model === "gilbert") {
        probability(l.r, ["loss", "r"]);
        if (l.bad !== undefined) probability(l.bad, ["loss", "bad"]);
        if (l.good !== undefined) probability(l.good, ["loss", "good"]);
      }
    } else fail(`Invalid loss: expected a probability or { model, ... }`, ["loss"]);
  }
  for (const key of ["dup", "corrupt", "reorder"] as const) if (s[key] !== undefined) probability(s[key], [key]);
  if (s.corruptBits !== undefined) positiveInteger(s.corruptBits, ["corruptBits"], 64);
  if (s.mtu !== undefined) nonNegativeInteger(s.mtu, ["mtu"], 1 << 20);
  if (s.mtuMode !== undefined && s.mtuMode !== "drop" && s.mtuMode !== "truncate") {
    fail(`Invalid mtuMode: '${String(s.mtuMode)}' is not drop or truncate`, ["mtuMode"]);
  }
  if (s.reorderDelay !== undefined) nonNegative(s.reorderDelay, ["reorderDelay"]);
  if (s.bandwidth !== undefined) nonNegative(s.bandwidth, ["bandwidth"], 1e12);
  if (s.queueBytes !== undefined) nonNegativeInteger(s.queueBytes, ["queueBytes"], 1 << 30);
  if (s.overhead !== undefined) nonNegativeInteger(s.overhead, ["overhead"], 1024);
}

function nonNegativeInteger(value: unknown, path: (string | number)[], max: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
    fail(`Invalid value: ${JSON.stringify(value)} is not an integer in 0..${max}`, path);
  }
}

function positiveInteger(value: unknown, path: (string | number)[], max: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    fail(`Invalid value: ${JSON.stringify(value)} is not an integer in 1..${max}`, path);
  }
}

/** The smallest delay `latency` can produce, in µs (jitter only adds). */
export function minDelayUs(latency: number | DelayDist | undefined): number {
  if (latency === undefined) return 0;
  if (typeof latency === "number") return Math.round(latency);
  switch (latency.dist) {
    case "constant":
      return Math.round(latency.value);
    case "uniform":
      return Math.round(latency.min);
    case "normal":
    case "exponential":
      return Math.round(latency.min ?? 0);
    case "pareto":
      return Math.round(latency.scale);
    case "mix":
      return Math.min(...latency.of.map((p) => minDelayUs(p.delay)));
  }
}

/** A function drawing one delay in integer µs. */
export type DelaySampler = (rng: SimRng) => number;

/** Compiles a delay spec to a sampler (0 draws for a constant). */
export function delaySampler(latency: number | DelayDist | undefined): DelaySampler {
  if (latency === undefined) return () => 0;
  if (typeof latency === "number") {
    const v = Math.round(latency);
    return () => v;
  }
  switch (latency.dist) {
    case "constant": {
      const v = Math.round(latency.value);
      return () => v;
    }
    case "uniform": {
      const { min, max } = latency;
      return (rng) => Math.round(min + rng.float() * (max - min));
    }
    case "normal": {
      const { mean, sd } = latency;
      const min = latency.min ?? 0;
      return (rng) => Math.round(Math.min(MAX_DELAY_US, Math.max(min, mean + sd * rng.normal())));
    }
    case "exponential": {
      const { mean } = latency;
      const min = latency.min ?? 0;
      return (rng) => Math.round(Math.min(MAX_DELAY_US, min + rng.exponential(mean)));
    }
    case "pareto": {
      const { scale, shape } = latency;
      const max = latency.max ?? 60_000_000;
      const inverse = -1 / shape;
      return (rng) => Math.round(Math.min(max, scale * pow(1 - rng.float(), inverse)));
    }
    case "mix": {
      const parts = latency.of.map((p) => ({ weight: p.weight, sample: delaySampler(p.delay) }));
      const total = parts.reduce((sum, p) => sum + p.weight, 0);
      return (rng) => {
        let pick = rng.float() * total;
        for (const part of parts) {
          pick -= part.weight;
          if (pick < 0) return part.sample(rng);
        }
        return parts[parts.length - 1]!.sample(rng);
      };
    }
  }
}

/** Field-wise merge: `over`'s fields replace `base`'s. */
export function mergeLinkSpecs(base: LinkSpec, over: LinkSpec): LinkSpec {
  return { ...base, ...over };
}
