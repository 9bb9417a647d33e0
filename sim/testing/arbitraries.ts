/**
 * fast-check arbitraries for link specs and fault plans. Plans are plain data (records of times,
 * kinds and hosts), so a failing property shrinks to a few faults with small numbers — unlike
 * `fc.scheduler` interleavings, which do not shrink.
 * @module
 */
import fc from "fast-check";
import type { DelayDist, LinkSpec, LossSpec } from "../link_spec.ts";

/** Bounds for {@linkcode arbLinkSpec}. */
export interface LinkSpecConstraints {
  /** Largest base latency, µs; default 100 ms. */
  readonly maxLatencyUs?: number;
  /** Largest loss probability; default 0.3. */
  readonly maxLoss?: number;
  /** Include bandwidth limits; default true. */
  readonly bandwidth?: boolean;
  /** Include MTU limits; default true. */
  readonly mtu?: boolean;
  /** Include corruption; default true. */
  readonly corrupt?: boolean;
}

const probability = (max: number) => fc.double({ min: 0, max, noNaN: true, noDefaultInfinity: true });

/** A delay distribution (every kind) with values up to `maxUs`. */
export function arbDelay(maxUs = 100_000): fc.Arbitrary<number | DelayDist> {
  const us = (min = 0) => fc.integer({ min, max: Math.max(min, maxUs) });
  const leaf: fc.Arbitrary<number | DelayDist> = fc.oneof(
    us(),
    us().map((value) => ({ dist: "constant" as const, value })),
    fc.tuple(us(), us()).map(([a, b]) => ({ dist: "uniform" as const, min: Math.min(a, b), max: Math.max(a, b) })),
    fc.record({ dist: fc.constant("normal" as const), mean: us(), sd: us(), min: us() }),
    fc.record({ dist: fc.constant("exponential" as const), mean: us(1), min: us() }),
    fc.record({
      dist: fc.constant("pareto" as const),
      scale: us(1),
      shape: fc.double({ min: 1.1, max: 4, noNaN: true }),
      max: fc.constant(maxUs * 20),
    }),
  );
  return fc.oneof(
    { weight: 5, arbitrary: leaf },
    {
      weight: 1,
      arbitrary: fc.array(fc.record({ weight: fc.integer({ min: 1, max: 10 }), delay: leaf }), {
        minLength: 1,
        maxLength: 3,
      })
        .map((of) => ({ dist: "mix" as const, of })),
    },
  );
}

/** A loss spec: Bernoulli (number or record) or Gilbert-Elliott. */
export function arbLoss(maxLoss = 0.3): fc.Arbitrary<LossSpec> {
  return fc.oneof(
    probability(maxLoss),
    probability(maxLoss).map((p) => ({ model: "bernoulli" as const, p })),
    fc.record({
      model: fc.constant("gilbert" as const),
      p: probability(Math.min(0.2, maxLoss)),
      r: fc.double({ min: 0.05, max: 1, noNaN: true }),
      bad: probability(1),
      good: probability(Math.min(0.05, maxLoss)),
    }),
  );
}

/** A link spec exercising every stage of the fault pipeline (each field optional). */
export function arbLinkSpec(constraints: LinkSpecConstraints = {}): fc.Arbitrary<LinkSpec> {
  const maxLatency = constraints.maxLatencyUs ?? 100_000;
  return fc.record(
    {
      latency: arbDelay(maxLatency),
      jitter: fc.integer({ min: 0, max: Math.floor(maxLatency / 4) }),
      loss: arbLoss(constraints.maxLoss ?? 0.3),
      dup: probability(0.1),
      ...(constraints.corrupt === false
        ? {}
        : { corrupt: probability(0.05), corruptBits: fc.integer({ min: 1, max: 4 }) }),
      ...(constraints.mtu === false
        ? {}
        : { mtu: fc.integer({ min: 64, max: 9000 }), mtuMode: fc.constantFrom("drop" as const, "truncate" as const) }),
      reorder: probability(0.1),
      reorderDelay: fc.integer({ min: 0, max: maxLatency }),
      ...(constraints.bandwidth === false ? {} : {
        bandwidth: fc.integer({ min: 100_000, max: 1_000_000_000 }),
        queueBytes: fc.integer({ min: 1500, max: 1_000_000 }),
      }),
    },
    { requiredKeys: [] },
  ) as fc.Arbitrary<LinkSpec>;
}

/** One step of a fault plan. Host names are indexes into the plan's host list. */
export type FaultStep =
  | {
    readonly kind: "partition";
    readonly atUs: number;
    readonly forUs: number;
    readonly cut: readonly number[];
    readonly oneWay: boolean;
  }
  | {
    readonly kind: "crash";
    readonly atUs: number;
    readonly forUs: number;
    readonly host: number;
    readonly silent: boolean;
  }
  | { readonly kind: "pause"; readonly atUs: number; readonly forUs: number; readonly host: number }
  | { readonly kind: "clog"; readonly atUs: number; readonly forUs: number; readonly from: number; readonly to: number }
  | {
    readonly kind: "link";
    readonly atUs: number;
    readonly forUs: number;
    readonly from: number;
    readonly to: number;
    readonly spec: LinkSpec;
  }
  | { readonly kind: "resetTcp"; readonly atUs: number; readonly host: number };

/** Kinds of {@linkcode FaultStep}. */
export type FaultStepKind = FaultStep["kind"];

/** Bounds for {@linkcode arbFaultPlan}. */
export interface FaultPlanConstraints {
  /** Number of hosts the plan refers to (indexes 0 … hosts-1). */
  readonly hosts: number;
  /** Faults start in `[0, chaosUs)`. */
  readonly chaosUs: number;
  readonly maxFaults?: number;
  /** Kinds to draw from; default all. */
  readonly kinds?: readonly FaultStepKind[];
  /** Longest fault, µs; default chaosUs. */
  readonly maxForUs?: number;
}

/** A fault plan: a list of timed faults, as data. */
export function arbFaultPlan(constraints: FaultPlanConstraints): fc.Arbitrary<FaultStep[]> {
  const n = constraints.hosts;
  const at = fc.integer({ min: 0, max: Math.max(0, constraints.chaosUs - 1) });
  const forUs = fc.integer({ min: 1, max: Math.max(1, constraints.maxForUs ?? constraints.chaosUs) });
  const host = fc.integer({ min: 0, max: n - 1 });
  const pair = fc.tuple(host, fc.integer({ min: 1, max: Math.max(1, n - 1) })).map(([from, d]) => ({
    from,
    to: (from + d) % n,
  }));
  const kinds = new Set(constraints.kinds ?? ["partition", "crash", "pause", "clog", "link", "resetTcp"]);
  const options: Array<fc.Arbitrary<FaultStep>> = [];
  if (kinds.has("partition") && n >= 2) {
    // `cut[i]` is host i's side (0 or 1); at least one host on each side.
    options.push(
      fc.record({
        atUs: at,
        forUs,
        oneWay: fc.boolean(),
        cut: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: n, maxLength: n }),
      })
        .filter((p) => p.cut.includes(0) && p.cut.includes(1))
        .map((p) => ({ kind: "partition" as const, ...p })),
    );
  }
  if (kinds.has("crash")) {
    options.push(
      fc.record({ atUs: at, forUs, host, silent: fc.boolean() }).map((p) => ({ kind: "crash" as const, ...p })),
    );
  }
  if (kinds.has("pause")) {
    options.push(fc.record({ atUs: at, forUs, host }).map((p) => ({ kind: "pause" as const, ...p })));
  }
  if (kinds.has("clog") && n >= 2) {
    options.push(
      fc.record({ atUs: at, forUs, pair }).map(({ pair: q, ...p }) => ({ kind: "clog" as const, ...p, ...q })),
    );
  }
  if (kinds.has("link") && n >= 2) {
    options.push(
      fc.record({ atUs: at, forUs, pair, spec: arbLinkSpec({ bandwidth: false, mtu: false }) })
        .map(({ pair: q, ...p }) => ({ kind: "link" as const, ...p, ...q })),
    );
  }
  if (kinds.has("resetTcp")) {
    options.push(fc.record({ atUs: at, host }).map((p) => ({ kind: "resetTcp" as const, ...p })));
  }
  if (options.length === 0) return fc.constant([]);
  return fc.array(fc.oneof(...options), { maxLength: constraints.maxFaults ?? 6 });
}
