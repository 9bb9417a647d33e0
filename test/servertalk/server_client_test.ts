import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createAuthenticator, MemoryAccounts } from "../../src/servertalk/auth.ts";
import { ServertalkClient } from "../../src/servertalk/client.ts";
import { ServerRole } from "../../src/servertalk/control.ts";
import type { Link } from "../../src/servertalk/link.ts";
import { LSInfo, LSStatus, Motd, type SystemwideMessageValue } from "../../src/servertalk/messages.ts";
import { ServertalkServer } from "../../src/servertalk/server.ts";
import { eventually, sleep, testPlatform } from "./_platform.ts";

const INFO = {
  name: "World",
  address: "127.0.0.1",
  port: 9001,
  protocolVersion: "0.5.0",
  serverVersion: "1",
  serverType: 0,
  dbVersion: 1,
};

function loginServer() {
  const { platform, lines } = testPlatform();
  const server = new ServertalkServer(platform, { name: "login", role: ServerRole.Login, requireAuth: false });
  // A world list keyed by the authenticated server name: registration state lives as long as the link.
  const worlds = new Map<string, { link: Link; worldId: number }>();
  let nextWorldId = 1;
  server.handle(LSInfo, (ctx) => {
    const name = ctx.link.peer!.name;
    const existing = worlds.get(name);
    const worldId = existing?.worldId ?? nextWorldId++;
    worlds.set(name, { link: ctx.link, worldId });
    ctx.reply({ worldId, name: ctx.message.name });
  });
  server.onDisconnect((link) => {
    const name = link.peer?.name;
    if (name !== undefined && worlds.get(name)?.link === link) worlds.delete(name);
  });
  return { platform, lines, server, worlds };
}

test("a client reconnects with backoff after losing its link, re-registers, and login keeps one registration", async () => {
  const { platform, server, worlds } = loginServer();
  const client = new ServertalkClient(platform, {
    name: "world-1",
    role: ServerRole.World,
    connect: () => server.connectInProcess(),
    reconnect: { initialDelayUs: 5_000, maxDelayUs: 20_000 },
  });
  const registrations: number[] = [];
  client.onConnect(async (link) => void registrations.push((await link.request(LSInfo, INFO)).worldId));
  const disconnects: string[] = [];
  client.onDisconnect((info) => disconnects.push(info.error.code));
  await client.dial();
  assert.equal(worlds.size, 1);
  for (let round = 0; round < 3; round++) {
    server.linkByName("world-1")!.destroy();
    await eventually(() => registrations.length === round + 2, 5000, "re-registration");
    assert.equal(client.connected(), true);
    assert.equal(worlds.size, 1);
  }
  // Login forgets a world when its link closes; each registration is fresh and there is never a second one.
  assert.deepEqual(registrations, [1, 2, 3, 4]);
  assert.deepEqual(disconnects, [
    "SERVERTALK_CONNECTION_LOST",
    "SERVERTALK_CONNECTION_LOST",
    "SERVERTALK_CONNECTION_LOST",
  ]);
  const m = client.metrics();
  assert.equal(m.connects, 4);
  assert.equal(m.reconnects, 3);
  assert.equal(server.metrics().connections, 1);
  await client.close();
  assert.equal(await client.wait(), undefined);
  await eventually(() => worlds.size === 0);
  await server.shutdown();
});

test("a client retries while the server is unreachable and connects when it appears", async () => {
  const { platform, server } = loginServer();
  let attempts = 0;
  let reachable = false;
  const client = new ServertalkClient(platform, {
    name: "world-1",
    role: ServerRole.World,
    connect: () => {
      attempts++;
      if (!reachable) throw new Error("connection refused");
      return server.connectInProcess();
    },
    reconnect: { initialDelayUs: 2_000, maxDelayUs: 8_000 },
  });
  const dialed = client.dial();
  await eventually(() => attempts >= 4);
  assert.equal(client.connected(), false);
  assert.match(client.metrics().lastError ?? "", /connection refused/);
  reachable = true;
  await dialed;
  assert.equal(client.connected(), true);
  assert.ok(client.metrics().failedAttempts >= 4);
  await client.close();
  await server.shutdown();
});

test("a notice reaches connected peers, peers that join while it lives, and each client only once", async () => {
  const { platform, server } = loginServer();
  const received = new Map<string, SystemwideMessageValue[]>();
  const join = async (name: string) => {
    const client = new ServertalkClient(platform, {
      name,
      role: ServerRole.World,
      connect: () => server.connectInProcess(),
      reconnect: { initialDelayUs: 1_000 },
    });
    received.set(name, []);
    client.onNotice((notice) => received.get(name)!.push(notice));
    await client.dial();
    return client;
  };
  const early = await join("early");
  const notice = server.notify({ id: "maint", text: "Restart at 03:00", ttlMs: 300 });
  await eventually(() => received.get("early")!.length === 1);
  const late = await join("late");
  await eventually(() => received.get("late")!.length === 1);
  assert.deepEqual(received.get("late"), [notice]);
  // A reconnect replays the live notice; the client hands it over only once.
  server.linkByName("early")!.destroy();
  await eventually(() => server.linkByName("early") !== undefined && early.connected());
  await sleep(20);
  assert.equal(received.get("early")!.length, 1);
  assert.deepEqual(server.notices().map((n) => n.id), ["maint"]);
  await sleep(350);
  assert.deepEqual(server.notices(), []);
  const tooLate = await join("too-late");
  await sleep(20);
  assert.deepEqual(received.get("too-late"), []);
  for (const client of [early, late, tooLate]) await client.close();
  await server.shutdown();
});

test("broadcast frames a message once and queues it on every matching open link", async () => {
  const { platform, server } = loginServer();
  const got: string[] = [];
  const clients = await Promise.all(["a", "b", "c"].map(async (name) => {
    const client = new ServertalkClient(platform, {
      name,
      role: name === "c" ? ServerRole.Zone : ServerRole.World,
      connect: () => server.connectInProcess(),
    });
    client.handle(Motd, (ctx) => void got.push(`${name}:${ctx.message.text}`));
    await client.dial();
    return client;
  }));
  assert.equal(server.broadcast(Motd, { text: "hello all" }), 3);
  assert.equal(
    server.broadcast(Motd, { text: "worlds only".repeat(200) }, (l) => l.peer?.role === ServerRole.World),
    2,
  );
  await eventually(() => got.length === 5);
  assert.deepEqual(
    got.sort(),
    [
      "a:hello all",
      `a:${"worlds only".repeat(200)}`,
      "b:hello all",
      `b:${"worlds only".repeat(200)}`,
      "c:hello all",
    ].sort(),
  );
  for (const client of clients) await client.close();
  await server.shutdown();
});

test("shutdown lets handlers finish, tells peers SERVERTALK_SHUTDOWN, and stops listening", async () => {
  const { platform, server } = loginServer();
  let finished = 0;
  server.handle(LSStatus, async () => {
    await sleep(5);
    finished++;
  });
  const address = await server.listen({ port: 0 });
  const client = new ServertalkClient(platform, {
    name: "world-1",
    role: ServerRole.World,
    address: address.address,
    port: address.port,
    reconnect: { initialDelayUs: 1_000_000 },
  });
  const link = await client.dial();
  for (let i = 0; i < 5; i++) link.send(LSStatus, { status: 1, numPlayers: i, numZones: 0, worldMaxLevel: 1 });
  await eventually(() => finished >= 1);
  await server.shutdown();
  assert.equal(finished, 5);
  assert.equal((await link.closed).error.code, "SERVERTALK_SHUTDOWN");
  assert.equal(server.state, "offline");
  await assert.rejects(platform.tcp.connect({ address: address.address, port: address.port, timeoutUs: 1_000_000 }));
  await client.close();
});

test("servertalk runs over real TCP loopback with authentication, and over TLS", async (t) => {
  const { platform } = testPlatform();
  const accounts = new MemoryAccounts(platform.rng, { cost: 4 });
  await accounts.addAccount("world1", "pw");
  const server = new ServertalkServer(platform, {
    name: "login",
    role: ServerRole.Login,
    authenticator: createAuthenticator({ accounts }),
  });
  server.handle(LSInfo, (ctx) => ctx.reply({ worldId: 3, name: ctx.message.name }));
  const plain = await server.listen({ port: 0 });
  const tcpClient = new ServertalkClient(platform, {
    name: "world-1",
    role: ServerRole.World,
    account: "world1",
    password: "pw",
    address: plain.address,
    port: plain.port,
  });
  const link = await tcpClient.dial();
  assert.equal(link.remote.address, "127.0.0.1");
  assert.deepEqual(await link.request(LSInfo, INFO), { worldId: 3, name: "World" });
  await tcpClient.close();

  const dir = mkdtempSync(join(tmpdir(), "qeynos-tls-"));
  try {
    const made = spawnSync("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
    ], { stdio: "ignore" });
    if (made.status !== 0) {
      t.skip("openssl is not available to make a test certificate");
      return;
    }
    const cert = readFileSync(join(dir, "cert.pem"), "utf8");
    const key = readFileSync(join(dir, "key.pem"), "utf8");
    const secure = await server.listen({ port: 0, tls: { cert, key } });
    const tlsClient = new ServertalkClient(platform, {
      name: "world-2",
      role: ServerRole.World,
      account: "world1",
      password: "pw",
      address: secure.address,
      port: secure.port,
      tls: { ca: cert, serverName: "localhost" },
    });
    const tlsLink = await tlsClient.dial();
    assert.deepEqual(await tlsLink.request(LSInfo, INFO), { worldId: 3, name: "World" });
    await tlsClient.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.shutdown();
  }
});

test("a server holds at most maxLinks links and maxNotices notices", async () => {
  const { platform } = testPlatform();
  const server = new ServertalkServer(platform, {
    name: "login",
    role: ServerRole.Login,
    requireAuth: false,
    maxLinks: 2,
    maxNotices: 2,
  });
  const clients = ["a", "b"].map((name) =>
    new ServertalkClient(platform, { name, role: ServerRole.World, connect: () => server.connectInProcess() })
  );
  await Promise.all(clients.map((c) => c.dial()));
  const third = new ServertalkClient(platform, {
    name: "c",
    role: ServerRole.World,
    connect: () => server.connectInProcess(),
    reconnect: { enabled: false },
  });
  await assert.rejects(third.dial(), {
    code: "SERVERTALK_SERVER_TAKEN",
    message: "Server login has no room for another link",
  });
  assert.equal(server.metrics().refused, 1);
  for (const id of ["n1", "n2", "n3"]) server.notify({ id, text: id, ttlMs: 60_000 });
  assert.deepEqual(server.notices().map((n) => n.id), ["n2", "n3"]);
  for (const client of clients) await client.close();
  await server.shutdown();
});
