import { createConsoleLog } from "./console_log.ts";
import { createCryptoRng } from "./crypto_rng.ts";
import { createDenoUdp } from "./deno_udp.ts";
import { createNodeTcp } from "./node_tcp.ts";
import type { Log, Platform } from "./platform.ts";
import { realClock } from "./real_clock.ts";
import { createRealTimers } from "./real_timers.ts";

/**
 * The Deno Platform: native `Deno.listenDatagram` UDP (measured fastest on Deno) and `node:net` TCP
 * (measured faster for servertalk than the `Deno.listen`/`Deno.connect` adapter in `deno_tcp.ts`;
 * `qeynos bench servertalk --tcp node|deno` compares them).
 */
export function createDenoPlatform(log: Log = createConsoleLog()): Platform {
  return {
    name: "deno",
    clock: realClock,
    timers: createRealTimers(),
    rng: createCryptoRng(),
    udp: createDenoUdp(log),
    tcp: createNodeTcp(),
    log,
  };
}
