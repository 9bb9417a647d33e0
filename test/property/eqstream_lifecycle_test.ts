/**
 * Property 8: session lifecycle. A peer that falls silent (its host crashes without a word, or a
 * partition never heals) is closed by the idle timeout (or the give-up time, with data in flight) —
 * not earlier than the silence allows, not later than the timeout — and then the server holds no
 * session, no half-open session and no timer: the simulation goes quiescent.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Simulation } from "../../sim/mod.ts";
import { connect, type EqStreamConnection, type EqStreamServer, listen } from "../../src/eqstream/mod.ts";
import { propertyParameters } from "../_support/property.ts";

test("property 8: silent peers are closed by the idle timeout and the server returns to baseline", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 0, max: 20 }),
      fc.integer({ min: 500_000, max: 3_000_000 }),
      fc.integer({ min: 2_000_000, max: 6_000_000 }),
      fc.integer({ min: 1_500_000, max: 4_000_000 }),
      fc.boolean(),
      fc.constantFrom("crash" as const, "partition" as const),
      async (seed, clients, messages, silentAfterUs, idleTimeoutUs, giveUpUs, keepAlive, silence) => {
        const session = {
          idleTimeoutUs,
          giveUpUs,
          keepAliveUs: keepAlive ? 400_000 : 0,
          statIntervalUs: 0,
          handshakeTimeoutUs: 2_000_000,
        };
        const sim = new Simulation({ seed });
        let server: EqStreamServer | undefined;
        const closes: Array<{ reason: string; atUs: number }> = [];
        let lastHeardUs = 0;
        sim.addHost("server", {
          start: async (p) => {
            server = await listen(p, { address: sim.address("server"), port: 9100, session }, {
              app: (c, opcode, payload) => c.sendApp(opcode, payload),
              closed: (_c, reason) => closes.push({ reason, atUs: p.clock.now() }),
            });
          },
        });
        const names = Array.from({ length: clients }, (_, i) => `c${i}`);
        for (const name of names) {
          sim.addHost(name, {
            start: async (p) => {
              let c: EqStreamConnection;
              try {
                c = await connect(p, { address: sim.address("server"), port: 9100 }, {
                  ...session,
                  bindAddress: sim.address(name),
                });
              } catch {
                return; // Lost the handshake to loss and timeouts: an explicit outcome too.
              }
              for (let i = 0; i < messages; i++) c.sendApp(1, new Uint8Array(50 + i * 40).fill(i));
              // A message now and then keeps the session busy until the silence.
              const tick = () => {
                if (c.finished) return;
                c.sendApp(2, Uint8Array.of(1, 2, 3));
                p.timers.setTimeout(tick, 150_000);
              };
              tick();
            },
          });
          sim.setLink(name, "server", { latency: 10_000, loss: 0.05 });
          sim.setLink("server", name, { latency: 10_000, loss: 0.05 });
        }
        // Everything the server hears from clients, to know when each went silent.
        sim.observe((e) => {
          if (e.type === "deliver" && e.to === "server") lastHeardUs = Math.max(lastHeardUs, e.timeUs);
        });
        const silentAt = 100_000 + silentAfterUs;
        sim.at(silentAt, () => {
          if (silence === "crash") { for (const name of names) sim.crash(name, { silent: true }); }
          else sim.partition([["server"], names]);
        });
        const result = await sim.run({ untilUs: silentAt + idleTimeoutUs + giveUpUs + 5_000_000 });
        // Every session closed, for silence, within the idle timeout of the last word heard.
        assert.equal(server!.stats.sessions, 0, `${server!.stats.sessions} sessions left open`);
        assert.equal(server!.stats.halfOpen, 0);
        for (const close of closes) {
          // Before the silence a session may end for its own reasons (a lossy handshake, say), never for a fault.
          assert.notEqual(close.reason, "protocol_error");
          if (close.atUs < silentAt) continue;
          assert.ok(["idle", "timeout", "handshake_timeout"].includes(close.reason), `closed for ${close.reason}`);
          assert.ok(
            close.atUs <= lastHeardUs + Math.max(idleTimeoutUs, session.handshakeTimeoutUs) + 1,
            `closed at ${close.atUs}, more than the timeout after the last word at ${lastHeardUs}`,
          );
        }
        // No timer left anywhere: with its peers gone, the server is back to nothing.
        if (silence === "crash") assert.equal(result.reason, "quiescent");
      },
    ),
    propertyParameters(200),
  );
});
