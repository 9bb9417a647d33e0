import { STORE_ERROR_CODES, StoreError } from "./store_error.ts";

/**
 * A FIFO lock over one connection, made of promises only (no timers). The holder releases it; the next
 * waiter inherits it directly, so the lock never looks free while someone waits. At most `maxWaiting`
 * may wait; beyond that `acquire` throws `STORE_BUSY`.
 */
export class Mutex {
  readonly #maxWaiting: number;
  readonly #waiters: Array<() => void> = [];
  #locked = false;

  constructor(maxWaiting: number) {
    this.#maxWaiting = maxWaiting;
  }

  get locked(): boolean {
    return this.#locked;
  }

  /** Resolves once the caller holds the lock. */
  acquire(): Promise<void> {
    if (!this.#locked) {
      this.#locked = true;
      return Promise.resolve();
    }
    if (this.#waiters.length >= this.#maxWaiting) {
      return Promise.reject(
        new StoreError(
          STORE_ERROR_CODES.BUSY,
          `Cannot queue database operation: ${this.#waiters.length} already wait (limit ${this.#maxWaiting})`,
        ),
      );
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Hands the lock to the next waiter, or frees it. */
  release(): void {
    const next = this.#waiters.shift();
    if (next === undefined) this.#locked = false;
    else next();
  }
}
