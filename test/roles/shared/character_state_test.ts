import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeCharacterState, encodeCharacterState, RoleError } from "../../../src/roles/mod.ts";

const state = {
  generation: 0xfffffffe,
  accountId: 3,
  name: "Lucan",
  level: 20,
  race: 1,
  class: 2,
  zone: "qeynos",
  x: 1.5,
  y: -2,
  z: 3.25,
  heading: 0.5,
};

test("a character state survives encoding and decoding", () => {
  assert.deepEqual(decodeCharacterState(encodeCharacterState(state)), state);
});

test("decodeCharacterState() refuses malformed states with ROLE_PROTOCOL", () => {
  const bad = [
    new Uint8Array([0xff, 0xfe]),
    new TextEncoder().encode("[]"),
    new TextEncoder().encode(JSON.stringify({ ...state, x: "1" })),
    new TextEncoder().encode(JSON.stringify({ ...state, zone: 7 })),
  ];
  for (const bytes of bad) {
    assert.throws(() => decodeCharacterState(bytes), (error: unknown) => {
      assert.ok(error instanceof RoleError);
      assert.equal(error.code, "ROLE_PROTOCOL");
      assert.match(error.message, /^Cannot decode character state: /);
      return true;
    });
  }
});
