/**
 * Zone capacity (the same measurements as `qeynos bench zone`): one JSON line per run.
 *
 * - 1,000 simulated bots at 10 Hz in one zone (target: simWallRatio ≥ 1), in one thread and with
 *   `--shards 2` in two;
 * - 300 real bots over loopback, the bots in a second process (target: moveLatencyMs.p99 ≤ 50).
 *
 *   deno run -A test/bench/zone_bench.ts [--sim-bots 1000] [--live-bots 300] [--seconds 10] [--shards 1|2] [--repeat 1]
 *   bun test/bench/zone_bench.ts
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { benchZoneLive, benchZoneSim } from "../../src/cli/bench_zone.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    "sim-bots": { type: "string", default: "1000" },
    "live-bots": { type: "string", default: "300" },
    seconds: { type: "string", default: "10" },
    spread: { type: "string", default: "1000" },
    repeat: { type: "string", default: "1" },
    shards: { type: "string", default: "1" },
  },
});
const common = { hz: 10, seconds: Number(values.seconds), spread: Number(values.spread), warmupSeconds: 3, seed: 1 };
for (let i = 0; i < Number(values.repeat); i++) {
  if (Number(values["sim-bots"]) > 0) {
    const shards = values.shards === "2" ? 2 : 1;
    console.log(JSON.stringify(await benchZoneSim({ ...common, bots: Number(values["sim-bots"]), shards })));
  }
  if (Number(values["live-bots"]) > 0) {
    console.log(JSON.stringify(await benchZoneLive({ ...common, bots: Number(values["live-bots"]) })));
  }
}
