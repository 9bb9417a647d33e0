/**
 * Helpers for tests of the role scenarios: load a shipped scenario file with some keys changed
 * (fewer bots, shorter phases, so the suite stays fast), run it, read verdicts.
 */
import { readFileSync } from "node:fs";
import { parse, stringify } from "yaml";
import { loadScenario } from "../../sim/scenario/loader.ts";
import { runScenario, type RunScenarioOptions, type ScenarioRun } from "../../sim/scenario/runner.ts";
import type { Scenario } from "../../sim/scenario/types.ts";
import "../../sim/workloads/all.ts";
import { RoleGame } from "../../sim/workloads/roles/mod.ts";

/** A scenario file's document as plain data. */
// deno-lint-ignore no-explicit-any
export type ScenarioDoc = Record<string, any>;

/** The path of a shipped scenario. */
export function shippedPath(name: string): string {
  return new URL(`../../scenarios/${name}.yaml`, import.meta.url).pathname;
}

/** Loads `scenarios/<name>.yaml`, letting `edit` change the document first. */
export function loadShipped(name: string, edit: (doc: ScenarioDoc) => void = () => {}): Scenario {
  const doc = parse(readFileSync(shippedPath(name), "utf8")) as ScenarioDoc;
  edit(doc);
  return loadScenario(stringify(doc), `${name}.yaml`);
}

/** Runs a scenario in the simulator and returns the run with its game. */
export async function run(
  scenario: Scenario,
  options: RunScenarioOptions = {},
): Promise<ScenarioRun & { game: RoleGame }> {
  const result = await runScenario(scenario, options);
  const game = RoleGame.find(result.sim!);
  if (game === undefined) throw new Error("The scenario ran no role workload");
  return { ...result, game };
}

/** The verdict of one check. */
export function check(result: ScenarioRun, name: string): { passed: boolean; detail: string } {
  const c = result.report.checks.find((x) => x.name === name);
  if (c === undefined) throw new Error(`No check ${name} in the report`);
  return { passed: c.passed, detail: c.detail };
}

/** `name: pass|FAIL detail` lines of every check, for assertion messages. */
export function verdicts(result: ScenarioRun): string {
  return result.report.checks.map((c) => `${c.name}: ${c.passed ? "pass" : "FAIL"} ${c.detail}`).join("\n");
}

/** The value of a report metric. */
export function metric(result: ScenarioRun, name: string): number {
  const m = result.report.metrics.find((x) => x.name === name);
  if (m === undefined) throw new Error(`No metric ${name} in the report`);
  return m.value;
}
