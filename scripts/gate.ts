/**
 * The whole CI gate (`deno task ci`): format, lint, the sans-IO rule, type check, the test suite
 * under Deno and under Bun, and a smoke test of the `bun build --compile` executable.
 * Streams every step's output, then prints a step table and, as the very last line,
 * `N passed, N failed` (tests of both runtimes plus failed non-test steps). Exits 1 on any failure.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

interface StepResult {
  readonly name: string;
  readonly ok: boolean;
  readonly passed: number;
  readonly failed: number;
  readonly seconds: number;
  readonly note: string;
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const env = { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" };

function exec(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    process.stdout.write(`\n$ ${[command, ...args].join(" ")}\n`);
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const take = (chunk: Uint8Array, sink: NodeJS.WriteStream) => {
      sink.write(chunk);
      output += new TextDecoder().decode(chunk);
    };
    child.stdout.on("data", (chunk) => take(chunk, process.stdout));
    child.stderr.on("data", (chunk) => take(chunk, process.stderr));
    child.on("error", (error) => {
      output += `\n${error.message}`;
      resolve({ code: 127, output });
    });
    child.on("close", (code) => resolve({ code: code ?? 1, output: output.replace(ANSI, "") }));
  });
}

async function step(
  name: string,
  command: string,
  args: string[],
  count?: (output: string) => [number, number] | undefined,
): Promise<StepResult> {
  const started = performance.now();
  const { code, output } = await exec(command, args);
  const seconds = (performance.now() - started) / 1000;
  if (count === undefined) {
    return {
      name,
      ok: code === 0,
      passed: 0,
      failed: code === 0 ? 0 : 1,
      seconds,
      note: code === 0 ? "" : `exit ${code}`,
    };
  }
  const counted = count(output);
  if (counted === undefined) {
    return { name, ok: false, passed: 0, failed: 1, seconds, note: `no test summary (exit ${code})` };
  }
  const [passed, failed] = counted;
  // A runner that exits non-zero with no failed test (a load error, say) still fails the gate.
  const extra = code !== 0 && failed === 0 ? 1 : 0;
  return {
    name,
    ok: code === 0 && failed === 0,
    passed,
    failed: failed + extra,
    seconds,
    note: extra ? `exit ${code}` : "",
  };
}

/** `ok | 12 passed (3 steps) | 0 failed` from `deno test`. */
function denoCounts(output: string): [number, number] | undefined {
  const match = /(?:ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?/.exec(
    output,
  );
  if (!match) return undefined;
  return [Number(match[1]) + Number(match[2] ?? 0), Number(match[3]) + Number(match[4] ?? 0)];
}

/** ` 12 pass` / ` 0 fail` from `bun test`. */
function bunCounts(output: string): [number, number] | undefined {
  const pass = /^\s*(\d+) pass$/m.exec(output);
  const fail = /^\s*(\d+) fail$/m.exec(output);
  if (!pass && !fail) return undefined;
  return [Number(pass?.[1] ?? 0), Number(fail?.[1] ?? 0)];
}

/** Every directory holding TypeScript that `deno check` should see. */
function checkRoots(): string[] {
  return ["src", "sim", "test", "scripts"].filter((dir) =>
    existsSync(dir) && statSync(dir).isDirectory() && readdirSync(dir).length > 0
  );
}

const binary = join("dist", process.platform === "win32" ? "qeynos.exe" : "qeynos");
const results: StepResult[] = [];
results.push(await step("fmt", "deno", ["fmt", "--check"]));
results.push(await step("lint", "deno", ["lint"]));
results.push(await step("check", "deno", ["check", ...checkRoots()]));
results.push(await step("test (deno)", "deno", ["test", "-A", "--parallel", "test/"], denoCounts));
results.push(await step("test (bun)", "bun", ["test", "--timeout", "600000", "./test/"], bunCounts));
results.push(await step("compile (bun)", "deno", ["task", "--quiet", "compile:bun"]));
if (results.at(-1)!.ok) {
  const version = JSON.parse(readFileSync("package.json", "utf8")).version;
  const smoke = await step("binary --version", binary, ["--version"]);
  const wrong = smoke.ok && !(await exec(binary, ["--version"])).output.includes(version);
  results.push(wrong ? { ...smoke, ok: false, failed: 1, note: `does not print ${version}` } : smoke);
  results.push(await step("binary doctor", binary, ["doctor"]));
  // The worker thread of a sharded simulation is the executable's second entry point.
  results.push(
    await step("binary shards", binary, [
      "bench",
      "zone",
      "--sim",
      "--bots",
      "6",
      "--seconds",
      "1",
      "--warmup",
      "0",
      "--shards",
      "2",
    ]),
  );
}

console.log("\nstep               result  time");
for (const r of results) {
  const tally = r.passed + r.failed > 1 || r.name.startsWith("test") ? ` ${r.passed} passed, ${r.failed} failed` : "";
  console.log(
    `${r.name.padEnd(18)} ${(r.ok ? "ok" : "FAIL").padEnd(6)} ${r.seconds.toFixed(1).padStart(5)}s${tally}${
      r.note ? ` (${r.note})` : ""
    }`,
  );
}
const passed = results.reduce((sum, r) => sum + r.passed, 0);
const failed = results.reduce((sum, r) => sum + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && results.every((r) => r.ok) ? 0 : 1;
