import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ChannelResult,
  ChatKind,
  ChatResultCode,
  CreateCharacterResponse,
  EnterResult,
  ZoneChangeResult,
} from "../../../src/roles/messages/mod.ts";
import {
  ChannelMembership,
  CharacterCreate,
  CharacterDelete,
  CharacterList,
  ChatDeliver,
  ChatRoute,
  decodeCharacterState,
  encodeCharacterState,
  PlayerPresence,
  PresenceEvent,
  type RoleEvent,
  startWorld,
  type WorldOptions,
  type WorldServer,
  ZoneBoot,
  ZoneTransfer,
} from "../../../src/roles/mod.ts";
import {
  CharacterSave,
  KickPlayer,
  type Link,
  LSInfo,
  LSStatus,
  type LSStatusMessage,
  ServerRole,
  ServerState,
  ServertalkClient,
  ServertalkServer,
  SetConnectInfo,
  UsertoWorldReq,
  UserToWorldResult,
  type ZoneToZoneMessage,
  ZoneToZoneRequest,
} from "../../../src/servertalk/mod.ts";
import type { Store } from "../../../src/store/mod.ts";
import { memoryStore, runSim, Simulation, WorldClient } from "../_sim.ts";

type ChatLine = Parameters<typeof ChatDeliver.encode>[0];

/** A stand-in zone server: registers, accepts boots and hand-offs, records what world sends it. */
class MockZone {
  readonly client: ServertalkClient;
  readonly boots: { zoneName: string; instanceId: number }[] = [];
  readonly handOffs: ZoneToZoneMessage[] = [];
  readonly lines: ChatLine[] = [];
  readonly kicks: number[] = [];
  /** Answer kicks by saving and leaving (as a real zone does). */
  leaveOnKick = true;

  constructor(sim: Simulation, readonly name: string, readonly port: number, maxPlayers: number) {
    const platform = sim.platform(name);
    this.client = new ServertalkClient(platform, {
      name,
      role: ServerRole.Zone,
      account: "zone-account",
      password: "zonepassword",
      address: sim.address("world"),
      port: 9201,
      reconnect: { enabled: false },
    });
    this.client.onConnect(async (link) => {
      await link.request(SetConnectInfo, { address: sim.address(name), port, maxPlayers, zones: [] });
    });
    this.client.handle(ZoneBoot, (ctx) => {
      this.boots.push({ zoneName: ctx.message.zoneName, instanceId: ctx.message.instanceId });
      ctx.reply({ accepted: true, reason: "" });
    });
    this.client.handle(ZoneToZoneRequest, (ctx) => {
      this.handOffs.push(ctx.message);
      ctx.reply({ charId: ctx.message.charId, accepted: true, reason: "" });
    });
    this.client.handle(ChatDeliver, (ctx) => void this.lines.push(ctx.message));
    this.client.handle(KickPlayer, (ctx) => {
      this.kicks.push(ctx.message.charId);
      if (!this.leaveOnKick) return;
      const handOff = this.handOffs.findLast((h) => h.charId === ctx.message.charId);
      if (handOff !== undefined) this.presence(handOff, PresenceEvent.Left);
    });
  }

  get link(): Link {
    return this.client.link!;
  }

  /** The generation and instance of the last hand-off of `charId`. */
  handOff(charId: number): { generation: number; instanceId: number; key: number; message: ZoneToZoneMessage } {
    const message = this.handOffs.findLast((h) => h.charId === charId);
    assert.ok(message, `${this.name} got no hand-off of character ${charId}`);
    return {
      generation: decodeCharacterState(message.state).generation,
      instanceId: message.to.instanceId,
      key: message.accessKey,
      message,
    };
  }

  presence(handOff: ZoneToZoneMessage, event: number): void {
    const state = decodeCharacterState(handOff.state);
    this.link.send(PlayerPresence, {
      charId: handOff.charId,
      accountId: handOff.accountId,
      name: handOff.name,
      zoneName: state.zone,
      instanceId: handOff.to.instanceId,
      generation: state.generation,
      event,
    });
  }
}

interface World {
  readonly sim: Simulation;
  readonly world: WorldServer;
  readonly store: Store;
  readonly events: RoleEvent[];
  readonly statuses: LSStatusMessage[];
  readonly loginLink: () => Link;
  readonly accountId: number;
  readonly chars: Record<string, number>;
  readonly zones: MockZone[];
}

function newSim(seed: number, zones = 2): Simulation {
  const sim = new Simulation({ seed });
  for (const host of ["login", "world", "client", ...Array.from({ length: zones }, (_, i) => `zone${i + 1}`)]) {
    sim.addHost(host);
  }
  return sim;
}

/** World on host "world" with a stand-in login on host "login" and stand-in zones. */
async function setup(
  sim: Simulation,
  options: Partial<WorldOptions> = {},
  zoneCapacity: readonly number[] = [100, 200],
): Promise<World> {
  const store = await memoryStore(sim.platform("world"));
  const account = await store.accounts.create({ name: "antonia", password: "password1" });
  await store.servers.create({ name: "world-account", kind: "world", password: "worldpassword" });
  await store.servers.create({ name: "zone-account", kind: "zone", password: "zonepassword" });
  const chars: Record<string, number> = {};
  for (const [name, zone] of [["Varsoon", "qeynos"], ["Gerun", "qeynos"], ["Lucan", "antonica"]] as const) {
    chars[name] = (await store.characters.create({
      accountId: account.id,
      worldId: 1,
      name,
      race: 1,
      class: 2,
      gender: 0,
      zone,
      x: 5,
      y: 0,
      z: 7,
    })).id;
  }
  const statuses: LSStatusMessage[] = [];
  const login = new ServertalkServer(sim.platform("login"), {
    name: "login",
    role: ServerRole.Login,
    requireAuth: false,
  });
  let loginLink: Link | undefined;
  login.handle(LSInfo, (ctx) => {
    loginLink = ctx.link;
    ctx.reply({ worldId: 1, name: ctx.message.name });
  });
  login.handle(LSStatus, (ctx) => void statuses.push(ctx.message));
  await login.listen({ address: sim.address("login"), port: 9101 });
  const events: RoleEvent[] = [];
  const world = await startWorld(sim.platform("world"), {
    store,
    address: sim.address("world"),
    port: 9200,
    login: { address: sim.address("login"), port: 9101, account: "world-account", password: "worldpassword" },
    servertalk: { address: sim.address("world"), port: 9201 },
    hashing: "sync",
    observer: (e) => events.push(e),
    ...options,
  });
  const zones = zoneCapacity.map((max, i) => new MockZone(sim, `zone${i + 1}`, 9300 + i, max));
  for (const zone of zones) await zone.client.dial();
  while (world.worldId === 0 || world.zoneServers().filter((z) => z.up).length < zones.length) {
    await sim.sleep(10_000);
  }
  return {
    sim,
    world,
    store,
    events,
    statuses,
    loginLink: () => loginLink!,
    accountId: account.id,
    chars,
    zones,
  };
}

/** Login's request for a key, then a client entering the world with it; returns the client and messages. */
async function enter(w: World, charId: number) {
  const resp = await w.loginLink().request(UsertoWorldReq, {
    lsAccountId: w.accountId,
    charId,
    worldId: 1,
    fromId: 0,
    toId: 0,
    ipAddress: w.sim.address("client"),
  });
  assert.equal(resp.response, UserToWorldResult.Allowed);
  const client = await WorldClient.connect(
    w.sim.platform("client"),
    { address: resp.ipAddress, port: resp.port },
    w.sim.address("client"),
  );
  client.send({ kind: "WorldEnterRequest", accountId: w.accountId, characterId: charId, accessKey: resp.accessKey });
  const reply = await client.expect("WorldEnterReply");
  if (reply.result !== EnterResult.Accepted) return { client, reply, assignment: undefined, key: resp.accessKey };
  const assignment = await client.expect("ZoneAssignment");
  return { client, reply, assignment, key: resp.accessKey };
}

/** The mock zone that got the last hand-off of `charId`, after announcing the player there. */
function arrive(w: World, charId: number): { zone: MockZone; generation: number; instanceId: number } {
  const zone = w.zones.findLast((z) => z.handOffs.some((h) => h.charId === charId))!;
  const { generation, instanceId, message } = zone.handOff(charId);
  zone.presence(message, PresenceEvent.Entered);
  return { zone, generation, instanceId };
}

test("world admits a player with login's key, boots an instance on the roomiest zone server, and hands the player off", async () => {
  const sim = newSim(11);
  await runSim(sim, async () => {
    const w = await setup(sim);
    const { reply, assignment } = await enter(w, w.chars.Varsoon!);
    assert.equal(reply.result, EnterResult.Accepted);
    assert.equal(reply.characterName, "Varsoon");
    assert.ok(assignment);
    assert.deepEqual(w.zones[0]!.boots, []);
    assert.deepEqual(w.zones[1]!.boots.map((b) => b.zoneName), ["qeynos"], "zone2 has the most room");
    const handOff = w.zones[1]!.handOff(w.chars.Varsoon!);
    assert.equal(assignment.zoneName, "qeynos");
    assert.equal(assignment.address, sim.address("zone2"));
    assert.equal(assignment.port, 9301);
    assert.equal(assignment.accessKey, handOff.key);
    assert.equal(assignment.instanceId, handOff.instanceId);
    const state = decodeCharacterState(handOff.message.state);
    assert.deepEqual([state.name, state.zone, state.x, state.z], ["Varsoon", "qeynos", 5, 7]);
    assert.deepEqual(w.world.players().map((p) => [p.name, p.zoneServer, p.place]), [["Varsoon", "zone2", "assigned"]]);
    arrive(w, w.chars.Varsoon!);
    await sim.sleep(50_000);
    assert.equal(w.world.players()[0]!.place, "in_zone");
  });
});

test("an access key is good once, only for its character, and not after its lifetime", async () => {
  const sim = newSim(12);
  await runSim(sim, async () => {
    const w = await setup(sim, { keyTtlUs: 1_000_000 });
    const first = await enter(w, w.chars.Varsoon!);
    assert.equal(first.reply.result, EnterResult.Accepted);
    const again = await WorldClient.connect(
      sim.platform("client"),
      { address: sim.address("world"), port: 9200 },
      sim.address("client"),
    );
    again.send({
      kind: "WorldEnterRequest",
      accountId: w.accountId,
      characterId: w.chars.Varsoon!,
      accessKey: first.key,
    });
    assert.equal((await again.expect("WorldEnterReply")).result, EnterResult.BadKey);
    const resp = await w.loginLink().request(UsertoWorldReq, {
      lsAccountId: w.accountId,
      charId: w.chars.Gerun!,
      worldId: 1,
      fromId: 0,
      toId: 0,
      ipAddress: "",
    });
    await sim.sleep(1_500_000);
    const late = await WorldClient.connect(
      sim.platform("client"),
      { address: sim.address("world"), port: 9200 },
      sim.address("client"),
    );
    late.send({
      kind: "WorldEnterRequest",
      accountId: w.accountId,
      characterId: w.chars.Gerun!,
      accessKey: resp.accessKey,
    });
    assert.equal((await late.expect("WorldEnterReply")).result, EnterResult.KeyExpired);
    const nobody = await w.loginLink().request(UsertoWorldReq, {
      lsAccountId: w.accountId + 1,
      charId: w.chars.Gerun!,
      worldId: 1,
      fromId: 0,
      toId: 0,
      ipAddress: "",
    });
    assert.equal(nobody.response, UserToWorldResult.NoSuchCharacter, "another account's character");
  });
});

test("the capacity rule takes the world to TAKEN at maxPlayers and back to ONLINE, and login hears of each change", async () => {
  const sim = newSim(13);
  await runSim(sim, async () => {
    const w = await setup(sim, { maxPlayers: 2 });
    await enter(w, w.chars.Varsoon!);
    arrive(w, w.chars.Varsoon!);
    await enter(w, w.chars.Gerun!);
    arrive(w, w.chars.Gerun!);
    await sim.sleep(100_000);
    assert.equal(w.world.status, "taken");
    assert.equal(w.statuses.at(-1)?.status, ServerState.Taken);
    const full = await w.loginLink().request(UsertoWorldReq, {
      lsAccountId: w.accountId,
      charId: w.chars.Lucan!,
      worldId: 1,
      fromId: 0,
      toId: 0,
      ipAddress: "",
    });
    assert.equal(full.response, UserToWorldResult.WorldFull);
    // Gerun logs out: below 90 % of 2 the world takes players again.
    const zone = w.zones.find((z) => z.handOffs.some((h) => h.charId === w.chars.Gerun))!;
    zone.presence(zone.handOff(w.chars.Gerun!).message, PresenceEvent.Left);
    await sim.sleep(100_000);
    assert.equal(w.world.status, "online");
    assert.equal(w.statuses.at(-1)?.status, ServerState.Online);
    assert.deepEqual(
      w.events.filter((e) => e.type === "status.changed").map((e) => `${(e as { to: string }).to}`),
      ["taken", "online"],
    );
  });
});

test("instances fill up to their limit, then world boots another one", async () => {
  const sim = newSim(14);
  await runSim(sim, async () => {
    const w = await setup(sim, { maxPlayersPerInstance: 1 }, [100, 100]);
    await enter(w, w.chars.Varsoon!);
    await enter(w, w.chars.Gerun!);
    const boots = w.zones.flatMap((z) => z.boots.map((b) => `${z.name}:${b.zoneName}:${b.instanceId}`));
    assert.deepEqual(boots, ["zone1:qeynos:1", "zone2:qeynos:2"], "the second goes to the server with more room");
    const views = w.world.zoneServers().map((z) => [z.name, z.players, z.instances.map((i) => i.players)]);
    assert.deepEqual(views, [["zone1", 1, [1]], ["zone2", 1, [1]]]);
  });
});

test("a save under the current generation is stored; one under an older generation is refused", async () => {
  const sim = newSim(15);
  await runSim(sim, async () => {
    const w = await setup(sim);
    await enter(w, w.chars.Varsoon!);
    const { zone, generation } = arrive(w, w.chars.Varsoon!);
    const state = (x: number, gen: number) =>
      encodeCharacterState({
        generation: gen,
        accountId: w.accountId,
        name: "Varsoon",
        level: 3,
        race: 1,
        class: 2,
        zone: "qeynos",
        x,
        y: 0,
        z: 0,
        heading: 0,
      });
    const ok = await zone.link.request(CharacterSave, {
      charId: w.chars.Varsoon!,
      accountId: w.accountId,
      baseVersion: generation,
      state: state(42, generation),
    });
    assert.equal(ok.saved, true);
    assert.equal((await w.store.characters.get(w.chars.Varsoon!))!.x, 42);
    assert.equal((await w.store.characters.get(w.chars.Varsoon!))!.level, 3);
    const stale = await zone.link.request(CharacterSave, {
      charId: w.chars.Varsoon!,
      accountId: w.accountId,
      baseVersion: (generation - 1) >>> 0,
      state: state(99, (generation - 1) >>> 0),
    });
    assert.equal(stale.saved, false);
    const other = w.zones.find((z) => z !== zone)!;
    const foreign = await other.link.request(CharacterSave, {
      charId: w.chars.Varsoon!,
      accountId: w.accountId,
      baseVersion: generation,
      state: state(77, generation),
    });
    assert.equal(foreign.saved, false, "a zone that does not hold the character cannot save it");
    assert.equal((await w.store.characters.get(w.chars.Varsoon!))!.x, 42);
    assert.equal(w.world.counters.savesRefused, 2);
  });
});

test("a tell reaches the recipient's zone exactly once; an offline name gets NoSuchPlayer", async () => {
  const sim = newSim(16);
  await runSim(sim, async () => {
    const w = await setup(sim, { maxPlayersPerInstance: 1 }, [100, 100]);
    await enter(w, w.chars.Varsoon!);
    const a = arrive(w, w.chars.Varsoon!);
    await enter(w, w.chars.Gerun!);
    const b = arrive(w, w.chars.Gerun!);
    assert.notEqual(a.zone, b.zone);
    const tell = (to: string, messageId: number) =>
      a.zone.link.request(ChatRoute, {
        kind: ChatKind.Tell,
        senderId: w.chars.Varsoon!,
        senderName: "Varsoon",
        messageId,
        to,
        channel: "",
        text: "hail",
      });
    assert.deepEqual(await tell("gerun", 1), { result: ChatResultCode.Delivered, recipients: 1 });
    assert.deepEqual(await tell("Lucan", 2), { result: ChatResultCode.NoSuchPlayer, recipients: 0 });
    await sim.sleep(50_000);
    assert.deepEqual(b.zone.lines.map((l) => [l.kind, l.messageId, l.recipients]), [[ChatKind.Tell, 1, [
      w.chars.Gerun,
    ]]]);
    assert.deepEqual(a.zone.lines, []);
  });
});

test("a channel line reaches every other member once, across zones; a non-member gets NotInChannel", async () => {
  const sim = newSim(17);
  await runSim(sim, async () => {
    const w = await setup(sim, { maxPlayersPerInstance: 2 }, [100, 100]);
    const ids = [w.chars.Varsoon!, w.chars.Gerun!, w.chars.Lucan!];
    const places: ReturnType<typeof arrive>[] = [];
    for (const id of ids) {
      await enter(w, id);
      places.push(arrive(w, id));
    }
    const join = (i: number, channel: string) =>
      places[i]!.zone.link.request(ChannelMembership, { charId: ids[i]!, channel, join: true });
    assert.equal((await join(0, "Guild")).result, ChannelResult.Joined);
    assert.equal((await join(1, "guild")).result, ChannelResult.Joined);
    assert.equal((await join(2, "guild")).result, ChannelResult.Joined);
    assert.equal((await join(2, "bad name!")).result, ChannelResult.BadName);
    const say = (i: number, messageId: number) =>
      places[i]!.zone.link.request(ChatRoute, {
        kind: ChatKind.Channel,
        senderId: ids[i]!,
        senderName: "x",
        messageId,
        to: "",
        channel: "GUILD",
        text: "to all",
      });
    assert.deepEqual(await say(0, 7), { result: ChatResultCode.Delivered, recipients: 2 });
    await sim.sleep(50_000);
    const got = w.zones.flatMap((z) => z.lines.flatMap((l) => l.recipients.map((r) => `${r}:${l.messageId}`))).sort();
    assert.deepEqual(got, [`${ids[1]}:7`, `${ids[2]}:7`].sort());
    const leave = await places[1]!.zone.link.request(ChannelMembership, {
      charId: ids[1]!,
      channel: "guild",
      join: false,
    });
    assert.equal(leave.result, ChannelResult.Left);
    assert.deepEqual(await say(1, 8), { result: ChatResultCode.NotInChannel, recipients: 0 });
  });
});

test("a zone transfer is granted with the new zone's address and key, and the new zone is stored first", async () => {
  const sim = newSim(18);
  await runSim(sim, async () => {
    const w = await setup(sim);
    await enter(w, w.chars.Varsoon!);
    const { zone, generation } = arrive(w, w.chars.Varsoon!);
    const state = encodeCharacterState({
      generation,
      accountId: w.accountId,
      name: "Varsoon",
      level: 1,
      race: 1,
      class: 2,
      zone: "qeynos",
      x: 10,
      y: 0,
      z: 10,
      heading: 0,
    });
    const transfer = (zoneName: string, gen = generation) =>
      zone.link.request(ZoneTransfer, {
        charId: w.chars.Varsoon!,
        accountId: w.accountId,
        generation: gen,
        zoneName,
        state,
      });
    assert.equal((await transfer("qeynos")).result, ZoneChangeResult.AlreadyThere);
    assert.equal((await transfer("norrath")).result, ZoneChangeResult.UnknownZone);
    assert.equal((await transfer("antonica", generation + 5)).result, ZoneChangeResult.NotAllowed);
    const granted = await transfer("Antonica");
    assert.equal(granted.result, ZoneChangeResult.Granted);
    assert.equal(granted.zoneName, "antonica");
    const target = w.zones.find((z) => z.port === granted.port)!;
    assert.equal(granted.address, sim.address(target.name));
    const handOff = target.handOff(w.chars.Varsoon!);
    assert.equal(handOff.key, granted.accessKey);
    assert.notEqual(handOff.generation, generation);
    assert.equal((await w.store.characters.get(w.chars.Varsoon!))!.zone, "antonica");
    assert.deepEqual(w.world.players().map((p) => [p.zoneName, p.place, p.generation]), [[
      "antonica",
      "transit",
      handOff.generation,
    ]]);
  });
});

test("losing a zone server releases its players; its re-announcement after reconnecting adopts them again", async () => {
  const sim = newSim(19);
  await runSim(sim, async () => {
    const w = await setup(sim, {}, [100]);
    await enter(w, w.chars.Varsoon!);
    const { zone } = arrive(w, w.chars.Varsoon!);
    await sim.sleep(50_000);
    assert.equal(w.world.players().length, 1);
    const handOff = zone.handOff(w.chars.Varsoon!).message;
    await zone.client.close();
    await sim.sleep(100_000);
    assert.deepEqual(w.world.players(), []);
    assert.equal(w.world.zoneServers()[0]!.up, false);
    const back = new MockZone(sim, "zone1", 9300, 100);
    back.client.onConnect(async (link) => {
      // A real zone re-registers its instances, then re-announces who is there.
      await link.request(SetConnectInfo, {
        address: sim.address("zone1"),
        port: 9300,
        maxPlayers: 100,
        zones: [{ zoneId: 0, instanceId: handOff.to.instanceId, name: "qeynos", numPlayers: 1 }],
      });
      back.handOffs.push(handOff);
      back.presence(handOff, PresenceEvent.Entered);
    });
    await back.client.dial();
    await sim.sleep(100_000);
    assert.deepEqual(w.world.players().map((p) => [p.name, p.zoneServer, p.place]), [["Varsoon", "zone1", "in_zone"]]);
  });
});

test("entering while the character is still in a zone kicks that copy first", async () => {
  const sim = newSim(20);
  await runSim(sim, async () => {
    const w = await setup(sim, {}, [100]);
    await enter(w, w.chars.Varsoon!);
    const first = arrive(w, w.chars.Varsoon!);
    const again = await enter(w, w.chars.Varsoon!);
    assert.equal(again.reply.result, EnterResult.Accepted);
    assert.deepEqual(first.zone.kicks, [w.chars.Varsoon]);
    const second = first.zone.handOff(w.chars.Varsoon!);
    assert.notEqual(second.generation, first.generation);
    assert.equal(w.world.players().length, 1);
  });
});

test("a draining world goes OFFLINE, tells login, and refuses entries and keys", async () => {
  const sim = newSim(21);
  await runSim(sim, async () => {
    const w = await setup(sim);
    const resp = await w.loginLink().request(UsertoWorldReq, {
      lsAccountId: w.accountId,
      charId: w.chars.Varsoon!,
      worldId: 1,
      fromId: 0,
      toId: 0,
      ipAddress: "",
    });
    await w.world.drain({ graceUs: 0 });
    await sim.sleep(50_000);
    assert.equal(w.world.status, "offline");
    assert.equal(w.statuses.at(-1)?.status, ServerState.Offline);
    const refused = await w.loginLink().request(UsertoWorldReq, {
      lsAccountId: w.accountId,
      charId: w.chars.Gerun!,
      worldId: 1,
      fromId: 0,
      toId: 0,
      ipAddress: "",
    });
    assert.equal(refused.response, UserToWorldResult.Denied);
    const client = await WorldClient.connect(
      sim.platform("client"),
      { address: sim.address("world"), port: 9200 },
      sim.address("client"),
    );
    client.send({
      kind: "WorldEnterRequest",
      accountId: w.accountId,
      characterId: w.chars.Varsoon!,
      accessKey: resp.accessKey,
    });
    assert.equal((await client.expect("WorldEnterReply")).result, EnterResult.Draining);
    await w.world.close({ graceUs: 0 });
  });
});

test("world creates, lists and deletes characters for login, scattered around the spawn point", async () => {
  const sim = newSim(22);
  await runSim(sim, async () => {
    const w = await setup(sim, { spawnRadius: 50, spawn: { x: 100, y: 0, z: -100, heading: 0 } });
    const link = w.loginLink();
    const create = (name: string) =>
      link.request(CharacterCreate, { accountId: w.accountId, name, race: 1, class: 2, gender: 0 });
    const created = await create("Antonius");
    assert.equal(created.result, CreateCharacterResponse.Success);
    assert.equal(created.character?.zone, "qeynos");
    assert.equal((await create("antonius")).result, CreateCharacterResponse.NameTaken);
    assert.equal((await create("Bad Name")).result, CreateCharacterResponse.NameInvalid);
    assert.equal((await create("Ab")).result, CreateCharacterResponse.BadNameLength);
    const more = [await create("Firiona"), await create("Mayong")];
    const positions = await Promise.all(
      [created, ...more].map((c) => w.store.characters.get(c.character!.id)),
    );
    for (const c of positions) assert.ok(Math.hypot(c!.x - 100, c!.z + 100) <= 50, `${c!.x},${c!.z}`);
    assert.notEqual(positions[0]!.x, positions[1]!.x);
    const list = await link.request(CharacterList, { accountId: w.accountId });
    assert.deepEqual(list.characters.map((c) => c.name), [
      "Varsoon",
      "Gerun",
      "Lucan",
      "Antonius",
      "Firiona",
      "Mayong",
    ]);
    await enter(w, w.chars.Varsoon!);
    const inGame = await link.request(CharacterDelete, { accountId: w.accountId, charId: w.chars.Varsoon! });
    assert.deepEqual(inGame, { deleted: false, reason: "The character is in the game" });
    const other = await link.request(CharacterDelete, { accountId: w.accountId + 1, charId: w.chars.Gerun! });
    assert.equal(other.deleted, false);
    assert.deepEqual(await link.request(CharacterDelete, { accountId: w.accountId, charId: w.chars.Gerun! }), {
      deleted: true,
      reason: "",
    });
    assert.equal((await w.store.characters.get(w.chars.Gerun!))!.deletedMs !== null, true);
  });
});

test("a line for a player still on the way to a zone is held and delivered once when they arrive", async () => {
  const sim = newSim(23);
  await runSim(sim, async () => {
    const w = await setup(sim, {}, [100]);
    await enter(w, w.chars.Varsoon!);
    const a = arrive(w, w.chars.Varsoon!);
    await enter(w, w.chars.Gerun!);
    assert.equal(w.world.players().find((p) => p.name === "Gerun")?.place, "assigned");
    const reply = await a.zone.link.request(ChatRoute, {
      kind: ChatKind.Tell,
      senderId: w.chars.Varsoon!,
      senderName: "Varsoon",
      messageId: 5,
      to: "Gerun",
      channel: "",
      text: "welcome",
    });
    assert.equal(reply.result, ChatResultCode.Delivered);
    await sim.sleep(50_000);
    assert.equal(a.zone.lines.length, 0, "held while Gerun is not in a zone yet");
    arrive(w, w.chars.Gerun!);
    await sim.sleep(50_000);
    assert.deepEqual(a.zone.lines.map((l) => [l.messageId, l.recipients]), [[5, [w.chars.Gerun]]]);
    arrive(w, w.chars.Gerun!); // a repeated announcement does not deliver it again
    await sim.sleep(50_000);
    assert.equal(a.zone.lines.length, 1);
  });
});
