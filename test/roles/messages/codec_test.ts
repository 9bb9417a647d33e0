import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  AppMessageError,
  bool,
  bytes,
  count16,
  count8,
  decodeStruct,
  defineStruct,
  encodeStruct,
  finiteF32,
  fixed,
  list,
  maxBytes,
  nested,
  record,
  selectLayout,
  str16,
  str8,
  u16,
  u32,
  u8,
} from "../../../src/roles/messages/mod.ts";
import { WireError } from "../../../src/wire/wire_error.ts";
import { propertyParameters } from "../../_support/property.ts";
import { fromHex, toHex } from "../../_support/vectors.ts";
import { structArbitrary } from "./_arbitrary.ts";

const Item = record([["id", u16], ["label", str8]]);
const Sample = defineStruct("Sample", [
  {
    since: 1,
    fields: [["a", u8], ["n", count8], ["items", list(Item, "n")], ["flag", u8], ["extra", u32, { if: "flag" }]],
  },
  {
    since: 10,
    fields: [
      ["a", u16],
      ["n", count16],
      ["items", list(Item, "n")],
      ["mode", u8],
      ["special", maxBytes(str16, 8), { if: "mode", equals: 2 }],
      ["tail", bytes(2)],
    ],
  },
]);
const Lenient = defineStruct("Lenient", [
  {
    since: 1,
    fields: [["x", u32], ["name", str16], ["raw", bytes(3)], ["n", count8], ["items", list(Item, "n")], [
      "pair",
      fixed(u8, 2),
    ]],
  },
], { zeroDefaults: true });
const Checked = defineStruct("Checked", [{ since: 1, fields: [["ok", bool], ["x", finiteF32]] }]);

function assertAppError(fn: () => unknown, code: string, message: string | RegExp): AppMessageError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof AppMessageError, `expected AppMessageError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  if (typeof message === "string") assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  return caught;
}

test("encodeStruct() writes fields in declaration order, little-endian, counts taken from list lengths", () => {
  const value = { a: 5, items: [{ id: 0x0102, label: "hi" }], flag: 1, extra: 0xdeadbeef };
  assert.equal(toHex(encodeStruct(Sample, value, 1)), "05" + "01" + "0201" + "02" + "6869" + "01" + "efbeadde");
});

test("decodeStruct() reads back what encodeStruct() wrote, without the count field", () => {
  const value = { a: 5, items: [{ id: 0x0102, label: "hi" }], flag: 1, extra: 0xdeadbeef };
  assert.deepEqual(decodeStruct(Sample, fromHex("05010201026869" + "01efbeadde"), 1), value);
});

test("a guarded field is left out of the bytes and of the value when its guard is zero", () => {
  assert.equal(toHex(encodeStruct(Sample, { a: 5, items: [], flag: 0 }, 1)), "050000");
  const decoded = decodeStruct(Sample, fromHex("050000"), 1);
  assert.deepEqual(decoded, { a: 5, items: [], flag: 0 });
  assert.equal("extra" in decoded, false);
});

test("an equals guard keeps its field only when the guard field has that value", () => {
  const on = { a: 0x0304, items: [], mode: 2, special: "ok", tail: fromHex("aabb") };
  assert.equal(toHex(encodeStruct(Sample, on, 10)), "0403" + "0000" + "02" + "02006f6b" + "aabb");
  assert.deepEqual(decodeStruct(Sample, fromHex("04030000020200" + "6f6baabb"), 10), on);
  const off = { a: 0x0304, items: [], mode: 3, tail: fromHex("aabb") };
  assert.equal(toHex(encodeStruct(Sample, off, 10)), "0403" + "0000" + "03" + "aabb");
});

test("selectLayout() picks the newest layout whose version is at most the client's", () => {
  assert.equal(selectLayout(Sample, 1).since, 1);
  assert.equal(selectLayout(Sample, 9).since, 1);
  assert.equal(selectLayout(Sample, 10).since, 10);
  assert.equal(selectLayout(Sample, 65535).since, 10);
});

test("a client version older than the first layout is refused with APP_MESSAGE_UNSUPPORTED_VERSION", () => {
  assertAppError(
    () => encodeStruct(Sample, { a: 1, items: [], flag: 0 }, 0),
    "APP_MESSAGE_UNSUPPORTED_VERSION",
    "Cannot use Sample: client version 0 is older than its first layout (1)",
  );
});

test("a client version newer than validUntil is refused with APP_MESSAGE_UNSUPPORTED_VERSION", () => {
  const Bounded = defineStruct("Bounded", [{ since: 1, fields: [["x", u8]] }], { validUntil: 100 });
  assert.deepEqual(decodeStruct(Bounded, fromHex("07"), 100), { x: 7 });
  assertAppError(
    () => decodeStruct(Bounded, fromHex("07"), 101),
    "APP_MESSAGE_UNSUPPORTED_VERSION",
    "Cannot use Bounded: client version 101 is newer than its layouts cover (100)",
  );
});

test("without zero defaults a missing field is refused with APP_MESSAGE_INVALID", () => {
  assertAppError(
    // @ts-expect-error: a is required
    () => encodeStruct(Sample, { items: [], flag: 0 }, 1),
    "APP_MESSAGE_INVALID",
    "Cannot encode Sample for client version 1: field a is missing",
  );
});

test("with zero defaults a missing field is written as zero, an empty string, zero bytes or an empty list", () => {
  const encoded = encodeStruct(Lenient, {}, 1);
  assert.equal(toHex(encoded), "00000000" + "0000" + "000000" + "00" + "0000");
  assert.deepEqual(decodeStruct(Lenient, encoded, 1), {
    x: 0,
    name: "",
    raw: new Uint8Array(3),
    items: [],
    pair: [0, 0],
  });
  const partial = encodeStruct(Lenient, { name: "a", items: [{ id: 7 }] }, 1);
  assert.equal(toHex(partial), "00000000" + "010061" + "000000" + "01" + "0700" + "00" + "0000");
});

test("a guarded field given while its guard is zero is refused", () => {
  assertAppError(
    () => encodeStruct(Sample, { a: 1, items: [], flag: 0, extra: 3 }, 1),
    "APP_MESSAGE_INVALID",
    "Cannot encode Sample for client version 1: field extra is given, but flag is 0 so the layout leaves it out",
  );
});

test("encodeStruct() refuses values that do not fit their types, naming the field path", () => {
  assertAppError(
    () => encodeStruct(Sample, { a: 256, items: [], flag: 0 }, 1),
    "APP_MESSAGE_INVALID",
    "Cannot encode Sample for client version 1: field a is 256, not an integer in 0..255",
  );
  assertAppError(
    () => encodeStruct(Sample, { a: 1, items: [{ id: 1.5, label: "" }], flag: 0 }, 1),
    "APP_MESSAGE_INVALID",
    "Cannot encode Sample for client version 1: field items[0].id is 1.5, not an integer in 0..65535",
  );
  assertAppError(
    () => encodeStruct(Sample, { a: 1, items: [], mode: 0, tail: fromHex("aa") }, 10),
    "APP_MESSAGE_INVALID",
    "Cannot encode Sample for client version 10: field tail is 1 bytes, the layout declares 2",
  );
  assertAppError(
    () => encodeStruct(Sample, { a: 1, items: [{ id: 1, label: "\ud800" }], flag: 0 }, 1),
    "APP_MESSAGE_INVALID",
    "Cannot encode Sample for client version 1: field items[0].label is not well-formed Unicode (it has a lone surrogate)",
  );
  assertAppError(
    // @ts-expect-error: not a struct value
    () => encodeStruct(Sample, [1, 2], 1),
    "APP_MESSAGE_INVALID",
    "Cannot encode Sample for client version 1: the struct is not an object",
  );
});

test("a list longer than its count type can hold is refused with APP_MESSAGE_INVALID", () => {
  const items = Array.from({ length: 256 }, () => ({ id: 0, label: "" }));
  assertAppError(
    () => encodeStruct(Sample, { a: 1, items, flag: 0 }, 1),
    "APP_MESSAGE_INVALID",
    "Cannot encode Sample for client version 1: field n would be 256, more than a u8 can hold",
  );
});

test("maxListLength bounds lists when encoding and decoding with APP_MESSAGE_TOO_LARGE", () => {
  const items = Array.from({ length: 5 }, (_, id) => ({ id, label: "" }));
  assertAppError(
    () => encodeStruct(Sample, { a: 1, items, flag: 0 }, 1, { maxListLength: 4 }),
    "APP_MESSAGE_TOO_LARGE",
    "Cannot encode Sample for client version 1: field n would be 5, more than the limit 4",
  );
  const encoded = encodeStruct(Sample, { a: 1, items, flag: 0 }, 1);
  assertAppError(
    () => decodeStruct(Sample, encoded, 1, { maxListLength: 4 }),
    "APP_MESSAGE_TOO_LARGE",
    "Cannot decode Sample for client version 1: field items has 5 elements, more than the limit 4",
  );
});

test("a count larger than the bytes left can hold is refused before any element is read", () => {
  assertAppError(
    () => decodeStruct(Sample, fromHex("01c8"), 1),
    "APP_MESSAGE_MALFORMED",
    "Cannot decode Sample for client version 1: field items claims 200 elements of at least 3 bytes at offset 2, but 0 bytes remain",
  );
});

test("the default list limit is 1024 elements", () => {
  const Wide = defineStruct("Wide", [{ since: 1, fields: [["n", count16], ["xs", list(u8, "n")]] }]);
  const tooMany = new Uint8Array(2 + 1025);
  tooMany.set([0x01, 0x04]); // 1025, little-endian
  assertAppError(
    () => decodeStruct(Wide, tooMany, 1),
    "APP_MESSAGE_TOO_LARGE",
    "Cannot decode Wide for client version 1: field xs has 1025 elements, more than the limit 1024",
  );
  const enough = new Uint8Array(2 + 1024);
  enough.set([0x00, 0x04]); // 1024
  assert.equal(decodeStruct(Wide, enough, 1).xs.length, 1024);
});

test("truncated input is APP_MESSAGE_MALFORMED with the WireError as cause", () => {
  const error = assertAppError(
    () => decodeStruct(Sample, fromHex("0501020102"), 1),
    "APP_MESSAGE_MALFORMED",
    "Cannot decode Sample for client version 1: field items[0].label: length 2 at offset 4 exceeds the 0 bytes that remain",
  );
  assert.ok(error.cause instanceof WireError);
});

test("text that is not UTF-8 is APP_MESSAGE_MALFORMED", () => {
  assertAppError(
    () => decodeStruct(Sample, fromHex("05" + "01" + "0100" + "01ff" + "00"), 1),
    "APP_MESSAGE_MALFORMED",
    "Cannot decode Sample for client version 1: field items[0].label: not valid UTF-8 at offset 4",
  );
});

test("a string longer than its declared limit is APP_MESSAGE_TOO_LARGE both ways", () => {
  assertAppError(
    () => encodeStruct(Sample, { a: 1, items: [], mode: 2, special: "123456789", tail: fromHex("0000") }, 10),
    "APP_MESSAGE_TOO_LARGE",
    "Cannot encode Sample for client version 10: field special is 9 bytes, more than the limit 8",
  );
  assertAppError(
    () => decodeStruct(Sample, fromHex("0100" + "0000" + "02" + "0900313233343536373839" + "0000"), 10),
    "APP_MESSAGE_TOO_LARGE",
    "Cannot decode Sample for client version 10: field special: length 9 exceeds limit 8",
  );
});

test("trailing bytes are refused by default and dropped with trailingBytes: ignore", () => {
  assertAppError(
    () => decodeStruct(Sample, fromHex("050000ff"), 1),
    "APP_MESSAGE_MALFORMED",
    "Cannot decode Sample for client version 1: 1 trailing bytes after the last field at offset 3",
  );
  assert.deepEqual(decodeStruct(Sample, fromHex("050000ff"), 1, { trailingBytes: "ignore" }), {
    a: 5,
    items: [],
    flag: 0,
  });
});

test("maxBytes bounds the payload when decoding and encoding with APP_MESSAGE_TOO_LARGE", () => {
  assertAppError(
    () => decodeStruct(Sample, new Uint8Array(65537), 1),
    "APP_MESSAGE_TOO_LARGE",
    "Cannot decode Sample for client version 1: payload of 65537 bytes exceeds limit 65536",
  );
  assertAppError(
    () => decodeStruct(Sample, fromHex("050000"), 1, { maxBytes: 2 }),
    "APP_MESSAGE_TOO_LARGE",
    "Cannot decode Sample for client version 1: payload of 3 bytes exceeds limit 2",
  );
  assertAppError(
    () => encodeStruct(Sample, { a: 5, items: [{ id: 1, label: "long label" }], flag: 0 }, 1, { maxBytes: 8 }),
    "APP_MESSAGE_TOO_LARGE",
    "Cannot encode Sample for client version 1: the encoding exceeds limit 8 bytes",
  );
});

test("a bool byte other than 0 or 1 and a non-finite float are refused", () => {
  assert.deepEqual(decodeStruct(Checked, fromHex("010000c03f"), 1), { ok: true, x: 1.5 });
  assertAppError(
    () => decodeStruct(Checked, fromHex("020000c03f"), 1),
    "APP_MESSAGE_MALFORMED",
    "Cannot decode Checked for client version 1: field ok is 2 at offset 0, not 0 or 1",
  );
  assertAppError(
    () => decodeStruct(Checked, fromHex("000000c07f"), 1),
    "APP_MESSAGE_MALFORMED",
    "Cannot decode Checked for client version 1: field x is NaN at offset 1, not a finite number",
  );
  assertAppError(
    () => encodeStruct(Checked, { ok: false, x: Infinity }, 1),
    "APP_MESSAGE_INVALID",
    "Cannot encode Checked for client version 1: field x is Infinity, not a finite number",
  );
});

test("a nested struct takes the layout of the same client version", () => {
  const Inner = defineStruct("Inner", [{ since: 1, fields: [["v", u8]] }, { since: 5, fields: [["v", u16]] }]);
  const Outer = defineStruct("Outer", [{ since: 1, fields: [["n", count8], ["xs", list(nested(Inner), "n")]] }]);
  assert.equal(toHex(encodeStruct(Outer, { xs: [{ v: 1 }] }, 4)), "0101");
  assert.equal(toHex(encodeStruct(Outer, { xs: [{ v: 1 }] }, 5)), "010100");
  assert.deepEqual(decodeStruct(Outer, fromHex("010100"), 5), { xs: [{ v: 1 }] });
});

test("defineStruct() refuses inconsistent declarations with APP_MESSAGE_BAD_DECLARATION", () => {
  const cases: Array<[() => unknown, string]> = [
    [() => defineStruct("A", []), "Cannot declare struct A: it has no layout"],
    [
      () => defineStruct("A", [{ since: 5, fields: [] }, { since: 5, fields: [] }]),
      "Cannot declare struct A: layout version 5 does not follow 5 (versions must increase)",
    ],
    [
      () => defineStruct("A", [{ since: 1, fields: [["x", u8], ["x", u8]] }]),
      "Cannot declare struct A version 1: field x is declared twice",
    ],
    [
      () => defineStruct("A", [{ since: 1, fields: [["y", u8, { if: "x" }], ["x", u8]] }]),
      "Cannot declare struct A version 1: field y is guarded by x, which is not an earlier field",
    ],
    [
      () => defineStruct("A", [{ since: 1, fields: [["x", str8], ["y", u8, { if: "x" }]] }]),
      "Cannot declare struct A version 1: field y is guarded by x, which is not an integer",
    ],
    [
      () => defineStruct("A", [{ since: 1, fields: [["x", u8], ["xs", list(u8, "x")]] }]),
      "Cannot declare struct A version 1: list xs names x, which is not an earlier count field",
    ],
    [
      () => defineStruct("A", [{ since: 1, fields: [["n", count8]] }]),
      "Cannot declare struct A version 1: count field n sizes no list",
    ],
    [
      () => defineStruct("A", [{ since: 1, fields: [["f", u8], ["n", count8, { if: "f" }], ["xs", list(u8, "n")]] }]),
      "Cannot declare struct A version 1: list xs and its count n must have the same guard",
    ],
    [
      () => defineStruct("A", [{ since: 1, fields: [["n", count8], ["xs", list(record([]), "n")]] }]),
      "Cannot declare struct A version 1 field xs: list elements must take at least one byte",
    ],
    [
      () => defineStruct("A", [{ since: 1, fields: [["s", maxBytes(str8, 300)]] }]),
      "Cannot declare struct A version 1 field s: byte limit 300 is outside 0..255",
    ],
    [
      () => defineStruct("A", [{ since: 1, fields: [["b", bytes(-1)]] }]),
      "Cannot declare struct A version 1 field b: length -1 is outside 0..65536",
    ],
    [
      () => defineStruct("A", [{ since: 10, fields: [] }], { validUntil: 9 }),
      "Cannot declare struct A: validUntil 9 is not an integer at or after its first layout",
    ],
  ];
  for (const [declare, message] of cases) assertAppError(declare, "APP_MESSAGE_BAD_DECLARATION", message);
});

test("decodeStruct(encodeStruct(x)) equals x for generated values of every layout (property)", () => {
  for (const version of [1, 10]) {
    fc.assert(
      fc.property(structArbitrary(Sample, version), (value) => {
        const encoded = encodeStruct(Sample, value as never, version);
        assert.deepEqual(decodeStruct(Sample, encoded, version), value);
      }),
      propertyParameters(200),
    );
  }
});

test("random bytes decode to a value or fail with APP_MESSAGE_MALFORMED or APP_MESSAGE_TOO_LARGE (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(1, 10), (input, version) => {
      try {
        decodeStruct(Sample, input, version, { maxListLength: 16 });
      } catch (error) {
        assert.ok(error instanceof AppMessageError, String(error));
        assert.ok(["APP_MESSAGE_MALFORMED", "APP_MESSAGE_TOO_LARGE"].includes(error.code), error.code);
      }
    }),
    propertyParameters(1000),
  );
});

test("encodeStruct() is re-entrant: a value whose getter encodes another struct still encodes correctly", () => {
  const Tiny = defineStruct("Tiny", [{ since: 1, fields: [["x", u8]] }]);
  let inner = "";
  const value = {
    get a() {
      inner = toHex(encodeStruct(Tiny, { x: 9 }, 1));
      return 5;
    },
    items: [],
    flag: 0,
  };
  assert.equal(toHex(encodeStruct(Sample, value, 1)), "050000");
  assert.equal(inner, "09");
  assert.equal(toHex(encodeStruct(Tiny, { x: 1 }, 1)), "01");
});
