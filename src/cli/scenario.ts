/**
 * `qeynos scenario run|replay|check-determinism|list`: runs scenario files in the simulator (or
 * live on loopback), writes reports, replays them, and proves determinism.
 * @module
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { EVENT_KIND_NAMES } from "../../sim/_kernel.ts";
import { ScenarioError } from "../../sim/scenario/config_node.ts";
import { listChecks } from "../../sim/scenario/check_registry.ts";
import { loadScenario, readScenarioFile } from "../../sim/scenario/loader.ts";
import { renderReportHtml, renderSummaryHtml, type RunsSummary } from "../../sim/scenario/report_html.ts";
import { randomSeed, runScenario, type ScenarioReport } from "../../sim/scenario/runner.ts";
import type { Scenario } from "../../sim/scenario/types.ts";
import type { Simulation } from "../../sim/simulation.ts";
import { listWorkloads } from "../../sim/workloads/registry.ts";
import "../../sim/workloads/all.ts";
import { liveEnvironment } from "./_live_scenario.ts";
import { type Command, integerFlag, parseCommandArgs, UsageError } from "./command.ts";

const HELP = `Usage: qeynos scenario <subcommand> [options]

Runs scenario files (YAML: topology, links, faults, workload, checks) in the
deterministic simulator and writes report.json and report.html.

Subcommands:
  run FILE [--seed N] [--runs K] [--out DIR] [--live] [--verbose]
      Run the scenario. Exit 0 when every check passes, 1 when one fails,
      2 for invalid input. --runs K runs K seeds (N, N+1, …) and writes one
      report per seed plus summary.json and summary.html.
      --live runs on real loopback sockets through impairment proxies
      (real time; the report is marked non-deterministic).
  replay REPORT.json
      Rerun the exact run a report describes and confirm its trace hash.
  check-determinism FILE [--seed N] [--events N]
      Run twice; print the shared trace hash, or the first divergent event.
  list
      The workloads and checks scenario files can name.

Options:
  --seed N      seed (an integer, or "random"); default the file's seed
  --runs K      number of seeds to run (default 1)
  --out DIR     output directory (default out/scenario/<name>)
  --live        real sockets on loopback instead of the simulator
  --verbose     print warnings and errors logged by simulated hosts
  --events N    events recorded for comparison (check-determinism; default 5000000)
  -h, --help    show this help

See docs/scenarios.md for the file format.`;

const OPTIONS = {
  seed: { type: "string" },
  runs: { type: "string" },
  out: { type: "string" },
  live: { type: "boolean" },
  verbose: { type: "boolean" },
  events: { type: "string" },
} as const;

function parseSeed(text: string | undefined): number | "random" | undefined {
  if (text === undefined) return undefined;
  if (text === "random") return "random";
  return integerFlag("seed", text, 0, [0, Number.MAX_SAFE_INTEGER], HELP);
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "scenario";
}

function checkLine(report: ScenarioReport): string[] {
  const width = Math.max(...report.checks.map((c) => c.name.length));
  return report.checks.map((c) =>
    `  ${c.passed ? "pass" : "FAIL"}  ${c.name.padEnd(width)}  ${
      c.firstViolationUs === undefined ? "" : `at ${(c.firstViolationUs / 1e6).toFixed(3)}s: `
    }${c.detail}`
  );
}

async function writeReport(dir: string, report: ScenarioReport, formats: readonly string[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "report.json"), JSON.stringify(report, null, 1) + "\n");
  if (formats.includes("html")) await writeFile(join(dir, "report.html"), renderReportHtml(report));
}

function progress(done: number, total: number, failed: number, startedMs: number): string {
  const width = 28;
  const filled = Math.round((done / total) * width);
  const elapsed = (performance.now() - startedMs) / 1000;
  const eta = done === 0 ? "?" : `${Math.round((elapsed / done) * (total - done))}s`;
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} seeds, ${failed} failed, ETA ${eta}`;
}

async function runCommand(file: string, values: Record<string, unknown>): Promise<number> {
  const scenario = await readScenarioFile(file);
  const seedFlag = parseSeed(values.seed as string | undefined);
  const runs = integerFlag("runs", values.runs as string | undefined, 1, [1, 100_000], HELP);
  const live = values.live === true;
  if (live && runs > 1) throw new UsageError("--live runs one seed at a time", HELP);
  const base = seedFlag ?? scenario.seed;
  const firstSeed = base === "random" ? randomSeed() : base;
  const seeds = Array.from({ length: runs }, (_, i) => base === "random" && i > 0 ? randomSeed() : firstSeed + i);
  const out = (values.out as string | undefined) ?? join("out", "scenario", slug(scenario.name));
  const onLog = values.verbose === true ? (line: string) => console.error(line) : undefined;
  const started = performance.now();
  const summary: RunsSummary["runs"][number][] = [];
  const tty = process.stderr.isTTY === true;
  for (const [i, seed] of seeds.entries()) {
    const run = await runScenario(scenario, {
      seed,
      ...(onLog === undefined ? {} : { onLog }),
      ...(live ? { environment: liveEnvironment } : {}),
    });
    const dir = runs === 1 ? out : join(out, `seed-${seed}`);
    run.report.replay = live
      ? "(live runs are not deterministic and cannot be replayed)"
      : `qeynos scenario replay ${join(dir, "report.json")}`;
    await writeReport(dir, run.report, scenario.report.formats);
    summary.push({
      seed,
      passed: run.passed,
      traceHash: run.report.traceHash,
      failedChecks: run.report.checks.filter((c) => !c.passed).map((c) => c.name),
      report: runs === 1 ? "report.html" : join(`seed-${seed}`, "report.html"),
    });
    if (runs === 1) {
      const r = run.report;
      console.log(
        `${r.passed ? "PASSED" : "FAILED"} ${scenario.name} seed=${seed} trace=${r.traceHash} sim=${
          r.simSeconds.toFixed(3)
        }s wall=${r.wallSeconds.toFixed(2)}s${live ? " (live)" : ""}`,
      );
      for (const line of checkLine(r)) console.log(line);
      console.log(
        `report: ${join(dir, "report.json")}${
          scenario.report.formats.includes("html") ? `, ${join(dir, "report.html")}` : ""
        }`,
      );
    } else {
      const failed = summary.filter((s) => !s.passed).length;
      const line = progress(i + 1, runs, failed, started);
      if (tty) process.stderr.write(`\r${line}`);
      else if ((i + 1) % Math.max(1, Math.floor(runs / 20)) === 0 || i + 1 === runs) console.error(line);
      if (!run.passed) {
        if (tty) process.stderr.write("\n");
        console.error(`seed ${seed} FAILED: ${summary.at(-1)!.failedChecks.join(", ")} (${join(dir, "report.html")})`);
      }
    }
  }
  if (runs > 1) {
    if (tty) process.stderr.write("\n");
    const failed = summary.filter((s) => !s.passed).length;
    const doc: RunsSummary = {
      scenario: scenario.name,
      failed,
      wallSeconds: (performance.now() - started) / 1000,
      runs: summary,
    };
    await mkdir(out, { recursive: true });
    await writeFile(join(out, "summary.json"), JSON.stringify(doc, null, 1) + "\n");
    await writeFile(join(out, "summary.html"), renderSummaryHtml(doc));
    console.log(`${failed === 0 ? "PASSED" : "FAILED"} ${scenario.name}: ${runs - failed}/${runs} seeds passed`);
    console.log(`summary: ${join(out, "summary.json")}, ${join(out, "summary.html")}`);
    return failed === 0 ? 0 : 1;
  }
  return summary[0]!.passed ? 0 : 1;
}

async function replayCommand(path: string): Promise<number> {
  let report: ScenarioReport;
  try {
    report = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new UsageError(`Cannot read report ${path}: ${(error as Error).message}`, HELP);
  }
  if (report?.format !== "qeynos-scenario-report/1") {
    throw new UsageError(`Cannot replay ${path}: not a qeynos scenario report`, HELP);
  }
  if (!report.deterministic) throw new UsageError(`Cannot replay ${path}: live runs are not deterministic`, HELP);
  const scenario = loadScenario(report.scenario.source, report.scenario.file);
  try {
    const onDisk = await readFile(report.scenario.file, "utf8");
    if (onDisk !== report.scenario.source) {
      console.log(`note: ${report.scenario.file} changed since the run; replaying the copy stored in the report`);
    }
  } catch {
    // The file is gone; the stored copy is all we need.
  }
  const run = await runScenario(scenario, { seed: report.seed });
  const same = run.report.traceHash === report.traceHash;
  const verdicts = (r: ScenarioReport) => r.checks.map((c) => `${c.name}=${c.passed}`).join(",");
  const sameVerdicts = verdicts(run.report) === verdicts(report);
  console.log(
    `${same ? "REPLAYED" : "DIVERGED"} ${report.scenario.name} seed=${report.seed}: trace ${run.report.traceHash} ${
      same ? "matches" : `differs from the recorded ${report.traceHash}`
    }${sameVerdicts ? "" : "; check verdicts differ"}`,
  );
  if (report.version !== run.report.version) {
    console.log(`note: recorded with qeynos ${report.version}, replayed with ${run.report.version}`);
  }
  for (const line of checkLine(run.report)) console.log(line);
  return same && sameVerdicts ? 0 : 1;
}

function describeEvent(sim: Simulation, index: number): string {
  const r = sim.traceRecords().at(index);
  if (r === undefined) return `#${index}: (not recorded)`;
  const kind = EVENT_KIND_NAMES[r.kind] ?? `kind ${r.kind}`;
  let detail = "";
  if (r.kind === 3) {
    detail = ` ${sim.hostId(Math.floor(r.a / 65536))} -> ${sim.hostId(r.a % 65536)}, ${r.b} bytes`;
  } else if (r.kind === 6) detail = ` connection ${r.a}, segment type ${r.b}`;
  return `#${index} at ${(r.timeUs / 1e6).toFixed(6)}s ${kind}${
    r.host >= 0 ? ` on ${sim.hostId(r.host)}` : ""
  }${detail} (hash ${r.hash})`;
}

async function determinismCommand(file: string, values: Record<string, unknown>): Promise<number> {
  const scenario: Scenario = await readScenarioFile(file);
  const seedFlag = parseSeed(values.seed as string | undefined);
  const base = seedFlag ?? scenario.seed;
  const seed = base === "random" ? randomSeed() : base;
  const events = integerFlag("events", values.events as string | undefined, 5_000_000, [1, 100_000_000], HELP);
  const first = await runScenario(scenario, { seed, recordTrace: events });
  const second = await runScenario(scenario, { seed, recordTrace: events });
  const a = first.sim!;
  const b = second.sim!;
  if (first.report.traceHash === second.report.traceHash) {
    console.log(
      `DETERMINISTIC ${scenario.name} seed=${seed}: both runs ${first.report.traceHash} after ${first.report.events} events`,
    );
    return 0;
  }
  const n = Math.min(a.traceRecords().count, b.traceRecords().count);
  let index = -1;
  for (let i = 0; i < n; i++) {
    if (a.traceRecords().at(i)!.hash !== b.traceRecords().at(i)!.hash) {
      index = i;
      break;
    }
  }
  console.log(
    `NON-DETERMINISTIC ${scenario.name} seed=${seed}: ${first.report.traceHash} vs ${second.report.traceHash}`,
  );
  if (index < 0) {
    console.log(`The first ${n} recorded events agree; the runs diverge later (raise --events).`);
    return 1;
  }
  console.log(`First divergent event:`);
  for (let i = Math.max(0, index - 3); i < index; i++) console.log(`  both   ${describeEvent(a, i)}`);
  console.log(`  run 1  ${describeEvent(a, index)}`);
  console.log(`  run 2  ${describeEvent(b, index)}`);
  return 1;
}

function listCommand(): number {
  console.log("Workloads:");
  for (const w of listWorkloads()) console.log(`  ${w.name.padEnd(22)} ${w.description}`);
  console.log("Checks:");
  for (const c of listChecks()) console.log(`  ${c.name.padEnd(22)} ${c.kind.padEnd(8)} ${c.description}`);
  return 0;
}

/** `qeynos scenario`. */
export const scenarioCommand: Command = {
  name: "scenario",
  summary: "run, replay and check scenario files in the deterministic simulator",
  help: HELP,
  async run(args) {
    const { values, positionals, help } = parseCommandArgs(args, OPTIONS, HELP);
    if (help) {
      console.log(HELP);
      return 0;
    }
    const [sub, target, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`Unexpected argument '${extra[0]}'`, HELP);
    const needs = (what: string) => {
      if (target === undefined) throw new UsageError(`Missing ${what} for 'scenario ${sub}'`, HELP);
      return target;
    };
    try {
      switch (sub) {
        case "run":
          return await runCommand(needs("FILE"), values);
        case "replay":
          return await replayCommand(needs("REPORT.json"));
        case "check-determinism":
          return await determinismCommand(needs("FILE"), values);
        case "list":
          return listCommand();
        case undefined:
          throw new UsageError("Missing subcommand (run, replay, check-determinism or list)", HELP);
        default:
          throw new UsageError(`Unknown subcommand '${sub}'`, HELP);
      }
    } catch (error) {
      if (error instanceof ScenarioError) {
        console.error(error.message);
        return 2;
      }
      throw error;
    }
  },
};
