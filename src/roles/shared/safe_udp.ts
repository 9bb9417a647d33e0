/**
 * A Platform whose UDP sends never throw. The Platform contract says a transient network error loses
 * the datagram and is logged, but a runtime adapter may still throw synchronously (Bun's raises
 * ECONNREFUSED after an ICMP port-unreachable from a peer that went away). A role or bot must not
 * crash because a client vanished, so every role and bot sends through this guard.
 * @module
 */
import type { Platform, Udp, UdpSocket } from "../../platform/platform.ts";

const guarded = new WeakMap<Platform, Platform>();

/** `platform` with a UDP whose `send` swallows (and counts, at debug level) synchronous errors. */
export function withSafeUdp(platform: Platform): Platform {
  if (platform.name === "sim") return platform;
  const known = guarded.get(platform);
  if (known !== undefined) return known;
  const inner = platform.udp;
  const udp: Udp = {
    async bind(options, onDatagram): Promise<UdpSocket> {
      const socket = await inner.bind(options, onDatagram);
      return {
        local: socket.local,
        send(bytes, address, port) {
          try {
            socket.send(bytes, address, port);
          } catch (error) {
            platform.log.debug("UDP send failed", {
              to: `${address}:${port}`,
              error: error instanceof Error ? error.message : String(error),
            });
          }
        },
        close: () => socket.close(),
      };
    },
  };
  const safe: Platform = {
    name: platform.name,
    clock: platform.clock,
    timers: platform.timers,
    rng: platform.rng,
    udp,
    tcp: platform.tcp,
    log: platform.log,
  };
  guarded.set(platform, safe);
  return safe;
}
