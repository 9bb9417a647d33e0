import assert from "node:assert/strict";
import { test } from "node:test";
import { defineProfile, defineStruct, u8 } from "../../../src/roles/messages/mod.ts";
import { fromHex, toHex } from "../../_support/vectors.ts";

const Ping = defineStruct("Ping", [{ since: 1, fields: [["n", u8]] }]);
const Pong = defineStruct("Pong", [{ since: 1, fields: [["n", u8]] }, { since: 3, fields: [["n", u8], ["m", u8]] }]);

test("a profile maps opcodes to messages per version range", () => {
  const profile = defineProfile({
    name: "Test",
    messages: { Ping, Pong },
    opcodes: [{ since: 1, until: 2, opcodes: { Ping: 1, Pong: 2 } }, {
      since: 3,
      until: 9,
      opcodes: { Ping: 5, Pong: 6 },
    }],
  });
  assert.deepEqual(profile.encode({ kind: "Pong", n: 1 }, 2), { opcode: 2, payload: fromHex("01") });
  const later = profile.encode({ kind: "Pong", n: 1, m: 2 }, 3);
  assert.equal(later.opcode, 6);
  assert.equal(toHex(later.payload), "0102");
  assert.deepEqual(profile.decode(6, fromHex("0102"), 9), { kind: "Pong", n: 1, m: 2 });
  assert.equal(profile.kindOf(5, 3), "Ping");
  assert.equal(profile.supportsVersion(9), true);
  assert.equal(profile.supportsVersion(10), false);
});

test("a message without an opcode in the version's table is refused with APP_MESSAGE_UNSUPPORTED_VERSION", () => {
  const profile = defineProfile({
    name: "Test",
    messages: { Ping, Pong },
    opcodes: [{ since: 1, until: 1, opcodes: { Ping: 1 } }],
  });
  assert.throws(() => profile.encode({ kind: "Pong", n: 1 }, 1), {
    name: "AppMessageError",
    code: "APP_MESSAGE_UNSUPPORTED_VERSION",
    message: "Cannot use Pong of the Test profile: it has no opcode for client version 1",
  });
});

test("defineProfile() refuses inconsistent profiles with APP_MESSAGE_BAD_DECLARATION", () => {
  const Tagged = defineStruct("Tagged", [{ since: 1, fields: [["kind", u8]] }]);
  const cases: Array<[() => unknown, string]> = [
    [
      () => defineProfile({ name: "T", messages: { Tagged }, opcodes: [] }),
      "Cannot declare the T profile: message Tagged has a field named kind",
    ],
    [
      () =>
        defineProfile({
          name: "T",
          messages: { Ping },
          opcodes: [{ since: 1, until: 5, opcodes: { Ping: 1 } }, { since: 5, until: 6, opcodes: { Ping: 1 } }],
        }),
      "Cannot declare the T profile: opcode tables 1..5 and 5..6 overlap",
    ],
    [
      () =>
        defineProfile({
          name: "T",
          messages: { Ping, Pong },
          opcodes: [{ since: 1, until: 1, opcodes: { Ping: 1, Pong: 1 } }],
        }),
      "Cannot declare the T profile: opcode 1 is used by both Ping and Pong",
    ],
    [
      () =>
        defineProfile({ name: "T", messages: { Ping }, opcodes: [{ since: 1, until: 1, opcodes: { Ping: 0x10000 } }] }),
      "Cannot declare the T profile: opcode 65536 of Ping is not a u16",
    ],
    [
      () => defineProfile({ name: "T", messages: { Ping }, opcodes: [{ since: 2, until: 1, opcodes: {} }] }),
      "Cannot declare the T profile: opcode table 2..1 is not a version range",
    ],
    [
      // @ts-expect-error: Pong is not a message of this profile
      () => defineProfile({ name: "T", messages: { Ping }, opcodes: [{ since: 1, until: 1, opcodes: { Pong: 1 } }] }),
      "Cannot declare the T profile: opcode table 1..1 names unknown message Pong",
    ],
  ];
  for (const [declare, message] of cases) {
    assert.throws(declare, { name: "AppMessageError", code: "APP_MESSAGE_BAD_DECLARATION", message });
  }
});
