/**
 * Model-based test of registration over servertalk, with faults injected through the simulator's
 * TCP model: worlds register with a login server, report status and unregister, while links are
 * reset, hosts crash (loudly or silently) and restart, and the network partitions and heals.
 *
 * Safety, checked after every simulated event: login never holds two live links for one name, and
 * every registry entry belongs to a live link. Liveness, checked once the faults stop: every world
 * that wants to be registered is registered exactly once with its latest status, and no other is.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { Platform } from "../../src/platform/platform.ts";
import { createAuthenticator, MemoryAccounts, verifyPasswordSync } from "../../src/servertalk/auth.ts";
import { ServertalkClient } from "../../src/servertalk/client.ts";
import { ServerRole } from "../../src/servertalk/control.ts";
import type { Link } from "../../src/servertalk/link.ts";
import { LSInfo, LSStatus, WorldListRemove } from "../../src/servertalk/messages.ts";
import { ServertalkServer } from "../../src/servertalk/server.ts";
import { Simulation } from "../../sim/mod.ts";
import { propertyParameters } from "../_support/property.ts";

const WORLDS = ["w1", "w2", "w3"] as const;
type World = typeof WORLDS[number];
const PORT = 9100;
const PASSWORD = "world secret";

/** Fast timers so that faults are noticed within simulated seconds. */
const LINK_TIMING = {
  heartbeatIntervalUs: 500_000,
  heartbeatTimeoutUs: 1_500_000,
  requestTimeoutUs: 2_000_000,
  handshakeTimeoutUs: 2_000_000,
  lingerUs: 500_000,
} as const;

const info = (world: string) => ({
  name: world,
  address: "10.0.0.1",
  port: 9000,
  protocolVersion: "0.5.0",
  serverVersion: "test",
  serverType: 0,
  dbVersion: 1,
});
const status = (players: number) => ({ status: 1, numPlayers: players, numZones: 1, worldMaxLevel: 50 });

interface Entry {
  readonly link: Link;
  players: number;
}

/** The login host: a server and its world registry (lost when the host crashes). */
class Login {
  registry = new Map<string, Entry>();
  server: ServertalkServer | undefined;
  readonly violations: string[] = [];

  async start(platform: Platform): Promise<void> {
    this.registry = new Map();
    const accounts = new MemoryAccounts(platform.rng, { cost: 4 });
    for (const world of WORLDS) await accounts.addAccount(world, PASSWORD, { roles: [ServerRole.World] });
    const server = new ServertalkServer(platform, {
      name: "login",
      role: ServerRole.Login,
      // Synchronous bcrypt keeps authentication inside one simulated event.
      authenticator: createAuthenticator({ accounts, verify: verifyPasswordSync }),
      ...LINK_TIMING,
    });
    server.handle(LSInfo, (ctx) => {
      const name = ctx.link.peer!.name;
      const existing = this.registry.get(name);
      if (existing !== undefined && existing.link !== ctx.link && existing.link.state !== "closed") {
        this.violations.push(`${name} registered on a second live link`);
      }
      this.registry.set(name, { link: ctx.link, players: 0 });
      ctx.reply({ worldId: WORLDS.indexOf(name as World) + 1, name: ctx.message.name });
    });
    server.handle(LSStatus, (ctx) => {
      const entry = this.registry.get(ctx.link.peer!.name);
      if (entry?.link === ctx.link) entry.players = ctx.message.numPlayers;
    });
    server.handle(WorldListRemove, (ctx) => {
      const name = ctx.link.peer!.name;
      if (this.registry.get(name)?.link === ctx.link) this.registry.delete(name);
    });
    server.onDisconnect((link) => {
      const name = link.peer!.name;
      if (this.registry.get(name)?.link === link) this.registry.delete(name);
    });
    await server.listen({ address: "0.0.0.0", port: PORT });
    this.server = server;
  }

  /** Safety: one live link per name; every entry's link is live. */
  check(): void {
    const server = this.server;
    if (server === undefined) return;
    const names = server.links().map((l) => l.peer!.name);
    if (new Set(names).size !== names.length) this.violations.push(`two live links share a name: ${names.join(",")}`);
    for (const [name, entry] of this.registry) {
      if (entry.link.state !== "open") this.violations.push(`${name} is registered on a ${entry.link.state} link`);
    }
  }
}

/** One world host: wants to be registered or not, and has a player count to report. */
class WorldNode {
  desired = false;
  players = 0;
  up = true;
  client: ServertalkClient | undefined;
  platform: Platform | undefined;

  constructor(readonly name: World, readonly loginAddress: () => string) {}

  start(platform: Platform): void {
    this.platform = platform;
    this.client = undefined;
    if (this.desired) this.connect();
  }

  connect(): void {
    const client = new ServertalkClient(this.platform!, {
      address: this.loginAddress(),
      port: PORT,
      name: this.name,
      role: ServerRole.World,
      account: this.name,
      password: PASSWORD,
      reconnect: { initialDelayUs: 50_000, maxDelayUs: 1_000_000 },
      ...LINK_TIMING,
    });
    // Re-registration: after every (re)connect, register and report the current status.
    client.onConnect(async (link) => {
      await link.request(LSInfo, info(this.name));
      link.send(LSStatus, status(this.players));
    });
    void client.dial().catch(() => {});
    this.client = client;
  }

  setDesired(desired: boolean): void {
    this.desired = desired;
    if (!this.up) return;
    if (desired && this.client === undefined) this.connect();
    if (!desired && this.client !== undefined) {
      const client = this.client;
      this.client = undefined;
      try {
        client.send(WorldListRemove, { reason: "going away" });
      } catch {
        // Not connected: closing is enough, login forgets a world whose link is gone.
      }
      void client.close();
    }
  }

  setPlayers(players: number): void {
    this.players = players;
    try {
      this.client?.send(LSStatus, status(players));
    } catch {
      // Not connected now; the next registration reports it.
    }
  }
}

interface Real {
  readonly sim: Simulation;
  readonly login: Login;
  readonly worlds: Record<World, WorldNode>;
  loginUp: boolean;
  partitioned: boolean;
}

interface Model {
  readonly desired: Record<World, boolean>;
  readonly up: Record<World, boolean>;
  loginUp: boolean;
  partitioned: boolean;
}

/** How often the safety check runs, in virtual time (besides after events, see `step`). */
const CHECK_EVERY_US = 5_000;

async function step(real: Real, us: number): Promise<void> {
  const until = real.sim.now + us;
  // The check also runs on a virtual-time tick: `stopWhen` is not consulted after events that
  // yield to promise continuations, which in asyncMode "always" is every event.
  for (let at = real.sim.now + CHECK_EVERY_US; at < until; at += CHECK_EVERY_US) {
    real.sim.at(at, () => real.login.check());
  }
  // Time passes even when nothing else is scheduled (the run would otherwise stop early, quiescent).
  real.sim.at(until, () => real.login.check());
  const result = await real.sim.run({
    untilUs: until,
    stopWhen: () => {
      real.login.check();
      return real.login.violations.length > 0;
    },
  });
  assert.deepEqual(real.login.violations, [], `at ${result.simTimeUs} µs`);
}

type Command = fc.AsyncCommand<Model, Real>;

class Register implements Command {
  constructor(readonly world: World) {}
  check = (m: Readonly<Model>) => !m.desired[this.world];
  async run(m: Model, r: Real) {
    m.desired[this.world] = true;
    r.worlds[this.world].setDesired(true);
    await step(r, 500_000);
  }
  toString = () => `register(${this.world})`;
}

class Unregister implements Command {
  constructor(readonly world: World) {}
  check = (m: Readonly<Model>) => m.desired[this.world];
  async run(m: Model, r: Real) {
    m.desired[this.world] = false;
    r.worlds[this.world].setDesired(false);
    await step(r, 500_000);
  }
  toString = () => `unregister(${this.world})`;
}

class Status implements Command {
  constructor(readonly world: World, readonly players: number) {}
  check = () => true;
  async run(_m: Model, r: Real) {
    r.worlds[this.world].setPlayers(this.players);
    await step(r, 200_000);
  }
  toString = () => `status(${this.world}, ${this.players})`;
}

class ResetLink implements Command {
  constructor(readonly world: World) {}
  check = () => true;
  async run(_m: Model, r: Real) {
    r.sim.resetTcp("login", this.world);
    await step(r, 300_000);
  }
  toString = () => `resetTcp(login, ${this.world})`;
}

class CrashWorld implements Command {
  constructor(readonly world: World, readonly silent: boolean) {}
  check = (m: Readonly<Model>) => m.up[this.world];
  async run(m: Model, r: Real) {
    m.up[this.world] = false;
    r.worlds[this.world].up = false;
    r.worlds[this.world].client = undefined;
    r.sim.crash(this.world, { silent: this.silent });
    await step(r, 300_000);
  }
  toString = () => `crash(${this.world}${this.silent ? ", silent" : ""})`;
}

class RestartWorld implements Command {
  constructor(readonly world: World) {}
  check = (m: Readonly<Model>) => !m.up[this.world];
  async run(m: Model, r: Real) {
    m.up[this.world] = true;
    r.worlds[this.world].up = true;
    r.sim.restart(this.world);
    await step(r, 500_000);
  }
  toString = () => `restart(${this.world})`;
}

class CrashLogin implements Command {
  check = (m: Readonly<Model>) => m.loginUp;
  async run(m: Model, r: Real) {
    m.loginUp = false;
    r.loginUp = false;
    r.login.server = undefined;
    r.sim.crash("login");
    await step(r, 300_000);
  }
  toString = () => "crash(login)";
}

class RestartLogin implements Command {
  check = (m: Readonly<Model>) => !m.loginUp;
  async run(m: Model, r: Real) {
    m.loginUp = true;
    r.loginUp = true;
    r.sim.restart("login");
    await step(r, 500_000);
  }
  toString = () => "restart(login)";
}

class Partition implements Command {
  constructor(readonly world: World, readonly durationUs: number) {}
  check = (m: Readonly<Model>) => !m.partitioned;
  async run(_m: Model, r: Real) {
    r.sim.partition([["login"], [this.world]]);
    await step(r, this.durationUs);
    r.sim.heal();
    await step(r, 200_000);
  }
  toString = () => `partition(login | ${this.world}, ${this.durationUs} µs)`;
}

class Wait implements Command {
  constructor(readonly us: number) {}
  check = () => true;
  async run(_m: Model, r: Real) {
    await step(r, this.us);
  }
  toString = () => `wait(${this.us} µs)`;
}

const world = fc.constantFrom(...WORLDS);
const reset = world.map((w) => new ResetLink(w));
const crash = fc.tuple(world, fc.boolean()).map(([w, silent]) => new CrashWorld(w, silent));
const restart = world.map((w) => new RestartWorld(w));
const partition = fc.tuple(world, fc.integer({ min: 100_000, max: 4_000_000 })).map(([w, d]) => new Partition(w, d));
// Faults are listed twice: they are what the test is about.
const commands = [
  world.map((w) => new Register(w)),
  world.map((w) => new Unregister(w)),
  fc.tuple(world, fc.integer({ min: 0, max: 500 })).map(([w, n]) => new Status(w, n)),
  reset,
  reset,
  crash,
  crash,
  restart,
  restart,
  fc.constant(new CrashLogin()),
  fc.constant(new RestartLogin()),
  partition,
  partition,
  fc.integer({ min: 100_000, max: 3_000_000 }).map((us) => new Wait(us)),
];

async function setup(seed: number): Promise<Real> {
  const sim = new Simulation({ seed, asyncMode: "always", onUncaught: "throw" });
  const login = new Login();
  sim.addHost("login", { start: (platform) => login.start(platform) });
  const worlds = {} as Record<World, WorldNode>;
  for (const name of WORLDS) {
    const node = new WorldNode(name, () => sim.address("login"));
    worlds[name] = node;
    sim.addHost(name, { start: (platform) => node.start(platform) });
  }
  const real: Real = { sim, login, worlds, loginUp: true, partitioned: false };
  await step(real, 100_000);
  // Every world starts registered, so that faults meet live registrations from the first command.
  for (const name of WORLDS) worlds[name].setDesired(true);
  await step(real, 1_000_000);
  return real;
}

test("registration survives resets, crashes and partitions without ever duplicating (fc.commands, simulated TCP)", {
  timeout: 300_000,
}, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.commands(commands, { size: "+1", maxCommands: 30 }),
      async (seed, cmds) => {
        const real = await setup(seed);
        const model: Model = {
          desired: { w1: true, w2: true, w3: true },
          up: { w1: true, w2: true, w3: true },
          loginUp: true,
          partitioned: false,
        };
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        // Faults stop: heal, bring every host back, let reconnection and re-registration converge.
        real.sim.heal();
        if (!real.loginUp) real.sim.restart("login");
        for (const name of WORLDS) {
          if (!real.worlds[name].up) {
            real.worlds[name].up = true;
            real.sim.restart(name);
          }
        }
        await step(real, 15_000_000);
        const registry = real.login.registry;
        for (const name of WORLDS) {
          const node = real.worlds[name];
          const entry = registry.get(name);
          if (node.desired) {
            assert.ok(entry !== undefined, `${name} wants to be registered (seed ${seed})`);
            assert.equal(entry.players, node.players, `${name} reports its latest status (seed ${seed})`);
            assert.equal(entry.link.state, "open");
            assert.equal(node.client?.connected(), true);
          } else {
            assert.equal(entry, undefined, `${name} unregistered (seed ${seed})`);
          }
        }
        assert.equal(real.login.server!.links().length, WORLDS.filter((w) => real.worlds[w].desired).length);
        assert.equal(real.sim.errors().count, 0, JSON.stringify(real.sim.errors().recorded));
        assert.equal(real.sim.violations().count, 0, "no real clock, timer or randomness was used");
      },
    ),
    propertyParameters(20),
  );
});

test("the same scenario and seed give the same simulation trace", async () => {
  const run = async () => {
    const real = await setup(1234);
    real.sim.resetTcp("login", "w2");
    real.sim.crash("w3", { silent: true });
    await step(real, 3_000_000);
    real.sim.restart("w3");
    await step(real, 5_000_000);
    return { hash: real.sim.traceHash(), registered: [...real.login.registry.keys()].sort() };
  };
  const first = await run();
  assert.deepEqual(await run(), first);
  assert.deepEqual(first.registered, ["w1", "w2", "w3"]);
});
