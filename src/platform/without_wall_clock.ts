/**
 * Runs synchronous code with `Date.now` answering 0. For bcryptjs: it reads the wall clock between
 * rounds only to slice its asynchronous mode, so a synchronous hash or compare does not depend on the
 * readings; inside the simulator, though, every such read counts as real-time use.
 * @module
 */

/** Runs `body` with `Date.now` hidden, then puts it back. */
export function withoutWallClock<T>(body: () => T): T {
  const date = globalThis.Date;
  const now = date.now;
  date.now = () => 0;
  try {
    return body();
  } finally {
    date.now = now;
  }
}
