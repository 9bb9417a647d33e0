import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  AppDecoder,
  AppEncoder,
  decodeKeyReply,
  encodeKeyReply,
  encodeKeyRequest,
  forEachAppPacket,
} from "../../src/eqstream/app_codec.ts";
import { EqStreamError } from "../../src/eqstream/errors.ts";
import { createOpcodeProfile, EQ2_CAPTURE_PROFILE, findOpcodeProfile } from "../../src/eqstream/opcode_profile.ts";
import { oracle } from "../_support/h1emu_core.ts";
import { propertyParameters } from "../_support/property.ts";
import { fromHex, toHex } from "../_support/vectors.ts";

const key8 = fc.uint8Array({ minLength: 8, maxLength: 8 });
const opcode = fc.oneof(fc.integer({ min: 0, max: 254 }), fc.integer({ min: 255, max: 0xffff }));
const payload = fc.uint8Array({ maxLength: 2000 });

test("server → client packets round-trip in order through RC4 and the persistent zlib stream", () => {
  fc.assert(
    fc.property(key8, fc.array(fc.tuple(opcode, payload), { minLength: 1, maxLength: 12 }), (key, packets) => {
      const encoder = new AppEncoder("server");
      const decoder = new AppDecoder("client");
      encoder.setKey(key);
      decoder.setKey(key);
      for (const [op, bytes] of packets) {
        const decoded = decoder.decode(encoder.encode(op, bytes));
        assert.equal(decoded.opcode, op);
        assert.deepEqual(decoded.payload, bytes);
      }
    }),
    propertyParameters(200),
  );
});

test("client → server packets round-trip and carry no flag byte", () => {
  fc.assert(
    fc.property(key8, fc.array(fc.tuple(opcode, payload), { minLength: 1, maxLength: 8 }), (key, packets) => {
      const encoder = new AppEncoder("client");
      const decoder = new AppDecoder("server");
      encoder.setKey(key);
      decoder.setKey(key);
      for (const [op, bytes] of packets) {
        const wire = encoder.encode(op, bytes);
        assert.equal(wire.length, (op < 255 ? 1 : 3) + bytes.length);
        const decoded = decoder.decode(wire);
        assert.equal(decoded.opcode, op);
        assert.deepEqual(decoded.payload, bytes);
      }
    }),
    propertyParameters(200),
  );
});

test("the server compresses exactly the packets whose opcode + payload exceed 128 bytes", () => {
  const encoder = new AppEncoder("server");
  assert.equal(encoder.encode(1, new Uint8Array(127))[0], 0x00);
  assert.equal(encoder.encode(1, new Uint8Array(128))[0], 0x01);
  const off = new AppEncoder("server", { compression: false });
  assert.equal(off.encode(1, new Uint8Array(1000))[0], 0x00);
  assert.ok(encoder.totals.wireBytes < encoder.totals.plainBytes);
});

test("encryption matches the h1emu-core RC4 oracle: server → client uses the key, client → server its NOT", () => {
  fc.assert(
    fc.property(key8, fc.uint8Array({ minLength: 1, maxLength: 100 }), (key, bytes) => {
      const server = new AppEncoder("server", { compression: false });
      server.setKey(key);
      // The oracle has no drop: take its keystream (by encrypting zeros) and skip the first 20 bytes.
      const dropped = new oracle.RC4(key);
      const stream = dropped.encrypt(new Uint8Array(20 + 2 + bytes.length));
      dropped.free();
      const plain = Uint8Array.of(0, 7, ...bytes);
      const ours = server.encode(7, bytes);
      for (let i = 0; i < plain.length; i++) assert.equal(ours[i], plain[i]! ^ stream[20 + i]!);
      const client = new AppEncoder("client");
      client.setKey(key);
      const notKey = key.map((b) => ~b & 0xff);
      const other = new oracle.RC4(notKey);
      const stream2 = other.encrypt(new Uint8Array(20 + 1 + bytes.length));
      other.free();
      const wire = client.encode(7, bytes);
      const clientPlain = Uint8Array.of(7, ...bytes);
      for (let i = 0; i < clientPlain.length; i++) assert.equal(wire[i], clientPlain[i]! ^ stream2[20 + i]!);
    }),
    propertyParameters(100),
  );
});

test("the key request is opcode, u32 LE 60, sixty 0xFF, u32 LE 1, u8 1", () => {
  const bytes = encodeKeyRequest(2);
  assert.equal(toHex(bytes), "023c000000" + "ff".repeat(60) + "0100000001");
});

test("the key reply carries the key reversed in its last 8 bytes and decodes back to it", () => {
  fc.assert(
    fc.property(key8, fc.uint8Array({ minLength: 52, maxLength: 52 }), (key, filler) => {
      const reply = encodeKeyReply(key, filler);
      assert.equal(reply.length, 68);
      assert.equal(toHex(reply.subarray(0, 8)), "ffffffff3c000000");
      assert.deepEqual(reply.subarray(60), key.slice().reverse());
      assert.deepEqual(decodeKeyReply(reply), key);
    }),
    propertyParameters(100),
  );
});

test("a malformed key reply is EQSTREAM_BAD_KEY_EXCHANGE with what was wrong", () => {
  assert.throws(() => decodeKeyReply(fromHex("0102")), {
    name: "EqStreamError",
    code: "EQSTREAM_BAD_KEY_EXCHANGE",
    message: "Cannot read key reply: 2 bytes not starting with FF FF FF FF",
  });
  assert.throws(() => decodeKeyReply(fromHex("ffffffff" + "40000000" + "00".repeat(8))), {
    code: "EQSTREAM_BAD_KEY_EXCHANGE",
    message: "Cannot read key reply: block length 64 does not fit its 8 bytes",
  });
});

test("a flag byte other than 0 or 1 is EQSTREAM_BAD_APP_PACKET", () => {
  const decoder = new AppDecoder("client");
  assert.throws(() => decoder.decode(Uint8Array.of(0x07, 1, 2)), {
    name: "EqStreamError",
    code: "EQSTREAM_BAD_APP_PACKET",
    message: "Cannot decode app packet: flag 0x07 is neither 0x00 nor 0x01",
  });
});

test("corrupt zlib data is EQSTREAM_BAD_COMPRESSED wrapping the zlib error", () => {
  const decoder = new AppDecoder("client");
  let caught: unknown;
  try {
    decoder.decode(Uint8Array.of(0x01, 0xde, 0xad, 0xbe, 0xef));
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof EqStreamError);
  assert.equal(caught.code, "EQSTREAM_BAD_COMPRESSED");
  assert.match(caught.message, /^Cannot inflate app packet: /);
  assert.ok(caught.cause instanceof Error);
});

test("an inflated packet over the limit is EQSTREAM_BAD_COMPRESSED (decompression bomb)", () => {
  const encoder = new AppEncoder("server");
  const decoder = new AppDecoder("client", { maxBytes: 1000 });
  assert.throws(() => decoder.decode(encoder.encode(1, new Uint8Array(5000))), {
    code: "EQSTREAM_BAD_COMPRESSED",
    message: /exceeds limit 1000/,
  });
});

test("decoding random bytes with random keys yields packets or typed errors only", () => {
  fc.assert(
    fc.property(key8, fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { maxLength: 6 }), (key, chunks) => {
      const decoder = new AppDecoder("client", { maxBytes: 4096 });
      decoder.setKey(key);
      for (const chunk of chunks) {
        try {
          decoder.decode(chunk);
        } catch (error) {
          assert.ok(error instanceof EqStreamError, `unexpected ${error}`);
        }
      }
    }),
    propertyParameters(300),
  );
});

test("forEachAppPacket splits AppCombined, drops one escape zero, and refuses embedded protocol opcodes", () => {
  const seen: string[] = [];
  forEachAppPacket(fromHex("0019" + "02aabb" + "01cc"), (b) => seen.push(toHex(b)));
  forEachAppPacket(fromHex("0000dd"), (b) => seen.push(toHex(b)));
  forEachAppPacket(fromHex("ee"), (b) => seen.push(toHex(b)));
  assert.deepEqual(seen, ["aabb", "cc", "00dd", "ee"]);
  assert.throws(() => forEachAppPacket(fromHex("0009aa"), () => {}), {
    code: "EQSTREAM_BAD_APP_PACKET",
    message: "Cannot decode reliable data: embedded protocol opcode 0x09",
  });
});

test("the capture profile maps the documented opcodes both ways and is found by its client version", () => {
  const p = EQ2_CAPTURE_PROFILE;
  assert.deepEqual(
    [
      "LoginRequest",
      "LoginReply",
      "AllWorldsRequest",
      "WorldList",
      "CharactersRequest",
      "CharactersReply",
      "KeyRequest",
    ]
      .map((name) => p.opcode(name)),
    [0, 4, 7, 8, 9, 10, 2],
  );
  assert.equal(p.nameOf(8), "WorldList");
  assert.equal(findOpcodeProfile([p], 546), p);
  assert.equal(findOpcodeProfile([p], 1), undefined);
  assert.throws(() => p.opcode("Nope"), {
    code: "EQSTREAM_BAD_OPTION",
    message: "Cannot find opcode: profile eq2-capture has no Nope",
  });
  assert.throws(() => createOpcodeProfile("x", { opcodes: { A: 1, B: 1 } }), {
    code: "EQSTREAM_BAD_OPTION",
    message: "Cannot build opcode profile x: opcode 1 is used by both A and B",
  });
});
