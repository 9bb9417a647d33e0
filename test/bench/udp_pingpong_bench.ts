/**
 * UDP ping-pong over loopback for each Platform UDP adapter available on this runtime.
 * Prints one JSON line per adapter: round trips per second and the mean round-trip time.
 *
 *   deno run -A test/bench/udp_pingpong_bench.ts [--seconds 3] [--size 100]
 *   bun test/bench/udp_pingpong_bench.ts
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { createBunPlatform } from "../../src/platform/bun.ts";
import { createConsoleLog } from "../../src/platform/console_log.ts";
import { createDenoPlatform } from "../../src/platform/deno.ts";
import { createRealPlatform, runtimeName } from "../../src/platform/mod.ts";
import { createNodePlatform } from "../../src/platform/node.ts";
import type { Platform } from "../../src/platform/platform.ts";

async function pingPong(platform: Platform, size: number, seconds: number) {
  const server = await platform.udp.bind({}, (bytes, address, port) => server.send(bytes, address, port));
  const payload = new Uint8Array(size).fill(7);
  const deadline = performance.now() + seconds * 1000;
  let roundTrips = 0;
  let started = performance.now();
  const done = Promise.withResolvers<void>();
  const client = await platform.udp.bind({}, () => {
    roundTrips++;
    if (roundTrips === 1000) started = performance.now(); // skip warm-up
    if (performance.now() < deadline) client.send(payload, server.local.address, server.local.port);
    else done.resolve();
  });
  client.send(payload, server.local.address, server.local.port);
  await done.promise;
  const elapsed = (performance.now() - started) / 1000;
  client.close();
  server.close();
  const measured = roundTrips - 1000;
  return { roundTripsPerSec: Math.round(measured / elapsed), meanRttUs: Math.round((elapsed * 1e6) / measured) };
}

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { seconds: { type: "string", default: "3" }, size: { type: "string", default: "100" } },
});
const log = createConsoleLog({ level: "warn" });
const adapters: Array<[string, Platform]> = [["node:dgram", createNodePlatform(log)]];
if (runtimeName() === "deno") adapters.push(["Deno.listenDatagram", createDenoPlatform(log)]);
if (runtimeName() === "bun") adapters.push(["Bun.udpSocket", createBunPlatform(log)]);
const chosen = createRealPlatform(log).name;
for (const [name, platform] of adapters) {
  const result = await pingPong(platform, Number(values.size), Number(values.seconds));
  console.log(
    JSON.stringify({
      bench: "udp-pingpong",
      runtime: runtimeName(),
      adapter: name,
      default: platform.name === chosen,
      size: Number(values.size),
      ...result,
    }),
  );
}
