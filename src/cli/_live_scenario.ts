/**
 * The `--live` environment of `qeynos scenario run`.
 * @module
 */
import type { ScenarioEnvironment } from "../../sim/scenario/context.ts";
import type { Scenario } from "../../sim/scenario/types.ts";

/** Builds the live environment for a scenario. */
export function liveEnvironment(_seed: number, _scenario: Scenario): ScenarioEnvironment {
  throw new Error("Cannot run live: the loopback environment is not available in this build");
}
