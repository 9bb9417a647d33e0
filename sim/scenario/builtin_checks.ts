/**
 * Checks that apply to any scenario. `run_completed`, `no_real_time_calls` and
 * `no_unhandled_errors` are always evaluated, listed or not.
 * @module
 */
import { registerCheck } from "./check_registry.ts";

/** Checks the runner adds to every scenario. */
export const ALWAYS_ON_CHECKS: readonly string[] = ["run_completed", "no_real_time_calls", "no_unhandled_errors"];

registerCheck({
  name: "run_completed",
  kind: "liveness",
  description: "the run reached its deadline: no stall (livelock or event budget) before the end",
  create(ctx) {
    return {
      finish() {
        const result = ctx.result;
        if (result === undefined) return;
        if (result.reason === "stall") ctx.fail(`The run stalled: ${result.stall ?? "no detail"}`);
        else ctx.pass(`ended by ${result.reason} at ${(result.simTimeUs / 1e6).toFixed(3)}s`);
      },
    };
  },
});

registerCheck({
  name: "no_real_time_calls",
  kind: "safety",
  description: "simulated code never read the real clock, real timers or real randomness",
  create(ctx) {
    return {
      finish() {
        const sim = ctx.sim;
        if (sim === undefined) return ctx.pass("not applicable to live runs");
        const { count, recorded } = sim.violations();
        if (count === 0) return ctx.pass("none");
        const first = recorded[0]!;
        const where = first.stack.split("\n").find((line) => line.includes("/")) ?? "";
        ctx.fail(`${count} call(s); first ${first.api}${where === "" ? "" : ` ${where.trim()}`}`, first.timeUs);
      },
    };
  },
});

registerCheck({
  name: "no_unhandled_errors",
  kind: "safety",
  description: "no simulated code threw an error or rejected a promise it handed to the simulation",
  create(ctx) {
    return {
      finish() {
        const sim = ctx.sim;
        if (sim === undefined) return ctx.pass("not applicable to live runs");
        const { count, recorded } = sim.errors();
        if (count === 0) return ctx.pass("none");
        const first = recorded[0]!;
        ctx.fail(`${count} error(s); first in ${first.host || "a scheduled callback"}: ${first.message}`, first.timeUs);
      },
    };
  },
});

registerCheck({
  name: "no_late_async",
  kind: "safety",
  description: "every promise chain was visible to the simulation, so its effects happened at the right virtual time",
  create(ctx) {
    return {
      finish() {
        const late = ctx.sim?.lateAsyncCalls ?? 0;
        if (late === 0) ctx.pass("none");
        else {ctx.fail(
            `${late} Platform call(s) from promise chains the simulation was not given (try asyncMode: always)`,
          );}
      },
    };
  },
});

registerCheck({
  name: "partitions_respected",
  kind: "safety",
  description: "no datagram is delivered across an active partition",
  create(ctx) {
    const sim = ctx.sim;
    if (sim === undefined) return;
    let delivered = 0;
    sim.observe((event) => {
      if (event.type !== "deliver") return;
      delivered++;
      if (sim.isPartitioned(event.from, event.to)) {
        ctx.fail(`a datagram from ${event.from} reached ${event.to} across a partition`);
      }
    });
    return { finish: () => ctx.pass(`${delivered} deliveries checked`) };
  },
});

registerCheck<string[]>({
  name: "sometimes",
  kind: "liveness",
  description: "each named probe held at least once during the run (the scenario exercised that path)",
  parse(node) {
    if (node === undefined) return [];
    return node.listOrOne().map((item) => item.string());
  },
  create(ctx, names) {
    return {
      finish() {
        const probes = new Map(ctx.env.probes().map((p) => [p.name, p]));
        const missing = names.filter((name) => (probes.get(name)?.hits ?? 0) === 0);
        if (missing.length > 0) ctx.fail(`never seen: ${missing.join(", ")}`);
        else ctx.pass(names.map((n) => `${n} ×${probes.get(n)!.hits}`).join(", ") || "no probes named");
      },
    };
  },
});
