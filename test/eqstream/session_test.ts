import assert from "node:assert/strict";
import { test } from "node:test";
import { EqStreamError } from "../../src/eqstream/errors.ts";
import { resolveSessionOptions } from "../../src/eqstream/options.ts";
import { decodeDatagram, encodeDatagram, ProtocolOp, type ProtocolPacket } from "../../src/eqstream/packets.ts";
import { Session, type SessionEvent } from "../../src/eqstream/session.ts";
import { eq2Crc } from "../../src/wire/crc32.ts";
import { Pair, seededRng } from "./_pair.ts";

function bytesOf(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function appEvents(events: SessionEvent[]): Array<{ opcode: number; payload: Uint8Array }> {
  return events.flatMap((e) => (e.type === "app" ? [{ opcode: e.opcode, payload: e.payload }] : []));
}

function closedEvent(events: SessionEvent[]): Extract<SessionEvent, { type: "closed" }> | undefined {
  return events.find((e): e is Extract<SessionEvent, { type: "closed" }> => e.type === "closed");
}

function packetsOf(datagrams: readonly Uint8Array[], key: number): ProtocolPacket[] {
  return datagrams.flatMap((d) => {
    const p = d[1] === ProtocolOp.SessionResponse || d[1] === ProtocolOp.SessionRequest
      ? decodeDatagram(d)
      : decodeDatagram(d, key);
    return p.op === ProtocolOp.Combined ? [...p.packets] : [p];
  });
}

/** A pair that finished its handshake. */
function readyPair(options: ConstructorParameters<typeof Pair>[0] = {}, handshakeUs = 1_000_000): Pair {
  const pair = new Pair(options);
  pair.run(handshakeUs);
  assert.equal(pair.client.state, "open");
  assert.equal(pair.server?.state, "open");
  return pair;
}

test("a client and a server session finish the key exchange and exchange app packets both ways", () => {
  const pair = readyPair();
  assert.deepEqual(pair.clientEvents.map((e) => e.type), ["connected", "ready"]);
  assert.deepEqual(pair.serverEvents.map((e) => e.type), ["connected", "ready"]);
  pair.client.sendApp(7, Uint8Array.of(1, 2, 3));
  pair.server!.sendApp(300, bytesOf(500, 1));
  pair.server!.sendApp(301, new Uint8Array(500).fill(65));
  pair.pollBoth();
  pair.runFor(2_000_000);
  assert.deepEqual(appEvents(pair.serverEvents), [{ opcode: 7, payload: Uint8Array.of(1, 2, 3) }]);
  assert.deepEqual(appEvents(pair.clientEvents), [
    { opcode: 300, payload: bytesOf(500, 1) },
    { opcode: 301, payload: new Uint8Array(500).fill(65) },
  ]);
  assert.ok(pair.server!.stats.compressionRatio < 1);
});

test("packets queued before the key exchange wait for it and keep their order", () => {
  const pair = new Pair();
  for (let i = 0; i < 5; i++) pair.client.sendApp(9, Uint8Array.of(i));
  pair.runFor(1_000_000);
  assert.deepEqual(appEvents(pair.serverEvents).map((a) => a.payload[0]), [0, 1, 2, 3, 4]);
});

test("every message arrives once, in order and intact under 20% loss, duplication and reordering", () => {
  const channel = { loss: 0.2, duplicate: 0.1, delayUs: 30_000, jitterUs: 25_000 };
  const pair = readyPair({ seed: 5, up: channel, down: channel }, 10_000_000);
  const sizes = Array.from({ length: 120 }, (_, i) => (i * 97) % 1500 + 1);
  sizes.forEach((n, i) => pair.client.sendApp(9, bytesOf(n, i)));
  pair.pollBoth();
  pair.runFor(60_000_000);
  const got = appEvents(pair.serverEvents);
  assert.equal(got.length, sizes.length);
  got.forEach((a, i) => assert.deepEqual(a.payload, bytesOf(sizes[i]!, i)));
  assert.ok(pair.client.stats.retransmissions > 0);
  assert.ok(pair.server!.stats.duplicatesReceived > 0);
});

test("a 100 000-byte message is fragmented into datagrams no larger than the negotiated length", () => {
  const pair = readyPair({ client: { maxDatagramBytes: 600 }, server: { maxDatagramBytes: 512 } });
  const big = bytesOf(100_000, 3);
  pair.server!.sendApp(1, big);
  pair.client.sendApp(2, big);
  pair.pollBoth();
  pair.runFor(30_000_000);
  assert.deepEqual(appEvents(pair.clientEvents)[0]?.payload, big);
  assert.deepEqual(appEvents(pair.serverEvents)[0]?.payload, big);
  assert.ok(Math.max(...pair.sentUp.map((d) => d.length), ...pair.sentDown.map((d) => d.length)) <= 512);
  assert.equal(pair.client.stats.reassemblyBytes, 0);
});

test("pacing keeps its rate when timers fire late, and late wake-ups never exceed the catch-up bound", () => {
  // 8 MB/s: a 1 ms pacing quantum (8 000 B) is then more than the two-datagram minimum burst.
  const rate = 8_000_000;
  for (const timerLatenessUs of [0, 1_200, 3_000]) {
    const pair = readyPair({
      timerLatenessUs,
      client: { maxSendRateBytesPerSec: rate, maxDatagramBytes: 1_400, maxPacingCatchUpUs: 4_000 },
      server: { maxDatagramBytes: 1_400 },
      up: { delayUs: 100 },
      down: { delayUs: 100 },
    });
    for (let i = 0; i < 4_000; i++) pair.client.sendApp(3, bytesOf(1_000, i));
    pair.pollBoth();
    const start = pair.now;
    const sentBefore = pair.sentUp.length;
    pair.runFor(300_000);
    const bytes = pair.sentUp.slice(sentBefore).reduce((sum, d) => sum + d.length, 0);
    const achieved = bytes / ((pair.now - start) / 1e6);
    assert.ok(achieved >= 0.9 * rate, `lateness ${timerLatenessUs} µs: ${Math.round(achieved)} B/s of ${rate}`);
    assert.ok(achieved <= 1.1 * rate, `lateness ${timerLatenessUs} µs: ${Math.round(achieved)} B/s of ${rate}`);
  }
});

test("cumulative acks are coalesced: a burst of packets costs far fewer acks", () => {
  const pair = readyPair();
  const acksBefore = pair.server!.stats.acksSent;
  for (let i = 0; i < 400; i++) pair.client.sendApp(9, bytesOf(300, i));
  pair.pollBoth();
  pair.runFor(5_000_000);
  assert.equal(appEvents(pair.serverEvents).length, 400);
  const acks = pair.server!.stats.acksSent - acksBefore;
  assert.ok(acks <= 400 / 2 + 5, `${acks} acks for 400 packets`);
});

test("an out-of-order packet gets exactly one 0x11, a duplicate none", () => {
  const server = Session.accept(
    { op: ProtocolOp.SessionRequest, protocolVersion: 2, sessionId: 1, maxLength: 512 },
    { keyExchange: false },
    seededRng(1),
    0,
  );
  server.poll(0);
  const key = server.crcKey;
  const packet = (seq: number) => encodeDatagram({ op: ProtocolOp.Packet, seq, data: Uint8Array.of(7) }, key);
  server.receive(packet(2), 10);
  server.receive(packet(2), 20);
  server.receive(packet(3), 30);
  const out = packetsOf(server.poll(40).datagrams, key);
  const sacks = out.filter((p) => p.op === ProtocolOp.OutOfOrderAck).map((p) => (p as { seq: number }).seq);
  assert.deepEqual(sacks, [2, 3]);
  assert.equal(server.stats.duplicatesReceived, 1);
  server.receive(packet(0), 50);
  server.receive(packet(1), 60);
  const acks = packetsOf(server.poll(60).datagrams, key).filter((p) => p.op === ProtocolOp.Ack);
  assert.deepEqual(acks, [{ op: ProtocolOp.Ack, seq: 3 }]);
});

test("sequence numbers wrap from 65535 to 0 without losing order", () => {
  const options = { initialSequence: 65_500, keyExchange: false };
  const pair = readyPair({ client: options, server: options });
  for (let i = 0; i < 100; i++) pair.client.sendApp(1, Uint8Array.of(i, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
  pair.pollBoth();
  pair.runFor(5_000_000);
  assert.deepEqual(appEvents(pair.serverEvents).map((a) => a.payload[0]), Array.from({ length: 100 }, (_, i) => i));
});

test("a silent peer is closed with 'idle' after idleTimeoutUs; keep-alives keep a quiet session open", () => {
  const quiet = readyPair({ client: { keepAliveUs: 1_000_000, idleTimeoutUs: 5_000_000 } });
  quiet.runFor(30_000_000);
  assert.equal(quiet.client.state, "open");
  const options = { keepAliveUs: 0, idleTimeoutUs: 5_000_000, statIntervalUs: 0 };
  const pair = readyPair({ client: options, server: options, down: { blocked: (now) => now > 2_000_000 } });
  pair.runFor(20_000_000);
  const closed = closedEvent(pair.clientEvents);
  assert.equal(closed?.reason, "idle");
});

test("unacknowledged data and a silent peer end the session with 'timeout' after giveUpUs", () => {
  const pair = readyPair({
    client: { giveUpUs: 3_000_000 },
    up: { blocked: (now) => now > 1_500_000 },
    down: { blocked: (now) => now > 1_500_000 },
  });
  pair.runFor(1_600_000);
  pair.client.sendApp(1, Uint8Array.of(1));
  pair.pollBoth();
  pair.runFor(10_000_000);
  const closed = closedEvent(pair.clientEvents);
  assert.equal(closed?.reason, "timeout");
  assert.ok(pair.client.stats.timeouts > 0);
  // Backoff: only a handful of retransmissions during the whole silence.
  assert.ok(pair.client.stats.retransmissions <= 8, `${pair.client.stats.retransmissions} retransmissions`);
});

test("close() delivers what is queued, then the peer reports 'peer' with reason 6", () => {
  const pair = readyPair();
  for (let i = 0; i < 20; i++) pair.client.sendApp(1, bytesOf(200, i));
  pair.client.close();
  pair.pollBoth();
  pair.runFor(5_000_000);
  assert.equal(appEvents(pair.serverEvents).length, 20);
  assert.equal(closedEvent(pair.clientEvents)?.reason, "local");
  assert.deepEqual(closedEvent(pair.serverEvents), { type: "closed", reason: "peer", peerReason: 6 });
  assert.equal(pair.server!.stats.sendQueueBytes, 0);
});

test("sendApp() past maxSendQueueBytes throws EQSTREAM_SEND_QUEUE_FULL, and drain follows", () => {
  const pair = readyPair({ client: { maxSendQueueBytes: 10_000 } });
  let error: unknown;
  let sent = 0;
  try {
    for (; sent < 1000; sent++) pair.client.sendApp(1, new Uint8Array(1000));
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof EqStreamError);
  assert.equal(error.code, "EQSTREAM_SEND_QUEUE_FULL");
  assert.equal(error.message, "Cannot send: 10010 queued bytes exceed limit 10000");
  pair.pollBoth();
  pair.runFor(3_000_000);
  assert.ok(pair.clientEvents.some((e) => e.type === "drain"));
  assert.equal(appEvents(pair.serverEvents).length, sent);
});

test("a message over maxMessageBytes throws EQSTREAM_MESSAGE_TOO_LARGE; sending after close EQSTREAM_NOT_OPEN", () => {
  const pair = readyPair({ client: { maxMessageBytes: 1000 } });
  assert.throws(() => pair.client.sendApp(1, new Uint8Array(1000)), {
    name: "EqStreamError",
    code: "EQSTREAM_MESSAGE_TOO_LARGE",
    message: "Cannot send: message of up to 1002 bytes on the wire exceeds limit 1000",
  });
  pair.client.close();
  assert.throws(() => pair.client.sendApp(1, new Uint8Array(1)), {
    name: "EqStreamError",
    code: "EQSTREAM_NOT_OPEN",
    message: "Cannot send: the session is closing",
  });
});

test("a fragment announcing more than maxMessageBytes closes the session with EQSTREAM_FRAGMENT_TOO_LARGE", () => {
  const server = Session.accept(
    { op: ProtocolOp.SessionRequest, protocolVersion: 2, sessionId: 9, maxLength: 512 },
    { keyExchange: false },
    seededRng(2),
    0,
  );
  server.poll(0);
  const first = new Uint8Array(20);
  new DataView(first.buffer).setUint32(0, 9_000_000);
  server.receive(encodeDatagram({ op: ProtocolOp.Fragment, seq: 0, data: first }, server.crcKey), 100);
  const { datagrams, events } = server.poll(100);
  const closed = closedEvent([...events]);
  assert.equal(closed?.reason, "protocol_error");
  assert.equal(closed?.error?.code, "EQSTREAM_FRAGMENT_TOO_LARGE");
  assert.equal(closed?.error?.message, "Cannot decode fragment: total length 9000000 exceeds limit 524288");
  const sent = packetsOf(datagrams, server.crcKey);
  assert.ok(sent.some((p) => p.op === ProtocolOp.SessionDisconnect));
  assert.equal(server.stats.reassemblyBytes, 0);
});

test("packets beyond the out-of-order window or byte limit are dropped and counted, memory stays bounded", () => {
  const server = Session.accept(
    { op: ProtocolOp.SessionRequest, protocolVersion: 2, sessionId: 9, maxLength: 512 },
    { keyExchange: false, outOfOrderWindow: 16, maxOutOfOrderBytes: 1000 },
    seededRng(3),
    0,
  );
  server.poll(0);
  for (let seq = 1; seq < 40; seq++) {
    server.receive(
      encodeDatagram({ op: ProtocolOp.Packet, seq, data: new Uint8Array(100).fill(1) }, server.crcKey),
      seq,
    );
  }
  const stats = server.stats;
  assert.ok(stats.outOfOrderPackets <= 10, `${stats.outOfOrderPackets} held`);
  assert.equal(stats.sequenceErrors, 39 - stats.outOfOrderPackets);
  assert.equal(server.state, "open");
});

test("a datagram with a bad CRC is counted and dropped; the session carries on", () => {
  const pair = readyPair();
  const forged = encodeDatagram({ op: ProtocolOp.Packet, seq: 1, data: Uint8Array.of(1) }, pair.server!.crcKey + 1);
  pair.server!.receive(forged, pair.now);
  const { events } = pair.server!.poll(pair.now);
  const error = events.find((e) => e.type === "error");
  assert.equal(error?.type === "error" && error.error.code, "EQSTREAM_BAD_CRC");
  assert.equal(pair.server!.stats.crcErrors, 1);
  assert.equal(pair.server!.state, "open");
});

test("an unknown opcode and a truncated datagram give typed error events, never a throw", () => {
  const pair = readyPair();
  const key = pair.server!.crcKey;
  const unknown = new Uint8Array(6);
  unknown[1] = 0x42;
  pair.server!.receive(withCrc(unknown, key), pair.now);
  pair.server!.receive(Uint8Array.of(0), pair.now);
  pair.server!.receive(Uint8Array.of(5, 5, 5), pair.now);
  const codes = pair.server!.poll(pair.now).events.flatMap((e) => e.type === "error" ? [e.error.code] : []);
  assert.deepEqual(codes, ["EQSTREAM_UNKNOWN_OPCODE", "EQSTREAM_TRUNCATED", "EQSTREAM_UNKNOWN_OPCODE"]);
});

/** Writes the session CRC into the last two bytes of `datagram`. */
function withCrc(datagram: Uint8Array, key: number): Uint8Array {
  const end = datagram.length - 2;
  const crc = eq2Crc(key, datagram, 0, end);
  datagram[end] = crc >>> 8;
  datagram[end + 1] = crc & 0xff;
  return datagram;
}

test("a malformed key reply closes the server session with EQSTREAM_BAD_KEY_EXCHANGE", () => {
  const server = Session.accept(
    { op: ProtocolOp.SessionRequest, protocolVersion: 2, sessionId: 4, maxLength: 512 },
    {},
    seededRng(4),
    0,
  );
  server.poll(0);
  server.receive(encodeDatagram({ op: ProtocolOp.Packet, seq: 0, data: Uint8Array.of(1, 2, 3) }, server.crcKey), 10);
  const closed = closedEvent([...server.poll(10).events]);
  assert.equal(closed?.reason, "protocol_error");
  assert.equal(closed?.error?.code, "EQSTREAM_BAD_KEY_EXCHANGE");
});

test("a client whose server never answers closes with 'connect_timeout' after connectTimeoutUs", () => {
  const client = Session.connect({ connectTimeoutUs: 3_000_000 }, seededRng(5), 0);
  let requests = 0;
  let closed: SessionEvent | undefined;
  for (let now = 0; now <= 4_000_000 && closed === undefined; now += 10_000) {
    const out = client.poll(now);
    requests += out.datagrams.length;
    closed = out.events.find((e) => e.type === "closed");
  }
  assert.equal(closed?.type === "closed" && closed.reason, "connect_timeout");
  assert.equal(closed?.type === "closed" && closed.error?.code, "EQSTREAM_CONNECT_TIMEOUT");
  assert.ok(requests >= 3 && requests <= 6, `${requests} session requests`);
});

test("a server session with nothing after its SessionRequest is dropped after handshakeTimeoutUs", () => {
  const server = Session.accept(
    { op: ProtocolOp.SessionRequest, protocolVersion: 2, sessionId: 4, maxLength: 512 },
    { handshakeTimeoutUs: 2_000_000 },
    seededRng(6),
    0,
  );
  const first = server.poll(0);
  assert.ok(first.wakeAtUs <= 2_000_000);
  const { events, datagrams } = server.poll(2_000_000);
  assert.equal(closedEvent([...events])?.reason, "handshake_timeout");
  assert.equal(datagrams.length, 0);
});

test("Session.accept() refuses a max length under 64 with EQSTREAM_BAD_SESSION_REQUEST", () => {
  assert.throws(
    () =>
      Session.accept(
        { op: ProtocolOp.SessionRequest, protocolVersion: 2, sessionId: 4, maxLength: 20 },
        {},
        seededRng(6),
        0,
      ),
    {
      name: "EqStreamError",
      code: "EQSTREAM_BAD_SESSION_REQUEST",
      message: "Cannot accept session request: max length 20 is below 64",
    },
  );
});

test("options out of range throw EQSTREAM_BAD_OPTION naming the option and value", () => {
  assert.throws(() => resolveSessionOptions({ maxDatagramBytes: 10 }), {
    name: "EqStreamError",
    code: "EQSTREAM_BAD_OPTION",
    message: "Invalid option maxDatagramBytes: 10 is outside 64..65507",
  });
  assert.throws(() => resolveSessionOptions({ redundancy: { maxCopies: 99 } }), {
    code: "EQSTREAM_BAD_OPTION",
    message: "Invalid option redundancy.maxCopies: 99 is outside 0..16",
  });
});

test("NewReno works as well as the default controller", () => {
  const channel = { loss: 0.05, delayUs: 20_000 };
  const pair = readyPair({
    client: { congestionControl: "newreno" },
    server: { congestionControl: "newreno" },
    up: channel,
    down: channel,
  });
  for (let i = 0; i < 200; i++) pair.client.sendApp(1, bytesOf(400, i));
  pair.pollBoth();
  pair.runFor(30_000_000);
  assert.equal(appEvents(pair.serverEvents).length, 200);
  assert.equal(pair.client.stats.congestionControl, "newreno");
});
