import { clearImmediate, setImmediate } from "node:timers";
import type { TimerId, Timers } from "./platform.ts";

/**
 * Timers on the runtime's event loop. Runtimes schedule in whole milliseconds, so a delay is
 * rounded up: a timer never fires early. A delay of 0 ("as soon as possible") runs on the next turn
 * of the event loop, right after pending I/O, instead of waiting for the runtimes' 1 ms minimum:
 * protocol drivers use it to batch the writes of one turn into one socket write.
 */
export function createRealTimers(): Timers {
  const pending = new Map<TimerId, { handle: unknown; immediate: boolean }>();
  let nextId = 1;
  return {
    setTimeout(callback: () => void, delayUs: number): TimerId {
      const id = nextId++;
      const fire = () => {
        pending.delete(id);
        callback();
      };
      const immediate = !(delayUs > 0);
      const handle = immediate ? setImmediate(fire) : setTimeout(fire, Math.ceil(delayUs / 1000));
      pending.set(id, { handle, immediate });
      return id;
    },
    clearTimeout(id: TimerId): void {
      const entry = pending.get(id);
      if (entry === undefined) return;
      pending.delete(id);
      if (entry.immediate) clearImmediate(entry.handle as ReturnType<typeof setImmediate>);
      else clearTimeout(entry.handle as ReturnType<typeof setTimeout>);
    },
    defer(callback: () => void): void {
      setImmediate(callback);
    },
  };
}
