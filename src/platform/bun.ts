import { createBunUdp } from "./bun_udp.ts";
import { createConsoleLog } from "./console_log.ts";
import { createCryptoRng } from "./crypto_rng.ts";
import { createNodeTcp } from "./node_tcp.ts";
import type { Log, Platform } from "./platform.ts";
import { realClock } from "./real_clock.ts";
import { createRealTimers } from "./real_timers.ts";

/** The Bun Platform: native `Bun.udpSocket` UDP, `node:net` TCP. */
export function createBunPlatform(log: Log = createConsoleLog()): Platform {
  return {
    name: "bun",
    clock: realClock,
    timers: createRealTimers(),
    rng: createCryptoRng(),
    udp: createBunUdp(log),
    tcp: createNodeTcp(),
    log,
  };
}
