/**
 * fast-check settings shared by every property test.
 *
 * The seed is random per process unless `FC_SEED` is set, and is printed once so that any run can
 * be replayed; `FC_NUM_RUNS` overrides the number of runs (for long fuzzing sessions). A failing
 * property's message carries `seed` and `path`: rerun with `FC_SEED=<seed>` (and the same
 * `FC_NUM_RUNS`) to get the same counterexample.
 */
import process from "node:process";
import type { Parameters } from "fast-check";

function readInteger(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`Invalid ${name}: '${text}' is not an integer`);
  return value;
}

const seed = readInteger("FC_SEED") ?? crypto.getRandomValues(new Int32Array(1))[0]!;
const numRunsOverride = readInteger("FC_NUM_RUNS");
let announced = false;

/** The seed every property of this process uses. */
export const propertySeed: number = seed;

/**
 * fast-check parameters for one property: the process seed, `numRuns` (default `runs`, overridden by
 * `FC_NUM_RUNS`), plus any extra parameters given.
 */
export function propertyParameters<T>(runs = 100, extra: Parameters<T> = {}): Parameters<T> {
  if (!announced) {
    announced = true;
    console.log(
      `fast-check seed=${seed} (replay with FC_SEED=${seed}${
        numRunsOverride === undefined ? "" : ` FC_NUM_RUNS=${numRunsOverride}`
      })`,
    );
  }
  return { seed, numRuns: numRunsOverride ?? runs, ...extra };
}
