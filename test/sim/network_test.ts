import assert from "node:assert/strict";
import { test } from "node:test";
import { type LinkSpec, Simulation, type SimulationOptions } from "../../sim/mod.ts";

interface Arrival {
  readonly seq: number;
  readonly sentAt: number;
  readonly at: number;
  readonly bytes: Uint8Array;
}

/** Host a sends `count` numbered datagrams of `size` bytes to host b, one every `intervalUs`. */
function blast(
  spec: LinkSpec,
  options: { count: number; size?: number; intervalUs?: number; seed?: number; sim?: Partial<SimulationOptions> },
) {
  const sim = new Simulation({ seed: options.seed ?? 1, ...options.sim });
  const arrivals: Arrival[] = [];
  const size = options.size ?? 16;
  sim.addHost("a", {
    async start(p) {
      const socket = await p.udp.bind({}, () => {});
      let seq = 0;
      const send = () => {
        const bytes = new Uint8Array(size);
        new DataView(bytes.buffer).setUint32(0, seq);
        new DataView(bytes.buffer).setFloat64(4, sim.now);
        socket.send(bytes, sim.address("b"), 9);
        if (++seq < options.count) p.timers.setTimeout(send, options.intervalUs ?? 100);
      };
      send();
    },
  });
  sim.addHost("b", {
    async start(p) {
      await p.udp.bind({ port: 9 }, (bytes) => {
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        arrivals.push({
          seq: bytes.length >= 4 ? view.getUint32(0) : -1,
          sentAt: bytes.length >= 12 ? view.getFloat64(4) : -1,
          at: sim.now,
          bytes,
        });
      });
    },
  });
  sim.setLink("a", "b", spec);
  return { sim, arrivals };
}

test("Bernoulli loss drops the configured fraction of 100,000 datagrams", async () => {
  const { sim, arrivals } = blast({ loss: 0.1 }, { count: 100_000, intervalUs: 10 });
  await sim.run();
  const stats = sim.linkStats().find((l) => l.from === "a")!;
  assert.equal(stats.sent, 100_000);
  assert.equal(stats.dropped.loss + stats.delivered, 100_000);
  assert.equal(arrivals.length, stats.delivered);
  assert.ok(Math.abs(stats.dropped.loss / 100_000 - 0.1) < 0.006, `loss ${stats.dropped.loss}`);
});

test("Gilbert-Elliott loss comes in bursts at its stationary rate", async () => {
  // Stationary bad fraction p/(p+r) = 0.02/0.22 ≈ 9.1 %; all of it lost.
  const { sim, arrivals } = blast({ loss: { model: "gilbert", p: 0.02, r: 0.2 } }, { count: 50_000, intervalUs: 10 });
  await sim.run();
  const lost = 50_000 - arrivals.length;
  assert.ok(Math.abs(lost / 50_000 - 0.0909) < 0.015, `lost ${lost}`);
  // Mean burst length is 1/r = 5, far from Bernoulli's ≈ 1.1.
  let bursts = 0;
  let previous = -1;
  for (const a of arrivals) {
    if (a.seq !== previous + 1) bursts++;
    previous = a.seq;
  }
  assert.ok(lost / bursts > 3.5, `mean burst ${lost / bursts}`);
});

test("nothing is delivered before the minimum latency, and FIFO holds without reordering", async () => {
  const { sim, arrivals } = blast(
    { latency: { dist: "normal", mean: 30_000, sd: 10_000, min: 12_000 }, jitter: 5000 },
    { count: 5000, intervalUs: 50 },
  );
  await sim.run();
  assert.equal(arrivals.length, 5000);
  for (let i = 0; i < arrivals.length; i++) {
    const a = arrivals[i]!;
    assert.equal(a.seq, i);
    assert.ok(a.at - a.sentAt >= 12_000);
  }
  const latency = sim.linkStats().find((l) => l.from === "a")!.latencyUs;
  assert.ok(latency.min >= 12_000 && latency.p50 > 25_000 && latency.max < 100_000);
});

test("every delay distribution respects its bounds", async () => {
  const cases: Array<[LinkSpec["latency"], number, number]> = [
    [7000, 7000, 7000],
    [{ dist: "constant", value: 1000 }, 1000, 1000],
    [{ dist: "uniform", min: 2000, max: 4000 }, 2000, 4000],
    [{ dist: "exponential", mean: 1000, min: 500 }, 500, 500 + 30_000],
    [{ dist: "pareto", scale: 1000, shape: 1.5, max: 50_000 }, 1000, 50_000],
    [
      {
        dist: "mix",
        of: [{ weight: 9, delay: 1000 }, { weight: 1, delay: { dist: "uniform", min: 80_000, max: 90_000 } }],
      },
      1000,
      90_000,
    ],
  ];
  for (const [latency, min, max] of cases) {
    const { sim } = blast(latency === undefined ? {} : { latency }, { count: 2000, intervalUs: 1000 });
    await sim.run();
    const l = sim.linkStats().find((s) => s.from === "a")!.latencyUs;
    assert.ok(l.min >= min && l.max <= max, `${JSON.stringify(latency)}: ${l.min}..${l.max}`);
  }
});

test("reordering lets later datagrams overtake; without it jitter never reorders", async () => {
  const reordered = blast({ latency: 1000, jitter: 3000, reorder: 0.1 }, { count: 2000, intervalUs: 100 });
  await reordered.sim.run();
  let inversions = 0;
  for (let i = 1; i < reordered.arrivals.length; i++) {
    if (reordered.arrivals[i]!.seq < reordered.arrivals[i - 1]!.seq) inversions++;
  }
  const stats = reordered.sim.linkStats().find((l) => l.from === "a")!;
  assert.ok(stats.reordered > 100 && inversions > 100, `reordered ${stats.reordered}, inversions ${inversions}`);
  assert.equal(reordered.arrivals.length, 2000);
});

test("duplication delivers extra copies, each a private buffer", async () => {
  const { sim, arrivals } = blast({ dup: 0.2 }, { count: 5000, intervalUs: 10 });
  await sim.run();
  const stats = sim.linkStats().find((l) => l.from === "a")!;
  assert.equal(arrivals.length, 5000 + stats.duplicated);
  assert.ok(Math.abs(stats.duplicated / 5000 - 0.2) < 0.03);
  const seen = new Map<number, Uint8Array>();
  for (const a of arrivals) {
    const other = seen.get(a.seq);
    if (other !== undefined) {
      assert.notEqual(other.buffer === a.bytes.buffer && other.byteOffset === a.bytes.byteOffset, true);
      a.bytes[20] = 0xff;
      assert.notEqual(other[20], 0xff);
    }
    seen.set(a.seq, a.bytes);
  }
});

test("corruption flips the configured number of bits", async () => {
  const { sim, arrivals } = blast({ corrupt: 1, corruptBits: 3 }, { count: 200, size: 64, intervalUs: 10 });
  // The header would be corrupted too, so compare against the known pattern instead.
  await sim.run();
  assert.equal(sim.linkStats().find((l) => l.from === "a")!.corrupted, 200);
  for (const a of arrivals) {
    const clean = new Uint8Array(64);
    let bits = 0;
    for (let i = 12; i < 64; i++) bits += popcount(a.bytes[i]! ^ clean[i]!);
    assert.ok(bits <= 3);
  }
  const totalTailFlips = arrivals.reduce((n, a) => n + a.bytes.subarray(12).reduce((m, b) => m + popcount(b), 0), 0);
  assert.ok(totalTailFlips > 200, `flips in the zero tail: ${totalTailFlips}`);
});

function popcount(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

test("oversize datagrams are dropped or truncated at the MTU", async () => {
  const dropped = blast({ mtu: 100 }, { count: 10, size: 101 });
  await dropped.sim.run();
  assert.equal(dropped.arrivals.length, 0);
  assert.equal(dropped.sim.linkStats().find((l) => l.from === "a")!.dropped.mtu, 10);
  const truncated = blast({ mtu: 100, mtuMode: "truncate" }, { count: 10, size: 150 });
  await truncated.sim.run();
  assert.equal(truncated.arrivals.length, 10);
  assert.ok(truncated.arrivals.every((a) => a.bytes.length === 100));
  const fits = blast({ mtu: 100 }, { count: 10, size: 100 });
  await fits.sim.run();
  assert.equal(fits.arrivals.length, 10);
});

test("bandwidth serializes datagrams and the drop-tail queue never exceeds its bound", async () => {
  // 1 Mbit/s: a 97-byte datagram + 28 bytes overhead takes 1000 µs. Offered: one every 500 µs.
  const { sim, arrivals } = blast(
    { bandwidth: 1_000_000, queueBytes: 2000 },
    { count: 2000, size: 97, intervalUs: 500 },
  );
  await sim.run();
  const stats = sim.linkStats().find((l) => l.from === "a")!;
  assert.ok(stats.maxQueueBytes <= 2000 && stats.maxQueueBytes > 1500, `max queue ${stats.maxQueueBytes}`);
  assert.ok(stats.dropped.queue > 900, `queue drops ${stats.dropped.queue}`);
  for (let i = 1; i < arrivals.length; i++) assert.ok(arrivals[i]!.at - arrivals[i - 1]!.at >= 1000);
  // Queueing delay is bounded by the queue: at most 16 datagrams of 1000 µs wait in front.
  assert.ok(stats.latencyUs.max <= 17_000, `max latency ${stats.latencyUs.max}`);
});

test("a partition delivers nothing across it, in either direction, until healed", async () => {
  const { sim, arrivals } = blast({}, { count: 100, intervalUs: 1000 });
  let cut: { heal(): void } | undefined;
  sim.at(20_000, () => (cut = sim.partition([["a"], ["b"]])));
  sim.at(60_000, () => cut!.heal());
  await sim.run();
  const stats = sim.linkStats().find((l) => l.from === "a")!;
  assert.equal(stats.dropped.partition, 40);
  assert.ok(arrivals.every((a) => a.sentAt < 20_000 || a.sentAt >= 60_000));
  assert.equal(arrivals.length, 60);
});

test("datagrams in flight when a partition starts are dropped on arrival", async () => {
  const { sim, arrivals } = blast({ latency: 10_000 }, { count: 10, intervalUs: 1000 });
  sim.at(15_000, () => sim.partition([["b"], ["a"]]));
  await sim.run();
  // Sent at 0..4 ms, they arrive before the cut; the one due at 15 ms meets it (faults act first).
  assert.deepEqual(arrivals.map((a) => a.seq), [0, 1, 2, 3, 4]);
  assert.equal(sim.linkStats().find((l) => l.from === "a")!.dropped.partition, 5);
});

test("a one-way partition cuts only from earlier groups to later ones", async () => {
  const sim = new Simulation({ seed: 2 });
  const got: string[] = [];
  for (const id of ["a", "b", "c"]) {
    sim.addHost(id, {
      async start(p) {
        const socket = await p.udp.bind({ port: 1 }, (bytes) => got.push(`${String.fromCharCode(bytes[0]!)}>${id}`));
        sim.at(10, () => {
          for (const to of ["a", "b", "c"]) {
            if (to !== id) socket.send(new Uint8Array([id.charCodeAt(0)]), sim.address(to), 1);
          }
        });
      },
    });
  }
  sim.partition([["a"], ["b"]], { oneWay: true });
  assert.equal(sim.isPartitioned("a", "b"), true);
  assert.equal(sim.isPartitioned("b", "a"), false);
  await sim.run();
  assert.deepEqual(got.sort(), ["a>c", "b>a", "b>c", "c>a", "c>b"]);
});

test("a clog holds datagrams and releases them in order", async () => {
  const { sim, arrivals } = blast({ latency: 100 }, { count: 20, intervalUs: 1000 });
  sim.at(5_000, () => sim.clog("a", "b"));
  sim.at(12_500, () => sim.unclog("a", "b"));
  await sim.run();
  assert.deepEqual(arrivals.map((a) => a.seq), Array.from({ length: 20 }, (_, i) => i));
  const released = arrivals.filter((a) => a.sentAt >= 5_000 && a.sentAt < 12_500);
  assert.ok(released.every((a) => a.at === 12_600));
  assert.equal(sim.linkStats().find((l) => l.from === "a")!.held, 8);
});

test("a clog holds at most clogBufferLimit datagrams", async () => {
  const { sim, arrivals } = blast({}, { count: 50, sim: { clogBufferLimit: 10 } });
  sim.clog("a", "b");
  sim.at(1_000_000, () => sim.heal());
  await sim.run();
  assert.equal(arrivals.length, 10);
  assert.equal(sim.linkStats().find((l) => l.from === "a")!.dropped.clog_overflow, 40);
});

test("datagrams to a crashed host, a closed port or an unknown address are dropped and counted", async () => {
  const { sim, arrivals } = blast({ latency: 500 }, { count: 30, intervalUs: 1000 });
  sim.at(9_800, () => sim.crash("b"));
  await sim.run();
  assert.equal(arrivals.length, 10);
  const stats = sim.linkStats().find((l) => l.from === "a")!;
  assert.equal(stats.dropped.host_down, 20);
  sim.restart("b");
  // Restarted without binding port 9 first: the start function binds it again at once.
  const sender = await sim.platform("a").udp.bind({}, () => {});
  sender.send(new Uint8Array(12), sim.address("b"), 10);
  sender.send(new Uint8Array(12), "192.0.2.1", 9);
  await sim.run();
  assert.equal(sim.linkStats().find((l) => l.from === "a")!.dropped.no_socket, 1);
  assert.equal(sim.unroutable, 1);
});

test("a paused host receives what arrived while paused, up to its buffer limit", async () => {
  const { sim, arrivals } = blast({}, { count: 100, intervalUs: 100, sim: { pausedBufferLimit: 30 } });
  sim.at(1_050, () => sim.pause("b"));
  sim.at(50_000, () => sim.resume("b"));
  await sim.run();
  assert.equal(arrivals.length, 11 + 30);
  assert.equal(sim.linkStats().find((l) => l.from === "a")!.dropped.paused_overflow, 59);
  assert.ok(arrivals.slice(11).every((a) => a.at === 50_000));
  assert.deepEqual(arrivals.map((a) => a.seq), Array.from({ length: 41 }, (_, i) => i));
});

test("observers see every delivery and drop with its cause", async () => {
  const { sim } = blast({ loss: 0.5 }, { count: 1000, intervalUs: 10 });
  const seen = { deliver: 0, drop: 0 };
  sim.observe((e) => {
    seen[e.type]++;
    if (e.type === "drop") assert.equal(e.cause, "loss");
  });
  await sim.run();
  const stats = sim.linkStats().find((l) => l.from === "a")!;
  assert.equal(seen.deliver, stats.delivered);
  assert.equal(seen.drop, stats.dropped.loss);
});

test("loopback traffic is unimpaired by the link defaults", async () => {
  const sim = new Simulation({ seed: 1 });
  sim.setLinkDefaults({ loss: 1 });
  let got = 0;
  sim.addHost("a", {
    async start(p) {
      await p.udp.bind({ port: 5 }, () => got++);
      const s = await p.udp.bind({}, () => {});
      s.send(new Uint8Array(1), "127.0.0.1", 5);
      s.send(new Uint8Array(1), sim.address("a"), 5);
    },
  });
  await sim.run();
  assert.equal(got, 2);
});

test("the receiver sees the sender's address and port", async () => {
  const sim = new Simulation({ seed: 1 });
  let from = "";
  sim.addHost("a", {
    async start(p) {
      const s = await p.udp.bind({ port: 4000 }, () => {});
      s.send(new Uint8Array(1), sim.address("b"), 5);
    },
  });
  sim.addHost("b", {
    start: async (p) => void await p.udp.bind({ port: 5 }, (_b, address, port) => (from = `${address}:${port}`)),
  });
  await sim.run();
  assert.equal(from, `${sim.address("a")}:4000`);
});

test("binding a taken port or a foreign address fails with the runtime's codes", async () => {
  const sim = new Simulation({ seed: 1 });
  const errors: string[] = [];
  sim.addHost("a", {
    async start(p) {
      const first = await p.udp.bind({ port: 5 }, () => {});
      assert.deepEqual(first.local, { address: sim.address("a"), port: 5 });
      for (const options of [{ port: 5 }, { address: "10.9.9.9", port: 6 }, { port: 70000 }]) {
        await p.udp.bind(options, () => {}).catch((e) => errors.push(`${e.code}: ${e.message}`));
      }
      const any = await p.udp.bind({}, () => {});
      assert.ok(any.local.port >= 49152);
    },
  });
  await sim.run();
  assert.deepEqual(errors, [
    "EADDRINUSE: Cannot bind UDP 127.0.0.1:5: address in use",
    "EADDRNOTAVAIL: Cannot bind UDP 10.9.9.9:6: address not available on host a (10.0.0.1)",
    "EINVAL: Cannot bind UDP 127.0.0.1:70000: invalid port",
  ]);
});

test("setLink() merges over the defaults unless asked to replace them", () => {
  const sim = new Simulation({ seed: 1 });
  sim.addHost("a");
  sim.addHost("b");
  sim.setLinkDefaults({ latency: 5000, loss: 0.1 });
  sim.setLink("a", "b", { loss: 0.3 });
  assert.deepEqual(sim.linkSpec("a", "b"), { latency: 5000, loss: 0.3 });
  assert.deepEqual(sim.linkSpec("b", "a"), { latency: 5000, loss: 0.1 });
  sim.setLink("b", "a", { dup: 0.1 }, { replace: true });
  assert.deepEqual(sim.linkSpec("b", "a"), { dup: 0.1 });
  sim.setLinkDefaults({ latency: 1000 });
  assert.deepEqual(sim.linkSpec("a", "b"), { latency: 1000, loss: 0.3 });
});
