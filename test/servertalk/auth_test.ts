import assert from "node:assert/strict";
import { test } from "node:test";
import bcrypt from "bcryptjs";
import type { Rng, TcpConnection } from "../../src/platform/platform.ts";
import { createAuthenticator, hashPassword, MemoryAccounts, verifyPasswordSync } from "../../src/servertalk/auth.ts";
import { ServertalkClient } from "../../src/servertalk/client.ts";
import { ErrorReply, Goodbye, Hello, HELLO_MAGIC, PROTOCOL_VERSION, ServerRole } from "../../src/servertalk/control.ts";
import { FrameDecoder, FrameFlag, writeFrameHeader } from "../../src/servertalk/frame.ts";
import { Link } from "../../src/servertalk/link.ts";
import { LSStatus } from "../../src/servertalk/messages.ts";
import { Opcode } from "../../src/servertalk/opcodes.ts";
import { Router } from "../../src/servertalk/router.ts";
import { ServertalkServer } from "../../src/servertalk/server.ts";
import type { ServertalkError } from "../../src/servertalk/servertalk_error.ts";
import { ByteWriter } from "../../src/wire/byte_writer.ts";
import { eventually, testPlatform } from "./_platform.ts";

const PASSWORD = "correct horse battery staple";
const MINUTE_US = 60_000_000;

function fixedRng(byte: number): Rng {
  return { u32: () => byte, float: () => 0.5, fill: (bytes) => bytes.fill(byte) };
}

async function accounts(rng: Rng) {
  const store = new MemoryAccounts(rng, { cost: 4 });
  await store.addAccount("world1", PASSWORD, { roles: [ServerRole.World] });
  await store.addAccount("zone1", PASSWORD, { roles: [ServerRole.Zone] });
  await store.addAccount("retired", PASSWORD, { enabled: false });
  return store;
}

const request = (overrides: Partial<Parameters<ReturnType<typeof createAuthenticator>["authenticate"]>[0]> = {}) => ({
  account: "world1",
  password: PASSWORD,
  name: "world-1",
  role: ServerRole.World,
  address: "10.1.1.1",
  nowUs: 0,
  wallMs: 1_700_000_000_000,
  ...overrides,
});

test("hashPassword salts from the injected rng and produces bcrypt hashes bcrypt verifies", async () => {
  const a = await hashPassword("pw", fixedRng(7), 4);
  const b = await hashPassword("pw", fixedRng(7), 4);
  const c = await hashPassword("pw", fixedRng(8), 4);
  assert.equal(a, b, "same rng bytes, same salt");
  assert.notEqual(a, c);
  assert.match(a, /^\$2b\$04\$.{53}$/);
  assert.equal(bcrypt.compareSync("pw", a), true);
  await assert.rejects(hashPassword("x".repeat(73), fixedRng(1)), {
    code: "SERVERTALK_BAD_ARGUMENT",
    message: "Cannot hash password: longer than bcrypt's 72-byte limit",
  });
  await assert.rejects(hashPassword("pw", fixedRng(1), 3), { message: "Cannot hash password: cost 3 is not in 4..31" });
});

test("verifyPasswordSync checks bcrypt hashes without reading the wall clock, and restores it", async () => {
  const hash = await hashPassword("pw", fixedRng(9), 4);
  const realNow = Date.now;
  let reads = 0;
  Date.now = () => {
    reads++;
    return realNow();
  };
  try {
    assert.equal(verifyPasswordSync("pw", hash), true);
    assert.equal(verifyPasswordSync("nope", hash), false);
    assert.equal(reads, 0);
  } finally {
    Date.now = realNow;
  }
  assert.equal(Date.now, realNow);
});

test("the authenticator accepts good credentials and refuses each bad case with its code", async () => {
  const store = await accounts(fixedRng(3));
  store.ban("10.9.9.9", "spamming hellos");
  store.ban("10.8.8.8", "cooling off", 1_700_000_060_000);
  const auth = createAuthenticator({ accounts: store, bans: store });
  assert.deepEqual(await auth.authenticate(request()), { ok: true, account: "world1" });
  const refused = async (overrides: Parameters<typeof request>[0]) => {
    const result = await auth.authenticate(request(overrides));
    assert.equal(result.ok, false);
    return (result as { error: ServertalkError }).error;
  };
  const wrong = await refused({ password: "wrong", address: "10.2.2.2" });
  const unknown = await refused({ account: "nobody", address: "10.2.2.3" });
  assert.equal(wrong.code, "SERVERTALK_AUTH_BAD_CREDENTIALS");
  assert.equal(wrong.message, "Unknown account or wrong password");
  assert.deepEqual([unknown.code, unknown.message], [wrong.code, wrong.message], "no account enumeration");
  const disabled = await refused({ account: "retired" });
  assert.deepEqual([disabled.code, disabled.message], ["SERVERTALK_AUTH_DISABLED", "Account retired is disabled"]);
  // A wrong password on a disabled account says nothing about the account.
  assert.equal((await refused({ account: "retired", password: "x", address: "10.2.2.4" })).code, wrong.code);
  const role = await refused({ account: "zone1" });
  assert.deepEqual([role.code, role.message], [
    "SERVERTALK_AUTH_ROLE_NOT_ALLOWED",
    "Account zone1 may not act as world",
  ]);
  const banned = await refused({ address: "10.9.9.9" });
  assert.deepEqual(
    [banned.code, banned.message, banned.retryAfterMs],
    ["SERVERTALK_AUTH_BANNED", "Address 10.9.9.9 is banned permanently: spamming hellos", undefined],
  );
  const expiring = await refused({ address: "10.8.8.8" });
  assert.equal(expiring.code, "SERVERTALK_AUTH_BANNED");
  assert.equal(expiring.retryAfterMs, 60_000);
  assert.match(expiring.message, /^Address 10\.8\.8\.8 is banned until 2023-11-14T22:14:20\.000Z: cooling off$/);
  assert.deepEqual(await auth.authenticate(request({ address: "10.8.8.8", wallMs: 1_700_000_060_000 })), {
    ok: true,
    account: "world1",
  });
});

test("the authenticator locks an address out after 5 failures in 5 minutes, and lets it back after the window", async () => {
  const store = await accounts(fixedRng(4));
  const auth = createAuthenticator({ accounts: store });
  const address = "10.3.3.3";
  for (let i = 0; i < 5; i++) {
    const result = await auth.authenticate(request({ password: `guess ${i}`, address, nowUs: i * MINUTE_US / 10 }));
    assert.equal(result.ok ? "ok" : result.error.code, "SERVERTALK_AUTH_BAD_CREDENTIALS");
  }
  assert.equal(auth.failures(address, MINUTE_US), 5);
  // Even the right password is refused while locked out; other addresses are unaffected.
  const locked = await auth.authenticate(request({ address, nowUs: MINUTE_US }));
  assert.equal(locked.ok, false);
  const error = (locked as { error: ServertalkError }).error;
  assert.equal(error.code, "SERVERTALK_AUTH_LOCKED_OUT");
  assert.equal(error.message, "Address 10.3.3.3 is locked out after 5 failed attempts; retry in 240 s");
  assert.equal(error.retryAfterMs, 240_000);
  assert.equal((await auth.authenticate(request({ address: "10.3.3.4", nowUs: MINUTE_US }))).ok, true);
  // The oldest failure leaves the window after 5 minutes.
  assert.equal((await auth.authenticate(request({ address, nowUs: 5 * MINUTE_US }))).ok, true);
  assert.equal(auth.failures(address, 5 * MINUTE_US), 0, "a success clears the failures");
});

test("the authenticator remembers failures of a bounded number of addresses", async () => {
  const store = await accounts(fixedRng(5));
  const auth = createAuthenticator({ accounts: store, maxTrackedAddresses: 3, verify: bcrypt.compareSync });
  for (let i = 0; i < 5; i++) await auth.authenticate(request({ password: "x", address: `10.4.0.${i}` }));
  assert.equal(auth.failures("10.4.0.0", 0), 0, "the oldest address was forgotten");
  assert.equal(auth.failures("10.4.0.4", 0), 1);
  auth.clearFailures("10.4.0.4");
  assert.equal(auth.failures("10.4.0.4", 0), 0);
});

// -------------------------------------------------------------------------------------------------
// The matrix through a server: what the refused peer sees.

async function authServer(options: { requireAuth?: boolean; withAuthenticator?: boolean } = {}) {
  const { platform, lines } = testPlatform();
  const store = await accounts(platform.rng);
  const server = new ServertalkServer(platform, {
    name: "login",
    role: ServerRole.Login,
    ...(options.withAuthenticator === false
      ? {}
      : { authenticator: createAuthenticator({ accounts: store, bans: store }) }),
    ...(options.requireAuth === undefined ? {} : { requireAuth: options.requireAuth }),
  });
  return { platform, lines, store, server };
}

/** Dials with `credentials`; resolves to the refusal code, or "connected". */
async function attempt(
  setup: Awaited<ReturnType<typeof authServer>>,
  credentials: { name?: string; account?: string; password?: string; role?: number },
  connect?: () => TcpConnection,
): Promise<string> {
  const client = new ServertalkClient(setup.platform, {
    name: credentials.name ?? "world-1",
    role: (credentials.role ?? ServerRole.World) as ServerRole,
    account: credentials.account ?? "world1",
    password: credentials.password ?? PASSWORD,
    connect: connect ?? (() => setup.server.connectInProcess()),
    reconnect: { enabled: false },
  });
  try {
    await client.dial();
    await client.close();
    return "connected";
  } catch {
    const error = await client.wait();
    return error?.code ?? "stopped";
  }
}

/** Writes raw frames to the server and collects what comes back until it closes. */
async function rawExchange(server: ServertalkServer, frames: Uint8Array[]) {
  const connection = server.connectInProcess();
  const received: Array<{ opcode: number; flags: number; payload: Uint8Array }> = [];
  const decoder = new FrameDecoder();
  const closed = Promise.withResolvers<void>();
  connection.start({
    data: (bytes) => decoder.push(bytes, (opcode, flags, _id, payload) => received.push({ opcode, flags, payload })),
    drain() {},
    close: () => closed.resolve(),
  });
  for (const frame of frames) connection.write(frame);
  await closed.promise;
  return received;
}

function frame(opcode: number, flags: number, id: number, payload: Uint8Array): Uint8Array {
  const w = new ByteWriter();
  writeFrameHeader(w, { opcode, flags, id, payloadLength: payload.length });
  return w.bytes(payload).toBytes();
}

function helloFrame(overrides: Partial<Parameters<typeof Hello.encode>[0]> = {}): Uint8Array {
  return frame(
    Opcode.Hello,
    FrameFlag.Request,
    1,
    Hello.encode({
      magic: HELLO_MAGIC,
      protocolVersion: PROTOCOL_VERSION,
      features: 3,
      buildId: "raw",
      role: ServerRole.World,
      name: "raw-world",
      account: "world1",
      password: PASSWORD,
      instance: "raw",
      maxFrameBytes: 1 << 20,
      maxMessageBytes: 1 << 20,
      ...overrides,
    }),
  );
}

test("the server refuses every bad credential case with the code the peer sees, and never evicts the holder", async () => {
  const setup = await authServer();
  const { server, store, lines } = setup;
  assert.equal(await attempt(setup, {}), "connected");
  assert.equal(await attempt(setup, { password: "nope" }), "SERVERTALK_AUTH_BAD_CREDENTIALS");
  assert.equal(await attempt(setup, { account: "ghost" }), "SERVERTALK_AUTH_BAD_CREDENTIALS");
  assert.equal(await attempt(setup, { account: "retired" }), "SERVERTALK_AUTH_DISABLED");
  assert.equal(await attempt(setup, { account: "zone1" }), "SERVERTALK_AUTH_ROLE_NOT_ALLOWED");

  // Duplicate name: the live holder stays; the newcomer is refused with a code it can retry on.
  const holder = new ServertalkClient(setup.platform, {
    name: "world-1",
    role: ServerRole.World,
    account: "world1",
    password: PASSWORD,
    connect: () => server.connectInProcess(),
  });
  const holderLink = await holder.dial();
  const refusals: string[] = [];
  const rival = new ServertalkClient(setup.platform, {
    name: "world-1",
    role: ServerRole.World,
    account: "world1",
    password: PASSWORD,
    connect: () => server.connectInProcess(),
    reconnect: { initialDelayUs: 1_000_000 },
  });
  rival.onRefused((error) => refusals.push(`${error.code} ${error.retryAfterMs}`));
  void rival.dial();
  await eventually(() => refusals.length === 1);
  assert.deepEqual(refusals, ["SERVERTALK_AUTH_DUPLICATE_NAME 30000"]);
  assert.equal(holder.connected(), true);
  assert.equal(server.linkByName("world-1"), server.links().find((l) => l.peer?.name === "world-1"));
  assert.equal(holderLink.state, "open");
  await rival.close();
  await holder.close();

  // Banned address (every pipe peer's address is "in-process").
  const bannedSetup = await authServer();
  bannedSetup.store.ban("in-process", "abuse");
  assert.equal(await attempt(bannedSetup, {}), "SERVERTALK_AUTH_BANNED");
  await bannedSetup.server.shutdown();

  // Lock-out after 5 failures from one address (all pipes share "in-process").
  for (let i = 0; i < 5; i++) await attempt(setup, { password: `guess ${i}` });
  assert.equal(await attempt(setup, {}), "SERVERTALK_AUTH_LOCKED_OUT");

  // Nothing in the logs reveals a password or a hash.
  const hash = store.findAccount("world1")!.passwordHash;
  assert.ok(lines.length > 0);
  for (const line of lines) {
    assert.ok(!line.includes(PASSWORD) && !line.includes("nope") && !line.includes("guess"), line);
    assert.ok(!line.includes(hash) && !line.includes("$2b$"), line);
  }
  assert.ok(
    lines.some((line) => line.includes("SERVERTALK_AUTH_BAD_CREDENTIALS")),
    "refusals are logged with their code",
  );
  await server.shutdown();
});

test("the server refuses a wrong protocol version and anything sent before the hello", async () => {
  const { server } = await authServer();
  const [versionReply] = await rawExchange(server, [helloFrame({ protocolVersion: 99 })]);
  assert.equal(versionReply?.flags, FrameFlag.Error);
  assert.equal(ErrorReply.decode(versionReply!.payload).code, "SERVERTALK_VERSION_MISMATCH");

  const early = await rawExchange(server, [frame(
    Opcode.LSStatus,
    FrameFlag.Notify,
    0,
    LSStatus.encode({
      status: 1,
      numPlayers: 0,
      numZones: 0,
      worldMaxLevel: 1,
    }),
  )]);
  assert.equal(early.length, 1);
  assert.equal(early[0]!.opcode, Opcode.Goodbye);
  assert.equal(Goodbye.decode(early[0]!.payload).code, "SERVERTALK_NOT_AUTHENTICATED");

  // A message right behind the hello, before the welcome, is refused too.
  const eager = await rawExchange(server, [
    helloFrame(),
    frame(Opcode.LSStatus, FrameFlag.Notify, 0, new Uint8Array(13)),
  ]);
  assert.equal(Goodbye.decode(eager.at(-1)!.payload).code, "SERVERTALK_NOT_AUTHENTICATED");
  assert.equal(server.links().length, 0);
  await server.shutdown();
});

test("a server refuses a peer that lacks a required feature with SERVERTALK_VERSION_MISMATCH", async () => {
  const { platform } = testPlatform();
  const server = new ServertalkServer(platform, {
    name: "login",
    role: ServerRole.Login,
    requireAuth: false,
    requiredFeatures: 0x2,
  });
  const client = new ServertalkClient(platform, {
    name: "old-world",
    role: ServerRole.World,
    features: 0x1,
    connect: () => server.connectInProcess(),
  });
  await assert.rejects(client.dial(), {
    code: "SERVERTALK_VERSION_MISMATCH",
    message: "Cannot accept link: features 0x1 lack required 0x2",
  });
  await server.shutdown();
});

test("requireAuth without an authenticator refuses everyone; a TAKEN server refuses new links", async () => {
  const closed = await authServer({ withAuthenticator: false });
  assert.equal(await attempt(closed, {}), "SERVERTALK_AUTH_UNAVAILABLE");
  await closed.server.shutdown();

  const open = await authServer({ withAuthenticator: false, requireAuth: false });
  assert.equal(await attempt(open, { account: "anyone", password: "anything" }), "connected");
  open.server.state = "taken";
  const refusals: string[] = [];
  const client = new ServertalkClient(open.platform, {
    name: "w",
    role: ServerRole.World,
    connect: () => open.server.connectInProcess(),
    reconnect: { initialDelayUs: 5_000_000 },
  });
  client.onRefused((error) => refusals.push(error.code));
  void client.dial();
  await eventually(() => refusals.length === 1);
  assert.deepEqual(refusals, ["SERVERTALK_SERVER_TAKEN"]);
  await client.close();
  await open.server.shutdown();
});

test("a reconnect of the same run (same instance) replaces its own stale link", async () => {
  const { platform, server } = await authServer();
  const router = new Router();
  const dial = (instance: string) => {
    const link = new Link(platform, server.connectInProcess(), { side: "dialer", router });
    link.start({
      buildId: "t",
      role: ServerRole.World,
      name: "world-9",
      account: "world1",
      password: PASSWORD,
      instance,
    });
    return link;
  };
  const first = dial("run-a");
  await first.opened;
  const second = dial("run-a");
  await second.opened;
  const info = await first.closed;
  assert.equal(info.error.code, "SERVERTALK_AUTH_DUPLICATE_NAME");
  assert.equal(info.error.message, "Replaced by a newer link of world-9");
  await eventually(() => server.linkByName("world-9")?.peer?.name === "world-9" && server.links().length === 1);
  // Another run with the same name is refused while the holder lives.
  const third = dial("run-b");
  await assert.rejects(third.opened, { code: "SERVERTALK_AUTH_DUPLICATE_NAME" });
  assert.equal(second.state, "open");
  await second.close();
  await server.shutdown();
});
