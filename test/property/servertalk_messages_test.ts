import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ErrorReply, Goodbye, Heartbeat, Hello, RetryReply, Welcome } from "../../src/servertalk/control.ts";
import { MESSAGES, REPLIES } from "../../src/servertalk/messages.ts";
import type { MessageType } from "../../src/servertalk/schema.ts";
import { ServertalkError } from "../../src/servertalk/servertalk_error.ts";
import { propertyParameters } from "../_support/property.ts";
import { arbitraryFor } from "../servertalk/_arbitrary.ts";

const ALL: MessageType<unknown, unknown>[] = [
  ...MESSAGES,
  ...REPLIES,
  Hello,
  Welcome,
  Goodbye,
  Heartbeat,
  ErrorReply,
  RetryReply,
];

for (const type of ALL) {
  test(`${type.name} round-trips every value its declaration allows (property)`, () => {
    fc.assert(
      fc.property(arbitraryFor(type.codec), (value) => {
        const bytes = type.encode(value);
        assert.deepStrictEqual(type.decode(bytes), value);
        // Encoding is deterministic.
        assert.deepStrictEqual(type.encode(type.decode(bytes)), bytes);
      }),
      propertyParameters(60),
    );
  });
}

test("every message decoder fed mutated or truncated payloads fails only with SERVERTALK_BAD_PAYLOAD (property)", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...ALL).chain((type) => fc.tuple(fc.constant(type), arbitraryFor(type.codec))),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      fc.nat(),
      ([type, value], mutations, cutAt) => {
        const bytes = type.encode(value).slice();
        for (const [at, byte] of mutations) if (bytes.length > 0) bytes[at % bytes.length] = byte;
        const truncated = bytes.subarray(0, cutAt % (bytes.length + 1));
        for (const input of [bytes, truncated]) {
          try {
            type.decode(input);
          } catch (error) {
            assert.ok(error instanceof ServertalkError, `${type.name}: unexpected ${error}`);
            assert.equal(error.code, "SERVERTALK_BAD_PAYLOAD");
            assert.match(error.message, new RegExp(`^Cannot decode ${type.name}`));
          }
        }
      },
    ),
    propertyParameters(500),
  );
});
