/**
 * The real EQ2 client capture (test/vectors/eq2_login_capture.txt), byte for byte, from both sides.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ByteReader } from "../../src/wire/byte_reader.ts";
import type { Rng } from "../../src/platform/platform.ts";
import {
  decodeDatagram,
  encodeDatagram,
  ProtocolOp,
  type ProtocolPacket,
  type SequencedPacket,
} from "../../src/eqstream/packets.ts";
import { Session } from "../../src/eqstream/session.ts";
import { EQ2_CAPTURE_PROFILE } from "../../src/eqstream/opcode_profile.ts";
import { CAPTURE_CRC_KEY, loadCapture, toHex } from "../_support/vectors.ts";
import { seededRng } from "./_pair.ts";

const capture = loadCapture();
const [
  sessionRequest,
  sessionResponse,
  statRequest,
  statResponse,
  keyRequest,
  keyReplyAndLogin,
  clientAck,
  serverAck,
] = capture.map((d) => d.bytes) as [
  Uint8Array,
  Uint8Array,
  Uint8Array,
  Uint8Array,
  Uint8Array,
  Uint8Array,
  Uint8Array,
  Uint8Array,
];

/** The packets of a datagram, Combined or not. */
function packetsOf(datagram: Uint8Array, key: number): ProtocolPacket[] {
  const packet = decodeDatagram(datagram, key);
  return packet.op === ProtocolOp.Combined ? [...packet.packets] : [packet];
}

function sequenced(datagrams: readonly Uint8Array[], key: number): SequencedPacket[] {
  return datagrams.flatMap((d) => packetsOf(d, key)).filter((p): p is SequencedPacket => p.op === ProtocolOp.Packet);
}

/** A server session that has answered the captured request with the captured CRC key. */
function capturedServer(): Session {
  const request = decodeDatagram(sessionRequest);
  assert.equal(request.op, ProtocolOp.SessionRequest);
  return Session.accept(request, { crcKey: CAPTURE_CRC_KEY }, seededRng(1), 0);
}

test("the capture parses into eight datagrams with the documented directions", () => {
  assert.deepEqual(capture.map((d) => d.direction), ["C>S", "S>C", "C>S", "S>C", "S>C", "C>S", "C>S", "S>C"]);
});

test("Session.accept() answers the captured SessionRequest with the captured SessionResponse", () => {
  const request = decodeDatagram(sessionRequest);
  assert.deepEqual(request, { op: 0x01, protocolVersion: 2, sessionId: 0x5352f60f, maxLength: 512 });
  const { datagrams } = capturedServer().poll(0);
  assert.equal(datagrams.length, 1);
  assert.equal(toHex(datagrams[0]!), toHex(sessionResponse));
});

test("Session.connect() sends the captured SessionRequest for the captured session id", () => {
  const client = Session.connect({ sessionId: 0x5352f60f }, seededRng(1), 0);
  assert.equal(toHex(client.poll(0).datagrams[0]!), toHex(sessionRequest));
});

test("every captured CRC verifies with key 0x33624702, and re-encoding reproduces each datagram", () => {
  for (const datagram of [statRequest, statResponse, keyRequest, keyReplyAndLogin, clientAck, serverAck]) {
    const packet = decodeDatagram(datagram, CAPTURE_CRC_KEY);
    assert.equal(toHex(encodeDatagram(packet, CAPTURE_CRC_KEY)), toHex(datagram));
  }
  assert.throws(() => decodeDatagram(statRequest, CAPTURE_CRC_KEY + 1), { code: "EQSTREAM_BAD_CRC" });
});

test("the captured SessionStatRequest decodes to request id 0x52d7, 2 packets sent, 1 received", () => {
  const packet = decodeDatagram(statRequest, CAPTURE_CRC_KEY);
  assert.equal(packet.op, ProtocolOp.SessionStatRequest);
  if (packet.op !== ProtocolOp.SessionStatRequest) return;
  assert.equal(packet.requestId, 0x52d7);
  assert.equal(packet.packetsSent, 2n);
  assert.equal(packet.packetsReceived, 1n);
  const response = decodeDatagram(statResponse, CAPTURE_CRC_KEY);
  assert.equal(response.op, ProtocolOp.SessionStatResponse);
  if (response.op === ProtocolOp.SessionStatResponse) assert.equal(response.requestId, 0x52d7);
});

test("the server answers the captured stat request and sends the captured key request, byte for byte", () => {
  const server = capturedServer();
  server.poll(0);
  server.receive(statRequest.slice(), 1_000);
  const { datagrams, events } = server.poll(1_000);
  assert.deepEqual(events, [{ type: "connected" }]);
  const packets = datagrams.flatMap((d) => packetsOf(d, CAPTURE_CRC_KEY));
  const stat = packets.find((p) => p.op === ProtocolOp.SessionStatResponse);
  assert.ok(stat && stat.op === ProtocolOp.SessionStatResponse);
  assert.equal(stat.requestId, 0x52d7);
  assert.equal(stat.clientPacketsSent, 2n);
  assert.equal(stat.clientPacketsReceived, 1n);
  const [key] = sequenced(datagrams, CAPTURE_CRC_KEY);
  assert.ok(key);
  assert.equal(key.seq, 0);
  // The same sequenced packet sent alone is exactly the captured datagram.
  assert.equal(toHex(encodeDatagram(key, CAPTURE_CRC_KEY)), toHex(keyRequest));
});

test("the server decrypts the captured login request to testlabs / testpass and acks it as captured", () => {
  const server = capturedServer();
  server.poll(0);
  server.receive(statRequest.slice(), 1_000);
  server.poll(1_000);
  server.receive(keyReplyAndLogin.slice(), 2_000);
  const { events } = server.poll(2_000);
  assert.deepEqual(events.map((e) => e.type), ["ready", "app"]);
  const app = events[1]!;
  assert.ok(app.type === "app");
  assert.equal(app.opcode, EQ2_CAPTURE_PROFILE.opcode("LoginRequest"));
  const reader = new ByteReader(app.payload);
  const fields = [reader.str16(), reader.str16(), reader.str16(), reader.str16()];
  assert.deepEqual(fields, ["", "", "testlabs", "testpass"]);
  // The ack goes out within the ack delay and is the captured one.
  const later = server.poll(10_000).datagrams;
  const acks = later.flatMap((d) => packetsOf(d, CAPTURE_CRC_KEY)).filter((p) => p.op === ProtocolOp.Ack);
  assert.deepEqual(acks, [{ op: ProtocolOp.Ack, seq: 0 }]);
  assert.equal(toHex(encodeDatagram(acks[0]!, CAPTURE_CRC_KEY)), toHex(serverAck));
  assert.deepEqual(decodeDatagram(clientAck, CAPTURE_CRC_KEY), { op: ProtocolOp.Ack, seq: 0 });
});

/** Hands out scripted bytes first (the captured key, then the captured filler), then seeded ones. */
function scriptedRng(script: Uint8Array[]): Rng {
  const base = seededRng(9);
  return {
    u32: base.u32,
    float: base.float,
    fill(bytes: Uint8Array) {
      const next = script.shift();
      if (next === undefined || next.length !== bytes.length) return base.fill(bytes);
      bytes.set(next);
      return bytes;
    },
  };
}

test("the client rebuilds the captured key reply and encrypted login request from the same key", () => {
  const captured = sequenced([keyReplyAndLogin], CAPTURE_CRC_KEY)[0]!;
  // The key reply's last 8 bytes are the RC4 key reversed; the 52 before them are filler.
  const keyReply = captured.data.subarray(3, 3 + 68);
  const key = keyReply.slice(60).reverse();
  const filler = keyReply.slice(8, 60);
  const client = Session.connect({ sessionId: 0x5352f60f }, scriptedRng([key, filler]), 0);
  client.poll(0);
  client.receive(sessionResponse.slice(), 1_000);
  client.poll(1_000);
  // The login request: two empty strings, account, password, 8 zero bytes, u16 LE 546.
  const login = Uint8Array.of(
    0,
    0,
    0,
    0,
    8,
    0,
    ...new TextEncoder().encode("testlabs"),
    8,
    0,
    ...new TextEncoder().encode("testpass"),
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0x22,
    0x02,
  );
  client.sendApp(0, login);
  client.receive(statResponse.slice(), 2_000);
  client.receive(keyRequest.slice(), 2_000);
  const { datagrams, events } = client.poll(2_000);
  assert.ok(events.some((e) => e.type === "ready"));
  const [packet] = sequenced(datagrams, CAPTURE_CRC_KEY);
  assert.ok(packet);
  assert.equal(toHex(packet.data), toHex(captured.data));
  assert.equal(toHex(encodeDatagram(packet, CAPTURE_CRC_KEY)), toHex(keyReplyAndLogin));
});
