/**
 * Running every pending promise continuation synchronously, where the runtime allows it.
 *
 * The simulator must let the continuations an event started run before the next event. A macrotask
 * (`setImmediate`) guarantees that but costs about a microsecond and a trip through the event loop;
 * with role scenarios yielding after every event, that was a tenth of a busy simulation thread. Both
 * runtimes can drain the microtask queue from inside a call, in about a tenth of that:
 * - Bun: `drainMicrotasks` of the built-in `bun:jsc` module (documented);
 * - Deno: `core.runMicrotasks`, reached through the `Deno.internal` symbol (internal: looked up
 *   defensively; a drain that did not run is reported, and the caller yields instead).
 * Node's `process.nextTick` queue and real I/O are not run by either; simulated code uses neither.
 * @module
 */

/** Drains the microtask queue; false if the runtime declined (it does inside a running microtask). */
export type MicrotaskDrain = () => boolean;

let cached: MicrotaskDrain | null | undefined;

/**
 * The runtime's synchronous microtask drain, or `undefined` (callers then yield a macrotask). V8 will
 * not drain from within a microtask (a simulation run started by `await`ed code begins in one), so
 * on Deno every call checks, with a marker queued first, that the queue really ran; callers yield when not.
 */
export function syncMicrotaskDrain(): MicrotaskDrain | undefined {
  if (cached === undefined) cached = bunDrain() ?? checked(denoRun()) ?? null;
  return cached ?? undefined;
}

/**
 * JavaScriptCore drains even from inside a microtask, so Bun's drain needs no marker per call (it
 * cost 2 % of a simulation thread); it is checked once, on a chain of three continuations (which also
 * runs whatever the caller had queued: the first `Simulation` is made outside any run).
 */
function bunDrain(): MicrotaskDrain | undefined {
  const g = globalThis as Record<string, unknown>;
  if (g.Bun === undefined) return undefined;
  try {
    const get = (g.process as { getBuiltinModule?: (name: string) => unknown } | undefined)?.getBuiltinModule;
    const jsc = get?.("bun:jsc") as { drainMicrotasks?: unknown } | undefined;
    const drain = jsc?.drainMicrotasks;
    if (typeof drain !== "function") return undefined;
    let steps = 0;
    Promise.resolve().then(() => steps++).then(() => steps++).then(() => steps++);
    drain();
    if (steps !== 3) return undefined;
    return () => {
      drain();
      return true;
    };
  } catch {
    return undefined;
  }
}

function denoRun(): (() => void) | undefined {
  const g = globalThis as Record<string, unknown>;
  try {
    const deno = g.Deno as Record<symbol, unknown> | undefined;
    if (deno !== undefined) {
      const internal = Object.getOwnPropertySymbols(deno).find((s) => s.description === "Deno.internal");
      const core = internal === undefined
        ? undefined
        : (deno[internal] as { core?: { runMicrotasks?: unknown } } | undefined)?.core;
      const run = core?.runMicrotasks;
      return typeof run === "function" ? (run as () => void).bind(core) : undefined;
    }
  } catch {
    // A runtime that hides these: fall back to macrotasks.
  }
  return undefined;
}

function checked(run: (() => void) | undefined): MicrotaskDrain | undefined {
  if (run === undefined) return undefined;
  let ran = false;
  const mark = () => {
    ran = true;
  };
  return () => {
    ran = false;
    queueMicrotask(mark);
    try {
      run();
    } catch {
      return false;
    }
    return ran;
  };
}
