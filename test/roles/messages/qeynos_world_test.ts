import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  type AnyStruct,
  AppMessageError,
  ChatKind,
  Eq2Login,
  MAX_TEXT_BYTES,
  QEYNOS_PROTOCOL_VERSION,
  QeynosWorld,
  ZoneChangeResult,
} from "../../../src/roles/messages/mod.ts";
import { propertyParameters } from "../../_support/property.ts";
import { fromHex, toHex } from "../../_support/vectors.ts";
import { structArbitrary } from "./_arbitrary.ts";

const V = QEYNOS_PROTOCOL_VERSION;
const hexText = (text: string) => toHex(new TextEncoder().encode(text));

test("Qeynos opcodes are 0x1000 and above, so none is an EQ2 login opcode", () => {
  const eq2 = new Set(Object.keys(Eq2Login.messages).map((name) => Eq2Login.opcodeOf(name as never, 546)));
  for (const name of Object.keys(QeynosWorld.messages)) {
    const opcode = QeynosWorld.opcodeOf(name as never, V);
    assert.ok(opcode >= 0x1000 && opcode <= 0xffff, `${name} ${opcode}`);
    assert.equal(eq2.has(opcode), false);
  }
});

test("a movement update has the hand-checked layout: spawn, sequence, time, x y z heading as float32", () => {
  const { opcode, payload } = QeynosWorld.encode({
    kind: "MoveUpdate",
    spawnId: 0x11223344,
    sequence: 7,
    serverTimeMs: 1000,
    position: { x: 1.5, y: -2, z: 0, heading: 0.5 },
  }, V);
  assert.equal(opcode, 0x1107);
  assert.equal(
    toHex(payload),
    "44332211" + "07000000" + "e8030000" + "0000c03f" + "000000c0" + "00000000" + "0000003f",
  );
});

test("a batch of movement updates has the hand-checked layout: time, a u8 count, then spawn, sequence, position", () => {
  const { opcode, payload } = QeynosWorld.encode({
    kind: "MoveUpdates",
    serverTimeMs: 1000,
    updates: [
      { spawnId: 1, sequence: 7, position: { x: 1.5, y: -2, z: 0, heading: 0.5 } },
      { spawnId: 2, sequence: 9, position: { x: 0, y: 0, z: 2, heading: 0 } },
    ],
  }, V);
  assert.equal(opcode, 0x110a);
  assert.equal(
    toHex(payload),
    "e8030000" + "02" +
      "01000000" + "07000000" + "0000c03f" + "000000c0" + "00000000" + "0000003f" +
      "02000000" + "09000000" + "00000000" + "00000000" + "00000040" + "00000000",
  );
  const decoded = QeynosWorld.decode(opcode, payload, V);
  assert.equal(decoded.kind, "MoveUpdates");
  assert.deepEqual(decoded.updates.map((u) => [u.spawnId, u.sequence]), [[1, 7], [2, 9]]);
});

test("a granted zone change carries instance, address, port and key; a refusal carries none of them", () => {
  const granted = QeynosWorld.encode({
    kind: "ZoneChangeReply",
    result: ZoneChangeResult.Granted,
    zoneName: "qeynos",
    instanceId: 2,
    address: "127.0.0.1",
    port: 9200,
    accessKey: 0x01020304,
  }, V);
  assert.equal(
    toHex(granted.payload),
    "00" + "0600" + hexText("qeynos") + "02000000" + "09" + hexText("127.0.0.1") + "f023" + "04030201",
  );
  const refused = QeynosWorld.encode(
    { kind: "ZoneChangeReply", result: ZoneChangeResult.UnknownZone, zoneName: "x" },
    V,
  );
  assert.equal(toHex(refused.payload), "01" + "0100" + hexText("x"));
  assert.deepEqual(QeynosWorld.decode(0x1109, refused.payload, V), {
    kind: "ZoneChangeReply",
    result: ZoneChangeResult.UnknownZone,
    zoneName: "x",
  });
});

test("a received chat line carries kind, message id and sender, so receivers can count each line once", () => {
  const line = {
    kind: "ChatReceived" as const,
    channelKind: ChatKind.Channel,
    messageId: 41,
    senderId: 5,
    senderName: "Bot5",
    channel: "trade",
    text: "wts sword",
  };
  const { opcode, payload } = QeynosWorld.encode(line, V);
  assert.equal(opcode, 0x1207);
  assert.equal(
    toHex(payload),
    "03" + "29000000" + "05000000" + "0400" + hexText("Bot5") + "0500" + hexText("trade") + "0900" +
      hexText("wts sword"),
  );
  assert.deepEqual(QeynosWorld.decode(opcode, payload, V), line);
});

test("Qeynos messages require every field", () => {
  assert.throws(
    // @ts-expect-error: accessKey is required
    () => QeynosWorld.encode({ kind: "WorldEnterRequest", accountId: 1, characterId: 2 }, V),
    {
      name: "AppMessageError",
      code: "APP_MESSAGE_INVALID",
      message: "Cannot encode WorldEnterRequest for client version 1: field accessKey is missing",
    },
  );
});

test("positions must be finite both ways", () => {
  assert.throws(
    () =>
      QeynosWorld.encode({
        kind: "MoveRequest",
        sequence: 1,
        clientTimeMs: 0,
        position: { x: NaN, y: 0, z: 0, heading: 0 },
      }, V),
    {
      code: "APP_MESSAGE_INVALID",
      message: "Cannot encode MoveRequest for client version 1: field position.x is NaN, not a finite number",
    },
  );
  const bad = fromHex("01000000" + "00000000" + "0000807f" + "00000000" + "00000000" + "00000000");
  assert.throws(() => QeynosWorld.decode(0x1106, bad, V), {
    code: "APP_MESSAGE_MALFORMED",
    message:
      "Cannot decode MoveRequest for client version 1: field position.x is Infinity at offset 8, not a finite number",
  });
});

test("chat text is limited to MAX_TEXT_BYTES bytes both ways", () => {
  const long = "a".repeat(MAX_TEXT_BYTES + 1);
  assert.throws(() => QeynosWorld.encode({ kind: "ChatSay", messageId: 1, text: long }, V), {
    code: "APP_MESSAGE_TOO_LARGE",
    message: "Cannot encode ChatSay for client version 1: field text is 1025 bytes, more than the limit 1024",
  });
  const payload = new Uint8Array(4 + 2 + MAX_TEXT_BYTES + 1).fill(0x61);
  payload.set([1, 0, 0, 0, 0x01, 0x04]);
  assert.throws(() => QeynosWorld.decode(0x1201, payload, V), {
    code: "APP_MESSAGE_TOO_LARGE",
    message: "Cannot decode ChatSay for client version 1: field text: length 1025 exceeds limit 1024",
  });
});

test("the Qeynos profile refuses trailing bytes and unknown versions", () => {
  assert.throws(() => QeynosWorld.decode(0x1f02, fromHex("00"), V), {
    code: "APP_MESSAGE_MALFORMED",
    message: "Cannot decode LogoutRequest for client version 1: 1 trailing bytes after the last field at offset 0",
  });
  assert.throws(() => QeynosWorld.decode(0x1f02, new Uint8Array(0), 2), { code: "APP_MESSAGE_UNSUPPORTED_VERSION" });
});

test("every Qeynos message round-trips through the profile (property)", () => {
  for (const [kind, struct] of Object.entries(QeynosWorld.messages)) {
    fc.assert(
      fc.property(structArbitrary(struct as AnyStruct, V), (value) => {
        const { opcode, payload } = QeynosWorld.encode({ kind, ...value } as never, V);
        assert.equal(QeynosWorld.kindOf(opcode, V), kind);
        assert.deepEqual(QeynosWorld.decode(opcode, payload, V), { kind, ...value });
      }),
      propertyParameters(50),
    );
  }
});

test("random and mutated Qeynos payloads give a message or a typed error (property)", () => {
  const opcodes = Object.keys(QeynosWorld.messages).map((name) => QeynosWorld.opcodeOf(name as never, V));
  fc.assert(
    fc.property(
      fc.oneof(fc.constantFrom(...opcodes), fc.integer({ min: 0, max: 0xffff })),
      fc.uint8Array({ maxLength: 200 }),
      (opcode, payload) => {
        try {
          QeynosWorld.decode(opcode, payload, V);
        } catch (error) {
          assert.ok(error instanceof AppMessageError, String(error));
          assert.ok(
            ["APP_MESSAGE_MALFORMED", "APP_MESSAGE_TOO_LARGE", "APP_MESSAGE_UNKNOWN_OPCODE"].includes(error.code),
            error.code,
          );
        }
      },
    ),
    propertyParameters(2000),
  );
  const kinds = Object.keys(QeynosWorld.messages);
  const mutated = fc.constantFrom(...kinds).chain((kind) =>
    fc.tuple(
      fc.constant(kind),
      structArbitrary(QeynosWorld.messages[kind as keyof typeof QeynosWorld.messages] as AnyStruct, V),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
    )
  );
  fc.assert(
    fc.property(mutated, ([kind, value, position, byte]) => {
      const { opcode, payload } = QeynosWorld.encode({ kind, ...value } as never, V);
      const bytes = payload.slice();
      if (bytes.length > 0) bytes[position % bytes.length] = byte;
      try {
        QeynosWorld.decode(opcode, bytes, V);
      } catch (error) {
        assert.ok(error instanceof AppMessageError, String(error));
        assert.ok(["APP_MESSAGE_MALFORMED", "APP_MESSAGE_TOO_LARGE"].includes(error.code), error.code);
      }
    }),
    propertyParameters(1000),
  );
});

test("decoded messages narrow by kind to typed fields, and the encoder's types catch typos", () => {
  const { opcode, payload } = QeynosWorld.encode({
    kind: "SpawnSelf",
    spawnId: 1,
    characterId: 2,
    name: "Bot",
    level: 3,
    position: { x: 0, y: 1, z: 2, heading: 0 },
  }, V);
  const message = QeynosWorld.decode(opcode, payload, V);
  assert.equal(message.kind, "SpawnSelf");
  if (message.kind === "SpawnSelf") {
    const y: number = message.position.y;
    assert.equal(y, 1);
    // @ts-expect-error: SpawnSelf has no text
    assert.equal(message.text, undefined);
  }
  assert.throws(
    // @ts-expect-error: a misspelt field is a type error (and a missing one at run time)
    () => QeynosWorld.encode({ kind: "ChatSay", messageId: 1, txt: "x" }, V),
    { code: "APP_MESSAGE_INVALID", message: "Cannot encode ChatSay for client version 1: field text is missing" },
  );
});
