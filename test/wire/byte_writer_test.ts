import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ByteReader } from "../../src/wire/byte_reader.ts";
import { ByteWriter } from "../../src/wire/byte_writer.ts";
import { WireError } from "../../src/wire/wire_error.ts";
import { propertyParameters } from "../_support/property.ts";

test("ByteWriter growing past maxBytes throws WIRE_WRITE_LIMIT", () => {
  const w = new ByteWriter({ capacity: 2, maxBytes: 10 });
  w.u32le(1).u32le(2);
  assert.throws(() => w.u32le(3), (error) => {
    assert.ok(error instanceof WireError);
    assert.equal(error.code, "WIRE_WRITE_LIMIT");
    assert.equal(error.message, "Cannot write 4 bytes: total 12 exceeds limit 10");
    return true;
  });
  assert.equal(w.length, 8);
});

test("ByteWriter refuses out-of-range VarInts with WIRE_BAD_ARGUMENT", () => {
  const w = new ByteWriter();
  assert.throws(() => w.uvarint(-1), { code: "WIRE_BAD_ARGUMENT" });
  assert.throws(() => w.uvarint(2 ** 32), { code: "WIRE_BAD_ARGUMENT" });
  assert.throws(() => w.uvarint(1.5), { code: "WIRE_BAD_ARGUMENT" });
  assert.throws(() => w.varint(2 ** 31), { code: "WIRE_BAD_ARGUMENT" });
  assert.throws(() => w.uvarlong(-1n), { code: "WIRE_BAD_ARGUMENT" });
  assert.throws(() => w.varlong(2n ** 63n), { code: "WIRE_BAD_ARGUMENT" });
  assert.equal(w.length, 0);
});

test("ByteWriter refuses a string longer than its length prefix can say", () => {
  assert.throws(() => new ByteWriter().bytes8(new Uint8Array(256)), {
    code: "WIRE_FIELD_TOO_LONG",
    message: "Cannot write u8-prefixed field: length 256 exceeds limit 255",
  });
});

test("ByteWriter patches a length after the body is written, and reset() reuses the buffer", () => {
  const w = new ByteWriter();
  w.u16be(0).bytes(Uint8Array.from([1, 2, 3]));
  w.patchU16be(0, w.length - 2);
  assert.deepEqual([...w.toBytes()], [0, 3, 1, 2, 3]);
  assert.throws(() => w.patchU32le(3, 0), { code: "WIRE_BAD_ARGUMENT" });
  w.reset().u8(7);
  assert.deepEqual([...w.finish()], [7]);
});

test("ByteWriter and ByteReader round-trip signed and unsigned VarInts and VarLongs (property)", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.integer({ min: 0, max: 0xffff_ffff }).map((v) => ["uvarint", v] as const),
          fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }).map((v) => ["varint", v] as const),
          fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => ["uvarlong", v] as const),
          fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((v) => ["varlong", v] as const),
        ),
      ),
      (values) => {
        const w = new ByteWriter({ capacity: 1 });
        for (const [kind, value] of values) {
          if (kind === "uvarint") w.uvarint(value);
          else if (kind === "varint") w.varint(value);
          else if (kind === "uvarlong") w.uvarlong(value);
          else w.varlong(value);
        }
        const r = new ByteReader(w.finish());
        for (const [kind, value] of values) assert.equal(r[kind](), value);
        assert.equal(r.done, true);
      },
    ),
    propertyParameters(300),
  );
});

test("ByteWriter.strv() shrinks its length prefix to the encoded size and refuses over-limit text", () => {
  // 50 characters could need 150 bytes (a 2-byte prefix); as ASCII they take 50 (a 1-byte prefix).
  const ascii = "q".repeat(50);
  const bytes = new ByteWriter().u8(7).strv(ascii).finish();
  assert.equal(bytes.length, 1 + 1 + 50);
  assert.equal(bytes[1], 50);
  const w = new ByteWriter().u8(1);
  assert.throws(() => w.strv("ab✓", 4), {
    name: "WireError",
    code: "WIRE_FIELD_TOO_LONG",
    message: "Cannot write VarInt string: length 5 exceeds limit 4",
  });
  assert.equal(w.length, 1);
  assert.throws(() => new ByteWriter().bytesv(new Uint8Array(3), 2), { code: "WIRE_FIELD_TOO_LONG" });
});

test("ByteWriter.strv() near its size limit measures exactly instead of reserving the worst case", () => {
  const w = new ByteWriter({ capacity: 4, maxBytes: 12 });
  w.strv("0123456789"); // worst case 30 bytes would not fit, the real 11 do
  assert.equal(w.length, 11);
  assert.throws(() => w.strv("ab"), { code: "WIRE_WRITE_LIMIT" });
  assert.equal(w.length, 11);
});
