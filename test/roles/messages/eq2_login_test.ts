import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  type AnyStruct,
  AppMessageError,
  decodeStruct,
  encodeStruct,
  EQ2_CAPTURE_CLIENT_VERSION,
  Eq2Login,
  Eq2LoginStructs,
  LoginResponse,
  PlayResponse,
  selectLayout,
  WorldTag,
} from "../../../src/roles/messages/mod.ts";
import { loginRequestVersion } from "../../../src/roles/messages/eq2_login.ts";
import { EQ2_RC4_DROP, Rc4 } from "../../../src/wire/rc4.ts";
import { propertyParameters } from "../../_support/property.ts";
import { fromHex, loadCapture, toHex } from "../../_support/vectors.ts";
import { structArbitrary } from "./_arbitrary.ts";

/**
 * The login request inside datagram 6 of the capture, decrypted as the capture notes describe: the
 * AppCombined holds a 68-byte key sub-packet ending in the RC4 key (reversed) and the encrypted request;
 * the client→server cipher is RC4(~key) with the first 20 keystream bytes dropped.
 */
function capturedLoginRequest(): Uint8Array {
  const datagram = loadCapture()[5]!.bytes;
  assert.equal(toHex(datagram.subarray(0, 6)), "000900000019"); // OP_Packet seq 0, AppCombined
  let at = 6;
  const keyLength = datagram[at]!;
  const keyPacket = datagram.subarray(at + 1, at + 1 + keyLength);
  at += 1 + keyLength;
  const requestLength = datagram[at]!;
  const encrypted = datagram.subarray(at + 1, at + 1 + requestLength);
  const key = keyPacket.slice(keyLength - 8).reverse();
  const inverted = key.map((byte) => ~byte & 0xff);
  return new Rc4(inverted, EQ2_RC4_DROP).process(encrypted.slice());
}

const CAPTURE_PLAINTEXT = "00" + "0000" + "0000" + "0800" + toHex(new TextEncoder().encode("testlabs")) + "0800" +
  toHex(new TextEncoder().encode("testpass")) + "00000000" + "00000000" + "2202";

test("the captured login request decrypts to opcode 0 and the documented plaintext", () => {
  assert.equal(toHex(capturedLoginRequest()), CAPTURE_PLAINTEXT);
});

test("the captured login request decodes to testlabs / testpass, client version 546", () => {
  const plain = capturedLoginRequest();
  const payload = plain.subarray(1);
  assert.equal(loginRequestVersion(payload), 546);
  const message = Eq2Login.decode(plain[0]!, payload, loginRequestVersion(payload));
  assert.deepEqual(message, {
    kind: "LoginRequest",
    sessionId: "",
    sessionRecycleToken: "",
    username: "testlabs",
    password: "testpass",
    acctNum: 0,
    passCode: 0,
    version: EQ2_CAPTURE_CLIENT_VERSION,
  });
});

test("encoding the same login request for client 546 gives the captured bytes exactly", () => {
  const { opcode, payload } = Eq2Login.encode(
    { kind: "LoginRequest", username: "testlabs", password: "testpass", version: 546 },
    546,
  );
  assert.equal(opcode, 0);
  assert.equal("00" + toHex(payload), CAPTURE_PLAINTEXT);
});

test("loginRequestVersion() reads the version of a newer client from the 1208 layout", () => {
  const newer = encodeStruct(Eq2LoginStructs.LoginRequest, { username: "a", password: "b", version: 1208 }, 1208);
  assert.equal(loginRequestVersion(newer), 1208);
  assert.throws(() => loginRequestVersion(fromHex("0100")), { name: "AppMessageError", code: "APP_MESSAGE_MALFORMED" });
});

test("for client 546 each message uses its 546 layout, or the newest older one where 546 has none", () => {
  const expected: Record<string, number> = {
    LoginRequest: 1,
    LoginReply: 284,
    WorldStatusChange: 1,
    WorldListRequest: 1,
    WorldList: 546,
    CharactersRequest: 1,
    CharactersReply: 1,
    CreateCharacterRequest: 1,
    CreateCharacterReply: 1,
    DeleteCharacterRequest: 1,
    DeleteCharacterReply: 1,
    PlayCharacterRequest: 284,
    PlayCharacterReply: 1,
  };
  const actual = Object.fromEntries(
    Object.entries(Eq2Login.messages).map(([name, struct]) => [name, selectLayout(struct as AnyStruct, 546).since]),
  );
  assert.deepEqual(actual, expected);
  assert.equal(selectLayout(Eq2LoginStructs.CharSelectProfile, 546).since, 546);
  assert.equal(selectLayout(Eq2LoginStructs.CharSelectProfile, 545).since, 1);
  assert.equal(selectLayout(Eq2LoginStructs.CharSelectProfile, 561).since, 546);
  assert.equal(selectLayout(Eq2LoginStructs.LoginReply, 842).since, 284);
  assert.equal(selectLayout(Eq2LoginStructs.LoginReply, 843).since, 843);
});

test("the opcodes for client 546 are those of the capture, and older clients use the 0–283 table", () => {
  const at546 = Object.fromEntries(
    Object.keys(Eq2Login.messages).map((name) => [name, Eq2Login.opcodeOf(name as never, 546)]),
  );
  assert.deepEqual(at546, {
    LoginRequest: 0,
    LoginReply: 4,
    WorldStatusChange: 6,
    WorldListRequest: 7,
    WorldList: 8,
    CharactersRequest: 9,
    CharactersReply: 10,
    CreateCharacterRequest: 11,
    CreateCharacterReply: 12,
    DeleteCharacterRequest: 16,
    DeleteCharacterReply: 17,
    PlayCharacterRequest: 18,
    PlayCharacterReply: 19,
  });
  assert.equal(Eq2Login.opcodeOf("PlayCharacterRequest", 283), 17);
  assert.equal(Eq2Login.kindOf(15, 283), "DeleteCharacterRequest");
  assert.equal(Eq2Login.kindOf(2, 546), undefined);
});

test("a client version without an opcode table is refused with APP_MESSAGE_UNSUPPORTED_VERSION", () => {
  assert.throws(() => Eq2Login.encode({ kind: "WorldListRequest" }, 547), {
    name: "AppMessageError",
    code: "APP_MESSAGE_UNSUPPORTED_VERSION",
    message: "Cannot use the EQ2 login profile: no opcode table covers client version 547",
  });
});

test("an opcode that names no login message is refused with APP_MESSAGE_UNKNOWN_OPCODE", () => {
  assert.throws(() => Eq2Login.decode(2, new Uint8Array(0), 546), {
    name: "AppMessageError",
    code: "APP_MESSAGE_UNKNOWN_OPCODE",
    message: "Cannot decode: opcode 2 is no message of the EQ2 login profile for client version 546",
  });
});

test("an accepted login reply for 546 takes the 284 layout: 35 bytes, zeros where nothing is set", () => {
  const { opcode, payload } = Eq2Login.encode({ kind: "LoginReply", loginResponse: LoginResponse.Accepted }, 546);
  assert.equal(opcode, 4);
  assert.equal(payload.length, 35);
  assert.equal(toHex(payload), "00".repeat(35));
  const refused = Eq2Login.encode({ kind: "LoginReply", loginResponse: LoginResponse.InvalidCredentials }, 546);
  assert.equal(toHex(refused.payload), "01" + "00".repeat(34));
});

test("a login reply with class items nests two counted lists under a guard", () => {
  const reply = {
    kind: "LoginReply" as const,
    loginResponse: 0,
    unknown10: 1,
    classItems: [{ classId: 3, startingItems: [{ modelId: 0x1234, slotId: 2, modelColor: { r: 1, g: 2, b: 3 } }] }],
  };
  const { payload } = Eq2Login.encode(reply, 546);
  // 33 fixed bytes, unknown10, count 1, classId 3, count 1, item (2+1+1+1+3+3), array2 count.
  assert.equal(
    toHex(payload.subarray(32)),
    "00" + "01" + "01" + "03" + "01" + "3412" + "02" + "00" + "00" + "010203" + "000000" + "00",
  );
  const decoded = Eq2Login.decode(4, payload, 546);
  assert.equal(decoded.kind, "LoginReply");
  assert.deepEqual((decoded as { classItems?: unknown }).classItems, [{
    classId: 3,
    startingItems: [{
      modelId: 0x1234,
      slotId: 2,
      useColor: 0,
      useHighlightColor: 0,
      modelColor: { r: 1, g: 2, b: 3 },
      modelHighlightColor: { r: 0, g: 0, b: 0 },
    }],
  }]);
});

test("a world list for 546 has the hand-checked layout", () => {
  const { opcode, payload } = Eq2Login.encode({
    kind: "WorldList",
    worldList: [{
      id: 1,
      name: "Qeynos",
      name2: "Qeynos",
      tag: WorldTag.Up,
      numPlayers: 3,
      numberOnlineFlag: 1,
      allowedRaces: 0x0007ffff,
    }],
  }, 546);
  assert.equal(opcode, 8);
  const name = "0600" + toHex(new TextEncoder().encode("Qeynos"));
  assert.equal(
    toHex(payload),
    "01" + "01000000" + name + name + "01" + "00" + "00" + "00" + "0300" + "00" + "01" + "00" + "ffff0700",
  );
});

test("a play-character reply for 546 carries address, port, account and access key in the hand-checked layout", () => {
  const { opcode, payload } = Eq2Login.encode({
    kind: "PlayCharacterReply",
    response: PlayResponse.Success,
    server: "127.0.0.1",
    port: 9101,
    accountId: 7,
    accessCode: 0xcafebabe,
  }, 546);
  assert.equal(opcode, 19);
  assert.equal(
    toHex(payload),
    "01" + "09" + toHex(new TextEncoder().encode("127.0.0.1")) + "8d23" + "07000000" + "bebafeca",
  );
});

test("a play-character request for 546 is char id, server id and three unknown bytes", () => {
  const message = Eq2Login.decode(18, fromHex("2a000000" + "01000000" + "000000"), 546);
  assert.deepEqual(message, {
    kind: "PlayCharacterRequest",
    charId: 42,
    serverId: 1,
    unknown: new Uint8Array(3),
  });
});

test("a character list for 546 holds 388-byte profiles and a 15-byte account tail", () => {
  const { opcode, payload } = Eq2Login.encode({
    kind: "CharactersReply",
    characters: [{ charid: 9, serverId: 1, name: "", race: 2, class: 3, gender: 1, level: 10 }],
    accountId: 7,
    maxChars: 7,
  }, 546);
  assert.equal(opcode, 10);
  assert.equal(payload.length, 1 + 388 + 15);
  assert.equal(toHex(payload.subarray(0, 16)), "01" + "09000000" + "01000000" + "0000" + "02" + "03" + "01" + "0a00");
  assert.equal(toHex(payload.subarray(389)), "07000000" + "00000000" + "0000" + "07000000" + "00");
  const decoded = Eq2Login.decode(10, payload, 546);
  assert.equal(decoded.kind, "CharactersReply");
  const first = (decoded as { characters: Array<Record<string, unknown>> }).characters[0]!;
  assert.equal(first.level, 10);
  assert.equal((first.equip as unknown[]).length, 23);
});

test("the EQ2 login profile ignores bytes after the last declared field, as EQ2Emu does", () => {
  const payload = fromHex(CAPTURE_PLAINTEXT.slice(2) + "ffff");
  const message = Eq2Login.decode(0, payload, 546);
  assert.equal(message.kind, "LoginRequest");
  assert.throws(() => Eq2Login.decode(0, payload, 546, { trailingBytes: "reject" }), {
    code: "APP_MESSAGE_MALFORMED",
  });
});

/** Every (struct, version) pair worth testing: each layout's own version, plus 546. */
function layoutsOf(struct: AnyStruct): number[] {
  const versions = new Set(struct.layouts.map((layout) => layout.since));
  versions.add(546);
  return [...versions].filter((v) => struct.validUntil === undefined || v <= struct.validUntil).sort((a, b) => a - b);
}

test("every login message and every layout decodes what it encodes (property)", () => {
  const structs: AnyStruct[] = [...Object.values(Eq2Login.messages), Eq2LoginStructs.CharSelectProfile];
  for (const struct of structs) {
    for (const version of layoutsOf(struct)) {
      fc.assert(
        fc.property(structArbitrary(struct, version), (value) => {
          const encoded = encodeStruct(struct, value as never, version);
          assert.deepEqual(decodeStruct(struct, encoded, version), value, `${struct.name} v${version}`);
        }),
        propertyParameters(25),
      );
    }
  }
});

test("every login message round-trips through the profile with its opcode for 546 (property)", () => {
  for (const [kind, struct] of Object.entries(Eq2Login.messages)) {
    fc.assert(
      fc.property(structArbitrary(struct as AnyStruct, 546), (value) => {
        const { opcode, payload } = Eq2Login.encode({ kind, ...value } as never, 546);
        assert.equal(opcode, Eq2Login.opcodeOf(kind as never, 546));
        assert.deepEqual(Eq2Login.decode(opcode, payload, 546), { kind, ...value });
      }),
      propertyParameters(25),
    );
  }
});

test("random opcodes and bytes give a message or a typed error, never another exception (property)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 24 }), fc.uint8Array({ maxLength: 600 }), (opcode, payload) => {
      try {
        Eq2Login.decode(opcode, payload, 546);
      } catch (error) {
        assert.ok(error instanceof AppMessageError, String(error));
        assert.ok(
          ["APP_MESSAGE_MALFORMED", "APP_MESSAGE_TOO_LARGE", "APP_MESSAGE_UNKNOWN_OPCODE"].includes(error.code),
          error.code,
        );
      }
    }),
    propertyParameters(2000),
  );
});

test("mutated encodings of every login message give a message or a typed error (property)", () => {
  const kinds = Object.keys(Eq2Login.messages);
  const mutated = fc.constantFrom(...kinds).chain((kind) =>
    fc.tuple(
      fc.constant(kind),
      structArbitrary(Eq2Login.messages[kind as keyof typeof Eq2Login.messages] as AnyStruct, 546),
      fc.array(
        fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("flip", "insert", "delete", "cut")),
        { minLength: 1, maxLength: 4 },
      ),
    )
  );
  fc.assert(
    fc.property(mutated, ([kind, value, edits]) => {
      const { opcode, payload } = Eq2Login.encode({ kind, ...value } as never, 546);
      let bytes = Array.from(payload);
      for (const [position, byte, edit] of edits) {
        const at = bytes.length === 0 ? 0 : position % bytes.length;
        if (edit === "flip" && bytes.length > 0) bytes[at] = byte;
        else if (edit === "insert") bytes.splice(at, 0, byte);
        else if (edit === "delete") bytes.splice(at, 1);
        else bytes = bytes.slice(0, at);
      }
      try {
        Eq2Login.decode(opcode, Uint8Array.from(bytes), 546);
      } catch (error) {
        assert.ok(error instanceof AppMessageError, String(error));
        assert.ok(["APP_MESSAGE_MALFORMED", "APP_MESSAGE_TOO_LARGE"].includes(error.code), error.code);
      }
    }),
    propertyParameters(1000),
  );
});
