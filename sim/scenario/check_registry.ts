/**
 * The check registry: scenario files list checks under `checks:` by name, optionally with
 * parameters; the runner evaluates the registered definitions.
 *
 * - `safety` checks watch events as they happen and call `ctx.fail(detail)` at a violation; the
 *   report shows the first violation's simulated time.
 * - `liveness` checks decide at the end of the run (after the heal phase), in `finish`.
 * @module
 */
import type { ConfigNode } from "./config_node.ts";
import type { CheckContext } from "./context.ts";
import type { ParseContext } from "./types.ts";

/** An installed check. */
export interface CheckInstance {
  /** Called once when the run ends (liveness checks decide here). */
  finish?(): void;
}

/** A check a scenario can name. */
export interface CheckDefinition<P = unknown> {
  readonly name: string;
  readonly kind: "safety" | "liveness";
  readonly description: string;
  /** Reads parameters (`{ name: {...} }` in the file); `undefined` when written as a bare name. */
  parse?(node: ConfigNode | undefined, context: ParseContext): P;
  /** Installs the check before the run starts. */
  create(context: CheckContext, params: P): CheckInstance | void;
}

const checks = new Map<string, CheckDefinition<never>>();

/** Registers a check; a second registration of the same name is an error. */
export function registerCheck<P>(definition: CheckDefinition<P>): void {
  if (!/^[a-z][a-z0-9_.-]*$/.test(definition.name)) {
    throw new Error(`Cannot register check '${definition.name}': names are lower-case words`);
  }
  if (checks.has(definition.name)) throw new Error(`Cannot register check '${definition.name}': already registered`);
  checks.set(definition.name, definition as unknown as CheckDefinition<never>);
}

/** The registered check, or `undefined`. */
export function getCheck(name: string): CheckDefinition<unknown> | undefined {
  return checks.get(name) as CheckDefinition<unknown> | undefined;
}

/** Every registered check, by name. */
export function listChecks(): CheckDefinition<unknown>[] {
  return [...checks.values()].sort((a, b) => a.name.localeCompare(b.name)) as CheckDefinition<unknown>[];
}
