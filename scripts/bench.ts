/**
 * Runs every benchmark in test/bench/ (`deno task bench`), each under Deno and, when `bun` is on
 * PATH, under Bun. Each benchmark prints its own JSON lines. `deno task bench NAME` runs the
 * benchmarks whose file name contains NAME.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import process from "node:process";

const filter = process.argv[2] ?? "";
const files = readdirSync("test/bench").filter((f) => f.endsWith("_bench.ts") && f.includes(filter)).sort();
if (files.length === 0) {
  console.error(`bench: no benchmark in test/bench matches '${filter}'`);
  process.exit(2);
}
const hasBun = spawnSync("bun", ["--version"], { stdio: "ignore" }).status === 0;
let failed = 0;
for (const file of files) {
  for (
    const [runtime, args] of [["deno", ["run", "-A"]], ...(hasBun ? [["bun", []]] : [])] as Array<[string, string[]]>
  ) {
    console.error(`bench: ${runtime} test/bench/${file}`);
    const result = spawnSync(runtime, [...args, `test/bench/${file}`], { stdio: "inherit" });
    if (result.status !== 0) failed++;
  }
}
process.exitCode = failed === 0 ? 0 : 1;
