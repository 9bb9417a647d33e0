/**
 * The virtual Platform of one incarnation of a simulated host. When the host crashes, every
 * method of this object turns into a no-op (its timers never fire, its sockets are gone).
 * @module
 */
import type {
  Clock,
  DatagramHandler,
  Log,
  LogFields,
  LogLevel,
  Platform,
  TimerId,
  Timers,
  Udp,
  UdpBindOptions,
  UdpSocket,
} from "../src/platform/platform.ts";
import { PHASE, type SimEvent } from "./_event_queue.ts";
import { HOST_STATUS, type SimHost } from "./_host.ts";
import { EVENT_KIND, type Kernel } from "./_kernel.ts";
import { LOCAL_ADDRESSES, SimSocketError } from "./_socket_error.ts";
import type { TcpNetwork } from "./_tcp.ts";

/** Builds the Platform of `host`'s current incarnation. */
export function createVirtualPlatform(
  kernel: Kernel,
  host: SimHost,
  options: { readonly wallEpochMs: number; readonly tcp: TcpNetwork },
): Platform {
  const { wallEpochMs } = options;
  const incarnation = host.incarnation;
  const alive = () => host.incarnation === incarnation && host.status !== HOST_STATUS.crashed;

  const clock: Clock = {
    now: () => host.hostNow(kernel.now),
    wallMs: () => Math.floor(wallEpochMs + (host.hostNow(kernel.now) + host.wallOffsetUs) / 1000),
  };

  const pending = new Map<TimerId, SimEvent>();
  let nextTimer = 1;
  const fire = (callback: unknown, event: SimEvent) => {
    if (host.incarnation !== incarnation) return;
    if (host.status === HOST_STATUS.paused) return kernel.hold(host, event);
    pending.delete(event.tag);
    kernel.watch((callback as () => unknown)(), host.index);
  };
  const timers: Timers = {
    setTimeout(callback: () => void, delayUs: number): TimerId {
      const id = nextTimer++;
      if (!alive()) return id;
      const delay = delayUs > 0 ? host.simDelay(Math.ceil(delayUs)) : 0;
      const event = kernel.schedule(kernel.now + delay, PHASE.timer, EVENT_KIND.timer, host.index, fire, callback);
      event.tag = id;
      pending.set(id, event);
      return id;
    },
    clearTimeout(id: TimerId): void {
      const event = pending.get(id);
      if (event === undefined) return;
      pending.delete(id);
      kernel.cancel(event);
    },
    defer(callback: () => void): void {
      if (alive()) kernel.defer(host, callback);
    },
  };

  const udp: Udp = {
    bind(options: UdpBindOptions, onDatagram: DatagramHandler): Promise<UdpSocket> {
      const { promise, resolve, reject } = Promise.withResolvers<UdpSocket>();
      if (!alive()) return promise; // A crashed process never sees the answer.
      const address = options.address ?? "127.0.0.1";
      const requested = options.port ?? 0;
      const where = `${address}:${requested}`;
      let failure: SimSocketError | undefined;
      if (address !== host.address && !LOCAL_ADDRESSES.has(address)) {
        failure = new SimSocketError(
          `Cannot bind UDP ${where}: address not available on host ${host.id} (${host.address})`,
          "EADDRNOTAVAIL",
        );
      } else if (!Number.isInteger(requested) || requested < 0 || requested > 65535) {
        failure = new SimSocketError(`Cannot bind UDP ${where}: invalid port`, "EINVAL");
      } else if (requested !== 0 && host.udp.has(requested)) {
        failure = new SimSocketError(`Cannot bind UDP ${where}: address in use`, "EADDRINUSE");
      }
      const port = failure === undefined ? (requested === 0 ? host.ephemeral("udp") : requested) : 0;
      if (failure === undefined && port === 0) {
        failure = new SimSocketError(`Cannot bind UDP ${where}: no free port`, "EADDRINUSE");
      }
      if (failure !== undefined) {
        const error = failure;
        kernel.settle(host, () => reject(error));
        return promise;
      }
      host.udp.set(port, { port, handler: onDatagram });
      let closed = false;
      const socket: UdpSocket = {
        local: { address: host.address, port },
        send(bytes: Uint8Array, toAddress: string, toPort: number): void {
          if (closed || !alive()) return;
          kernel.sendUdp(host, port, bytes, toAddress, toPort);
        },
        close(): void {
          if (closed) return;
          closed = true;
          if (alive()) host.udp.delete(port);
        },
      };
      kernel.settle(host, () => resolve(socket));
      return promise;
    },
  };

  const makeLog = (bound: LogFields): Log => {
    const emit = (level: LogLevel) => (message: string, fields?: LogFields) => {
      if (!alive()) return;
      kernel.log(host, level, message, fields === undefined ? bound : { ...bound, ...fields });
    };
    return {
      debug: emit("debug"),
      info: emit("info"),
      warn: emit("warn"),
      error: emit("error"),
      child: (fields) => makeLog({ ...bound, ...fields }),
    };
  };

  return {
    name: "sim",
    clock,
    timers,
    rng: kernel.rng(`host:${host.id}:${incarnation}`),
    udp,
    tcp: options.tcp.platformTcp(host, incarnation),
    log: makeLog({}),
  };
}
