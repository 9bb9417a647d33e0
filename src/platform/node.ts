import { createConsoleLog } from "./console_log.ts";
import { createCryptoRng } from "./crypto_rng.ts";
import { createNodeTcp } from "./node_tcp.ts";
import { createNodeUdp } from "./node_udp.ts";
import type { Log, Platform } from "./platform.ts";
import { realClock } from "./real_clock.ts";
import { createRealTimers } from "./real_timers.ts";

/** A Platform built only from `node:*` modules: the fallback on any runtime. */
export function createNodePlatform(log: Log = createConsoleLog()): Platform {
  return {
    name: "node",
    clock: realClock,
    timers: createRealTimers(),
    rng: createCryptoRng(),
    udp: createNodeUdp(log),
    tcp: createNodeTcp(),
    log,
  };
}
