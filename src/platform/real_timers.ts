import type { TimerId, Timers } from "./platform.ts";

/**
 * Timers on the runtime's event loop. Runtimes schedule in whole milliseconds, so a delay is
 * rounded up: a timer never fires early.
 */
export function createRealTimers(): Timers {
  const pending = new Map<TimerId, ReturnType<typeof setTimeout>>();
  let nextId = 1;
  return {
    setTimeout(callback: () => void, delayUs: number): TimerId {
      const id = nextId++;
      const handle = setTimeout(() => {
        pending.delete(id);
        callback();
      }, Math.max(0, Math.ceil(delayUs / 1000)));
      pending.set(id, handle);
      return id;
    },
    clearTimeout(id: TimerId): void {
      const handle = pending.get(id);
      if (handle === undefined) return;
      pending.delete(id);
      clearTimeout(handle);
    },
  };
}
