import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ALL_FEATURES,
  ErrorReply,
  Feature,
  Goodbye,
  Hello,
  HELLO_MAGIC,
  PROTOCOL_VERSION,
} from "../../src/servertalk/control.ts";
import { FrameDecoder, FrameFlag, writeFrameHeader } from "../../src/servertalk/frame.ts";
import { LINK_DEFAULTS, LinkCore } from "../../src/servertalk/link_core.ts";
import { Opcode } from "../../src/servertalk/opcodes.ts";
import { ServertalkError } from "../../src/servertalk/servertalk_error.ts";
import { ByteWriter } from "../../src/wire/byte_writer.ts";
import { CorePair, ofType } from "./_core_pair.ts";

const bytes = (...values: number[]) => Uint8Array.from(values);

function frames(chunks: Uint8Array[]): Array<{ opcode: number; flags: number; id: number; payload: Uint8Array }> {
  const decoder = new FrameDecoder({ maxFrameBytes: 64 * 1024 * 1024 });
  const out: Array<{ opcode: number; flags: number; id: number; payload: Uint8Array }> = [];
  for (const chunk of chunks) {
    decoder.push(chunk, (opcode, flags, id, payload) => out.push({ opcode, flags, id, payload }));
  }
  return out;
}

function rawFrame(opcode: number, flags: number, id: number, payload: Uint8Array): Uint8Array {
  const w = new ByteWriter();
  writeFrameHeader(w, { opcode, flags, id, payloadLength: payload.length });
  return w.bytes(payload).toBytes();
}

test("LinkCore handshake: the acceptor sees the hello, accepts, and both sides open with agreed limits", () => {
  const pair = new CorePair({ dialer: { maxFrameBytes: 4096 }, acceptor: { features: Feature.Streams } });
  pair.dialer.start(
    { buildId: "b1", role: 2, name: "world-1", account: "w", password: "pw", instance: "abc" },
    pair.now,
  );
  const { acceptor } = pair.pump();
  const [hello] = ofType(acceptor, "hello");
  assert.equal(hello?.hello.name, "world-1");
  assert.equal(hello?.hello.magic, HELLO_MAGIC);
  assert.equal(hello?.hello.protocolVersion, PROTOCOL_VERSION);
  assert.equal(hello?.hello.maxFrameBytes, 4096);
  assert.equal(pair.acceptor.state, "authenticating");
  pair.acceptor.accept({ serverName: "login", role: 1, linkId: 5, buildId: "b2" }, pair.now);
  const opened = pair.pump();
  const [open] = ofType(opened.dialer, "open");
  assert.equal(open?.welcome.serverName, "login");
  assert.equal(open?.welcome.features, Feature.Streams);
  assert.equal(pair.dialer.features, Feature.Streams);
  assert.equal(pair.acceptor.features, Feature.Streams);
  assert.equal(ofType(opened.acceptor, "open").length, 1);
  assert.equal(pair.dialer.state, "open");
  assert.equal(pair.acceptor.state, "open");
  assert.equal(ALL_FEATURES, Feature.Compression | Feature.Streams);
});

test("LinkCore refuses a hello of another protocol version with SERVERTALK_VERSION_MISMATCH", () => {
  const acceptor = new LinkCore({ side: "acceptor" });
  const hello = Hello.encode({
    magic: HELLO_MAGIC,
    protocolVersion: PROTOCOL_VERSION + 1,
    features: 0,
    buildId: "",
    role: 2,
    name: "w",
    account: "",
    password: "",
    instance: "",
    maxFrameBytes: 1 << 20,
    maxMessageBytes: 1 << 20,
  });
  acceptor.receive(rawFrame(Opcode.Hello, FrameFlag.Request, 1, hello), 0);
  const poll = acceptor.poll(0);
  const [closed] = ofType(poll.events, "closed");
  assert.equal(closed?.error.code, "SERVERTALK_VERSION_MISMATCH");
  assert.equal(
    closed?.error.message,
    `Cannot accept protocol version ${PROTOCOL_VERSION + 1}: this server speaks ${PROTOCOL_VERSION}`,
  );
  const [reply] = frames(poll.chunks);
  assert.equal(reply?.flags, FrameFlag.Error);
  assert.equal(ErrorReply.decode(reply!.payload).code, "SERVERTALK_VERSION_MISMATCH");
  assert.equal(poll.ended, true);
});

test("LinkCore closes with SERVERTALK_NOT_AUTHENTICATED when anything but the hello arrives first", () => {
  const acceptor = new LinkCore({ side: "acceptor" });
  acceptor.receive(rawFrame(Opcode.LSStatus, FrameFlag.Notify, 0, bytes(1, 2)), 0);
  const poll = acceptor.poll(0);
  const [closed] = ofType(poll.events, "closed");
  assert.equal(closed?.error.code, "SERVERTALK_NOT_AUTHENTICATED");
  assert.equal(
    closed?.error.message,
    "Cannot accept frame 0x1001: the link is not authenticated (state awaiting-hello)",
  );
  const [goodbye] = frames(poll.chunks);
  assert.equal(goodbye?.opcode, Opcode.Goodbye);
  assert.equal(Goodbye.decode(goodbye!.payload).code, "SERVERTALK_NOT_AUTHENTICATED");
  // Nothing more is accepted, and nothing is sent, once closed.
  acceptor.receive(rawFrame(Opcode.LSStatus, FrameFlag.Notify, 0, bytes()), 0);
  assert.deepEqual(acceptor.poll(0).chunks, []);
});

test("LinkCore closes when the handshake does not finish in time", () => {
  const pair = new CorePair({ acceptor: { handshakeTimeoutUs: 1_000_000 } });
  pair.deliver.dialer = false;
  assert.equal(pair.acceptor.poll(pair.now).wakeAtUs, Number.POSITIVE_INFINITY);
  pair.dialer.start({ buildId: "", role: 2, name: "w", account: "", password: "", instance: "" }, pair.now);
  pair.pump();
  const later = pair.advance(LINK_DEFAULTS.handshakeTimeoutUs);
  assert.equal(ofType(later.dialer, "closed")[0]?.error.code, "SERVERTALK_HANDSHAKE_TIMEOUT");
});

test("LinkCore carries requests, responses, error and retry replies, and notifications", () => {
  const pair = new CorePair();
  pair.open();
  const a = pair.dialer.request(0x1000, bytes(1), pair.now);
  const b = pair.dialer.request(0x1000, bytes(2), pair.now);
  const c = pair.dialer.request(0x1000, bytes(3), pair.now);
  pair.dialer.notify(0x1001, bytes(4));
  const got = pair.pump().acceptor;
  const messages = ofType(got, "message");
  assert.deepEqual(
    messages.map((m) => [m.requestId, [...m.payload]]),
    [[a, [1]], [b, [2]], [c, [3]], [undefined, [4]]],
  );
  assert.equal(pair.acceptor.openRequests, 3);
  pair.acceptor.respond(a, 0x1000, bytes(9));
  pair.acceptor.fail(b, 0x1000, { code: "X_NOPE", message: "no", retryAfterMs: 7 });
  pair.acceptor.retry(c, 0x1000, 250, "busy");
  const replies = pair.pump().dialer;
  assert.deepEqual(ofType(replies, "response").map((r) => [r.requestId, [...r.payload]]), [[a, [9]]]);
  const [failure] = ofType(replies, "failure");
  assert.equal(failure?.requestId, b);
  assert.equal(failure?.error.code, "X_NOPE");
  assert.equal(failure?.error.retryAfterMs, 7);
  assert.deepEqual(ofType(replies, "retry").map((r) => [r.requestId, r.waitMs, r.reason]), [[c, 250, "busy"]]);
  assert.equal(pair.dialer.pendingRequests, 0);
  assert.equal(pair.acceptor.openRequests, 0);
  assert.throws(() => pair.acceptor.respond(a, 0x1000, bytes()), {
    code: "SERVERTALK_BAD_ARGUMENT",
    message: `Cannot send response: request ${a} is not awaiting a reply`,
  });
});

test("LinkCore fails a request at its deadline and ignores the late reply", () => {
  const pair = new CorePair();
  pair.open();
  const id = pair.dialer.request(0x1000, bytes(), pair.now, 500_000);
  pair.pump();
  assert.equal(pair.dialer.poll(pair.now).wakeAtUs, pair.now + 500_000);
  const late = pair.advance(500_000).dialer;
  const [failure] = ofType(late, "failure");
  assert.equal(failure?.requestId, id);
  assert.equal(failure?.error.code, "SERVERTALK_TIMEOUT");
  pair.acceptor.respond(id, 0x1000, bytes(1));
  assert.deepEqual(ofType(pair.pump().dialer, "response"), []);
});

test("LinkCore limits pending requests, and answers requests over the concurrency limit with a retry", () => {
  const pair = new CorePair({
    dialer: { maxPendingRequests: 3 },
    acceptor: { maxConcurrentRequests: 2, retryWaitMs: 40 },
  });
  pair.open();
  pair.dialer.request(0x1000, bytes(), pair.now);
  pair.dialer.request(0x1000, bytes(), pair.now);
  const third = pair.dialer.request(0x1000, bytes(), pair.now);
  assert.throws(() => pair.dialer.request(0x1000, bytes(), pair.now), {
    name: "ServertalkError",
    code: "SERVERTALK_TOO_MANY_REQUESTS",
    message: "Cannot send request: 3 requests are pending, limit 3",
  });
  const seen = pair.pump();
  assert.equal(ofType(seen.acceptor, "message").length, 2);
  assert.deepEqual(ofType(seen.dialer, "retry").map((r) => [r.requestId, r.waitMs, r.reason]), [[
    third,
    40,
    "2 requests are in progress, limit 2",
  ]]);
});

test("LinkCore heartbeats carry load, measure the RTT, and keep an idle link alive", () => {
  const pair = new CorePair({
    dialer: { heartbeatIntervalUs: 1_000_000 },
    acceptor: { heartbeatIntervalUs: 1_000_000 },
  });
  pair.open();
  pair.acceptor.load = 1234;
  assert.equal(pair.dialer.poll(pair.now).wakeAtUs, pair.now + 1_000_000);
  // Path delay: each side's heartbeat is delivered 3 ms after it is sent.
  pair.deliver.dialer = false;
  pair.deliver.acceptor = false;
  for (let i = 0; i < 3; i++) {
    pair.now += 1_000_000;
    for (const side of ["dialer", "acceptor"] as const) {
      const poll = pair.core(side).poll(pair.now);
      pair.events[side].push(...poll.events);
      pair.now += 3_000;
      for (const chunk of poll.chunks) pair.core(side === "dialer" ? "acceptor" : "dialer").receive(chunk, pair.now);
      pair.now -= 3_000;
    }
    pair.now += 3_000;
    for (const side of ["dialer", "acceptor"] as const) {
      pair.events[side].push(...pair.core(side).poll(pair.now).events);
    }
  }
  const beats = ofType(pair.events.dialer, "heartbeat");
  assert.ok(beats.length >= 3);
  assert.equal(beats.at(-1)?.load, 1234);
  assert.equal(pair.dialer.peerLoad, 1234);
  const rtt = pair.dialer.rttUs!;
  assert.ok(rtt >= 6_000 && rtt <= 6_100, `rtt ${rtt}`);
  assert.equal(pair.dialer.state, "open");
});

test("LinkCore closes with SERVERTALK_HEARTBEAT_TIMEOUT when the peer goes silent, and says why", () => {
  const pair = new CorePair({ dialer: { heartbeatTimeoutUs: 2_000_000, heartbeatIntervalUs: 500_000 } });
  pair.open();
  pair.deliver.acceptor = false; // the peer's bytes no longer arrive
  const id = pair.dialer.request(0x1000, bytes(), pair.now, 60_000_000);
  for (let i = 0; i < 4; i++) pair.advance(500_000);
  const [closed] = ofType(pair.events.dialer, "closed");
  assert.equal(closed?.error.code, "SERVERTALK_HEARTBEAT_TIMEOUT");
  assert.equal(closed?.byPeer, false);
  assert.match(closed!.error.message, /^Link timed out: nothing received for 2000000 µs \(limit 2000000\)$/);
  const [failure] = ofType(pair.events.dialer, "failure");
  assert.equal(failure?.requestId, id);
  assert.equal(failure?.error.code, "SERVERTALK_CLOSED");
  // The acceptor heard the goodbye with the code.
  const [peerClosed] = ofType(pair.events.acceptor, "closed");
  assert.equal(peerClosed?.error.code, "SERVERTALK_HEARTBEAT_TIMEOUT");
  assert.equal(peerClosed?.byPeer, true);
  assert.equal(pair.ended.dialer, true);
});

test("LinkCore streams a message larger than a frame, in order with messages sent after it", () => {
  const pair = new CorePair({
    dialer: { maxFrameBytes: 16 * 1024, streamPartBytes: 4096, compression: "off" },
    acceptor: { maxFrameBytes: 16 * 1024 },
  });
  pair.chunkBytes = 1000;
  pair.open();
  const big = new Uint8Array(100_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
  pair.dialer.notify(0x2007, big);
  pair.dialer.notify(0x0002, bytes(1));
  const id = pair.dialer.request(0x4002, big.subarray(0, 50_000), pair.now);
  pair.dialer.notify(0x0002, bytes(2));
  const messages = ofType(pair.pump().acceptor, "message");
  assert.deepEqual(messages.map((m) => m.opcode), [0x2007, 0x0002, 0x4002, 0x0002]);
  assert.deepEqual(messages[0]!.payload, big);
  assert.deepEqual(messages[2]!.payload, big.subarray(0, 50_000));
  assert.equal(messages[2]!.requestId, id);
  const parts = frames(pair.wire.dialer).filter((f) => (f.flags & FrameFlag.Stream) !== 0);
  assert.ok(parts.length >= 25, `${parts.length} parts`);
  assert.ok(parts.every((p) => p.payload.length <= 4096 + 5));
  // The reply streams back too.
  pair.acceptor.respond(id, 0x4002, big);
  const [response] = ofType(pair.pump().dialer, "response");
  assert.deepEqual(response?.payload, big);
});

test("LinkCore refuses to send past the peer's message limit, and closes on a stream past its own", () => {
  const pair = new CorePair({ acceptor: { maxMessageBytes: 10_000, maxFrameBytes: 4096 } });
  pair.open();
  assert.throws(() => pair.dialer.notify(0x1001, new Uint8Array(10_001)), {
    code: "SERVERTALK_MESSAGE_TOO_LARGE",
    message: "Cannot send message 0x1001: 10001 bytes exceed the peer's limit 10000",
  });
  // A peer that ignores the limit is cut off.
  const first = new ByteWriter().uvarint(50_000).bytes(new Uint8Array(10)).finish();
  pair.acceptor.receive(rawFrame(0x1001, FrameFlag.Notify | FrameFlag.Stream, 9, first), pair.now);
  const [closed] = ofType(pair.acceptor.poll(pair.now).events, "closed");
  assert.equal(closed?.error.code, "SERVERTALK_MESSAGE_TOO_LARGE");
  assert.equal(closed?.error.message, "Cannot receive stream 9: length 50000 exceeds limit 10000");
});

test("LinkCore limits concurrent incoming streams and checks every part", () => {
  const pair = new CorePair({ acceptor: { maxConcurrentStreams: 1 } });
  pair.open();
  const part = new ByteWriter().uvarint(100).bytes(new Uint8Array(10)).toBytes();
  pair.acceptor.receive(rawFrame(0x1001, FrameFlag.Notify | FrameFlag.Stream, 1, part), pair.now);
  pair.acceptor.receive(rawFrame(0x1001, FrameFlag.Notify | FrameFlag.Stream, 2, part), pair.now);
  const [closed] = ofType(pair.acceptor.poll(pair.now).events, "closed");
  assert.equal(closed?.error.code, "SERVERTALK_STREAM_LIMIT");
  assert.equal(closed?.error.message, "Cannot start stream 2: 1 streams are open, limit 1");

  const short = new CorePair();
  short.open();
  short.acceptor.receive(rawFrame(0x1001, FrameFlag.Notify | FrameFlag.Stream, 1, part), short.now);
  short.acceptor.receive(
    rawFrame(0x1001, FrameFlag.Notify | FrameFlag.Stream | FrameFlag.End, 1, new Uint8Array(5)),
    short.now,
  );
  const [ended] = ofType(short.acceptor.poll(short.now).events, "closed");
  assert.equal(ended?.error.message, "Cannot receive stream 1: ended after 15 of 100 bytes");
});

test("LinkCore holds received messages behind an unfinished stream, within maxInboundBytes", () => {
  const pair = new CorePair({ acceptor: { maxInboundBytes: 1000 } });
  pair.open();
  const part = new ByteWriter().uvarint(600).bytes(new Uint8Array(10)).toBytes();
  pair.acceptor.receive(rawFrame(0x1001, FrameFlag.Notify | FrameFlag.Stream, 1, part), pair.now);
  pair.acceptor.receive(rawFrame(2, FrameFlag.Notify, 0, new Uint8Array(300)), pair.now);
  assert.deepEqual(ofType(pair.acceptor.poll(pair.now).events, "message"), []);
  pair.acceptor.receive(rawFrame(2, FrameFlag.Notify, 0, new Uint8Array(300)), pair.now);
  const [closed] = ofType(pair.acceptor.poll(pair.now).events, "closed");
  assert.equal(closed?.error.code, "SERVERTALK_INBOUND_OVERFLOW");
  assert.equal(closed?.error.message, "Cannot hold received messages: 1200 bytes exceed limit 1000");
});

test("LinkCore compresses per its policy and the peer's features, and inflates within the frame limit", () => {
  const text = new TextEncoder().encode("qeynos harbor ".repeat(300));
  for (
    const [mode, payload, compressed] of [
      ["auto", text, true],
      ["auto", bytes(1, 2, 3), false],
      ["off", text, false],
      ["always", bytes(1, 2, 3), true],
    ] as const
  ) {
    const pair = new CorePair({ dialer: { compression: mode } });
    pair.open();
    const before = pair.wire.dialer.length;
    pair.dialer.notify(0x0002, payload);
    const [message] = ofType(pair.pump().acceptor, "message");
    assert.deepEqual(message?.payload, payload, mode);
    const [frame] = frames(pair.wire.dialer.slice(before));
    assert.equal((frame!.flags & FrameFlag.Compressed) !== 0, compressed, `${mode} ${payload.length}`);
  }
  const noFeature = new CorePair({ acceptor: { features: Feature.Streams }, dialer: { compression: "always" } });
  noFeature.open();
  const before = noFeature.wire.dialer.length;
  noFeature.dialer.notify(0x0002, text);
  noFeature.pump();
  assert.equal(frames(noFeature.wire.dialer.slice(before))[0]!.flags & FrameFlag.Compressed, 0);
  // A compressed frame that inflates past the frame limit is refused.
  const acceptor = new CorePair({ acceptor: { maxFrameBytes: 1024 } });
  acceptor.open();
  const block = new ByteWriter().u32le(1 << 20).bytes(bytes(0x1f, 0)).toBytes();
  acceptor.acceptor.receive(rawFrame(2, FrameFlag.Notify | FrameFlag.Compressed, 0, block), acceptor.now);
  const [closed] = ofType(acceptor.acceptor.poll(acceptor.now).events, "closed");
  assert.equal(closed?.error.code, "SERVERTALK_BAD_COMPRESSION");
  assert.equal(
    closed?.error.message,
    "Cannot decompress frame 0x2: Cannot decompress LZ4 block: length 1048576 exceeds limit 1024",
  );
});

test("LinkCore applies back-pressure: above the high-water mark it is not writable, then drains", () => {
  const pair = new CorePair({ dialer: { highWaterBytes: 2000, maxQueuedBytes: 5000, compression: "off" } });
  pair.open();
  assert.equal(pair.dialer.writable, true);
  pair.dialer.notify(0x1001, new Uint8Array(1500));
  assert.equal(pair.dialer.writable, true);
  assert.equal(pair.dialer.notify(0x1001, new Uint8Array(1500)), false);
  assert.equal(pair.dialer.writable, false);
  assert.throws(() => pair.dialer.notify(0x1001, new Uint8Array(2500)), {
    name: "ServertalkError",
    code: "SERVERTALK_QUEUE_FULL",
    message: "Cannot queue 2511 bytes: 3014 are queued, limit 5000",
  });
  // Nothing leaves while the transport is not writable.
  assert.deepEqual(pair.dialer.poll(pair.now, false).chunks, []);
  const drained = pair.pump().dialer;
  assert.equal(ofType(drained, "drain").length, 1);
  assert.equal(pair.dialer.writable, true);
  assert.equal(pair.dialer.queuedBytes, 0);
});

test("LinkCore close() says goodbye with the code, and the peer closes too; pending requests fail", () => {
  const pair = new CorePair();
  pair.open();
  const id = pair.acceptor.request(0x1000, bytes(), pair.now);
  pair.pump();
  pair.dialer.close(new ServertalkError("SERVERTALK_SHUTDOWN", "World is restarting"), pair.now);
  const seen = pair.pump();
  const [peer] = ofType(seen.acceptor, "closed");
  assert.equal(peer?.byPeer, true);
  assert.equal(peer?.error.code, "SERVERTALK_SHUTDOWN");
  assert.equal(peer?.error.message, "World is restarting");
  const [failure] = ofType(seen.acceptor, "failure");
  assert.equal(failure?.requestId, id);
  assert.equal(failure?.error.code, "SERVERTALK_CLOSED");
  assert.equal(failure?.error.message, "Cannot complete request: link closed (SERVERTALK_SHUTDOWN)");
  assert.equal(pair.ended.dialer, true);
  assert.throws(() => pair.dialer.notify(0x1001, bytes()), {
    code: "SERVERTALK_CLOSED",
    message: "Cannot send message: link is closed",
  });
});

test("LinkCore reports a lost transport as SERVERTALK_CONNECTION_LOST and answers pings by itself", () => {
  const pair = new CorePair();
  pair.open();
  const ping = pair.dialer.ping(pair.now);
  const [pong] = ofType(pair.pump().dialer, "response");
  assert.equal(pong?.requestId, ping);
  assert.equal(pong?.opcode, Opcode.KeepAlive);
  pair.dialer.request(0x1000, bytes(), pair.now);
  pair.dialer.transportClosed(new Error("reset by peer"), pair.now);
  const events = pair.dialer.poll(pair.now).events;
  assert.equal(ofType(events, "failure").length, 1);
  const [closed] = ofType(events, "closed");
  assert.equal(closed?.error.code, "SERVERTALK_CONNECTION_LOST");
  assert.equal(closed?.error.message, "Link lost: reset by peer");
  assert.equal(closed?.byPeer, true);
});
