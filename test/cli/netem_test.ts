import assert from "node:assert/strict";
import { test } from "node:test";
import { netemSpec } from "../../src/cli/netem.ts";
import { createConsoleLog, createRealPlatform } from "../../src/platform/mod.ts";
import type { UdpSocket } from "../../src/platform/platform.ts";
import { runCli } from "../_support/cli.ts";

const platform = createRealPlatform(createConsoleLog({ level: "error" }));

async function run(
  args: string[],
  onLine?: (line: string) => void,
): Promise<{ code: number; out: string[]; err: string }> {
  const result = await runCli(args, onLine === undefined ? {} : { onLine });
  return { code: result.code, out: [...result.lines], err: result.err };
}

test("qeynos netem impairs real traffic as configured and prints statistics", async () => {
  const server: UdpSocket = await platform.udp.bind({}, (bytes, address, port) => server.send(bytes, address, port));
  const replies: number[] = [];
  const client = await platform.udp.bind({}, (bytes) => replies.push(bytes[0]!));
  const started = Promise.withResolvers<{ listen: string }>();
  const running = run(
    [
      "netem",
      "--listen",
      "127.0.0.1:0",
      "--forward",
      `127.0.0.1:${server.local.port}`,
      "--loss",
      "0.5",
      "--delay",
      "5",
      "--seed",
      "3",
      "--duration",
      "1.5",
    ],
    (line) => {
      const parsed = JSON.parse(line);
      if (parsed.netem === "start") started.resolve(parsed);
    },
  );
  const { listen } = await started.promise;
  const port = Number(listen.split(":")[1]);
  for (let i = 0; i < 400; i++) {
    client.send(new Uint8Array([i & 0xff]), "127.0.0.1", port);
    if (i % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const { code, out } = await running;
  client.close();
  server.close();
  assert.equal(code, 0);
  const start = JSON.parse(out[0]!);
  assert.deepEqual(start.spec, { latency: 5000, jitter: 0, loss: 0.5, dup: 0, reorder: 0, corrupt: 0 });
  const stats = out.slice(1).map((l) => JSON.parse(l));
  const up = stats.find((s) => s.direction === "up");
  const down = stats.find((s) => s.direction === "down");
  assert.equal(up.received, 400);
  assert.equal(up.forwarded + up.dropped, 400);
  assert.ok(Math.abs(up.dropped / 400 - 0.5) < 0.13, `up dropped ${up.dropped}`);
  assert.equal(down.received, up.forwarded);
  assert.equal(replies.length, down.forwarded);
  assert.ok(up.latencyUs.min >= 5000);
});

test("qeynos netem refuses non-loopback addresses and bad numbers", async () => {
  const remote = await run(["netem", "--listen", "10.1.2.3:5000", "--forward", "127.0.0.1:6000"]);
  assert.equal(remote.code, 2);
  assert.match(remote.err, /Invalid value for --listen: 10\.1\.2\.3 is not a loopback address/);
  const loss = await run(["netem", "--listen", "127.0.0.1:0", "--forward", "127.0.0.1:6000", "--loss", "2"]);
  assert.equal(loss.code, 2);
  assert.match(loss.err, /Invalid value for --loss: '2' is not a number in 0\.\.1/);
  const missing = await run(["netem", "--listen", "127.0.0.1:0"]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /Missing --forward/);
});

test("netem flags map onto the simulator's link spec", () => {
  assert.deepEqual(
    netemSpec({
      delay: "40",
      jitter: "8",
      loss: "0.01",
      dup: "0.002",
      reorder: "0.01",
      "rate-kbps": "1000",
      "queue-ms": "50",
      mtu: "1400",
    }),
    {
      latency: 40_000,
      jitter: 8_000,
      loss: 0.01,
      dup: 0.002,
      reorder: 0.01,
      corrupt: 0,
      mtu: 1400,
      bandwidth: 1_000_000,
      queueBytes: 6250,
    },
  );
});
