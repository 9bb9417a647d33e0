/**
 * Runs asynchronous jobs one after another, in arrival order, with a bound on how many may wait:
 * what one client connection asks for is handled in the order it asked.
 * @module
 */

/** A FIFO of async jobs. */
export class SerialQueue {
  readonly #limit: number;
  readonly #onError: (error: unknown) => void;
  #tail: Promise<void> = Promise.resolve();
  #waiting = 0;

  /** `limit`: jobs queued or running at most; `onError`: where a failing job's error goes. */
  constructor(limit: number, onError: (error: unknown) => void) {
    this.#limit = limit;
    this.#onError = onError;
  }

  /** Jobs queued or running. */
  get depth(): number {
    return this.#waiting;
  }

  /** Queues `job`; false (and nothing queued) when `limit` jobs already wait. Resolves when it ran. */
  push(job: () => Promise<void> | void): boolean {
    if (this.#waiting >= this.#limit) return false;
    this.#waiting++;
    this.#tail = this.#tail.then(async () => {
      try {
        await job();
      } catch (error) {
        this.#onError(error);
      } finally {
        this.#waiting--;
      }
    });
    return true;
  }

  /** Resolves once every job queued so far has run. */
  idle(): Promise<void> {
    return this.#tail;
  }
}
