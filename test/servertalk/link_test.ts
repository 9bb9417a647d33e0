import assert from "node:assert/strict";
import { test } from "node:test";
import { ServertalkClient } from "../../src/servertalk/client.ts";
import { ServerRole } from "../../src/servertalk/control.ts";
import type { Link, LinkOptions } from "../../src/servertalk/link.ts";
import { ChannelMessage, ChatType, LSInfo, LSStatus, UsertoWorldReq } from "../../src/servertalk/messages.ts";
import { createMockLink } from "../../src/servertalk/mock_link.ts";
import { Router } from "../../src/servertalk/router.ts";
import { defineMessage, t } from "../../src/servertalk/schema.ts";
import { ServertalkServer } from "../../src/servertalk/server.ts";
import { ServertalkError } from "../../src/servertalk/servertalk_error.ts";
import { eventually, sleep, testPlatform } from "./_platform.ts";

const INFO = {
  name: "World One",
  address: "127.0.0.1",
  port: 9001,
  protocolVersion: "0.5.0",
  serverVersion: "1",
  serverType: 0,
  dbVersion: 1,
};
const STATUS = { status: 1, numPlayers: 0, numZones: 0, worldMaxLevel: 50 };

/** A server and a connected client over an in-process pipe (no authentication). */
async function connected(options: { server?: Partial<LinkOptions>; client?: Partial<LinkOptions> } = {}) {
  const { platform, lines } = testPlatform();
  const server = new ServertalkServer(platform, {
    name: "login",
    role: ServerRole.Login,
    requireAuth: false,
    ...options.server,
  });
  const serverLink = Promise.withResolvers<Link>();
  server.onConnect((link) => serverLink.resolve(link));
  const client = new ServertalkClient(platform, {
    name: "world-1",
    role: ServerRole.World,
    connect: () => server.connectInProcess(),
    reconnect: { enabled: false },
    ...options.client,
  });
  const link = await client.dial();
  return {
    platform,
    lines,
    server,
    client,
    link,
    serverLink: await serverLink.promise,
    async stop() {
      await client.close();
      await server.shutdown({ graceUs: 1_000_000 });
    },
  };
}

test("a request is answered with its declared reply type, and one-way messages arrive typed", async () => {
  const { server, link, serverLink, stop } = await connected();
  const statuses: number[] = [];
  server.handle(LSInfo, (ctx) => ctx.reply({ worldId: 42, name: ctx.message.name }));
  server.handle(LSStatus, (ctx) => void statuses.push(ctx.message.numPlayers));
  assert.deepEqual(await link.request(LSInfo, INFO), { worldId: 42, name: "World One" });
  link.send(LSStatus, { ...STATUS, numPlayers: 7 });
  link.send(LSStatus, { ...STATUS, numPlayers: 8 });
  await eventually(() => statuses.length === 2);
  assert.deepEqual(statuses, [7, 8]);
  assert.equal(serverLink.peer?.name, "world-1");
  assert.equal(serverLink.peer?.role, ServerRole.World);
  assert.equal(link.peer?.name, "login");
  assert.equal(link.peer?.role, ServerRole.Login);
  await stop();
});

test("handlers run one message at a time, in the order the peer sent them, even when they await", async () => {
  const { server, link, stop } = await connected();
  const log: string[] = [];
  server.handle(ChannelMessage, async (ctx) => {
    log.push(`start ${ctx.message.text}`);
    await sleep(Number(ctx.message.text) % 3);
    log.push(`end ${ctx.message.text}`);
  });
  const message = { chatType: ChatType.Ooc, from: "a", to: "", channel: "", targetId: 0, language: 0, text: "" };
  for (let i = 0; i < 20; i++) link.send(ChannelMessage, { ...message, text: String(i) });
  await eventually(() => log.length === 40);
  assert.deepEqual(log, Array.from({ length: 20 }, (_, i) => [`start ${i}`, `end ${i}`]).flat());
  await stop();
});

test("a handler chain runs in order; next(err) stops it and the requester gets the error's code", async () => {
  const { server, link, stop } = await connected();
  const ran: string[] = [];
  server.hookAll((ctx, next) => {
    ran.push(`hook ${ctx.opcode.toString(16)}`);
    next();
  });
  server.handle(
    UsertoWorldReq,
    (_ctx, next) => {
      ran.push("first");
      setTimeout(() => next(), 1); // calling next later is fine
    },
    (ctx, next) => {
      ran.push("second");
      next(ctx.message.charId === 13 ? new ServertalkError("X_UNLUCKY", "Character 13 may not enter") : undefined);
    },
    (ctx) => {
      ran.push("third");
      ctx.reply({ ...ctx.message, accessKey: 99, response: 1, ipAddress: "127.0.0.1", port: 9100 });
    },
  );
  const request = { lsAccountId: 1, charId: 13, worldId: 1, fromId: 0, toId: 0, ipAddress: "10.0.0.1" };
  await assert.rejects(link.request(UsertoWorldReq, request), {
    name: "ServertalkError",
    code: "X_UNLUCKY",
    message: "Character 13 may not enter",
  });
  assert.deepEqual(ran, ["hook ab00", "first", "second"]);
  ran.length = 0;
  const reply = await link.request(UsertoWorldReq, { ...request, charId: 14 });
  assert.equal(reply.accessKey, 99);
  assert.deepEqual(ran, ["hook ab00", "first", "second", "third"]);
  await stop();
});

test("a rejected promise, a thrown error, a missing reply and a stuck handler each answer with their code", async () => {
  const { server, link, lines, stop } = await connected({ server: { handlerTimeoutUs: 50_000 } });
  const Probe = defineMessage("Probe", 0x4f00, { mode: t.u8() }, { reply: defineMessage("ProbeOk", 0x4f00, {}) });
  server.handle(Probe, async (ctx) => {
    switch (ctx.message.mode) {
      case 0:
        throw new Error("database is down");
      case 1:
        await Promise.reject(new ServertalkError("X_REJECTED", "Rejected on purpose"));
        return;
      case 2:
        return; // no reply
      default:
        ctx.reply({});
    }
  });
  await assert.rejects(link.request(Probe, { mode: 0 }), {
    code: "SERVERTALK_HANDLER_FAILED",
    message: "database is down",
  });
  await assert.rejects(link.request(Probe, { mode: 1 }), { code: "X_REJECTED" });
  await assert.rejects(link.request(Probe, { mode: 2 }), {
    code: "SERVERTALK_NO_REPLY",
    message: "Handler chain for 0x4f00 finished without replying",
  });
  assert.deepEqual(await link.request(Probe, { mode: 3 }), {});
  assert.ok(lines.some((line) => line.includes("database is down")), "the failure is logged");

  const Stuck = defineMessage("Stuck", 0x4f01, {});
  server.handle(Stuck, (_ctx, _next) => {}); // declares next and never calls it
  await assert.rejects(link.requestRaw(Stuck.opcode, new Uint8Array(0)), {
    code: "SERVERTALK_HANDLER_TIMEOUT",
    message: "Handler chain for 0x4f01 did not finish within 50000 µs",
  });
  // The link moves on to the next message.
  assert.deepEqual(await link.request(Probe, { mode: 3 }), {});
  await stop();
});

test("an undeclared opcode is delivered raw to handleUnknown, and a request nobody handles gets SERVERTALK_NO_HANDLER", async () => {
  const { server, link, stop } = await connected();
  await assert.rejects(link.requestRaw(0x7001, Uint8Array.of(1)), {
    code: "SERVERTALK_NO_HANDLER",
    message: "No handler for 0x7001",
  });
  const raw: Array<[number, number[]]> = [];
  server.handleUnknown((ctx) => {
    raw.push([ctx.opcode, [...ctx.message]]);
    if (ctx.isRequest) ctx.replyRaw(0x7002, Uint8Array.of(9, 9));
  });
  link.sendRaw(0x7000, Uint8Array.of(1, 2, 3));
  const reply = await link.requestRaw(0x7001, Uint8Array.of(4));
  assert.deepEqual([reply.opcode, [...reply.payload]], [0x7002, [9, 9]]);
  assert.deepEqual(raw, [[0x7000, [1, 2, 3]], [0x7001, [4]]]);
  await stop();
});

test("a bad request payload is answered with SERVERTALK_BAD_PAYLOAD; a bad one-way payload closes the link", async () => {
  const { server, client, link, stop } = await connected();
  server.handle(LSInfo, (ctx) => ctx.reply({ worldId: 1, name: "" }));
  server.handle(LSStatus, () => {});
  await assert.rejects(link.requestRaw(LSInfo.opcode, Uint8Array.of(1, 2)), {
    code: "SERVERTALK_BAD_PAYLOAD",
    message: "Cannot decode LSInfo.address: Cannot read VarInt: input ends inside it at offset 2",
  });
  link.sendRaw(LSStatus.opcode, Uint8Array.of(1));
  const info = await link.closed;
  assert.equal(info.error.code, "SERVERTALK_BAD_PAYLOAD");
  assert.equal(info.byPeer, true);
  assert.equal(client.connected(), false);
  await stop();
});

test("a retry reply is retried after its wait, and fails with SERVERTALK_RETRY_LATER when retries run out", async () => {
  const { server, link, stop } = await connected({ client: { requestRetries: 1 } });
  let calls = 0;
  server.handle(LSInfo, (ctx) => {
    calls++;
    if (ctx.message.port === 1 || calls === 1) ctx.retry(5, "warming up");
    else ctx.reply({ worldId: calls, name: "" });
  });
  assert.deepEqual(await link.request(LSInfo, INFO), { worldId: 2, name: "" });
  await assert.rejects(link.request(LSInfo, { ...INFO, port: 1 }), (error: ServertalkError) => {
    assert.equal(error.code, "SERVERTALK_RETRY_LATER");
    assert.equal(error.message, "Cannot complete request: peer asked to retry later (warming up)");
    assert.equal(error.retryAfterMs, 5);
    return true;
  });
  assert.equal(calls, 4);
  await stop();
});

test("a handler may await a request on the same link without deadlocking", async () => {
  const { server, client, link, stop } = await connected();
  client.handle(LSInfo, (ctx) => ctx.reply({ worldId: 5, name: "from the world" }));
  server.handle(UsertoWorldReq, async (ctx) => {
    const back = await ctx.link.request(LSInfo, INFO);
    ctx.reply({ ...ctx.message, accessKey: back.worldId, response: 1, ipAddress: back.name, port: 1 });
  });
  const reply = await link.request(UsertoWorldReq, {
    lsAccountId: 1,
    charId: 2,
    worldId: 3,
    fromId: 0,
    toId: 0,
    ipAddress: "",
  });
  assert.equal(reply.accessKey, 5);
  assert.equal(reply.ipAddress, "from the world");
  await stop();
});

test("send() reports back-pressure above the high-water mark and drained() resolves", async () => {
  const { server, link, stop } = await connected({ client: { highWaterBytes: 4096, compression: "off" } });
  let received = 0;
  server.handle(ChannelMessage, () => void received++);
  const message = { chatType: 0, from: "a", to: "", channel: "", targetId: 0, language: 0, text: "x".repeat(500) };
  let sent = 0;
  let blocked = 0;
  while (sent < 200) {
    sent++;
    if (!link.send(ChannelMessage, message)) {
      blocked++;
      assert.equal(link.writable, false);
      await link.drained();
      assert.equal(link.writable, true);
    }
  }
  assert.ok(blocked > 0, "the queue went over the high-water mark");
  await eventually(() => received === 200);
  await stop();
});

test("close() finishes the messages already received, flushes, then says goodbye with its code", async () => {
  const { server, link, serverLink, stop } = await connected();
  let handled = 0;
  server.handle(LSStatus, async () => {
    await sleep(1);
    handled++;
  });
  for (let i = 0; i < 10; i++) link.send(LSStatus, STATUS);
  await eventually(() => handled >= 1);
  const info = await serverLink.close("SERVERTALK_SHUTDOWN", "Maintenance");
  assert.equal(handled, 10);
  assert.equal(info.byPeer, false);
  const clientSide = await link.closed;
  assert.equal(clientSide.error.code, "SERVERTALK_SHUTDOWN");
  assert.equal(clientSide.error.message, "Maintenance");
  await assert.rejects(Promise.resolve().then(() => link.send(LSStatus, STATUS)), { code: "SERVERTALK_CLOSED" });
  await stop();
});

test("ping measures a round trip and metrics count what went through", async () => {
  const { server, link, serverLink, stop } = await connected();
  server.handle(LSStatus, () => {});
  const rtt = await link.ping();
  assert.ok(rtt > 0 && rtt < 1_000_000, `rtt ${rtt}`);
  for (let i = 0; i < 5; i++) link.send(LSStatus, STATUS);
  await eventually(() => serverLink.metrics().messagesIn >= 6);
  const m = link.metrics();
  assert.ok(m.messagesOut >= 6);
  assert.ok(m.bytesOut > 0);
  assert.equal(m.pendingRequests, 0);
  const s = server.metrics();
  assert.equal(s.connections, 1);
  assert.equal(s.maxConnections, 1);
  assert.ok(s.messagesIn >= 6);
  await stop();
});

test("a mock link runs handlers for one-way messages and requests and records what they send", async () => {
  const { platform } = testPlatform();
  const router = new Router()
    .handle(LSInfo, (ctx) => {
      ctx.link.send(LSStatus, { ...STATUS, numPlayers: 3 });
      ctx.reply({ worldId: 9, name: ctx.message.name });
    })
    .handle(LSStatus, async (ctx) => {
      await sleep(2);
      ctx.link.send(ChannelMessage, {
        chatType: ChatType.Broadcast,
        from: "login",
        to: "",
        channel: "",
        targetId: 0,
        language: 0,
        text: `players: ${ctx.message.numPlayers}`,
      });
    });
  const mock = await createMockLink(platform, router);
  assert.deepEqual(await mock.request(LSInfo, INFO), { worldId: 9, name: "World One" });
  mock.deliver(LSStatus, { ...STATUS, numPlayers: 12 });
  await mock.settle();
  assert.deepEqual(mock.sent.map((s) => s.name), ["LSStatus", "ChannelMessage"]);
  assert.equal((mock.sent[1]!.message as { text: string }).text, "players: 12");
  await mock.close();
});

test("messages piling up behind a busy handler past maxInboundQueueBytes close the link with SERVERTALK_INBOUND_OVERFLOW", async () => {
  const { server, link, stop } = await connected({ server: { maxInboundQueueBytes: 4096 } });
  const release = Promise.withResolvers<void>();
  server.handle(ChannelMessage, async () => {
    await release.promise; // the first message holds the line
  });
  const message = { chatType: 0, from: "a", to: "", channel: "", targetId: 0, language: 0, text: "x".repeat(900) };
  for (let i = 0; i < 8; i++) link.send(ChannelMessage, message);
  const info = await link.closed;
  assert.equal(info.error.code, "SERVERTALK_INBOUND_OVERFLOW");
  assert.match(info.error.message, /^Cannot queue message for its handler: \d+ bytes waiting exceed limit 4096$/);
  release.resolve();
  await stop();
});
