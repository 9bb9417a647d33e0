import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { lz4Compress, lz4Decompress, lz4DecompressedLength } from "../../src/wire/lz4.ts";
import { WireError } from "../../src/wire/wire_error.ts";
import { propertyParameters } from "../_support/property.ts";

function randomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

test("lz4 round-trips empty, tiny, incompressible and large inputs", () => {
  const cases: Array<[string, Uint8Array]> = [
    ["empty", new Uint8Array(0)],
    ["one byte", Uint8Array.of(42)],
    ["tiny", new TextEncoder().encode("qeynos")],
    ["incompressible 64 KiB", randomBytes(65_536, 7)],
    ["compressible 4 MiB", new TextEncoder().encode("zone=qeynos_harbor x=1.5 y=2.5 z=3.5;".repeat(110_000))],
  ];
  for (const [name, input] of cases) {
    const packed = lz4Compress(input);
    assert.equal(lz4DecompressedLength(packed), input.length, name);
    assert.deepEqual(lz4Decompress(packed), input, name);
  }
});

test("lz4 compresses repetitive input and barely grows incompressible input", () => {
  const repetitive = new Uint8Array(100_000).fill(0x41);
  assert.ok(lz4Compress(repetitive).length < 1_000);
  const noise = randomBytes(100_000, 3);
  assert.ok(lz4Compress(noise).length < noise.length * 1.01 + 16);
});

test("lz4Decompress refuses an announced length over the limit before decompressing", () => {
  const packed = lz4Compress(new Uint8Array(5000));
  assert.throws(() => lz4Decompress(packed, 4096), {
    name: "WireError",
    code: "WIRE_DECOMPRESSED_TOO_LARGE",
    message: "Cannot decompress LZ4 block: length 5000 exceeds limit 4096",
  });
  // A hostile 4 GiB announcement costs nothing.
  assert.throws(() => lz4Decompress(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0)), { code: "WIRE_DECOMPRESSED_TOO_LARGE" });
});

test("lz4Decompress refuses truncated and corrupt blocks with WIRE_CORRUPT_COMPRESSED", () => {
  assert.throws(() => lz4Decompress(Uint8Array.of(1, 0)), { code: "WIRE_CORRUPT_COMPRESSED" });
  const packed = lz4Compress(new TextEncoder().encode("hello hello hello hello hello"));
  assert.throws(() => lz4Decompress(packed.subarray(0, packed.length - 3)), { code: "WIRE_CORRUPT_COMPRESSED" });
  // The module still works after refusing bad input.
  assert.deepEqual(lz4Decompress(lz4Compress(Uint8Array.of(1, 2, 3))), Uint8Array.of(1, 2, 3));
});

test("lz4 round-trips arbitrary inputs, and mutated blocks fail only with WireErrors (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (input, at, value) => {
      const packed = lz4Compress(input);
      assert.deepEqual(lz4Decompress(packed), input);
      const mutated = packed.slice();
      mutated[at % mutated.length] = value;
      try {
        lz4Decompress(mutated, 1 << 20);
      } catch (error) {
        assert.ok(error instanceof WireError, String(error));
      }
    }),
    propertyParameters(300),
  );
});
