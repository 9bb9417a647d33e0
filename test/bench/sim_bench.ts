/**
 * The simulator's speed (the same measurements as `qeynos bench sim`): one JSON line with
 * eventsPerSec, datagramsPerSec (through the whole fault pipeline) and simWallRatio.
 *
 *   deno run -A test/bench/sim_bench.ts [--repeat 3]
 *   bun test/bench/sim_bench.ts
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { benchSim } from "../../src/cli/bench_sim.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { repeat: { type: "string", default: "3" } },
});
const result = await benchSim({
  repeat: Number(values.repeat),
  events: 3_000_000,
  datagrams: 2_000_000,
  simSeconds: 120,
});
console.log(JSON.stringify(result));
