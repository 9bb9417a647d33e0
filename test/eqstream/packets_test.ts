import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import h1emu from "h1emu-core";
import { EqStreamError } from "../../src/eqstream/errors.ts";
import {
  decodeDatagram,
  encodeBody,
  encodeDatagram,
  forEachSubPacket,
  ProtocolOp,
  type ProtocolPacket,
} from "../../src/eqstream/packets.ts";
import { eq2Crc } from "../../src/wire/crc32.ts";
import { oracle } from "../_support/h1emu_core.ts";
import { propertyParameters } from "../_support/property.ts";
import { CAPTURE_CRC_KEY, toHex } from "../_support/vectors.ts";

interface Soeprotocol {
  pack_ack_packet(sequence: number): Uint8Array;
  pack_out_of_order_packet(sequence: number): Uint8Array;
  pack_data_packet(data: Uint8Array, sequence: number): Uint8Array;
  pack_fragment_data_packet(data: Uint8Array, sequence: number): Uint8Array;
  pack_session_reply_packet(
    sessionId: number,
    crcSeed: number,
    crcLength: number,
    encryptMethod: number,
    udpLength: number,
  ): Uint8Array;
  pack_session_request_packet(sessionId: number, crcLength: number, udpLength: number, protocol: string): Uint8Array;
  parse(data: Uint8Array): string;
  free(): void;
}
const Soe = (h1emu as unknown as { Soeprotocol: new (useCrc: boolean, seed: number) => Soeprotocol }).Soeprotocol;

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const data = fc.uint8Array({ minLength: 0, maxLength: 300 });

/** Every packet type the codec knows, with arbitrary fields. */
const leafPacket: fc.Arbitrary<ProtocolPacket> = fc.oneof(
  fc.record({ op: fc.constant(ProtocolOp.SessionDisconnect), sessionId: u32, reason: u16 }),
  fc.constant({ op: ProtocolOp.KeepAlive }),
  fc.record({
    op: fc.constant(ProtocolOp.SessionStatRequest),
    requestId: u16,
    lastLocalDelta: u32,
    averageDelta: u32,
    lowDelta: u32,
    highDelta: u32,
    lastRemoteDelta: u32,
    packetsSent: u64,
    packetsReceived: u64,
  }),
  fc.record({
    op: fc.constant(ProtocolOp.SessionStatResponse),
    requestId: u16,
    serverTime: u32,
    clientPacketsSent: u64,
    clientPacketsReceived: u64,
    serverPacketsSent: u64,
    serverPacketsReceived: u64,
  }),
  fc.record({ op: fc.constant(ProtocolOp.Packet), seq: u16, data }),
  fc.record({ op: fc.constant(ProtocolOp.Fragment), seq: u16, data }),
  fc.record({ op: fc.constant(ProtocolOp.OutOfOrderAck), seq: u16 }),
  fc.record({ op: fc.constant(ProtocolOp.Ack), seq: u16 }),
) as fc.Arbitrary<ProtocolPacket>;

const noCrcPacket: fc.Arbitrary<ProtocolPacket> = fc.oneof(
  fc.record({ op: fc.constant(ProtocolOp.SessionRequest), protocolVersion: u32, sessionId: u32, maxLength: u32 }),
  fc.record({
    op: fc.constant(ProtocolOp.SessionResponse),
    sessionId: u32,
    crcKey: u32,
    crcBytes: fc.integer({ min: 0, max: 255 }),
    format: fc.integer({ min: 0, max: 255 }),
    unknownByte: fc.integer({ min: 0, max: 255 }),
    maxLength: u32,
    unknownTail: u32,
  }),
  fc.record({ op: fc.constant(ProtocolOp.OutOfSession), body: fc.uint8Array({ maxLength: 8 }) }),
) as fc.Arbitrary<ProtocolPacket>;

function normalize(packet: ProtocolPacket): unknown {
  return JSON.parse(JSON.stringify(packet, (_k, v) => {
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Uint8Array) return toHex(v);
    return v;
  }));
}

test("every packet type round-trips through encodeDatagram and decodeDatagram", () => {
  fc.assert(
    fc.property(leafPacket, u32, (packet, key) => {
      const datagram = encodeDatagram(packet, key);
      assert.deepEqual(normalize(decodeDatagram(datagram, key)), normalize(packet));
    }),
    propertyParameters(300),
  );
});

test("CRC-less packets round-trip without a key", () => {
  fc.assert(
    fc.property(noCrcPacket, (packet) => {
      assert.deepEqual(normalize(decodeDatagram(encodeDatagram(packet))), normalize(packet));
    }),
    propertyParameters(200),
  );
});

test("Combined round-trips any list of packets, with u8 and 0xFF + u16 length prefixes", () => {
  fc.assert(
    fc.property(fc.array(leafPacket, { minLength: 1, maxLength: 6 }), u32, (packets, key) => {
      const combined: ProtocolPacket = { op: ProtocolOp.Combined, packets };
      const decoded = decodeDatagram(encodeDatagram(combined, key), key);
      assert.deepEqual(normalize(decoded), normalize(combined));
    }),
    propertyParameters(200),
  );
});

test("a flipped bit anywhere in a CRC'd datagram is caught as EQSTREAM_BAD_CRC", () => {
  fc.assert(
    fc.property(leafPacket, u32, fc.nat(), fc.integer({ min: 0, max: 7 }), (packet, key, where, bit) => {
      const datagram = encodeDatagram(packet, key);
      // Bytes 2.. (the opcode bytes decide whether there is a CRC at all).
      const at = 2 + (where % (datagram.length - 2));
      datagram[at]! ^= 1 << bit;
      assert.throws(() => decodeDatagram(datagram, key), { name: "EqStreamError", code: "EQSTREAM_BAD_CRC" });
    }),
    propertyParameters(300),
  );
});

test("the CRC matches the h1emu-core oracle and zlib.crc32 over key + body", async () => {
  const { crc32 } = await import("node:zlib");
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 2, maxLength: 600 }), u32, (body, key) => {
      const ours = eq2Crc(key, body);
      assert.equal(ours, oracle.crc32_legacy(body, key) & 0xffff);
      const keyed = new Uint8Array(4 + body.length);
      new DataView(keyed.buffer).setUint32(0, key, true);
      keyed.set(body, 4);
      assert.equal(ours, crc32(keyed) & 0xffff);
      const appended = oracle.append_crc_legacy(body, key);
      assert.equal(toHex(appended.subarray(body.length)), ours.toString(16).padStart(4, "0"));
    }),
    propertyParameters(200),
  );
});

test("Ack, OutOfOrderAck, Packet and Fragment bodies match h1emu-core's encodings", () => {
  const soe = new Soe(true, CAPTURE_CRC_KEY);
  try {
    fc.assert(
      fc.property(u16, data, (seq, bytes) => {
        assert.equal(toHex(encodeBody({ op: ProtocolOp.Ack, seq })), toHex(soe.pack_ack_packet(seq)));
        assert.equal(
          toHex(encodeBody({ op: ProtocolOp.OutOfOrderAck, seq })),
          toHex(soe.pack_out_of_order_packet(seq)),
        );
        assert.equal(
          toHex(encodeBody({ op: ProtocolOp.Packet, seq, data: bytes })),
          toHex(soe.pack_data_packet(bytes, seq)),
        );
        assert.equal(
          toHex(encodeBody({ op: ProtocolOp.Fragment, seq, data: bytes })),
          toHex(soe.pack_fragment_data_packet(bytes, seq)),
        );
      }),
      propertyParameters(200),
    );
  } finally {
    soe.free();
  }
});

test("h1emu-core parses our datagrams (CRC checked with the session key) to the same fields", () => {
  fc.assert(
    fc.property(u32, u16, fc.array(u16, { minLength: 2, maxLength: 5 }), (key, seq, acks) => {
      const soe = new Soe(true, key);
      try {
        const ack = JSON.parse(soe.parse(encodeDatagram({ op: ProtocolOp.Ack, seq }, key)));
        assert.deepEqual(ack, { name: "Ack", sequence: seq });
        const ooa = JSON.parse(soe.parse(encodeDatagram({ op: ProtocolOp.OutOfOrderAck, seq }, key)));
        assert.deepEqual(ooa, { name: "OutOfOrder", sequence: seq });
        const combined = encodeDatagram({
          op: ProtocolOp.Combined,
          packets: acks.map((s) => ({ op: ProtocolOp.Ack, seq: s })),
        }, key);
        const multi = JSON.parse(soe.parse(combined));
        assert.equal(multi.name, "MultiPacket");
        assert.deepEqual(multi.sub_packets.map((p: { sequence: number }) => p.sequence), acks);
      } finally {
        soe.free();
      }
    }),
    propertyParameters(100),
  );
});

test("SessionResponse and SessionRequest share h1emu-core's layout where the EQ2 fields agree", () => {
  const soe = new Soe(false, 0);
  try {
    fc.assert(
      fc.property(u32, u32, fc.integer({ min: 64, max: 0xffff }), (sessionId, crcKey, maxLength) => {
        const ours = encodeBody({
          op: ProtocolOp.SessionResponse,
          sessionId,
          crcKey,
          crcBytes: 2,
          format: 0,
          unknownByte: 0,
          maxLength,
          unknownTail: 0,
        });
        // The oracle's trailing u32 is its protocol version (3); EQ2 sends 0 there.
        const theirs = soe.pack_session_reply_packet(sessionId, crcKey, 2, 0, maxLength);
        assert.equal(toHex(ours.subarray(0, 17)), toHex(theirs.subarray(0, 17)));
        const parsed = JSON.parse(soe.parse(ours));
        assert.equal(parsed.session_id, sessionId);
        assert.equal(parsed.crc_seed, crcKey);
        assert.equal(parsed.udp_length, maxLength);
        // The EQ2 client's protocol version (2) sits where SOE puts its CRC length (also 2).
        const request = encodeBody({ op: ProtocolOp.SessionRequest, protocolVersion: 2, sessionId, maxLength });
        assert.equal(
          toHex(request),
          toHex(soe.pack_session_request_packet(sessionId, 2, maxLength, "").subarray(0, 14)),
        );
      }),
      propertyParameters(100),
    );
  } finally {
    soe.free();
  }
});

test("decoding random bytes yields a packet or a typed EqStreamError, never anything else", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.option(u32, { nil: undefined }), (bytes, key) => {
      try {
        decodeDatagram(bytes, key);
      } catch (error) {
        assert.ok(error instanceof EqStreamError, `unexpected ${error}`);
        assert.match(error.code, /^EQSTREAM_/);
      }
    }),
    propertyParameters(1000),
  );
});

test("decoding mutated valid datagrams (CRC recomputed) yields only typed errors", () => {
  fc.assert(
    fc.property(
      fc.array(leafPacket, { minLength: 1, maxLength: 4 }),
      u32,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: -8, max: 8 }),
      (packets, key, edits, resize) => {
        const body = encodeBody({ op: ProtocolOp.Combined, packets });
        for (const [where, value] of edits) body[where % body.length] = value;
        const length = Math.max(2, body.length + resize);
        const mutated = new Uint8Array(length + 2);
        mutated.set(body.subarray(0, Math.min(body.length, length)));
        const crc = eq2Crc(key, mutated, 0, length);
        mutated[length] = crc >>> 8;
        mutated[length + 1] = crc & 0xff;
        try {
          decodeDatagram(mutated, key);
        } catch (error) {
          assert.ok(error instanceof EqStreamError, `unexpected ${error}`);
        }
      },
    ),
    propertyParameters(1000),
  );
});

test("forEachSubPacket reads the 0xFF + u16 and 0xFF 0xFFFF + u32 length forms", () => {
  const long = new Uint8Array(300).fill(7);
  const bytes = new Uint8Array([0xff, 0x01, 0x2c, ...long, 0xff, 0xff, 0xff, 0, 0, 0, 2, 9, 9, 1, 5]);
  const seen: number[] = [];
  forEachSubPacket(bytes, 0, bytes.length, "test", (s, e) => seen.push(e - s));
  assert.deepEqual(seen, [300, 2, 1]);
});

test("a sub-packet length past the end is EQSTREAM_BAD_COMBINED with the offending length", () => {
  const key = 1;
  const datagram = encodeDatagram({ op: ProtocolOp.Combined, packets: [{ op: ProtocolOp.Ack, seq: 1 }] }, key);
  datagram[2] = 40;
  const crc = eq2Crc(key, datagram, 0, datagram.length - 2);
  datagram[datagram.length - 2] = crc >>> 8;
  datagram[datagram.length - 1] = crc & 0xff;
  assert.throws(() => decodeDatagram(datagram, key), {
    name: "EqStreamError",
    code: "EQSTREAM_BAD_COMBINED",
    message: "Cannot decode Combined: entry length 40 at offset 3 exceeds the 4 bytes that remain",
  });
});

test("an unknown protocol opcode is EQSTREAM_UNKNOWN_OPCODE", () => {
  assert.throws(() => decodeDatagram(encodeRawWithCrc([0, 0x42, 1, 2], 5), 5), {
    name: "EqStreamError",
    code: "EQSTREAM_UNKNOWN_OPCODE",
    message: "Cannot decode packet: unknown opcode 0x42",
  });
});

function encodeRawWithCrc(body: number[], key: number): Uint8Array {
  const out = new Uint8Array(body.length + 2);
  out.set(body);
  const crc = eq2Crc(key, out, 0, body.length);
  out[body.length] = crc >>> 8;
  out[body.length + 1] = crc & 0xff;
  return out;
}
