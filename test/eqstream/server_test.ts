import assert from "node:assert/strict";
import { test } from "node:test";
import { Simulation } from "../../sim/mod.ts";
import { connect, type EqStreamConnection, type EqStreamServer, listen } from "../../src/eqstream/mod.ts";
import { encodeBody, ProtocolOp } from "../../src/eqstream/packets.ts";

function request(sessionId: number): Uint8Array {
  return encodeBody({ op: ProtocolOp.SessionRequest, protocolVersion: 2, sessionId, maxLength: 512 });
}

test("a flood of spoofed session requests costs bounded sessions, replies and limiter state, then nothing", async () => {
  const sim = new Simulation({ seed: 11 });
  let server: EqStreamServer | undefined;
  sim.addHost("server", {
    start: async (p) => {
      server = await listen(p, { address: sim.address("server"), port: 9100 }, {});
    },
  });
  const rng = sim.rng("flood");
  let peakSessions = 0;
  let peakHalfOpen = 0;
  let peakSources = 0;
  const FLOOD_US = 10_000_000;
  const PER_MS = 20; // 20 000 requests a second from ever new addresses (and some repeats)
  let sent = 0;
  for (let t = 1_000; t < FLOOD_US; t += 1_000) {
    sim.at(t, () => {
      for (let i = 0; i < PER_MS; i++) {
        const a = rng.u32();
        const address = `172.${16 + (a & 15)}.${(a >>> 4) & 255}.${(a >>> 12) & 255}`;
        server!.receive(request(rng.u32()), address, 1024 + ((a >>> 20) & 0xfff));
        sent++;
      }
      const stats = server!.stats;
      peakSessions = Math.max(peakSessions, stats.sessions);
      peakHalfOpen = Math.max(peakHalfOpen, stats.halfOpen);
      peakSources = Math.max(peakSources, stats.trackedSources);
    });
  }
  await sim.run({ untilUs: FLOOD_US });
  const during = server!.stats;
  assert.equal(sent, 199_980);
  // Defaults: 1 000 requests/s overall (burst 2 000), 1 024 half-open sessions, 4 096 tracked sources.
  assert.ok(during.accepted <= 2_000 + 1_000 * (FLOOD_US / 1e6), `${during.accepted} accepted`);
  assert.ok(peakHalfOpen <= 1_024 && peakSessions <= 1_024, `${peakSessions} sessions, ${peakHalfOpen} half-open`);
  assert.ok(peakSources <= 4_096, `${peakSources} sources tracked`);
  assert.equal(during.accepted + during.rateLimited + during.overCapacity, sent);
  // Replies went only to accepted requests: one SessionResponse each (to unroutable, spoofed addresses).
  assert.equal(sim.unroutable, during.accepted);
  // After the handshake timeout nothing is left, and a real client gets in.
  let connected = false;
  sim.addHost("client", {
    start: async (p) => {
      const c = await connect(p, { address: sim.address("server"), port: 9100 }, {
        bindAddress: sim.address("client"),
      });
      connected = c.state === "open";
    },
  });
  await sim.run({ untilUs: FLOOD_US + 12_000_000 });
  assert.equal(connected, true);
  const after = server!.stats;
  assert.equal(after.halfOpen, 0);
  assert.equal(after.sessions, 1);
  // The limiter forgets refilled buckets as traffic comes; it never holds more than its bound.
  assert.ok(after.trackedSources <= 4_096, `${after.trackedSources} sources still tracked`);
});

test("one address gets at most maxSessionsPerIp sessions and the per-source request rate", async () => {
  const sim = new Simulation({ seed: 12 });
  let server: EqStreamServer | undefined;
  sim.addHost("server", {
    start: async (p) => {
      server = await listen(p, {
        address: sim.address("server"),
        port: 9100,
        limits: { maxSessionsPerIp: 5, requestsPerSecondPerIp: 100 },
      }, {});
    },
  });
  sim.at(1_000, () => {
    for (let port = 2000; port < 2100; port++) server!.receive(request(port), "10.9.9.9", port);
  });
  await sim.run({ untilUs: 2_000 });
  assert.equal(server!.stats.sessions, 5);
  assert.deepEqual([...server!.connections()].map((c) => c.remote.port), [2000, 2001, 2002, 2003, 2004]);
  assert.equal(server!.stats.overCapacity, 95);
  sim.at(3_000, () => {
    for (let i = 0; i < 1000; i++) server!.receive(request(i), "10.9.9.8", 40_000 + i);
  });
  await sim.run({ untilUs: 4_000 });
  // Burst 200 from that address, then nothing until its bucket refills.
  assert.equal(server!.stats.rateLimited, 800);
});

test("a repeated SessionRequest is answered again, a new session id from the same address replaces the session", async () => {
  const sim = new Simulation({ seed: 13 });
  let server: EqStreamServer | undefined;
  const closed: string[] = [];
  sim.addHost("server", {
    start: async (p) => {
      server = await listen(p, { address: sim.address("server"), port: 9100 }, {
        closed: (_c, reason) => closed.push(reason),
      });
    },
  });
  sim.at(1_000, () => server!.receive(request(77), "10.1.1.1", 5000));
  sim.at(2_000, () => server!.receive(request(77), "10.1.1.1", 5000));
  sim.at(3_000, () => server!.receive(request(78), "10.1.1.1", 5000));
  await sim.run({ untilUs: 4_000 });
  assert.equal(server!.stats.accepted, 2);
  assert.equal(server!.stats.sessions, 1);
  assert.deepEqual(closed, ["replaced"]);
  // Two responses to session 77, one to 78.
  assert.equal(sim.unroutable, 3);
});

test("datagrams from unknown addresses get a rate-limited OutOfSession, never a session", async () => {
  const sim = new Simulation({ seed: 14 });
  let server: EqStreamServer | undefined;
  sim.addHost("server", {
    start: async (p) => {
      server = await listen(p, { address: sim.address("server"), port: 9100 }, {});
    },
  });
  sim.at(1_000, () => {
    for (let i = 0; i < 100; i++) server!.receive(Uint8Array.of(0, 0x09, 0, i, 1, 2, 3), "10.2.2.2", 6000);
    server!.receive(Uint8Array.of(0, ProtocolOp.OutOfSession), "10.2.2.3", 6000);
  });
  await sim.run({ untilUs: 2_000 });
  const stats = server!.stats;
  assert.equal(stats.sessions, 0);
  assert.equal(stats.strays, 101);
  assert.equal(stats.outOfSessionReplies, 20); // the per-source burst
});

test("what a handler of one connection sends to another goes out at once, not at the other's next timer", async () => {
  const sim = new Simulation({ seed: 5 });
  sim.setLinkDefaults({ latency: 1_000 });
  const byName = new Map<string, EqStreamConnection>();
  sim.addHost("server", {
    start: async (p) => {
      await listen(p, { address: sim.address("server"), port: 9100 }, {
        app(connection, opcode, payload) {
          if (opcode === 1) byName.set(new TextDecoder().decode(payload), connection);
          // A relay: a message from one client is forwarded to the other (like a zone's chat).
          if (opcode === 2) byName.get("b")?.sendApp(3, payload);
        },
      });
    },
  });
  const arrivals: number[] = [];
  let sentAt = 0;
  for (const name of ["a", "b"]) {
    sim.addHost(name, {
      start: async (p) => {
        const c = await connect(p, { address: sim.address("server"), port: 9100 }, { bindAddress: sim.address(name) }, {
          app: (_c, opcode) => void (opcode === 3 && arrivals.push(p.clock.now() - sentAt)),
        });
        c.sendApp(1, new TextEncoder().encode(name));
        if (name === "a") {
          // Well after both registered, and after b's session went quiet (its next timer is seconds away).
          p.timers.setTimeout(() => {
            sentAt = p.clock.now();
            c.sendApp(2, Uint8Array.of(42));
          }, 3_000_000);
        }
      },
    });
  }
  await sim.run({ untilUs: 5_000_000 });
  assert.equal(arrivals.length, 1);
  // a → server (1 ms) → b (1 ms), plus the combine delays of both hops; never a keep-alive interval.
  assert.ok(arrivals[0]! < 20_000, `relayed after ${arrivals[0]} µs`);
});
