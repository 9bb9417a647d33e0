import assert from "node:assert/strict";
import { test } from "node:test";
import { LSStatus, SetConnectInfo, ZonePlayer } from "../../src/servertalk/messages.ts";
import { Opcode, opcodeName } from "../../src/servertalk/opcodes.ts";
import { defineMessage, t } from "../../src/servertalk/schema.ts";

const Sample = defineMessage("Sample", 0x4abc, {
  id: t.u32(),
  name: t.string(8),
  tags: t.array(t.struct({ key: t.string(4), value: t.i16() }), 2),
  note: t.optional(t.string(16)),
  blob: t.bytes(4),
  big: t.u64(),
  ok: t.bool(),
});

test("a declared message lays its fields out in declaration order with VarInt-prefixed strings", () => {
  const bytes = LSStatus.encode({ status: -1, numPlayers: 2, numZones: 3, worldMaxLevel: 50 });
  assert.deepEqual([...bytes], [0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 3, 0, 0, 0, 50]);
  const sample = Sample.encode({
    id: 1,
    name: "ab",
    tags: [{ key: "k", value: -2 }],
    note: undefined,
    blob: Uint8Array.of(9),
    big: 5n,
    ok: true,
  });
  assert.deepEqual(
    [...sample],
    [1, 0, 0, 0, 2, 0x61, 0x62, 1, 1, 0x6b, 0xfe, 0xff, 0, 1, 9, 5, 0, 0, 0, 0, 0, 0, 0, 1],
  );
});

test("encoding refuses a value its field cannot carry, naming the field path", () => {
  assert.throws(() => LSStatus.encode({ status: 0, numPlayers: 2 ** 31, numZones: 0, worldMaxLevel: 0 }), {
    name: "ServertalkError",
    code: "SERVERTALK_BAD_ARGUMENT",
    message: "Cannot encode LSStatus.numPlayers: 2147483648 is not an integer in -2147483648..2147483647",
  });
  assert.throws(
    () =>
      SetConnectInfo.encode({
        address: "a",
        port: 1,
        maxPlayers: 1,
        zones: [{ zoneId: 1, instanceId: 0, name: "x".repeat(65), numPlayers: 0 }],
      }),
    { message: "Cannot encode SetConnectInfo.zones[0].name: 65 UTF-8 bytes exceed limit 64" },
  );
  const base = { id: 1, name: "", tags: [], note: undefined, blob: new Uint8Array(0), big: 0n, ok: false };
  assert.throws(() => Sample.encode({ ...base, name: "é".repeat(5) }), {
    message: "Cannot encode Sample.name: 10 UTF-8 bytes exceed limit 8",
  });
  assert.throws(
    () => Sample.encode({ ...base, tags: [{ key: "a", value: 1 }, { key: "b", value: 2 }, { key: "c", value: 3 }] }),
    {
      message: "Cannot encode Sample.tags: 3 elements exceed limit 2",
    },
  );
  assert.throws(() => Sample.encode({ ...base, blob: new Uint8Array(5) }), {
    message: "Cannot encode Sample.blob: length 5 exceeds limit 4",
  });
  assert.throws(() => Sample.encode({ ...base, big: -1n }), {
    message: "Cannot encode Sample.big: -1n is not a bigint in 0..18446744073709551615",
  });
  assert.throws(() => Sample.encode({ ...base, ok: 1 as unknown as boolean }), {
    message: "Cannot encode Sample.ok: 1 is not a boolean",
  });
  assert.throws(() => Sample.encode(null as unknown as typeof base), {
    message: "Cannot encode Sample: null is not an object",
  });
  assert.throws(() => t.u8().write(undefined as never, 256), {
    message: "Cannot encode u8: 256 is not an integer in 0..255",
  });
});

test("decoding refuses malformed payloads with SERVERTALK_BAD_PAYLOAD, naming the field path", () => {
  const good = Sample.encode({
    id: 1,
    name: "ab",
    tags: [{ key: "k", value: -2 }],
    note: "n",
    blob: Uint8Array.of(9),
    big: 5n,
    ok: true,
  });
  assert.throws(() => Sample.decode(good.subarray(0, 3)), {
    name: "ServertalkError",
    code: "SERVERTALK_BAD_PAYLOAD",
    message: "Cannot decode Sample.id: Cannot read u32: needs 4 bytes at offset 0, 3 remain",
  });
  assert.throws(() => Sample.decode(Uint8Array.of(...good, 0)), {
    code: "SERVERTALK_BAD_PAYLOAD",
    message: `Cannot decode Sample: 1 trailing bytes after offset ${good.length}`,
  });
  const longName = Uint8Array.of(1, 0, 0, 0, 9, ...new Uint8Array(9).fill(0x61));
  assert.throws(() => Sample.decode(longName), {
    message: "Cannot decode Sample.name: Cannot read VarInt-prefixed field: length 9 exceeds limit 8",
  });
  const hugeArray = Uint8Array.of(1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f);
  assert.throws(() => Sample.decode(hugeArray), {
    message: "Cannot decode Sample.tags: Cannot read array at offset 5: length 4294967295 exceeds limit 2",
  });
  const countPastEnd = Uint8Array.of(1, 0, 0, 0, 0, 2, 1);
  assert.throws(() => Sample.decode(countPastEnd), {
    message: "Cannot decode Sample.tags: Cannot read array: 2 elements announced, 1 bytes remain",
  });
  const elementPastEnd = Uint8Array.of(1, 0, 0, 0, 0, 2, 1, 0x6b);
  assert.throws(() => Sample.decode(elementPastEnd), {
    message: "Cannot decode Sample.tags[0].value: Cannot read i16: needs 2 bytes at offset 8, 0 remain",
  });
  const badPresence = Uint8Array.of(1, 0, 0, 0, 0, 0, 7);
  assert.throws(() => Sample.decode(badPresence), {
    message: "Cannot decode Sample.note: Cannot read optional at offset 6: presence byte 7 is not 0 or 1",
  });
  const badUtf8 = Uint8Array.of(1, 0, 0, 0, 2, 0xc3, 0x28);
  assert.throws(() => Sample.decode(badUtf8), { message: /^Cannot decode Sample\.name: .*not valid UTF-8/ });
});

test("declarations refuse non-identifier field names, integer keys and out-of-range opcodes and limits", () => {
  assert.throws(() => defineMessage("Bad", 1, { "1": t.u8() }), {
    code: "SERVERTALK_BAD_ARGUMENT",
    message:
      "Cannot declare field '1': names must be identifiers (letters, digits, _ and $, not starting with a digit)",
  });
  assert.throws(() => defineMessage("Bad", 1, { "a-b": t.u8() }), { code: "SERVERTALK_BAD_ARGUMENT" });
  assert.throws(() => defineMessage("Bad", 0x10000, {}), {
    message: "Cannot declare message Bad: opcode 65536 is not an integer in 0..65535",
  });
  assert.throws(() => t.string(-1), { message: "Cannot declare string: limit -1 is not an integer in 0..4294967295" });
});

test("a request declares its reply, and nested structs keep their shape", () => {
  assert.equal(ZonePlayer.reply?.name, "ZonePlayerResult");
  const value = {
    charId: 1,
    accountId: 2,
    name: "Antonia",
    from: { zoneId: 12, instanceId: 0, x: 1.5, y: -2, z: 3, heading: 90 },
    to: { zoneId: 13, instanceId: 4, x: 0, y: 0, z: 0, heading: 0 },
    state: Uint8Array.of(1, 2, 3),
  };
  assert.deepEqual(ZonePlayer.decode(ZonePlayer.encode(value)), value);
});

test("opcodes keep the emulator's numbers, are unique, and have names", () => {
  assert.equal(Opcode.KeepAlive, 0x0001);
  assert.equal(Opcode.ChannelMessage, 0x0002);
  assert.equal(Opcode.ZonePlayer, 0x000c);
  assert.equal(Opcode.ZoneToZoneRequest, 0x0023);
  assert.equal(Opcode.LSInfo, 0x1000);
  assert.equal(Opcode.LSStatus, 0x1001);
  assert.equal(Opcode.SystemwideMessage, 0x1005);
  assert.equal(Opcode.EncapPacket, 0x2007);
  assert.equal(Opcode.BasicCharUpdate, 0x2012);
  assert.equal(Opcode.CharacterCreate, 0x2013);
  assert.equal(Opcode.UsertoWorldReq, 0xab00);
  assert.equal(Opcode.UsertoWorldResp, 0xab01);
  const values = Object.values(Opcode);
  assert.equal(new Set(values).size, values.length);
  assert.ok(values.length >= 90, `${values.length} opcodes`);
  assert.equal(opcodeName(0x1001), "LSStatus");
  assert.equal(opcodeName(0x7777), "0x7777");
});
