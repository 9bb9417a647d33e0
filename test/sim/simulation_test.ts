import assert from "node:assert/strict";
import { test } from "node:test";
import { setImmediate } from "node:timers";
import { syncMicrotaskDrain } from "../../src/platform/microtask_drain.ts";
import { type Platform, Simulation } from "../../sim/mod.ts";

test("Simulation runs timers in virtual time order and stops when quiescent", async () => {
  const sim = new Simulation({ seed: 1 });
  const fired: Array<[string, number]> = [];
  sim.addHost("a", {
    start(p) {
      p.timers.setTimeout(() => fired.push(["late", p.clock.now()]), 3000);
      p.timers.setTimeout(() => fired.push(["early", p.clock.now()]), 1000);
      p.timers.setTimeout(() => fired.push(["same-a", p.clock.now()]), 2000);
      p.timers.setTimeout(() => fired.push(["same-b", p.clock.now()]), 2000);
    },
  });
  const result = await sim.run();
  assert.equal(result.reason, "quiescent");
  assert.equal(result.simTimeUs, 3000);
  assert.deepEqual(fired, [["early", 1000], ["same-a", 2000], ["same-b", 2000], ["late", 3000]]);
});

test("Simulation.run() that runs out of events before its deadline still moves the clock to the deadline", async () => {
  const sim = new Simulation({ seed: 1 });
  sim.addHost("a", { start: (p) => void p.timers.setTimeout(() => {}, 1000) });
  const result = await sim.run({ untilUs: 50_000 });
  assert.equal(result.reason, "quiescent");
  assert.equal(result.simTimeUs, 50_000);
  assert.equal(sim.now, 50_000);
});

test("Simulation.run() checks stopWhen after events whose promises it waited for", async () => {
  for (const asyncMode of ["auto", "always"] as const) {
    const sim = new Simulation({ seed: 1, asyncMode });
    let settled = 0;
    sim.addHost("a", {
      start(p) {
        const tick = async () => {
          await Promise.resolve();
          settled++;
          // Returning the promise lets the kernel wait for it (see "How asynchronous code stays deterministic").
          p.timers.setTimeout(tick, 1000);
        };
        p.timers.setTimeout(tick, 1000);
      },
    });
    const result = await sim.run({ untilUs: 1_000_000, stopWhen: () => settled >= 5 });
    assert.equal(result.reason, "stopped", asyncMode);
    assert.equal(settled, 5, asyncMode);
    assert.equal(result.simTimeUs, 5000, asyncMode);
  }
});

test("Simulation.run() stops at the deadline and sets the clock to it", async () => {
  const sim = new Simulation({ seed: 1 });
  let ticks = 0;
  sim.addHost("a", {
    start(p) {
      const tick = () => {
        ticks++;
        p.timers.setTimeout(tick, 10_000);
      };
      tick();
    },
  });
  const result = await sim.run({ untilUs: 95_000 });
  assert.equal(result.reason, "deadline");
  assert.equal(sim.now, 95_000);
  assert.equal(ticks, 10);
  const more = await sim.run({ untilUs: 200_000 });
  assert.equal(more.reason, "deadline");
  assert.equal(ticks, 21);
});

test("Simulation.run() turns a zero-time livelock into a stall", async () => {
  const sim = new Simulation({ seed: 1, maxEventsPerInstant: 10_000 });
  sim.addHost("a", {
    start(p) {
      const spin = () => p.timers.setTimeout(spin, 0);
      spin();
    },
  });
  const result = await sim.run({ untilUs: 1_000_000 });
  assert.equal(result.reason, "stall");
  assert.match(result.stall ?? "", /more than 10000 events at 0 µs without time advancing/);
});

test("Simulation.run() stops with a stall when the event budget runs out", async () => {
  const sim = new Simulation({ seed: 1 });
  sim.addHost("a", {
    start(p) {
      const tick = () => p.timers.setTimeout(tick, 1);
      tick();
    },
  });
  const result = await sim.run({ maxEvents: 500 });
  assert.equal(result.reason, "stall");
  assert.equal(result.events, 500);
  assert.match(result.stall ?? "", /event budget exhausted/);
});

test("Simulation.run() stops when stopWhen() says so", async () => {
  const sim = new Simulation({ seed: 1 });
  let n = 0;
  sim.addHost("a", {
    start(p) {
      const tick = () => {
        n++;
        p.timers.setTimeout(tick, 5);
      };
      tick();
    },
  });
  const result = await sim.run({ stopWhen: () => n === 7 });
  assert.equal(result.reason, "stopped");
  assert.equal(n, 7);
  assert.equal(sim.now, 30);
});

test("clearTimeout() cancels a timer", async () => {
  const sim = new Simulation({ seed: 1 });
  const fired: string[] = [];
  sim.addHost("a", {
    start(p) {
      const id = p.timers.setTimeout(() => fired.push("cancelled"), 100);
      p.timers.setTimeout(() => fired.push("kept"), 200);
      p.timers.setTimeout(() => p.timers.clearTimeout(id), 50);
    },
  });
  await sim.run();
  assert.deepEqual(fired, ["kept"]);
});

test("timers.defer() runs after the current event at the same instant, before the next event, without an event of its own", async () => {
  const sim = new Simulation({ seed: 1 });
  const order: Array<[string, number]> = [];
  sim.addHost("a", {
    start(p) {
      p.timers.setTimeout(() => {
        p.timers.defer(() => {
          order.push(["deferred", p.clock.now()]);
          p.timers.defer(() => order.push(["deferred by deferred", p.clock.now()]));
        });
        order.push(["timer", p.clock.now()]);
      }, 100);
      p.timers.setTimeout(() => order.push(["next timer", p.clock.now()]), 100);
      p.timers.setTimeout(async () => {
        await null;
        // Deferred from a promise continuation: still this instant, before the next event.
        p.timers.defer(() => order.push(["deferred after await", p.clock.now()]));
      }, 200);
      p.timers.setTimeout(() => order.push(["later timer", p.clock.now()]), 200);
    },
  });
  const result = await sim.run();
  assert.deepEqual(order, [
    ["timer", 100],
    ["deferred", 100],
    ["deferred by deferred", 100],
    ["next timer", 100],
    ["deferred after await", 200],
    ["later timer", 200],
  ]);
  assert.equal(result.events, 5, "the host start and four timers; deferred callbacks are not events");
});

test("a deferred callback of a host that crashed meanwhile does not run, and one that throws is recorded", async () => {
  const sim = new Simulation({ seed: 1, onUncaught: "record" });
  const ran: string[] = [];
  sim.addHost("a", {
    start(p) {
      p.timers.setTimeout(() => {
        p.timers.defer(() => ran.push("crashed host"));
        sim.crash("a");
      }, 10);
    },
  });
  sim.addHost("b", {
    start(p) {
      p.timers.setTimeout(() => {
        p.timers.defer(() => {
          throw new Error("deferred failure");
        });
        p.timers.defer(() => ran.push("after the failure"));
      }, 20);
    },
  });
  await sim.run();
  assert.deepEqual(ran, ["after the failure"]);
  assert.deepEqual(sim.errors().recorded.map((e) => [e.host, e.timeUs, e.message]), [["b", 20, "deferred failure"]]);
});

test("sim.at() and sim.after() run control callbacks at their virtual time", async () => {
  const sim = new Simulation({ seed: 1 });
  const seen: number[] = [];
  sim.at(500, () => seen.push(sim.now));
  sim.at(100, () => {
    seen.push(sim.now);
    sim.after(50, () => seen.push(sim.now));
  });
  const cancelled = sim.at(300, () => seen.push(-1));
  cancelled.cancel();
  await sim.run();
  assert.deepEqual(seen, [100, 150, 500]);
});

test("named random streams do not change when a new stream is added", () => {
  const draws = (extraStream: boolean) => {
    const sim = new Simulation({ seed: 99 });
    if (extraStream) sim.rng("workload:new").u32();
    sim.addHost("a");
    return [sim.rng("nemesis").u32(), sim.platform("a").rng.u32(), sim.rng("nemesis").u32()];
  };
  assert.deepEqual(draws(false), draws(true));
});

test("an async driver awaiting several promises per event settles inside the run, deterministically", async () => {
  const trace = async (seed: number) => {
    const sim = new Simulation({ seed });
    const log: string[] = [];
    // A stand-in for an asynchronous store: each call resolves after a few microtask hops.
    const store = {
      async get(key: string): Promise<number> {
        await null;
        await Promise.resolve();
        return key.length;
      },
    };
    sim.addHost("server", {
      async start(p: Platform) {
        const socket = await p.udp.bind({ port: 5000 }, async (bytes, address, port) => {
          const a = await store.get("alpha");
          const b = await store.get(String(bytes[0]));
          await new Promise<void>((resolve) => p.timers.setTimeout(resolve, 100));
          const c = await store.get("gamma-ray");
          log.push(`server ${p.clock.now()} ${a}+${b}+${c}`);
          socket.send(new Uint8Array([a + b + c]), address, port);
        });
        log.push(`bound at ${p.clock.now()}`);
      },
    });
    sim.addHost("client", {
      async start(p: Platform) {
        const socket = await p.udp.bind({}, (bytes) => log.push(`reply ${bytes[0]} at ${p.clock.now()}`));
        for (let i = 0; i < 5; i++) {
          socket.send(new Uint8Array([i * 40]), sim.address("server"), 5000);
          await new Promise<void>((resolve) => p.timers.setTimeout(resolve, 1000 + (p.rng.u32() % 1000)));
        }
      },
    });
    sim.setLinkDefaults({ latency: { dist: "uniform", min: 200, max: 900 } });
    const result = await sim.run();
    return { log, hash: sim.traceHash(), result };
  };
  const first = await trace(4);
  const second = await trace(4);
  assert.equal(first.result.reason, "quiescent");
  assert.equal(first.log.filter((l) => l.startsWith("reply")).length, 5);
  assert.deepEqual(first.log, second.log);
  assert.equal(first.hash, second.hash);
  // Continuations ran at the virtual time of the event that released them: 100 µs after the datagram arrived.
  const serverLines = first.log.filter((l) => l.startsWith("server"));
  assert.equal(serverLines.length, 5);
  assert.notEqual((await trace(5)).hash, first.hash);
});

test("microtaskDrain 'sync' and 'macrotask' give the same trace, and 'sync' leaves the event loop less often", async () => {
  const run = async (microtaskDrain: "sync" | "macrotask") => {
    const sim = new Simulation({ seed: 5, asyncMode: "always", microtaskDrain, yieldEvery: 1 << 20 });
    const replies: number[] = [];
    sim.addHost("server", {
      async start(p) {
        const socket = await p.udp.bind({ port: 7 }, (bytes, address, port) => {
          void (async () => {
            for (let i = 0; i < 3; i++) await null;
            socket.send(bytes, address, port);
          })();
        });
      },
    });
    sim.addHost("client", {
      async start(p) {
        const socket = await p.udp.bind({}, () => replies.push(sim.now));
        for (let i = 0; i < 200; i++) {
          await new Promise<void>((resolve) => p.timers.setTimeout(resolve, 100 + (p.rng.u32() % 900)));
          socket.send(new Uint8Array([i]), sim.address("server"), 7);
        }
      },
    });
    // Counts the macrotask turns taken while the run lasts.
    let turns = 0;
    let running = true;
    const count = () => {
      turns++;
      if (running) setImmediate(count);
    };
    setImmediate(count);
    await sim.run({ untilUs: 1_000_000 });
    running = false;
    return { hash: sim.traceHash(), replies, late: sim.lateAsyncCalls, turns };
  };
  const macrotask = await run("macrotask");
  const sync = await run("sync");
  assert.equal(macrotask.replies.length, 200);
  assert.deepEqual(sync.replies, macrotask.replies);
  assert.equal(sync.hash, macrotask.hash);
  assert.equal(sync.late, 0);
  assert.equal(macrotask.late, 0);
  assert.ok(macrotask.turns > 400, `macrotask turns ${macrotask.turns}`);
  if (syncMicrotaskDrain() !== undefined) assert.ok(sync.turns < 20, `sync turns ${sync.turns}`);
});

test("asyncMode 'always' gives the same trace as 'auto'", async () => {
  const hash = async (asyncMode: "auto" | "always") => {
    const sim = new Simulation({ seed: 3, asyncMode });
    sim.addHost("a", {
      async start(p) {
        for (let i = 0; i < 20; i++) {
          await new Promise<void>((resolve) => p.timers.setTimeout(resolve, 10 + (p.rng.u32() % 50)));
          p.timers.setTimeout(() => {}, p.rng.u32() % 100);
        }
      },
    });
    await sim.run();
    return sim.traceHash();
  };
  assert.equal(await hash("auto"), await hash("always"));
});

test("calls to real time and randomness during a run are recorded with a stack, then restored", async () => {
  const originalNow = Date.now;
  const sim = new Simulation({ seed: 1 });
  sim.addHost("a", {
    start() {
      Date.now();
      Math.random();
      performance.now();
      clearTimeout(setTimeout(() => {}, 1_000_000));
    },
  });
  await sim.run();
  const { count, recorded } = sim.violations();
  assert.equal(count, 4);
  assert.deepEqual(recorded.map((v) => v.api), ["Date.now", "Math.random", "performance.now", "setTimeout"]);
  assert.match(recorded[0]!.stack, /simulation_test\.ts/);
  assert.equal(Date.now, originalNow);
  Date.now();
  assert.equal(sim.violations().count, 4);
});

test("guard 'throw' makes a real-time call an uncaught error of the host", async () => {
  const sim = new Simulation({ seed: 1, guard: "throw" });
  sim.addHost("a", { start: () => void Math.random() });
  await assert.rejects(sim.run(), (error: Error) => {
    assert.match(
      error.message,
      /Uncaught error in simulated host 'a' at 0 µs: Cannot call Math.random inside a simulation/,
    );
    assert.equal((error.cause as { code: string }).code, "SIM_REAL_TIME_ACCESS");
    return true;
  });
});

test("an error thrown by simulated code rejects run() by default", async () => {
  const sim = new Simulation({ seed: 1 });
  sim.addHost("a", {
    start: (p) =>
      void p.timers.setTimeout(() => {
        throw new Error("boom");
      }, 10),
  });
  await assert.rejects(sim.run(), /Uncaught error in simulated host 'a' at 10 µs: boom/);
});

test("onUncaught 'record' keeps errors and rejected promises and carries on", async () => {
  const sim = new Simulation({ seed: 1, onUncaught: "record" });
  let after = false;
  sim.addHost("a", {
    start(p) {
      p.timers.setTimeout(() => {
        throw new Error("sync failure");
      }, 10);
      p.timers.setTimeout(async () => {
        await null;
        throw new Error("async failure");
      }, 20);
      p.timers.setTimeout(() => (after = true), 30);
    },
  });
  await sim.run();
  assert.ok(after);
  const { count, recorded } = sim.errors();
  assert.equal(count, 2);
  assert.deepEqual(recorded.map((e) => [e.host, e.timeUs, e.message]), [["a", 10, "sync failure"], [
    "a",
    20,
    "async failure",
  ]]);
});

test("the same seed gives the same trace hash and a different seed a different one", async () => {
  const run = async (seed: number) => {
    const sim = new Simulation({ seed });
    sim.setLinkDefaults({ latency: { dist: "exponential", mean: 5000 }, loss: 0.1, dup: 0.05 });
    sim.addHost("a", {
      async start(p) {
        const s = await p.udp.bind({}, () => {});
        for (let i = 0; i < 200; i++) s.send(new Uint8Array([i]), sim.address("b"), 1);
      },
    });
    sim.addHost("b", { start: async (p) => void await p.udp.bind({ port: 1 }, () => {}) });
    await sim.run();
    return sim.traceHash();
  };
  const a = await run(10);
  assert.match(a, /^[0-9a-f]{16}$/);
  assert.equal(await run(10), a);
  assert.notEqual(await run(11), a);
});

test("host clocks drift and wall clocks step as configured", async () => {
  const sim = new Simulation({ seed: 1, wallEpochMs: 1_000_000 });
  sim.addHost("fast");
  sim.addHost("slow");
  sim.setClockDrift("fast", 100); // +100 ppm
  sim.setClockDrift("slow", -100);
  let fastFired = -1;
  sim.platform("fast").timers.setTimeout(() => (fastFired = sim.now), 1_000_000);
  sim.at(10_000_000, () => {});
  await sim.run({ untilUs: 10_000_000 });
  assert.equal(sim.platform("fast").clock.now(), 10_001_000);
  assert.equal(sim.platform("slow").clock.now(), 9_999_000);
  // One host-second on a clock running 100 ppm fast is a little less than one real second.
  assert.equal(fastFired, 999_901);
  sim.stepClock("slow", -5_000_000);
  assert.equal(sim.platform("slow").clock.wallMs(), 1_000_000 + 9_999 - 5_000);
  assert.equal(sim.platform("slow").clock.now(), 9_999_000);
});

test("a crashed host's timers never fire and a restart runs its start again with a fresh Platform", async () => {
  const sim = new Simulation({ seed: 1 });
  const starts: number[] = [];
  let ticks = 0;
  sim.addHost("a", {
    start(p) {
      starts.push(sim.now);
      const tick = () => {
        ticks++;
        p.timers.setTimeout(tick, 1000);
      };
      p.timers.setTimeout(tick, 1000);
    },
  });
  const before = sim.platform("a");
  sim.at(5500, () => sim.crash("a"));
  sim.at(8000, () => sim.restart("a"));
  await sim.run({ untilUs: 10_000 });
  assert.deepEqual(starts, [0, 8000]);
  assert.equal(ticks, 5 + 2);
  assert.notEqual(sim.platform("a"), before);
  assert.equal(sim.incarnation("a"), 1);
  // The old Platform is dead: its timers are ignored.
  let stale = false;
  before.timers.setTimeout(() => (stale = true), 1);
  await sim.run({ untilUs: 20_000 });
  assert.equal(stale, false);
});

test("a paused host's timers wait for resume and then run in order", async () => {
  const sim = new Simulation({ seed: 1 });
  const fired: Array<[string, number]> = [];
  sim.addHost("a", {
    start(p) {
      p.timers.setTimeout(() => fired.push(["one", sim.now]), 100);
      p.timers.setTimeout(() => fired.push(["two", sim.now]), 200);
      p.timers.setTimeout(() => fired.push(["three", sim.now]), 900);
    },
  });
  sim.at(50, () => sim.pause("a"));
  sim.at(500, () => sim.resume("a"));
  await sim.run();
  assert.deepEqual(fired, [["one", 500], ["two", 500], ["three", 900]]);
});

test("sim.sometimes() counts probe hits", () => {
  const sim = new Simulation({ seed: 1 });
  sim.sometimes("x", false);
  sim.sometimes("x", true);
  sim.sometimes("y", false);
  assert.deepEqual(sim.probes(), [
    { name: "x", hits: 1, checks: 2, firstUs: 0 },
    { name: "y", hits: 0, checks: 1, firstUs: -1 },
  ]);
});

test("log lines of simulated hosts carry virtual time and host", async () => {
  const lines: string[] = [];
  const sim = new Simulation({
    seed: 1,
    onLog: (l) => lines.push(`${l.timeUs} ${l.host} ${l.level} ${l.message} ${JSON.stringify(l.fields)}`),
  });
  sim.addHost("a", {
    start(p) {
      p.timers.setTimeout(() => p.log.child({ session: 3 }).warn("slow", { rtt: 9 }), 42);
      p.log.debug("hidden");
    },
  });
  await sim.run();
  assert.deepEqual(lines, ['42 a warn slow {"session":3,"rtt":9}']);
  assert.equal(sim.logs().counts.debug, 1);
});

test("Simulation rejects a bad seed, a duplicate host and an unknown host", () => {
  assert.throws(() => new Simulation({ seed: 0.5 }), /Invalid seed: 0.5 is not a safe integer/);
  const sim = new Simulation({ seed: 1 });
  sim.addHost("a");
  assert.throws(() => sim.addHost("a"), /Cannot add host 'a': the id is empty or taken/);
  assert.throws(() => sim.addHost("b", { address: sim.address("a") }), /address 10.0.0.1 is taken or reserved/);
  assert.throws(() => sim.platform("nope"), /Unknown host 'nope'/);
});

test("promise chains nobody returns to the kernel run late and are counted; asyncMode 'always' runs them on time", async () => {
  const replyTime = async (asyncMode: "auto" | "always") => {
    const sim = new Simulation({ seed: 1, asyncMode, yieldEvery: 64 });
    let repliedAt = -1;
    sim.addHost("ticker", {
      start(p) {
        const tick = () => p.timers.setTimeout(tick, 1);
        tick();
      },
    });
    sim.addHost("server", {
      async start(p) {
        const socket = await p.udp.bind({ port: 7 }, (bytes, address, port) => {
          // A synchronous handler that starts a chain and drops the promise.
          void (async () => {
            await null;
            await null;
            socket.send(bytes, address, port);
          })();
        });
      },
    });
    sim.addHost("client", {
      async start(p) {
        const socket = await p.udp.bind({}, () => (repliedAt = sim.now));
        socket.send(new Uint8Array([1]), sim.address("server"), 7);
      },
    });
    await sim.run({ untilUs: 10_000 });
    return { repliedAt, late: sim.lateAsyncCalls };
  };
  const auto = await replyTime("auto");
  const always = await replyTime("always");
  assert.equal(always.repliedAt, 0);
  assert.equal(always.late, 0);
  assert.ok(auto.late >= 1);
  assert.ok(auto.repliedAt > 0 && auto.repliedAt < 100, `replied at ${auto.repliedAt}`);
});

test("the log keeps only the most recent logLimit lines but counts them all", async () => {
  const sim = new Simulation({ seed: 1, logLimit: 3 });
  sim.addHost("a", { start: (p) => void [1, 2, 3, 4, 5].forEach((n) => p.log.warn(`line ${n}`)) });
  await sim.run();
  const { lines, counts } = sim.logs();
  assert.deepEqual(lines.map((l) => l.message), ["line 3", "line 4", "line 5"]);
  assert.equal(counts.warn, 5);
});
