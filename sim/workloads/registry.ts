/**
 * The workload registry: scenario files name workloads under `workload:`, and the runner installs
 * the registered definition. Built-in workloads (`echo`) register the same way as protocol and
 * role workloads do.
 * @module
 */
import type { ConfigNode } from "../scenario/config_node.ts";
import type { RunContext } from "../scenario/context.ts";
import type { ParseContext } from "../scenario/types.ts";

/** A workload a scenario can run. */
export interface WorkloadDefinition<C = unknown> {
  /** The key under `workload:` in a scenario file. */
  readonly name: string;
  /** One line for `qeynos scenario list` and the docs. */
  readonly description: string;
  /**
   * Reads `workload.<name>` (a `null` node when written as `name: {}` or `name:`). Report bad
   * values with `node.fail(...)` / the typed accessors so the user gets `file:line: message`.
   */
  parse(node: ConfigNode, context: ParseContext): C;
  /** Installs the workload before the run starts: start functions on hosts, timers, metrics. */
  setup(context: RunContext, config: C): void;
}

const workloads = new Map<string, WorkloadDefinition<never>>();

/** Registers a workload; a second registration of the same name is an error. */
export function registerWorkload<C>(definition: WorkloadDefinition<C>): void {
  if (!/^[a-z][a-z0-9_-]*$/.test(definition.name)) {
    throw new Error(`Cannot register workload '${definition.name}': names are lower-case words`);
  }
  if (workloads.has(definition.name)) {
    throw new Error(`Cannot register workload '${definition.name}': already registered`);
  }
  workloads.set(definition.name, definition as unknown as WorkloadDefinition<never>);
}

/** The registered workload, or `undefined`. */
export function getWorkload(name: string): WorkloadDefinition<unknown> | undefined {
  return workloads.get(name) as WorkloadDefinition<unknown> | undefined;
}

/** Every registered workload, by name. */
export function listWorkloads(): WorkloadDefinition<unknown>[] {
  return [...workloads.values()].sort((a, b) => a.name.localeCompare(b.name)) as WorkloadDefinition<unknown>[];
}
