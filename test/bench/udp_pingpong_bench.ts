/**
 * UDP ping-pong over loopback for each Platform UDP adapter available on this runtime.
 * Prints one JSON line per adapter: round trips per second and the mean and median round-trip time.
 * Both ends run in this process unless `--serve` / `--target` split them over two processes, the
 * shape of `qeynos bench eqstream` (whose ping-pong p50 is compared with this one):
 *
 *   deno run -A test/bench/udp_pingpong_bench.ts [--seconds 3] [--size 100]
 *   bun test/bench/udp_pingpong_bench.ts
 *   deno run -A test/bench/udp_pingpong_bench.ts --serve 40000 &   # echo on the default adapter
 *   deno run -A test/bench/udp_pingpong_bench.ts --target 40000
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { createBunPlatform } from "../../src/platform/bun.ts";
import { createConsoleLog } from "../../src/platform/console_log.ts";
import { createDenoPlatform } from "../../src/platform/deno.ts";
import { createRealPlatform, runtimeName } from "../../src/platform/mod.ts";
import { createNodePlatform } from "../../src/platform/node.ts";
import type { Platform } from "../../src/platform/platform.ts";

async function pingPong(platform: Platform, size: number, seconds: number, targetPort?: number) {
  const server = targetPort === undefined
    ? await platform.udp.bind({}, (bytes, address, port) => server!.send(bytes, address, port))
    : undefined;
  const target = server?.local ?? { address: "127.0.0.1", port: targetPort! };
  const payload = new Uint8Array(size).fill(7);
  const deadline = performance.now() + seconds * 1000;
  const rtts: number[] = [];
  let roundTrips = 0;
  let started = performance.now();
  let sentAt = performance.now();
  const done = Promise.withResolvers<void>();
  const client = await platform.udp.bind({}, () => {
    const now = performance.now();
    roundTrips++;
    if (roundTrips === 1000) started = now; // skip warm-up
    else if (roundTrips > 1000) rtts.push(now - sentAt);
    if (now < deadline) {
      sentAt = performance.now();
      client.send(payload, target.address, target.port);
    } else done.resolve();
  });
  client.send(payload, target.address, target.port);
  await done.promise;
  const elapsed = (performance.now() - started) / 1000;
  client.close();
  server?.close();
  const measured = roundTrips - 1000;
  rtts.sort((a, b) => a - b);
  return {
    processes: server === undefined ? 2 : 1,
    roundTripsPerSec: Math.round(measured / elapsed),
    meanRttUs: Math.round((elapsed * 1e6) / measured),
    p50RttUs: Math.round((rtts[Math.floor(rtts.length / 2)] ?? 0) * 1000),
  };
}

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    seconds: { type: "string", default: "3" },
    size: { type: "string", default: "100" },
    serve: { type: "string" },
    target: { type: "string" },
  },
});
const log = createConsoleLog({ level: "warn" });
if (values.serve !== undefined) {
  // Echo until killed, on the runtime's default adapter.
  const platform = createRealPlatform(log);
  const echo = await platform.udp.bind(
    { address: "127.0.0.1", port: Number(values.serve) },
    (bytes, address, port) => echo.send(bytes, address, port),
  );
  await new Promise(() => {});
}
const adapters: Array<[string, Platform]> = [["node:dgram", createNodePlatform(log)]];
if (runtimeName() === "deno") adapters.push(["Deno.listenDatagram", createDenoPlatform(log)]);
if (runtimeName() === "bun") adapters.push(["Bun.udpSocket", createBunPlatform(log)]);
const chosen = createRealPlatform(log).name;
const targetPort = values.target === undefined ? undefined : Number(values.target);
for (const [name, platform] of adapters) {
  if (targetPort !== undefined && platform.name !== chosen) continue;
  const result = await pingPong(platform, Number(values.size), Number(values.seconds), targetPort);
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
