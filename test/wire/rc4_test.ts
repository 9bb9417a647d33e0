import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { EQ2_RC4_DROP, Rc4 } from "../../src/wire/rc4.ts";
import { oracle } from "../_support/h1emu_core.ts";
import { propertyParameters } from "../_support/property.ts";
import { fromHex, toHex } from "../_support/vectors.ts";

// RFC 6229, section 2: keystream bytes at offset 0 (and 16 for the 40-bit key).
const RFC_6229: Array<[string, string]> = [
  ["0102030405", "b2396305f03dc027ccc3524a0a1118a86982944f18fc82d589c403a47a0d0919"],
  ["01020304050607", "293f02d47f37c9b633f2af5285feb46b"],
  ["0102030405060708", "97ab8a1bf0afb96132f2f67258da15a8"],
  ["0102030405060708090a", "ede3b04643e586cc907dc21851709902"],
  ["0102030405060708090a0b0c0d0e0f10", "9ac7cc9a609d1ef7b2932899cde41b97"],
];

test("Rc4 produces the RFC 6229 keystreams", () => {
  for (const [key, stream] of RFC_6229) {
    const zeros = new Uint8Array(stream.length / 2);
    assert.equal(toHex(new Rc4(fromHex(key)).process(zeros)), stream, `key ${key}`);
  }
});

test("Rc4 keeps its keystream position across calls", () => {
  const cipher = new Rc4(fromHex("0102030405"));
  const first = cipher.process(new Uint8Array(16));
  const second = cipher.process(new Uint8Array(16));
  assert.equal(toHex(first) + toHex(second), RFC_6229[0]![1]);
});

test("Rc4 with a drop skips exactly that many keystream bytes", () => {
  const key = fromHex("0102030405060708");
  const full = new Rc4(key).process(new Uint8Array(EQ2_RC4_DROP + 32));
  const dropped = new Rc4(key, EQ2_RC4_DROP).process(new Uint8Array(32));
  assert.deepEqual(dropped, full.subarray(EQ2_RC4_DROP));
});

test("Rc4 refuses an empty key with WIRE_BAD_ARGUMENT", () => {
  assert.throws(() => new Rc4(new Uint8Array(0)), {
    code: "WIRE_BAD_ARGUMENT",
    message: "Cannot key RC4: key length 0 is outside 1..256",
  });
});

test("Rc4 agrees with h1emu-core on random keys and messages, and decrypts its own output (property)", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 64 }),
      fc.uint8Array({ maxLength: 512 }),
      (key, message) => {
        const ours = new Rc4(key).process(message.slice());
        const theirs = new oracle.RC4(key);
        assert.deepEqual(ours, theirs.encrypt(message));
        theirs.free();
        assert.deepEqual(new Rc4(key).process(ours.slice()), message);
      },
    ),
    propertyParameters(200),
  );
});
