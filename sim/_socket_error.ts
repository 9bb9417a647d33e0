/**
 * Socket errors of the virtual Platform.
 * @module
 */

/** Addresses a host accepts as "itself" when binding or listening. */
export const LOCAL_ADDRESSES: ReadonlySet<string> = new Set(["0.0.0.0", "127.0.0.1", "::", "::1", "localhost"]);

/** Error of a socket operation, with a `code` like the runtime's (`EADDRINUSE`, `ECONNREFUSED`, …). */
export class SimSocketError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = "SimSocketError";
    this.code = code;
  }
}
