/**
 * How a role reaches the role above it over servertalk (world → login, zone → world), and where a
 * role listens for the roles below it.
 * @module
 */
import type { TcpConnection, TlsClientOptions, TlsServerOptions } from "../../platform/platform.ts";
import type { LinkOptions } from "../../servertalk/mod.ts";

/** A servertalk connection to the role above. */
export interface Uplink {
  /** TCP address of the peer's servertalk listener (with `port`), unless `connect` is given. */
  readonly address?: string;
  readonly port?: number;
  readonly tls?: TlsClientOptions;
  /** A custom transport instead, e.g. `() => login.connectInProcess()` in one process. */
  readonly connect?: () => Promise<TcpConnection> | TcpConnection;
  /** The server account to authenticate with (`qeynos account add NAME --kind world|zone`). */
  readonly account: string;
  readonly password: string;
  /** Link limits and timers (heartbeat interval and timeout, request timeout, …). */
  readonly link?: LinkOptions;
}

/** A servertalk listener for the roles below. */
export interface ServertalkListen {
  /** Bind address; default "127.0.0.1". */
  readonly address?: string;
  /** TCP port (0: any free one). */
  readonly port: number;
  readonly tls?: TlsServerOptions;
}
