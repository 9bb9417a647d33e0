/**
 * The EQStream client: the client side of the session handshake and the EQ2 key exchange, for bots,
 * benchmarks and tests.
 * @module
 */
import type { Platform } from "../platform/platform.ts";
import { Driver } from "./_driver.ts";
import { EqStreamConnection, type EqStreamHandlers } from "./connection.ts";
import { EqStreamError, EqStreamErrorCode } from "./errors.ts";
import { type ClientSessionOptions, Session } from "./session.ts";

/** Options of {@linkcode connect}. */
export interface ClientOptions extends ClientSessionOptions {
  /** Local address to bind; default "127.0.0.1". */
  readonly bindAddress?: string;
  /** Called after every poll of the session (for metrics and tests: `connection.stats` is current then). */
  readonly observe?: (connection: EqStreamConnection) => void;
}

/**
 * Connects to an EQStream server and runs the key exchange. Resolves once application packets can
 * flow both ways (`ready`); rejects with `EQSTREAM_CONNECT_TIMEOUT` (or the reason it closed) otherwise.
 * The connection owns its UDP socket and closes it when the session ends.
 */
export function connect(
  platform: Platform,
  target: { readonly address: string; readonly port: number },
  options: ClientOptions = {},
  handlers: EqStreamHandlers = {},
): Promise<EqStreamConnection> {
  return new Promise((resolve, reject) => {
    const driver = new Driver(platform, options.observe);
    const session = Session.connect(options, platform.rng, platform.clock.now());
    let settled = false;
    const connection = new EqStreamConnection(session, {
      driver,
      remote: { address: target.address, port: target.port },
      handlers: {
        ...handlers,
        ready: (c) => {
          if (!settled) {
            settled = true;
            resolve(c);
          }
          handlers.ready?.(c);
        },
        closed: (c, reason, error) => {
          driver.close();
          driver.socket?.close();
          if (!settled) {
            settled = true;
            reject(
              error ??
                new EqStreamError(EqStreamErrorCode.ConnectTimeout, `Cannot connect: the session closed (${reason})`),
            );
          }
          handlers.closed?.(c, reason, error);
        },
      },
    });
    platform.udp.bind({ address: options.bindAddress ?? "127.0.0.1", port: 0 }, (bytes, address, port) => {
      if (address !== target.address || port !== target.port || connection.finished) return;
      session.receive(bytes, driver.now());
      driver.service(connection);
    }).then((socket) => {
      driver.socket = socket;
      driver.service(connection);
    }, (error) => {
      settled = true;
      reject(error);
    });
  });
}
