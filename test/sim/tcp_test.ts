import assert from "node:assert/strict";
import { test } from "node:test";
import type { Platform, TcpConnection } from "../../src/platform/platform.ts";
import { type LinkSpec, SimSocketError, Simulation, type SimulationOptions } from "../../sim/mod.ts";

interface Side {
  connection?: TcpConnection;
  received: number[];
  chunks: number[];
  closed?: string;
  closedAt?: number;
  drains: number;
}

function side(): Side {
  return { received: [], chunks: [], drains: 0 };
}

function handlers(sim: Simulation, s: Side) {
  return {
    data: (bytes: Uint8Array) => {
      s.chunks.push(bytes.length);
      for (const b of bytes) s.received.push(b);
    },
    drain: () => void s.drains++,
    close: (error?: Error) => {
      assert.equal(s.closed, undefined, "close fired twice");
      if (error !== undefined) assert.ok(error instanceof SimSocketError, `${error.name} is not a SimSocketError`);
      s.closed = error === undefined ? "ok" : `${(error as Error & { code?: string }).code}: ${error.message}`;
      s.closedAt = sim.now;
    },
  };
}

/** A client and a server with a listener on port 9000; `client` runs once connected. */
function pair(
  spec: LinkSpec,
  clientBody: (c: TcpConnection, p: Platform, sim: Simulation) => void,
  options: { start?: boolean; sim?: Partial<SimulationOptions> } = {},
) {
  const sim = new Simulation({ seed: 3, ...options.sim });
  const server = side();
  const client = side();
  sim.addHost("server", {
    async start(p) {
      await p.tcp.listen({ port: 9000 }, (c) => {
        server.connection = c;
        if (options.start !== false) c.start(handlers(sim, server));
      });
    },
  });
  sim.addHost("client", {
    async start(p) {
      const c = await p.tcp.connect({ address: sim.address("server"), port: 9000 });
      client.connection = c;
      c.start(handlers(sim, client));
      clientBody(c, p, sim);
    },
  });
  sim.setLinkDefaults(spec);
  return { sim, server, client };
}

const pattern = (n: number, offset = 0) => Uint8Array.from({ length: n }, (_, i) => (i + offset) % 251);

test("TCP delivers an ordered, complete stream under loss and jitter, cut at random points", async () => {
  const writes: number[] = [];
  const { sim, server } = pair({ latency: 20_000, jitter: 10_000, loss: 0.2 }, (c) => {
    let offset = 0;
    for (let i = 0; i < 200; i++) {
      const n = 1 + (i * 7919) % 3000;
      writes.push(n);
      c.write(pattern(n, offset));
      offset += n;
    }
  });
  await sim.run({ untilUs: 60_000_000 });
  const total = writes.reduce((a, b) => a + b, 0);
  assert.equal(server.received.length, total);
  assert.ok(server.received.every((b, i) => b === i % 251));
  // Chunk boundaries are not the write boundaries: some writes are split, some chunks span writes.
  const writeEnds = new Set(writes.map((_, i) => writes.slice(0, i + 1).reduce((a, b) => a + b, 0)));
  const chunkEnds = server.chunks.map((_, i) => server.chunks.slice(0, i + 1).reduce((a, b) => a + b, 0));
  const split = chunkEnds.filter((end) => !writeEnds.has(end)).length;
  let spanning = 0;
  for (let i = 0, start = 0; i < server.chunks.length; start += server.chunks[i]!, i++) {
    const end = start + server.chunks[i]!;
    if ([...writeEnds].some((w) => w > start && w < end)) spanning++;
  }
  assert.ok(split > 10 && spanning > 10, `split ${split}, spanning ${spanning}`);
  assert.ok(sim.tcpStats().retransmits > 0);
});

test("TCP chunking is deterministic for a seed", async () => {
  const chunks = async () => {
    const { sim, server } = pair({ latency: 1000 }, (c) => void c.write(pattern(100_000)));
    await sim.run();
    return { chunks: server.chunks, hash: sim.traceHash() };
  };
  assert.deepEqual(await chunks(), await chunks());
});

test("write() returns false past the high-water mark and drain follows once the buffer empties", async () => {
  const results: boolean[] = [];
  let bufferedAfter = 0;
  const { sim, server, client } = pair({ latency: 10_000 }, (c) => {
    results.push(c.write(pattern(10_000)));
    results.push(c.write(pattern(10_000)));
    bufferedAfter = c.bufferedBytes;
  }, { sim: { tcp: { windowBytes: 4096, highWaterBytes: 8192 } } });
  await sim.run();
  assert.deepEqual(results, [true, false]);
  assert.ok(bufferedAfter > 8192);
  assert.equal(client.drains, 1);
  assert.equal(client.connection!.bufferedBytes, 0);
  assert.equal(server.received.length, 20_000);
});

test("a receiver that has not started gets nothing and the sender stalls at the window", async () => {
  const { sim, server, client } = pair({ latency: 1000 }, (c) => void c.write(pattern(200_000)), {
    start: false,
    sim: { tcp: { windowBytes: 8192 } },
  });
  await sim.run({ untilUs: 5_000_000 });
  assert.equal(server.received.length, 0);
  assert.equal(client.connection!.bufferedBytes, 200_000 - 8192);
  server.connection!.start(handlers(sim, server));
  await sim.run({ untilUs: 60_000_000 });
  assert.equal(server.received.length, 200_000);
  assert.ok(server.received.every((b, i) => b === i % 251));
});

test("connecting to a port nobody listens on is refused", async () => {
  const sim = new Simulation({ seed: 1 });
  let error: (Error & { code?: string }) | undefined;
  sim.addHost("server");
  sim.addHost("client", {
    async start(p) {
      await p.tcp.connect({ address: sim.address("server"), port: 1 }).catch((e) => (error = e));
    },
  });
  sim.setLinkDefaults({ latency: 5000 });
  await sim.run();
  assert.equal(error?.code, "ECONNREFUSED");
  assert.equal(error?.message, `Cannot connect to ${sim.address("server")}:1: connection refused`);
  assert.equal(sim.now, 10_000);
});

test("connecting across a partition times out; an unknown address has no route", async () => {
  const sim = new Simulation({ seed: 1 });
  const errors: string[] = [];
  sim.addHost("server", { start: async (p) => void await p.tcp.listen({ port: 1 }, () => {}) });
  sim.addHost("client", {
    async start(p) {
      await p.tcp.connect({ address: sim.address("server"), port: 1, timeoutUs: 3_000_000 }).catch((e) =>
        errors.push(`${e.code} ${sim.now}: ${e.message}`)
      );
      await p.tcp.connect({ address: "192.0.2.7", port: 1 }).catch((e) => errors.push(`${e.code}: ${e.message}`));
    },
  });
  sim.partition([["server"], ["client"]]);
  await sim.run();
  assert.deepEqual(errors, [
    `ETIMEDOUT 3000000: Cannot connect to ${sim.address("server")}:1: timed out after 3000 ms`,
    "EHOSTUNREACH: Cannot connect to 192.0.2.7:1: no route to host",
  ]);
});

test("a partition shorter than the user timeout only delays the stream", async () => {
  const { sim, server, client } = pair({ latency: 5_000 }, (c, p) => {
    let i = 0;
    const tick = () => {
      c.write(pattern(100, i * 100));
      if (++i < 100) p.timers.setTimeout(tick, 50_000);
    };
    tick();
  });
  sim.at(1_000_000, () => {
    const cut = sim.partition([["client"], ["server"]]);
    sim.after(3_000_000, () => cut.heal());
  });
  await sim.run({ untilUs: 30_000_000 });
  assert.equal(server.received.length, 10_000);
  assert.ok(server.received.every((b, i) => b === i % 251));
  assert.equal(client.closed, undefined);
  assert.equal(server.closed, undefined);
});

test("data that cannot get through for the user timeout fails the sender; the peer stays half-open", async () => {
  const { sim, server, client } = pair({ latency: 5_000 }, () => {}, { sim: { tcp: { userTimeoutUs: 2_000_000 } } });
  sim.at(1_000_000, () => sim.partition([["client"], ["server"]]));
  sim.at(1_500_000, () => client.connection!.write(pattern(10)));
  await sim.run({ untilUs: 10_000_000 });
  assert.equal(client.closed, "ETIMEDOUT: Connection timed out: the peer did not acknowledge data");
  assert.ok(client.closedAt! >= 3_500_000 && client.closedAt! < 6_000_000, `closed at ${client.closedAt}`);
  assert.equal(server.closed, undefined);
});

test("a crashed host resets its connections", async () => {
  const { sim, client } = pair({ latency: 5_000 }, () => {});
  sim.at(1_000_000, () => sim.crash("server"));
  await sim.run({ untilUs: 5_000_000 });
  assert.equal(client.closed, "ECONNRESET: Connection reset by peer");
  assert.equal(client.closedAt, 1_005_000);
});

test("a silent crash leaves the peer half-open until it writes: reset by the restarted host", async () => {
  const { sim, client } = pair({ latency: 5_000 }, () => {});
  sim.at(1_000_000, () => sim.crash("server", { silent: true }));
  sim.at(2_000_000, () => sim.restart("server"));
  sim.at(4_000_000, () => client.connection!.write(pattern(10)));
  await sim.run({ untilUs: 3_000_000 });
  assert.equal(client.closed, undefined);
  await sim.run({ untilUs: 10_000_000 });
  assert.equal(client.closed, "ECONNRESET: Connection reset by peer");
  assert.equal(client.closedAt, 4_010_000);
});

test("a silent crash without restart times the writer out", async () => {
  const { sim, client } = pair({ latency: 5_000 }, () => {}, { sim: { tcp: { userTimeoutUs: 3_000_000 } } });
  sim.at(1_000_000, () => sim.crash("server", { silent: true }));
  sim.at(2_000_000, () => client.connection!.write(pattern(10)));
  await sim.run({ untilUs: 20_000_000 });
  assert.match(client.closed ?? "", /^ETIMEDOUT/);
});

test("end() flushes, then both sides close without error", async () => {
  const { sim, server, client } = pair({ latency: 5_000 }, (c) => {
    c.write(pattern(50_000));
    c.end();
    assert.equal(c.write(pattern(1)), false);
  });
  await sim.run();
  assert.equal(server.received.length, 50_000);
  assert.equal(server.closed, "ok");
  assert.equal(client.closed, "ok");
});

test("destroy() closes at once; the peer sees a clean close", async () => {
  const { sim, server, client } = pair({ latency: 5_000 }, (c) => {
    c.write(pattern(10));
    c.destroy();
  });
  await sim.run();
  assert.equal(client.closed, "ok");
  assert.equal(server.closed, "ok");
});

test("resetTcp() resets both ends", async () => {
  const { sim, server, client } = pair({ latency: 5_000 }, () => {});
  sim.at(1_000_000, () => assert.equal(sim.resetTcp("client", "server"), 1));
  await sim.run({ untilUs: 2_000_000 });
  assert.equal(client.closed, "ECONNRESET: Connection reset by peer");
  assert.equal(server.closed, "ECONNRESET: Connection reset by peer");
});

test("a listener refuses a second bind of its port and stops accepting once closed", async () => {
  const sim = new Simulation({ seed: 1 });
  const events: string[] = [];
  sim.addHost("server", {
    async start(p) {
      const listener = await p.tcp.listen({ port: 80 }, (c) => {
        events.push("accepted");
        c.start({ data() {}, drain() {}, close() {} });
      });
      await p.tcp.listen({ port: 80 }, () => {}).catch((e) => events.push(`${e.code}: ${e.message}`));
      sim.at(1_000_000, () => listener.close());
    },
  });
  sim.addHost("client", {
    async start(p) {
      await p.tcp.connect({ address: sim.address("server"), port: 80 });
      events.push("connected");
      await new Promise<void>((resolve) => p.timers.setTimeout(resolve, 2_000_000));
      await p.tcp.connect({ address: sim.address("server"), port: 80 }).catch((e) => events.push(e.code));
    },
  });
  await sim.run();
  assert.deepEqual(events, [
    "EADDRINUSE: Cannot listen on TCP 127.0.0.1:80: address in use",
    "accepted",
    "connected",
    "ECONNREFUSED",
  ]);
});

test("a connection over its buffer limit is destroyed with SIM_TCP_BUFFER_OVERFLOW", async () => {
  let ok: boolean | undefined;
  const { sim, client, server } = pair({ latency: 5_000 }, (c) => {
    ok = c.write(pattern(5000));
  }, { sim: { tcp: { maxBufferedBytes: 4096, windowBytes: 1024 } } });
  await sim.run();
  assert.equal(ok, false);
  assert.equal(
    client.closed,
    "SIM_TCP_BUFFER_OVERFLOW: TCP send buffer overflow: 5000 bytes buffered exceeds limit 4096",
  );
  assert.equal(server.closed, "ECONNRESET: Connection reset by peer");
});

test("start() twice is refused", async () => {
  const { sim, client } = pair({}, () => {});
  await sim.run();
  assert.throws(() => client.connection!.start({ data() {}, drain() {}, close() {} }), {
    message: "Cannot start TCP connection: already started",
  });
});
