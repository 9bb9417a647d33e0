import { tcpConformance } from "./_tcp_conformance.ts";

// The Deno-native adapter exists only on Deno (imported lazily so Bun never loads it).
tcpConformance("Deno", async () => (await import("../../src/platform/deno_tcp.ts")).createDenoTcp(), {
  skip: !("Deno" in globalThis),
});
