import assert from "node:assert/strict";
import { test } from "node:test";
import { NetemProxy } from "../../src/netem/proxy.ts";
import { createConsoleLog, createRealPlatform } from "../../src/platform/mod.ts";
import type { Platform, UdpSocket } from "../../src/platform/platform.ts";
import type { LinkSpec } from "../../sim/link_spec.ts";

const platform: Platform = createRealPlatform(createConsoleLog({ level: "error" }));

interface Reply {
  readonly seq: number;
  readonly rttUs: number;
  readonly bytes: Uint8Array;
  readonly from: string;
}

/** An echo server behind a proxy, and a client that sends `count` numbered datagrams through it. */
async function echoThrough(
  up: LinkSpec,
  options: { down?: LinkSpec; count: number; size?: number; gapEvery?: number; settleMs?: number; seed?: number },
) {
  const server: UdpSocket = await platform.udp.bind({}, (bytes, address, port) => server.send(bytes, address, port));
  const forwardedUp: number[] = [];
  const proxy = await NetemProxy.start(platform, {
    listen: { address: "127.0.0.1", port: 0 },
    forward: server.local,
    onForward: (direction, bytes) => {
      if (direction === "up") forwardedUp.push(new DataView(bytes.buffer, bytes.byteOffset).getUint32(0));
    },
    up,
    ...(options.down === undefined ? {} : { down: options.down }),
    seed: options.seed ?? 7,
  });
  const replies: Reply[] = [];
  const sentAt = new Map<number, number>();
  const client = await platform.udp.bind({}, (bytes, address, port) => {
    const seq = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);
    replies.push({ seq, rttUs: platform.clock.now() - (sentAt.get(seq) ?? 0), bytes, from: `${address}:${port}` });
  });
  const size = options.size ?? 64;
  for (let seq = 0; seq < options.count; seq++) {
    const bytes = new Uint8Array(size).fill(seq & 0xff);
    new DataView(bytes.buffer).setUint32(0, seq);
    sentAt.set(seq, platform.clock.now());
    client.send(bytes, proxy.listenAddress.address, proxy.listenAddress.port);
    // Pace the sender a little so the kernel's socket buffers never drop anything themselves.
    if ((seq + 1) % (options.gapEvery ?? 20) === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await new Promise((resolve) => setTimeout(resolve, options.settleMs ?? 300));
  const stats = proxy.stats();
  proxy.close();
  client.close();
  server.close();
  return { replies, stats, proxy, forwardedUp };
}

test("NetemProxy forwards both ways unchanged when no fault is configured", async () => {
  const { replies, stats, proxy } = await echoThrough({}, { count: 300 });
  assert.equal(replies.length, 300);
  for (const r of replies) {
    assert.equal(r.bytes.length, 64);
    assert.equal(r.bytes[10], r.seq & 0xff);
    assert.equal(r.from, `${proxy.listenAddress.address}:${proxy.listenAddress.port}`);
  }
  assert.deepEqual(stats.map((s) => [s.direction, s.received, s.forwarded]), [["up", 300, 300], ["down", 300, 300]]);
});

test("NetemProxy drops the configured fraction of real datagrams", async () => {
  const n = 3000;
  const { replies, stats } = await echoThrough({ loss: 0.3 }, { count: n });
  const up = stats[0]!;
  const down = stats[1]!;
  assert.equal(up.received, n);
  assert.equal(up.forwarded + up.dropped, n);
  assert.equal(down.received, up.forwarded);
  assert.equal(replies.length, down.forwarded);
  const sigma = Math.sqrt((0.3 * 0.7) / n);
  assert.ok(Math.abs(up.dropped / n - 0.3) < 5 * sigma, `up loss ${up.dropped / n}`);
  assert.ok(Math.abs(down.dropped / down.received - 0.3) < 6 * sigma, `down loss ${down.dropped / down.received}`);
});

test("NetemProxy delays every datagram by at least the configured delay", async () => {
  const { replies, forwardedUp } = await echoThrough({ latency: 30_000, jitter: 10_000 }, {
    count: 100,
    settleMs: 400,
    gapEvery: 1, // one datagram per event-loop turn, so the proxy receives them in order
  });
  assert.equal(replies.length, 100);
  for (const r of replies) assert.ok(r.rttUs >= 60_000, `rtt ${r.rttUs}`);
  const sorted = replies.map((r) => r.rttUs).sort((a, b) => a - b);
  assert.ok(sorted[50]! < 200_000, `median rtt ${sorted[50]}`);
  // Jitter alone never reorders what the proxy forwards. (Deno 2.9 itself emits datagrams sent in one
  // event-loop turn in reverse order, so only what the proxy forwards is asserted.)
  assert.deepEqual(forwardedUp, Array.from({ length: 100 }, (_, i) => i));
});

test("NetemProxy duplicates and reorders real datagrams", async () => {
  const dup = await echoThrough({ dup: 0.5 }, { down: {}, count: 1000 });
  assert.ok(dup.replies.length > 1350 && dup.replies.length < 1650, `${dup.replies.length} replies`);
  assert.equal(dup.replies.length, 1000 + dup.stats[0]!.duplicated);
  const reordered = await echoThrough({ latency: 2000, reorder: 0.2, reorderDelay: 20_000 }, {
    down: {},
    count: 500,
    gapEvery: 5,
  });
  let inversions = 0;
  for (let i = 1; i < reordered.forwardedUp.length; i++) {
    if (reordered.forwardedUp[i]! < reordered.forwardedUp[i - 1]!) inversions++;
  }
  assert.equal(reordered.replies.length, 500);
  assert.ok(inversions > 20, `${inversions} inversions`);
});

test("NetemProxy's bottleneck queue drops a burst beyond its bound", async () => {
  // 800 kbit/s with a 10 ms queue holds 1000 bytes: a burst of 100 × 1000-byte datagrams mostly drops.
  const { stats, replies } = await echoThrough(
    { bandwidth: 800_000, queueBytes: 1000 + 28 },
    { down: {}, count: 100, size: 1000, gapEvery: 1000, settleMs: 500 },
  );
  const up = stats[0]!;
  assert.ok((up.droppedByCause.queue ?? 0) >= 90, JSON.stringify(up));
  assert.ok(up.maxQueueBytes <= 1028);
  assert.equal(replies.length, up.forwarded);
});

test("NetemProxy blocks, clogs and releases a direction on demand", async () => {
  const server: UdpSocket = await platform.udp.bind({}, (bytes, address, port) => server.send(bytes, address, port));
  const proxy = await NetemProxy.start(platform, {
    listen: { address: "127.0.0.1", port: 0 },
    forward: server.local,
    up: {},
    seed: 1,
  });
  const got: number[] = [];
  const client = await platform.udp.bind({}, (bytes) => got.push(bytes[0]!));
  const send = (v: number) => client.send(new Uint8Array([v]), proxy.listenAddress.address, proxy.listenAddress.port);
  const settle = () => new Promise((resolve) => setTimeout(resolve, 100));
  proxy.setBlocked("up", true);
  send(1);
  await settle();
  proxy.setBlocked("up", false);
  proxy.clog("down");
  send(2);
  send(3);
  await settle();
  assert.deepEqual(got, []);
  proxy.unclog("down");
  await settle();
  assert.deepEqual(got, [2, 3]);
  assert.equal(proxy.stats()[0]!.droppedByCause.partition, 1);
  proxy.close();
  client.close();
  server.close();
});
