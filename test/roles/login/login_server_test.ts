import assert from "node:assert/strict";
import { test } from "node:test";
import type { Platform } from "../../../src/platform/platform.ts";
import {
  decodeStruct,
  encodeStruct,
  Eq2LoginStructs,
  LoginResponse,
  PlayResponse,
  WorldTag,
} from "../../../src/roles/messages/mod.ts";
import {
  CharacterCreate,
  CharacterList,
  type LoginServer,
  type RoleEvent,
  startLogin,
} from "../../../src/roles/mod.ts";
import {
  LSInfo,
  LSStatus,
  ServerRole,
  ServerState,
  ServertalkClient,
  UsertoWorldReq,
  UserToWorldResult,
} from "../../../src/servertalk/mod.ts";
import type { Store } from "../../../src/store/mod.ts";
import { LoginClient, memoryStore, runSim, Simulation } from "../_sim.ts";

interface Setup {
  readonly sim: Simulation;
  readonly login: LoginServer;
  readonly store: Store;
  readonly events: RoleEvent[];
  readonly client: Platform;
  readonly target: { address: string; port: number };
}

/** login on host "login" (servertalk on 9101), a client host, a world host; accounts created. */
async function setup(sim: Simulation, options: { autoCreate?: boolean; heartbeat?: boolean } = {}): Promise<Setup> {
  const platform = sim.platform("login");
  const store = await memoryStore(platform);
  await store.accounts.create({ name: "antonia", password: "password1" });
  const banned = await store.accounts.create({ name: "lucan", password: "password1" });
  await store.bans.add({ accountId: banned.id }, { reason: "griefing", actor: "test" });
  await store.servers.create({ name: "world-a", kind: "world", password: "worldpassword" });
  const events: RoleEvent[] = [];
  const login = await startLogin(platform, {
    store,
    address: sim.address("login"),
    port: 9100,
    servertalk: { address: sim.address("login"), port: 9101 },
    autoCreateAccounts: options.autoCreate ?? false,
    hashing: "sync",
    observer: (e) => events.push(e),
    ...(options.heartbeat ? { link: { heartbeatIntervalUs: 500_000, heartbeatTimeoutUs: 2_000_000 } } : {}),
  });
  return {
    sim,
    login,
    store,
    events,
    client: sim.platform("client"),
    target: { address: sim.address("login"), port: 9100 },
  };
}

function newSim(seed: number): Simulation {
  const sim = new Simulation({ seed });
  sim.addHost("login");
  sim.addHost("world");
  sim.addHost("client");
  return sim;
}

/** A stand-in world on host "world": registers, reports status, answers character and play requests. */
function mockWorld(sim: Simulation, options: { heartbeat?: boolean } = {}) {
  const requests: unknown[] = [];
  const client = new ServertalkClient(sim.platform("world"), {
    name: "Antonica",
    role: ServerRole.World,
    account: "world-a",
    password: "worldpassword",
    address: sim.address("login"),
    port: 9101,
    reconnect: { enabled: false },
    ...(options.heartbeat ? { heartbeatIntervalUs: 500_000, heartbeatTimeoutUs: 2_000_000 } : {}),
  });
  client.onConnect(async (link) => {
    await link.request(LSInfo, {
      name: "Antonica",
      address: sim.address("world"),
      port: 9200,
      protocolVersion: "1",
      serverVersion: "test",
      serverType: 0,
      dbVersion: 0,
    });
    link.send(LSStatus, { status: ServerState.Online, numPlayers: 12, numZones: 2, worldMaxLevel: 50 });
  });
  client.handle(UsertoWorldReq, (ctx) => {
    requests.push(ctx.message);
    ctx.reply({
      lsAccountId: ctx.message.lsAccountId,
      charId: ctx.message.charId,
      worldId: ctx.message.worldId,
      accessKey: 0xabcdef,
      response: UserToWorldResult.Allowed,
      ipAddress: sim.address("world"),
      port: 9200,
      fromId: 0,
      toId: 0,
    });
  });
  client.handle(CharacterList, (ctx) => {
    ctx.reply({
      characters: [{
        id: 41,
        worldId: 1,
        name: "Varsoon",
        race: 2,
        class: 3,
        gender: 1,
        level: 12,
        zone: "qeynos",
        createdMs: 1_000,
        updatedMs: 2_000,
      }],
    });
  });
  client.handle(CharacterCreate, (ctx) => {
    requests.push(ctx.message);
    ctx.reply({ result: 1, character: undefined });
  });
  return { client, requests };
}

test("login accepts a good password and refuses a wrong one, a banned account and a newer client version", async () => {
  const sim = newSim(1);
  await runSim(sim, async () => {
    const s = await setup(sim);
    const bind = sim.address("client");
    const good = await LoginClient.connect(s.client, s.target, bind);
    assert.equal(await good.login("antonia", "password1"), LoginResponse.Accepted);
    good.close();
    const wrong = await LoginClient.connect(s.client, s.target, bind);
    assert.equal(await wrong.login("antonia", "password2"), LoginResponse.InvalidCredentials);
    await wrong.link.closed(5_000_000);
    assert.equal(wrong.link.open, false, "the session of a refused login is closed");
    const unknown = await LoginClient.connect(s.client, s.target, bind);
    assert.equal(await unknown.login("nobody", "password1"), LoginResponse.InvalidCredentials);
    const banned = await LoginClient.connect(s.client, s.target, bind);
    assert.equal(await banned.login("lucan", "password1"), LoginResponse.Banned);

    // A client of version 1208 (its own login request layout) is told its version does not match.
    const newer = await LoginClient.connect(s.client, s.target, bind);
    newer.link.send(
      0,
      encodeStruct(Eq2LoginStructs.LoginRequest, { username: "antonia", password: "password1", version: 1208 }, 1208),
    );
    // The reply comes in 1208's layout; the 546 decoder of this client cannot read it, so wait on the raw log.
    await sim.sleep(500_000);
    assert.deepEqual(
      s.events.filter((e) => e.type === "login.refused").map((e) => (e as { reason: string }).reason),
      ["wrong_password", "unknown_account", "banned", "client version 1208"],
    );
    assert.equal(s.login.counters.accepted, 1);
    assert.equal(s.login.counters.refused, 4);
  });
});

test("an older client version is refused in its own layout, and an unreadable login request closes the session", async () => {
  const sim = newSim(7);
  await runSim(sim, async () => {
    const s = await setup(sim);
    const older = await LoginClient.connect(s.client, s.target, sim.address("client"), 283);
    assert.equal(await older.login("antonia", "password1"), LoginResponse.VersionMismatch);
    const garbage = await LoginClient.connect(s.client, s.target, sim.address("client"));
    garbage.link.send(0, Uint8Array.of(1, 2, 3));
    await garbage.link.closed(5_000_000);
    assert.equal(garbage.link.open, false);
    assert.equal(s.login.counters.malformed, 1);
    const early = await LoginClient.connect(s.client, s.target, sim.address("client"));
    early.send({ kind: "WorldListRequest" });
    assert.equal(await early.login("antonia", "password1"), LoginResponse.Accepted, "ignored until logged in");
    assert.equal(s.login.counters.dropped, 1);
  });
});

test("a newer client's version mismatch reply is written in that client's own layout", () => {
  const reply = encodeStruct(Eq2LoginStructs.LoginReply, { loginResponse: LoginResponse.VersionMismatch }, 1208);
  assert.equal(decodeStruct(Eq2LoginStructs.LoginReply, reply, 1208).loginResponse, LoginResponse.VersionMismatch);
});

test("with autoCreateAccounts an unknown account is created at its first login, and only then", async () => {
  const sim = newSim(2);
  await runSim(sim, async () => {
    const s = await setup(sim, { autoCreate: true });
    const bind = sim.address("client");
    const first = await LoginClient.connect(s.client, s.target, bind);
    assert.equal(await first.login("newcomer", "password9"), LoginResponse.Accepted);
    first.close();
    const again = await LoginClient.connect(s.client, s.target, bind);
    assert.equal(await again.login("newcomer", "password8"), LoginResponse.InvalidCredentials);
    assert.ok(await s.store.accounts.findByName("newcomer"));
    assert.equal(s.login.counters.created, 1);
    const invalid = await LoginClient.connect(s.client, s.target, bind);
    assert.equal(await invalid.login("x", "password1"), LoginResponse.InvalidCredentials, "a name too short");
  });
});

test("the world list shows a registered world up with its population, and down as soon as its link drops", async () => {
  const sim = newSim(3);
  await runSim(sim, async () => {
    const s = await setup(sim);
    const world = mockWorld(sim);
    await world.client.dial();
    await sim.sleep(200_000);
    const client = await LoginClient.connect(s.client, s.target, sim.address("client"));
    assert.equal(await client.login("antonia", "password1"), LoginResponse.Accepted);
    client.send({ kind: "WorldListRequest" });
    const up = await client.expect("WorldList");
    assert.equal(up.worldList.length, 1);
    const entry = up.worldList[0] as { id: number; name: string; tag: number; locked: number; numPlayers: number };
    assert.equal(entry.name, "Antonica");
    assert.equal(entry.tag, WorldTag.Up);
    assert.equal(entry.locked, 0);
    assert.equal(entry.numPlayers, 12);
    await world.client.close();
    await sim.sleep(100_000);
    client.send({ kind: "WorldListRequest" });
    const down = (await client.expect("WorldList")).worldList[0] as { tag: number; locked: number };
    assert.equal(down.tag, WorldTag.Down);
    assert.equal(down.locked, 1);
    assert.deepEqual(s.login.worlds().map((w) => [w.name, w.up]), [["Antonica", false]]);
  });
});

test("a world cut off by a partition shows down within the heartbeat timeout", async () => {
  const sim = newSim(4);
  await runSim(sim, async () => {
    const s = await setup(sim, { heartbeat: true });
    const world = mockWorld(sim, { heartbeat: true });
    await world.client.dial();
    await sim.sleep(1_000_000);
    assert.equal(s.login.worlds()[0]?.up, true);
    const cutAt = sim.now;
    sim.partition([["world"], ["login"]]);
    while (s.login.worlds()[0]?.up === true && sim.now - cutAt < 10_000_000) await sim.sleep(100_000);
    const tookUs = sim.now - cutAt;
    assert.equal(s.login.worlds()[0]?.up, false);
    assert.ok(tookUs <= 2_600_000, `down after ${tookUs} µs; the heartbeat timeout is 2 s`);
    assert.ok(s.events.some((e) => e.type === "world.down"));
  });
});

test("play forwards UsertoWorldReq to the world and hands the client its address and key; characters come from worlds", async () => {
  const sim = newSim(5);
  await runSim(sim, async () => {
    const s = await setup(sim);
    const world = mockWorld(sim);
    await world.client.dial();
    await sim.sleep(200_000);
    const client = await LoginClient.connect(s.client, s.target, sim.address("client"));
    assert.equal(await client.login("antonia", "password1"), LoginResponse.Accepted);
    const worldId = s.login.worlds()[0]!.id;
    client.send({ kind: "CharactersRequest" });
    const list = await client.expect("CharactersReply");
    const character = list.characters[0] as { charid: number; name: string; serverId: number; level: number };
    assert.deepEqual([character.charid, character.name, character.serverId, character.level], [
      41,
      "Varsoon",
      worldId,
      12,
    ]);
    client.send({ kind: "CreateCharacterRequest", serverId: worldId, name: "Gerun", race: 1, gender: 0, class: 2 });
    assert.equal((await client.expect("CreateCharacterReply")).response, 1);
    client.send({ kind: "PlayCharacterRequest", charId: 41, serverId: worldId });
    const play = await client.expect("PlayCharacterReply");
    assert.equal(play.response, PlayResponse.Success);
    assert.equal(play.server, sim.address("world"));
    assert.equal(play.port, 9200);
    assert.equal(play.accessCode, 0xabcdef);
    const account = await s.store.accounts.findByName("antonia");
    assert.equal(play.accountId, account!.id);
    assert.deepEqual(world.requests, [
      { accountId: account!.id, name: "Gerun", race: 1, class: 2, gender: 0 },
      {
        lsAccountId: account!.id,
        charId: 41,
        worldId,
        fromId: 0,
        toId: 0,
        ipAddress: sim.address("client"),
      },
    ]);
    await world.client.close();
    await sim.sleep(100_000);
    client.send({ kind: "PlayCharacterRequest", charId: 41, serverId: worldId });
    assert.equal((await client.expect("PlayCharacterReply")).response, PlayResponse.ServerShutdown);
  });
});

test("a draining login refuses new logins", async () => {
  const sim = newSim(6);
  await runSim(sim, async () => {
    const s = await setup(sim);
    s.login.drain();
    const client = await LoginClient.connect(s.client, s.target, sim.address("client"));
    assert.equal(await client.login("antonia", "password1"), LoginResponse.NoPlaytime);
    await s.login.close();
  });
});
