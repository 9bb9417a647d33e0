import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ByteArena } from "../../src/wire/byte_arena.ts";
import { propertyParameters } from "../_support/property.ts";

test("arrays from an arena are zero-filled, of the asked length, and never overlap", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 200 }), (lengths) => {
      const arena = new ByteArena(1024);
      const arrays = lengths.map((n) => arena.alloc(n));
      arrays.forEach((a, i) => {
        assert.equal(a.length, lengths[i]);
        assert.ok(a.every((b) => b === 0));
        a.fill(i + 1);
      });
      // Writing every array with its own value left the others intact.
      arrays.forEach((a, i) => assert.ok(a.every((b) => b === ((i + 1) & 0xff))));
    }),
    propertyParameters(200),
  );
});

test("an arena gives large arrays their own buffer and shares chunks between small ones", () => {
  const arena = new ByteArena(1024);
  const a = arena.alloc(40);
  const b = arena.alloc(40);
  assert.equal(a.buffer, b.buffer);
  assert.equal(b.byteOffset, a.byteOffset + 40);
  const big = arena.alloc(257);
  assert.notEqual(big.buffer, a.buffer);
  assert.equal(big.buffer.byteLength, 257);
  // A chunk that cannot hold the next array is replaced.
  for (let i = 0; i < 30; i++) arena.alloc(40);
  assert.notEqual(arena.alloc(40).buffer, a.buffer);
});

test("an arena copies a range of bytes into a fresh array", () => {
  const arena = new ByteArena(4096);
  const source = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
  assert.deepEqual(arena.copy(source, 10, 20), source.slice(10, 20));
  assert.deepEqual(arena.copy(source), source);
  const copy = arena.copy(source, 0, 5);
  copy[0] = 99;
  assert.equal(source[0], 0);
});

test("an arena refuses a chunk size below 64 bytes", () => {
  assert.throws(() => new ByteArena(63), {
    name: "RangeError",
    message: "Invalid arena chunk size: 63 is not an integer of at least 64",
  });
});
