/**
 * Catches code under simulation reading real time or real randomness: while a simulation runs,
 * `Date.now`, `performance.now`, `Math.random`, `setTimeout`, `setInterval`, `crypto.getRandomValues`
 * and `crypto.randomUUID` are replaced by wrappers that record the call (with a stack) and then
 * behave as before (or throw, in `"throw"` mode). The originals are restored when the run yields
 * control back to its caller.
 * @module
 */

/** One recorded call to a real-time or real-random API. */
export interface Violation {
  /** e.g. `"Date.now"`. */
  readonly api: string;
  /** Virtual time of the call, µs. */
  readonly timeUs: number;
  /** Stack of the call, without the guard's own frame. */
  readonly stack: string;
}

/** What the guard does on a call. */
export type GuardMode = "record" | "throw" | "off";

/** Thrown in `"throw"` mode. */
export class RealTimeAccessError extends Error {
  readonly code = "SIM_REAL_TIME_ACCESS";
  constructor(api: string, timeUs: number) {
    super(`Cannot call ${api} inside a simulation: use the Platform's clock, timers and rng (at ${timeUs} µs)`);
    this.name = "RealTimeAccessError";
  }
}

// deno-lint-ignore no-explicit-any
type Fn = (...args: any[]) => any;

interface Target {
  readonly owner: Record<string, unknown>;
  readonly key: string;
  readonly api: string;
}

function targets(): Target[] {
  const g = globalThis as unknown as Record<string, Record<string, unknown>>;
  const list: Target[] = [
    { owner: Date as unknown as Record<string, unknown>, key: "now", api: "Date.now" },
    { owner: Math as unknown as Record<string, unknown>, key: "random", api: "Math.random" },
    { owner: g as unknown as Record<string, unknown>, key: "setTimeout", api: "setTimeout" },
    { owner: g as unknown as Record<string, unknown>, key: "setInterval", api: "setInterval" },
  ];
  if (typeof g.performance === "object") list.push({ owner: g.performance, key: "now", api: "performance.now" });
  if (typeof g.crypto === "object") {
    list.push({ owner: g.crypto, key: "getRandomValues", api: "crypto.getRandomValues" });
    list.push({ owner: g.crypto, key: "randomUUID", api: "crypto.randomUUID" });
  }
  return list;
}

/** Most violations kept with their stack; later ones are only counted. */
export const MAX_RECORDED_VIOLATIONS = 32;

/** The guard of one simulation. */
export class RealTimeGuard {
  readonly #mode: GuardMode;
  readonly #now: () => number;
  readonly #recorded: Violation[] = [];
  #count = 0;

  constructor(mode: GuardMode, now: () => number) {
    this.#mode = mode;
    this.#now = now;
  }

  /** Violations kept (at most {@linkcode MAX_RECORDED_VIOLATIONS}). */
  get recorded(): readonly Violation[] {
    return this.#recorded;
  }

  /** All violations seen. */
  get count(): number {
    return this.#count;
  }

  /** Patches the globals; returns the function that restores them. */
  install(): () => void {
    if (this.#mode === "off") return () => {};
    const saved: Array<[Target, unknown]> = [];
    for (const target of targets()) {
      const original = target.owner[target.key];
      if (typeof original !== "function") continue;
      const wrapper = this.#wrap(target.api, original as Fn, target.owner);
      try {
        target.owner[target.key] = wrapper;
        saved.push([target, original]);
      } catch {
        // A runtime that freezes the property cannot be guarded there; the others still are.
      }
    }
    return () => {
      for (const [target, original] of saved) target.owner[target.key] = original;
    };
  }

  #wrap(api: string, original: Fn, owner: unknown): Fn {
    // deno-lint-ignore no-this-alias
    const guard = this;
    return function guarded(this: unknown, ...args: unknown[]) {
      guard.#violate(api);
      return original.apply(this === undefined || this === globalThis ? owner : this, args);
    };
  }

  #violate(api: string): void {
    this.#count++;
    const timeUs = this.#now();
    if (this.#mode === "throw") throw new RealTimeAccessError(api, timeUs);
    if (this.#recorded.length < MAX_RECORDED_VIOLATIONS) {
      const stack = (new Error().stack ?? "").split("\n").slice(3).join("\n");
      this.#recorded.push({ api, timeUs, stack });
    }
  }
}
