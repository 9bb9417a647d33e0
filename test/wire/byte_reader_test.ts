import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ByteReader } from "../../src/wire/byte_reader.ts";
import { ByteWriter } from "../../src/wire/byte_writer.ts";
import { WireError } from "../../src/wire/wire_error.ts";
import { propertyParameters } from "../_support/property.ts";

test("ByteReader reads what ByteWriter wrote, in both byte orders", () => {
  const w = new ByteWriter({ capacity: 4 });
  w.u8(0xfe).i8(-2).u16le(0xbeef).u16be(0xbeef).i16le(-300).i16be(-300).u32le(0xdeadbeef).u32be(0xdeadbeef)
    .i32le(-70000).i32be(-70000).u64le(0x0102030405060708n).u64be(0xfffffffffffffffen).i64le(-5n).i64be(-5n)
    .f32le(1.5).f32be(-2.25).f64le(Math.PI).f64be(-Math.E).bool(true).bool(false);
  const r = new ByteReader(w.finish());
  assert.equal(r.u8(), 0xfe);
  assert.equal(r.i8(), -2);
  assert.equal(r.u16le(), 0xbeef);
  assert.equal(r.u16be(), 0xbeef);
  assert.equal(r.i16le(), -300);
  assert.equal(r.i16be(), -300);
  assert.equal(r.u32le(), 0xdeadbeef);
  assert.equal(r.u32be(), 0xdeadbeef);
  assert.equal(r.i32le(), -70000);
  assert.equal(r.i32be(), -70000);
  assert.equal(r.u64le(), 0x0102030405060708n);
  assert.equal(r.u64be(), 0xfffffffffffffffen);
  assert.equal(r.i64le(), -5n);
  assert.equal(r.i64be(), -5n);
  assert.equal(r.f32le(), 1.5);
  assert.equal(r.f32be(), -2.25);
  assert.equal(r.f64le(), Math.PI);
  assert.equal(r.f64be(), -Math.E);
  assert.equal(r.bool(), true);
  assert.equal(r.bool(), false);
  assert.equal(r.done, true);
});

test("ByteWriter lays out integers in the byte order asked for", () => {
  const bytes = new ByteWriter().u16be(0x0102).u16le(0x0102).u32be(0x0a0b0c0d).u32le(0x0a0b0c0d).finish();
  assert.deepEqual([...bytes], [1, 2, 2, 1, 10, 11, 12, 13, 13, 12, 11, 10]);
});

test("ByteReader reads EQ2 strings with u8, u16 and u32 length prefixes", () => {
  const w = new ByteWriter().str8("abc").str16("testlabs").str32("Qeynos ✓");
  assert.deepEqual([...w.finish().subarray(4, 6)], [8, 0]); // u16 LE length of "testlabs"
  const r = new ByteReader(w.finish());
  assert.equal(r.str8(), "abc");
  assert.equal(r.str16(), "testlabs");
  assert.equal(r.str32(), "Qeynos ✓");
  assert.equal(r.remaining, 0);
});

test("ByteReader VarInt and VarLong match known encodings", () => {
  const cases: Array<[number, number[]]> = [[0, [0]], [1, [1]], [127, [0x7f]], [128, [0x80, 1]], [300, [0xac, 2]], [
    0xffffffff,
    [0xff, 0xff, 0xff, 0xff, 0x0f],
  ]];
  for (const [value, encoded] of cases) {
    assert.deepEqual([...new ByteWriter().uvarint(value).finish()], encoded, `uvarint ${value}`);
    assert.equal(new ByteReader(Uint8Array.from(encoded)).uvarint(), value);
  }
  assert.deepEqual([...new ByteWriter().varint(-1).finish()], [1]);
  assert.deepEqual([...new ByteWriter().varint(1).finish()], [2]);
  assert.deepEqual([...new ByteWriter().varlong(-64n).finish()], [0x7f]);
  const max = new ByteWriter().uvarlong(0xffff_ffff_ffff_ffffn).finish();
  assert.equal(max.length, 10);
  assert.equal(new ByteReader(max).uvarlong(), 0xffff_ffff_ffff_ffffn);
});

test("ByteReader refuses a VarInt longer than 32 bits with WIRE_BAD_VARINT", () => {
  const r = new ByteReader(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x1f]));
  assert.throws(() => r.uvarint(), (e) => e instanceof WireError && e.code === "WIRE_BAD_VARINT");
  assert.equal(r.offset, 0);
  const long = new ByteReader(new Uint8Array(11).fill(0x80));
  assert.throws(() => long.uvarlong(), (e) => e instanceof WireError && e.code === "WIRE_BAD_VARINT");
});

test("ByteReader reading past the end throws WIRE_OUT_OF_BOUNDS and keeps its position", () => {
  const r = new ByteReader(Uint8Array.from([1, 2, 3]));
  r.u8();
  assert.throws(() => r.u32le(), {
    name: "WireError",
    code: "WIRE_OUT_OF_BOUNDS",
    message: "Cannot read u32: needs 4 bytes at offset 1, 2 remain",
  });
  assert.equal(r.offset, 1);
  assert.equal(r.u16be(), 0x0203);
});

test("ByteReader refuses a string longer than the caller's limit with WIRE_FIELD_TOO_LONG", () => {
  const bytes = new ByteWriter().str16("a very long account name").finish();
  const r = new ByteReader(bytes);
  assert.throws(() => r.str16(8), {
    code: "WIRE_FIELD_TOO_LONG",
    message: "Cannot read u16-prefixed field: length 24 exceeds limit 8",
  });
  assert.equal(r.offset, 0);
});

test("ByteReader refuses invalid UTF-8 with WIRE_BAD_TEXT", () => {
  const r = new ByteReader(Uint8Array.from([2, 0xc3, 0x28]));
  assert.throws(() => r.str8(), { code: "WIRE_BAD_TEXT" });
  assert.equal(r.offset, 0);
});

test("ByteReader bytes() returns a view inside the window it was given", () => {
  const backing = Uint8Array.from([9, 9, 1, 2, 3, 9]);
  const r = new ByteReader(backing, 2, 5);
  assert.deepEqual([...r.bytes(2)], [1, 2]);
  assert.deepEqual([...r.rest()], [3]);
  assert.throws(() => r.u8(), { code: "WIRE_OUT_OF_BOUNDS" });
});

type Read = { kind: string; run: (r: ByteReader) => unknown };
const READS: Read[] = [
  { kind: "u8", run: (r) => r.u8() },
  { kind: "u16le", run: (r) => r.u16le() },
  { kind: "u32be", run: (r) => r.u32be() },
  { kind: "u64le", run: (r) => r.u64le() },
  { kind: "f64be", run: (r) => r.f64be() },
  { kind: "uvarint", run: (r) => r.uvarint() },
  { kind: "varlong", run: (r) => r.varlong() },
  { kind: "str8", run: (r) => r.str8() },
  { kind: "str16", run: (r) => r.str16() },
  { kind: "bytes32", run: (r) => r.bytes32() },
  { kind: "strv", run: (r) => r.strv() },
  { kind: "bytesv(8)", run: (r) => r.bytesv(8) },
  { kind: "f32le", run: (r) => r.f32le() },
  { kind: "i16be", run: (r) => r.i16be() },
  { kind: "bytes(5)", run: (r) => r.bytes(5) },
  { kind: "skip(3)", run: (r) => r.skip(3) },
];

test("ByteReader never reads past its window and fails only with a WireError (property)", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 64 }),
      fc.nat(64),
      fc.nat(64),
      fc.array(fc.constantFrom(...READS), { maxLength: 40 }),
      (bytes, a, b, reads) => {
        const start = Math.min(a, b, bytes.length);
        const end = Math.min(Math.max(a, b), bytes.length);
        const r = new ByteReader(bytes, start, end);
        for (const read of reads) {
          const before = r.offset;
          try {
            read.run(r);
          } catch (error) {
            if (!(error instanceof WireError)) throw error;
            assert.equal(r.offset, before, `${read.kind} moved the position on failure`);
          }
          assert.ok(r.offset >= start && r.offset <= end, `${read.kind} left the window`);
        }
      },
    ),
    propertyParameters(500),
  );
});

test("ByteReader.reset() re-targets the reader, including reads that need a DataView", () => {
  const r = new ByteReader(new ByteWriter().f64le(1.25).finish());
  assert.equal(r.f64le(), 1.25);
  const second = new ByteWriter().u8(9).f32le(-0.5).i64le(-3n).i16le(-2).finish();
  r.reset(second, 1);
  assert.equal(r.f32le(), -0.5);
  assert.equal(r.i64le(), -3n);
  assert.equal(r.i16le(), -2);
  assert.equal(r.done, true);
  r.reset(second, 0, 1);
  assert.equal(r.u8(), 9);
  assert.throws(() => r.reset(second, 2, 1), { code: "WIRE_BAD_ARGUMENT" });
});

test("ByteReader reads VarInt-prefixed strings and bytes: ASCII, multi-byte, long and U+FFFD", () => {
  const texts = [
    "",
    "Qeynos",
    "Ærynn ✓ 𝄞",
    "x".repeat(300),
    `long with a replacement character \uFFFD ${"y".repeat(40)}`,
  ];
  const w = new ByteWriter();
  for (const text of texts) w.strv(text);
  w.bytesv(Uint8Array.of(1, 2, 3));
  const r = new ByteReader(w.finish());
  for (const text of texts) assert.equal(r.strv(), text);
  assert.deepEqual([...r.bytesv()], [1, 2, 3]);
  assert.equal(r.done, true);
});

test("ByteReader refuses invalid UTF-8 in long strings too, and over-limit VarInt fields, without moving", () => {
  // Longer than the ASCII fast path, with a stray continuation byte in the middle.
  const bad = new Uint8Array(60).fill(0x61);
  bad[30] = 0x80;
  const r = new ByteReader(new ByteWriter().bytesv(bad).finish());
  assert.throws(() => r.strv(), {
    code: "WIRE_BAD_TEXT",
    message: "Cannot read VarInt string: not valid UTF-8 at offset 0",
  });
  assert.equal(r.offset, 0);
  assert.throws(() => r.strv(10), {
    code: "WIRE_FIELD_TOO_LONG",
    message: "Cannot read VarInt-prefixed field: length 60 exceeds limit 10",
  });
  assert.equal(r.offset, 0);
  const short = new ByteReader(Uint8Array.of(5, 1, 2));
  assert.throws(() => short.bytesv(), {
    code: "WIRE_OUT_OF_BOUNDS",
    message: "Cannot read VarInt-prefixed field: length 5 at offset 0 exceeds the 2 bytes that remain",
  });
  assert.equal(short.offset, 0);
});

test("ByteReader.strv() decodes any string ByteWriter.strv() wrote (property)", () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: "grapheme", maxLength: 80 }), { maxLength: 8 }), (texts) => {
      const w = new ByteWriter({ capacity: 1 });
      for (const text of texts) w.strv(text);
      const r = new ByteReader(w.finish());
      for (const text of texts) assert.equal(r.strv(), text);
      assert.equal(r.done, true);
      // The body is the plain UTF-8 encoding, after a VarInt of its length.
      for (const text of texts) {
        const utf8 = new TextEncoder().encode(text);
        const encoded = new ByteWriter().strv(text).finish();
        assert.deepEqual(encoded.subarray(encoded.length - utf8.length), utf8);
        assert.equal(new ByteReader(encoded).uvarint(), utf8.length);
      }
    }),
    propertyParameters(200),
  );
});

test("ByteReader.strv() returns recurring short names correctly, whatever collides in its cache", () => {
  const names = [
    "Antonia",
    "Bayle",
    "Qeynos",
    "Freeport",
    "",
    "a",
    "Antonib",
    "ainotnA",
    "Antonia Bayle",
    "Zz".repeat(16),
  ];
  const w = new ByteWriter();
  for (let round = 0; round < 50; round++) {
    for (const name of names) w.strv(name);
    for (let i = 0; i < 40; i++) w.strv(`npc${round * 40 + i}`); // push other names through the cache
  }
  const r = new ByteReader(w.finish());
  for (let round = 0; round < 50; round++) {
    for (const name of names) assert.equal(r.strv(), name);
    for (let i = 0; i < 40; i++) assert.equal(r.strv(), `npc${round * 40 + i}`);
  }
  assert.equal(r.done, true);
});
