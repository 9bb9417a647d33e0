import assert from "node:assert/strict";
import { test } from "node:test";
import { createBunPlatform } from "../../src/platform/bun.ts";
import { createConsoleLog } from "../../src/platform/console_log.ts";
import { createDenoPlatform } from "../../src/platform/deno.ts";
import { createRealPlatform, runtimeName } from "../../src/platform/mod.ts";
import { createNodePlatform } from "../../src/platform/node.ts";
import type { Platform } from "../../src/platform/platform.ts";

const log = createConsoleLog({ level: "error" });

async function echoRoundTrips(platform: Platform): Promise<void> {
  const server = await platform.udp.bind({ port: 0 }, (bytes, address, port) => server.send(bytes, address, port));
  assert.equal(server.local.address, "127.0.0.1");
  assert.ok(server.local.port > 0);
  const received: number[][] = [];
  const done = Promise.withResolvers<void>();
  const client = await platform.udp.bind({}, (bytes, address, port) => {
    assert.equal(address, "127.0.0.1");
    assert.equal(port, server.local.port);
    received.push([...bytes]);
    if (received.length === 3) done.resolve();
  });
  for (let i = 0; i < 3; i++) client.send(Uint8Array.of(i, i + 1, i + 2), server.local.address, server.local.port);
  await done.promise;
  client.close();
  server.close();
  client.send(Uint8Array.of(9), "127.0.0.1", server.local.port); // ignored after close
  assert.deepEqual(received.sort((a, b) => a[0]! - b[0]!), [[0, 1, 2], [1, 2, 3], [2, 3, 4]]);
}

test("the node:dgram UDP adapter echoes datagrams over loopback", () => echoRoundTrips(createNodePlatform(log)));

test("the runtime's own UDP adapter echoes datagrams over loopback", () => {
  const platform = runtimeName() === "deno"
    ? createDenoPlatform(log)
    : runtimeName() === "bun"
    ? createBunPlatform(log)
    : createNodePlatform(log);
  return echoRoundTrips(platform);
});

test("the runtime's own UDP adapter keeps the order of a fresh socket's first burst", async () => {
  const platform = createRealPlatform(log);
  const received: number[] = [];
  const done = Promise.withResolvers<void>();
  const receiver = await platform.udp.bind({}, (bytes) => {
    received.push(bytes[0]!);
    if (received.length === 20) done.resolve();
  });
  const sender = await platform.udp.bind({}, () => {});
  for (let i = 0; i < 20; i++) sender.send(Uint8Array.of(i), "127.0.0.1", receiver.local.port);
  await done.promise;
  sender.close();
  receiver.close();
  assert.deepEqual(received, Array.from({ length: 20 }, (_, i) => i));
});

test("UDP sends to a port nobody listens on never throw, on every adapter", async () => {
  const platforms = [createNodePlatform(log), createRealPlatform(log)];
  for (const platform of platforms) {
    const gone = await platform.udp.bind({}, () => {});
    const port = gone.local.port;
    gone.close();
    const sender = await platform.udp.bind({}, () => {});
    // ICMP port-unreachable answers arrive between these sends; Bun reports them by throwing from a later send.
    for (let i = 0; i < 400; i++) {
      sender.send(Uint8Array.of(i), "127.0.0.1", port);
      if (i % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    sender.close();
  }
});

test("createRealPlatform() picks the adapter of the running runtime", () => {
  assert.equal(createRealPlatform(log).name, runtimeName());
  assert.equal(createRealPlatform(log, "node").name, "node");
});

test("binding a UDP port already in use rejects", async () => {
  const platform = createRealPlatform(log);
  const first = await platform.udp.bind({}, () => {});
  await assert.rejects(platform.udp.bind({ port: first.local.port }, () => {}));
  first.close();
});
