/**
 * `qeynos bench <target> …`: benchmarks that print JSON lines. Each target is a {@linkcode Command}
 * registered in one line of `TARGETS`.
 * @module
 */
import { eqstreamBenchTarget } from "./bench_eqstream.ts";
import { servertalkBenchTarget } from "./bench_servertalk.ts";
import { simBenchTarget } from "./bench_sim.ts";
import { type Command, UsageError } from "./command.ts";
import { zoneBenchTarget } from "./bench_zone.ts";

/** Every benchmark target, in the order `qeynos bench --help` lists them. */
export const TARGETS: readonly Command[] = [
  simBenchTarget,
  eqstreamBenchTarget,
  servertalkBenchTarget,
  zoneBenchTarget,
];

function usage(targets: readonly Command[]): string {
  const width = Math.max(...targets.map((t) => t.name.length));
  return [
    "Usage: qeynos bench <target> [options]",
    "",
    "Runs a benchmark; each prints JSON lines. qeynos bench <target> --help for its options.",
    "",
    "Targets:",
    ...targets.map((t) => `  ${t.name.padEnd(width)}  ${t.summary}`),
    "",
    "Options:",
    "  -h, --help  show this help",
  ].join("\n");
}

/** Builds the `bench` command over a list of targets. */
export function createBenchCommand(targets: readonly Command[]): Command {
  const help = usage(targets);
  return {
    name: "bench",
    summary: "benchmarks (sim, eqstream, …) printing JSON lines",
    help,
    run(args) {
      const [first, ...rest] = args;
      if (first === undefined) throw new UsageError("Missing benchmark target", help);
      if (first === "--help" || first === "-h") {
        console.log(help);
        return Promise.resolve(0);
      }
      const target = targets.find((t) => t.name === first);
      if (target === undefined) {
        throw new UsageError(
          first.startsWith("-") ? `Unknown option '${first}'` : `Unknown benchmark target '${first}'`,
          help,
        );
      }
      return target.run(rest);
    },
  };
}

/** `qeynos bench`. */
export const benchCommand: Command = createBenchCommand(TARGETS);
