import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ChatKind,
  ChatResultCode,
  EnterResult,
  LeaveReason,
  ProtocolErrorCode,
  ZoneChangeResult,
} from "../../../src/roles/messages/mod.ts";
import {
  ChannelMembership,
  ChatRoute,
  decodeCharacterState,
  encodeCharacterState,
  PlayerPresence,
  PresenceEvent,
  type RoleEvent,
  startZone,
  ZoneBoot,
  type ZoneOptions,
  type ZoneServer,
  ZoneTransfer,
} from "../../../src/roles/mod.ts";
import {
  CharacterSave,
  type CharacterSaveMessage,
  KickPlayer,
  type Link,
  ServerRole,
  ServerState,
  ServertalkServer,
  SetConnectInfo,
  ZoneStatus,
  type ZoneStatusMessage,
  ZoneToZoneRequest,
} from "../../../src/servertalk/mod.ts";
import { runSim, Simulation, WorldClient } from "../_sim.ts";

type Presence = Parameters<typeof PlayerPresence.encode>[0];

/** A stand-in world on host "world": records what the zone reports and answers its requests. */
class MockWorld {
  readonly server: ServertalkServer;
  readonly saves: CharacterSaveMessage[] = [];
  readonly presence: Presence[] = [];
  readonly statuses: ZoneStatusMessage[] = [];
  readonly routed: string[] = [];
  link: Link | undefined;
  registrations = 0;
  saveResult = true;

  constructor(sim: Simulation) {
    this.server = new ServertalkServer(sim.platform("world"), {
      name: "world",
      role: ServerRole.World,
      requireAuth: false,
    });
    this.server.handle(SetConnectInfo, (ctx) => {
      this.link = ctx.link;
      this.registrations++;
      ctx.reply({ zoneServerId: 1 });
    });
    this.server.handle(ZoneStatus, (ctx) => void this.statuses.push(ctx.message));
    this.server.handle(PlayerPresence, (ctx) => void this.presence.push(ctx.message));
    this.server.handle(CharacterSave, (ctx) => {
      this.saves.push(ctx.message);
      ctx.reply({ charId: ctx.message.charId, version: ctx.message.baseVersion, saved: this.saveResult });
    });
    this.server.handle(ChatRoute, (ctx) => {
      this.routed.push(`${ctx.message.kind}:${ctx.message.to}${ctx.message.channel}:${ctx.message.text}`);
      ctx.reply({ result: ChatResultCode.Delivered, recipients: 1 });
    });
    this.server.handle(ChannelMembership, (ctx) => ctx.reply({ result: ctx.message.join ? 0 : 1 }));
    this.server.handle(ZoneTransfer, (ctx) =>
      ctx.reply({
        result: ZoneChangeResult.Granted,
        zoneName: ctx.message.zoneName,
        instanceId: 9,
        address: "10.9.9.9",
        port: 9999,
        accessKey: 4242,
      }));
  }

  events(charId: number): number[] {
    return this.presence.filter((p) => p.charId === charId).map((p) => p.event);
  }
}

interface Zone {
  readonly sim: Simulation;
  readonly zone: ZoneServer;
  readonly world: MockWorld;
  readonly events: RoleEvent[];
  generation: number;
}

function newSim(seed: number): Simulation {
  const sim = new Simulation({ seed });
  for (const host of ["world", "zone", "c1", "c2", "c3"]) sim.addHost(host);
  return sim;
}

async function setup(sim: Simulation, options: Partial<ZoneOptions> = {}): Promise<Zone> {
  const world = new MockWorld(sim);
  await world.server.listen({ address: sim.address("world"), port: 9201 });
  const events: RoleEvent[] = [];
  const zone = await startZone(sim.platform("zone"), {
    name: "zone-a",
    address: sim.address("zone"),
    port: 9300,
    world: { address: sim.address("world"), port: 9201, account: "zone", password: "zonepassword" },
    observer: (e) => events.push(e),
    tickHz: 10,
    viewRadius: 100,
    sayRange: 50,
    shoutRange: 500,
    ...options,
  });
  while (world.link === undefined) await sim.sleep(10_000);
  const boot = await world.link.request(ZoneBoot, { zoneName: "qeynos", instanceId: 1, maxPlayers: 100 });
  assert.equal(boot.accepted, true);
  return { sim, zone, world, events, generation: 100 };
}

/** World hands character `charId` to the zone; a client on `host` enters with the key. */
async function enter(z: Zone, charId: number, host: string, at: { x: number; z: number }) {
  const generation = ++z.generation;
  const key = 5000 + charId;
  const reply = await z.world.link!.request(ZoneToZoneRequest, {
    charId,
    accountId: charId * 10,
    name: `Hero${"abcdefgh"[charId]}`,
    to: { zoneId: 0, instanceId: 1, x: at.x, y: 0, z: at.z, heading: 0 },
    accessKey: key,
    state: encodeCharacterState({
      generation,
      accountId: charId * 10,
      name: `Hero${"abcdefgh"[charId]}`,
      level: 5,
      race: 1,
      class: 1,
      zone: "qeynos",
      x: at.x,
      y: 0,
      z: at.z,
      heading: 0,
    }),
  });
  assert.equal(reply.accepted, true, reply.reason);
  const client = await WorldClient.connect(
    z.sim.platform(host),
    { address: z.sim.address("zone"), port: 9300 },
    z.sim.address(host),
    { idleTimeoutUs: 60_000_000 },
  );
  client.send({ kind: "ZoneEnterRequest", accountId: charId * 10, characterId: charId, accessKey: key });
  const entered = await client.expect("ZoneEnterReply");
  assert.equal(entered.result, EnterResult.Accepted);
  const self = await client.expect("SpawnSelf");
  return { client, spawnId: self.spawnId, generation };
}

function move(client: WorldClient, sequence: number, x: number, z: number): void {
  client.send({ kind: "MoveRequest", sequence, clientTimeMs: 0, position: { x, y: 0, z, heading: 0 } });
}

test("a player holding world's key enters and sees its spawn, the players in view and the live notices", async () => {
  const sim = newSim(31);
  await runSim(sim, async () => {
    const z = await setup(sim);
    const a = await enter(z, 1, "c1", { x: 0, z: 0 });
    z.world.server.notify({ id: "7", text: "Double experience this weekend", ttlMs: 60_000 });
    await sim.sleep(50_000);
    const b = await enter(z, 2, "c2", { x: 30, z: 0 });
    await sim.sleep(50_000);
    assert.deepEqual(b.client.all("PlayerEnteredView").map((m) => m.characterId), [1]);
    assert.deepEqual(a.client.all("PlayerEnteredView").map((m) => m.characterId), [2]);
    assert.deepEqual(b.client.all("ServerNotification").map((m) => [m.notificationId, m.text]), [[
      7,
      "Double experience this weekend",
    ]]);
    assert.deepEqual(a.client.all("ServerNotification").map((m) => m.notificationId), [7], "shown live to a");
    assert.deepEqual(z.world.events(1), [PresenceEvent.Entered]);
    // A wrong key is refused and the connection closed.
    const intruder = await WorldClient.connect(
      sim.platform("c3"),
      { address: sim.address("zone"), port: 9300 },
      sim.address("c3"),
    );
    intruder.send({ kind: "ZoneEnterRequest", accountId: 30, characterId: 3, accessKey: 1 });
    assert.equal((await intruder.expect("ZoneEnterReply")).result, EnterResult.BadKey);
    assert.equal(z.zone.playerCount, 2);
  });
});

test("movement reaches only the players in view, and players coming into range enter each other's view", async () => {
  const sim = newSim(32);
  await runSim(sim, async () => {
    const z = await setup(sim);
    const a = await enter(z, 1, "c1", { x: 0, z: 0 });
    const b = await enter(z, 2, "c2", { x: 50, z: 0 });
    const c = await enter(z, 3, "c3", { x: 400, z: 0 });
    await sim.sleep(100_000);
    move(a.client, 1, 1, 1);
    await sim.sleep(200_000);
    assert.deepEqual(b.client.all("MoveUpdate").map((m) => [m.spawnId, m.sequence]), [[a.spawnId, 1]]);
    assert.deepEqual(c.client.all("MoveUpdate"), [], "c is 400 away");
    assert.deepEqual(c.client.all("PlayerEnteredView"), []);
    // c walks over: a, b and c come into each other's view; then c's moves reach both.
    move(c.client, 1, 60, 10);
    await sim.sleep(200_000);
    assert.deepEqual(c.client.all("PlayerEnteredView").map((m) => m.characterId).sort(), [1, 2]);
    assert.ok(a.client.all("PlayerEnteredView").some((m) => m.characterId === 3));
    move(c.client, 2, 61, 10);
    await sim.sleep(200_000);
    assert.deepEqual(a.client.all("MoveUpdate").filter((m) => m.spawnId === c.spawnId).map((m) => m.sequence), [2]);
    // c leaves again: both sides get PlayerLeftView (out of range), and no more updates.
    move(c.client, 3, 900, 0);
    await sim.sleep(200_000);
    assert.deepEqual(
      a.client.all("PlayerLeftView").map((m) => [m.spawnId, m.reason]),
      [[c.spawnId, LeaveReason.OutOfRange]],
    );
    move(c.client, 4, 901, 0);
    await sim.sleep(200_000);
    assert.equal(a.client.all("MoveUpdate").filter((m) => m.spawnId === c.spawnId && m.sequence === 4).length, 0);
    assert.ok(z.zone.tickStats().ticks >= 10);
  });
});

test("a view follows a move at once, and a move within half a tick of the last update at the next tick", async () => {
  const sim = newSim(34);
  await runSim(sim, async () => {
    // One tick a second: what comes sooner than the tick did not wait for it.
    const z = await setup(sim, { tickHz: 1 });
    const a = await enter(z, 1, "c1", { x: 0, z: 0 });
    const c = await enter(z, 3, "c3", { x: 400, z: 0 });
    await sim.sleep(1_500_000);
    move(c.client, 1, 60, 0);
    await sim.sleep(50_000);
    assert.deepEqual(c.client.all("PlayerEnteredView").map((m) => m.characterId), [1]);
    assert.deepEqual(a.client.all("PlayerEnteredView").map((m) => m.characterId), [3]);
    // Straight back out, 100 ms later: within half a tick of the last view update, so the tick does it.
    move(c.client, 2, 900, 0);
    await sim.sleep(50_000);
    assert.deepEqual(a.client.all("PlayerLeftView"), []);
    assert.deepEqual(a.client.all("MoveUpdate").map((m) => [m.spawnId, m.sequence]), [[c.spawnId, 2]]);
    await sim.sleep(1_000_000);
    assert.deepEqual(a.client.all("PlayerLeftView").map((m) => [m.spawnId, m.reason]), [[
      c.spawnId,
      LeaveReason.OutOfRange,
    ]]);
  });
});

test("say reaches the players within say range and shout those within shout range, each once, never the sender", async () => {
  const sim = newSim(33);
  await runSim(sim, async () => {
    const z = await setup(sim);
    const a = await enter(z, 1, "c1", { x: 0, z: 0 });
    const b = await enter(z, 2, "c2", { x: 40, z: 0 });
    const c = await enter(z, 3, "c3", { x: 300, z: 0 });
    await sim.sleep(100_000);
    a.client.send({ kind: "ChatSay", messageId: 1, text: "hail" });
    a.client.send({ kind: "ChatShout", messageId: 2, text: "HAIL" });
    await sim.sleep(200_000);
    const lines = (client: WorldClient) =>
      client.all("ChatReceived").map((m) => [m.channelKind, m.messageId, m.senderId]);
    assert.deepEqual(lines(b.client), [[ChatKind.Say, 1, 1], [ChatKind.Shout, 2, 1]]);
    assert.deepEqual(lines(c.client), [[ChatKind.Shout, 2, 1]]);
    assert.deepEqual(lines(a.client), []);
    assert.deepEqual(a.client.all("ChatResult").map((m) => [m.messageId, m.result]), [[1, 0], [2, 0]]);
    const local = z.events.filter((e) => e.type === "chat.local") as Extract<RoleEvent, { type: "chat.local" }>[];
    assert.deepEqual(local.map((e) => [e.messageId, e.recipients]), [[1, [2]], [2, [2, 3]]]);
    // Tells and channel lines go through world.
    a.client.send({ kind: "ChatTell", messageId: 3, to: "Herob", text: "psst" });
    await sim.sleep(200_000);
    assert.deepEqual(z.world.routed, [`${ChatKind.Tell}:Herob:psst`]);
    assert.deepEqual(a.client.all("ChatResult").at(-1), { kind: "ChatResult", messageId: 3, result: 0 });
  });
});

test("chat beyond the rate limit is refused with RateLimited", async () => {
  const sim = newSim(34);
  await runSim(sim, async () => {
    const z = await setup(sim, { chatPerSecond: 2 });
    const a = await enter(z, 1, "c1", { x: 0, z: 0 });
    for (let i = 1; i <= 6; i++) a.client.send({ kind: "ChatSay", messageId: i, text: "spam" });
    await sim.sleep(200_000);
    assert.deepEqual(a.client.all("ChatResult").map((m) => m.result), [0, 0, 0, 0, 3, 3]);
  });
});

test("a dropped connection leaves the player link-dead; after the window it is saved and world told it left", async () => {
  const sim = newSim(35);
  await runSim(sim, async () => {
    const z = await setup(sim, { linkDeadUs: 3_000_000 });
    const a = await enter(z, 1, "c1", { x: 0, z: 0 });
    const b = await enter(z, 2, "c2", { x: 10, z: 0 });
    move(a.client, 1, 5, 5);
    await sim.sleep(200_000);
    sim.crash("c1");
    // The zone hears nothing more from c1: its session times out (idle or give-up), then the window runs.
    const deadline = sim.now + 120_000_000;
    while (!z.world.events(1).includes(PresenceEvent.Left) && sim.now < deadline) await sim.sleep(500_000);
    assert.deepEqual(z.world.events(1), [PresenceEvent.Entered, PresenceEvent.LinkDead, PresenceEvent.Left]);
    const save = z.world.saves.find((s) => s.charId === 1);
    assert.ok(save, "saved at the end of the link-dead window");
    const state = decodeCharacterState(save.state);
    assert.deepEqual([state.x, state.z, save.baseVersion], [5, 5, a.generation]);
    assert.deepEqual(b.client.all("PlayerLeftView").map((m) => [m.spawnId, m.reason]), [[
      a.spawnId,
      LeaveReason.LinkDead,
    ]]);
    assert.equal(z.zone.playerCount, 1);
  });
});

test("logout saves through world and answers characterSaved; an unreachable world's save waits for the reconnect", async () => {
  const sim = newSim(36);
  await runSim(sim, async () => {
    const z = await setup(sim);
    const a = await enter(z, 1, "c1", { x: 0, z: 0 });
    move(a.client, 1, 3, 4);
    await sim.sleep(100_000);
    a.client.send({ kind: "LogoutRequest" });
    const reply = await a.client.expect("LogoutReply");
    assert.deepEqual([reply.result, reply.characterSaved], [0, true]);
    // The presence notice and the reply leave in the same instant on different links: either may land first.
    for (let i = 0; i < 10 && z.world.events(1).length < 2; i++) await sim.sleep(10_000);
    assert.deepEqual(z.world.events(1), [PresenceEvent.Entered, PresenceEvent.Left]);

    const b = await enter(z, 2, "c2", { x: 0, z: 0 });
    // World goes away: the logout cannot be confirmed; the save is kept and delivered after the reconnect.
    await z.world.server.shutdown({ graceUs: 100_000 });
    await sim.sleep(100_000);
    move(b.client, 1, 8, 9);
    await sim.sleep(100_000);
    b.client.send({ kind: "LogoutRequest" });
    assert.equal((await b.client.expect("LogoutReply")).characterSaved, false);
    const again = new MockWorld(sim);
    await again.server.listen({ address: sim.address("world"), port: 9201 });
    const deadline = sim.now + 60_000_000;
    while (again.saves.length === 0 && sim.now < deadline) await sim.sleep(200_000);
    const save = again.saves[0];
    assert.ok(save, "the queued save reached the new world");
    assert.equal(save.charId, 2);
    assert.deepEqual([decodeCharacterState(save.state).x, decodeCharacterState(save.state).z], [8, 9]);
    assert.deepEqual(again.events(2), [PresenceEvent.Entered, PresenceEvent.Left], "announced around the save");
  });
});

test("a zone change asks world, hands the client the new zone and key, and the player leaves view as zoned out", async () => {
  const sim = newSim(37);
  await runSim(sim, async () => {
    const z = await setup(sim);
    const a = await enter(z, 1, "c1", { x: 0, z: 0 });
    const b = await enter(z, 2, "c2", { x: 10, z: 0 });
    a.client.send({ kind: "ZoneChangeRequest", zoneName: "QEYNOS" });
    assert.equal((await a.client.expect("ZoneChangeReply")).result, ZoneChangeResult.AlreadyThere);
    a.client.send({ kind: "ZoneChangeRequest", zoneName: "antonica" });
    const reply = await a.client.expect("ZoneChangeReply");
    assert.deepEqual(
      [reply.result, reply.zoneName, reply.address, reply.port, reply.accessKey],
      [ZoneChangeResult.Granted, "antonica", "10.9.9.9", 9999, 4242],
    );
    await sim.sleep(100_000);
    assert.deepEqual(b.client.all("PlayerLeftView").map((m) => [m.spawnId, m.reason]), [[
      a.spawnId,
      LeaveReason.ZonedOut,
    ]]);
    assert.equal(z.zone.playerCount, 1);
    assert.deepEqual(z.world.events(1), [PresenceEvent.Entered], "world moved the player; no Left from here");
    assert.equal(z.world.saves.length, 0);
  });
});

test("world superseding a character drops the old copy without saving it", async () => {
  const sim = newSim(38);
  await runSim(sim, async () => {
    const z = await setup(sim);
    const a = await enter(z, 1, "c1", { x: 0, z: 0 });
    const again = await enter(z, 1, "c2", { x: 0, z: 0 });
    await sim.sleep(100_000);
    assert.deepEqual(a.client.all("ProtocolError").map((m) => m.code), [ProtocolErrorCode.Kicked]);
    assert.equal(z.zone.playerCount, 1);
    assert.equal(z.zone.players()[0]!.generation, again.generation);
    assert.equal(z.world.saves.length, 0);
    // A kick from world saves and removes.
    z.world.link!.send(KickPlayer, { charId: 1, name: "Heroa", reason: "Logged in again" });
    await sim.sleep(100_000);
    assert.equal(z.zone.playerCount, 0);
    assert.deepEqual(z.world.saves.map((s) => s.baseVersion), [again.generation]);
    assert.deepEqual(again.client.all("ProtocolError").map((m) => [m.code, m.text]), [[
      ProtocolErrorCode.Kicked,
      "Logged in again",
    ]]);
  });
});

test("the capacity rule marks the zone server TAKEN at maxPlayers and world hears it", async () => {
  const sim = newSim(39);
  await runSim(sim, async () => {
    const z = await setup(sim, { maxPlayers: 2 });
    await enter(z, 1, "c1", { x: 0, z: 0 });
    await enter(z, 2, "c2", { x: 0, z: 0 });
    await sim.sleep(100_000);
    assert.equal(z.zone.status, "taken");
    assert.equal(z.world.statuses.at(-1)?.state, ServerState.Taken);
    assert.equal(z.world.statuses.at(-1)?.numPlayers, 2);
  });
});

test("draining tells every player why, saves each, and disconnects them", async () => {
  const sim = newSim(40);
  await runSim(sim, async () => {
    const z = await setup(sim);
    const a = await enter(z, 1, "c1", { x: 0, z: 0 });
    const b = await enter(z, 2, "c2", { x: 0, z: 0 });
    await z.zone.close({ graceUs: 5_000_000 });
    await sim.sleep(500_000);
    for (const client of [a.client, b.client]) {
      assert.deepEqual(client.all("ProtocolError").map((m) => m.code), [ProtocolErrorCode.ShuttingDown]);
      assert.equal(client.link.open, false);
    }
    assert.deepEqual(z.world.saves.map((s) => s.charId).sort(), [1, 2]);
    assert.equal(z.world.statuses.at(-1)?.state, ServerState.Offline);
    assert.deepEqual(z.events.filter((e) => e.type === "player.left").map((e) => (e as { cause: string }).cause), [
      "drain",
      "drain",
    ]);
  });
});

test("requests beyond maxQueuedPerSession are refused with a RateLimited protocol error", async () => {
  const sim = newSim(41);
  await runSim(sim, async () => {
    const z = await setup(sim, { maxQueuedPerSession: 3, chatPerSecond: 100 });
    const a = await enter(z, 1, "c1", { x: 0, z: 0 });
    for (let i = 1; i <= 10; i++) a.client.send({ kind: "ChatTell", messageId: i, to: "Herob", text: "hi" });
    await sim.sleep(500_000);
    const errors = a.client.all("ProtocolError");
    assert.deepEqual(
      errors.map((e) => [e.code, e.text]),
      Array(7).fill([ProtocolErrorCode.RateLimited, "Too many requests waiting"]),
    );
    assert.deepEqual(a.client.all("ChatResult").map((m) => m.messageId), [1, 2, 3]);
    assert.equal(z.world.routed.length, 3);
  });
});
