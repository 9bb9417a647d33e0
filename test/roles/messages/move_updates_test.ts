import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { MAX_MOVE_UPDATES, QEYNOS_PROTOCOL_VERSION, QeynosWorld } from "../../../src/roles/messages/mod.ts";
import {
  encodeMoveEntry,
  encodeMoveUpdates,
  forEachMoveUpdate,
  type MoveRecord,
} from "../../../src/roles/messages/move_updates.ts";
import { propertyParameters } from "../../_support/property.ts";

const V = QEYNOS_PROTOCOL_VERSION;
const f32 = fc.float({ noNaN: true, noDefaultInfinity: true });
const record: fc.Arbitrary<MoveRecord> = fc.record({
  spawnId: fc.nat({ max: 0xffff_ffff }),
  sequence: fc.nat({ max: 0xffff_ffff }),
  position: fc.record({ x: f32, y: f32, z: f32, heading: f32 }),
});

test("the zone's MoveUpdates bytes are the message codec's, and decode back (property)", () => {
  fc.assert(
    fc.property(fc.nat({ max: 0xffff_ffff }), fc.array(record, { maxLength: 40 }), (serverTimeMs, updates) => {
      const fast = encodeMoveUpdates(serverTimeMs, updates.map(encodeMoveEntry));
      const { payload } = QeynosWorld.encode({ kind: "MoveUpdates", serverTimeMs, updates }, V);
      assert.deepEqual([...fast], [...payload]);
      const back = QeynosWorld.decode(QeynosWorld.opcodeOf("MoveUpdates", V), fast, V);
      assert.equal(back.kind, "MoveUpdates");
      assert.equal(back.kind === "MoveUpdates" && back.updates.length, updates.length);
    }),
    propertyParameters(200),
  );
});

test("encodeMoveUpdates refuses more entries than one MoveUpdates carries", () => {
  const entry = encodeMoveEntry({ spawnId: 1, sequence: 2, position: { x: 0, y: 0, z: 0, heading: 0 } });
  assert.equal(encodeMoveUpdates(7, Array(MAX_MOVE_UPDATES).fill(entry)).length, 5 + 24 * MAX_MOVE_UPDATES);
  assert.throws(
    () => encodeMoveUpdates(7, Array(MAX_MOVE_UPDATES + 1).fill(entry)),
    { name: "RangeError", message: `Cannot encode MoveUpdates: ${MAX_MOVE_UPDATES + 1} entries exceed 255` },
  );
});

test("forEachMoveUpdate accepts exactly what the message codec accepts, and reads the same entries (property)", () => {
  const opcode = QeynosWorld.opcodeOf("MoveUpdates", V);
  const valid = fc.tuple(fc.nat({ max: 0xffff_ffff }), fc.array(record, { maxLength: 12 })).map(([t, updates]) =>
    encodeMoveUpdates(t, updates.map(encodeMoveEntry))
  );
  // Valid payloads, then the same with bytes flipped, cut or added, and random bytes.
  const mutated = fc.tuple(valid, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("flip", "cut", "add"))
    .map(([bytes, at, value, how]) => {
      const copy = [...bytes];
      if (how === "flip" && copy.length > 0) copy[at % copy.length] = value;
      else if (how === "cut") copy.length = at % (copy.length + 1);
      else copy.splice(at % (copy.length + 1), 0, value);
      return new Uint8Array(copy);
    });
  fc.assert(
    fc.property(fc.oneof(valid, mutated, fc.uint8Array({ maxLength: 80 })), (payload) => {
      let expected: Array<[number, number]> | undefined;
      try {
        const message = QeynosWorld.decode(opcode, payload.slice(), V);
        if (message.kind === "MoveUpdates") expected = message.updates.map((u) => [u.spawnId, u.sequence]);
      } catch {
        expected = undefined;
      }
      const seen: Array<[number, number]> = [];
      let got: Array<[number, number]> | undefined;
      try {
        forEachMoveUpdate(payload, (spawnId, sequence) => seen.push([spawnId, sequence]));
        got = seen;
      } catch (error) {
        assert.equal((error as { code?: string }).code, "APP_MESSAGE_MALFORMED");
        assert.equal(seen.length, 0, "nothing is visited before the whole payload is checked");
      }
      assert.deepEqual(got, expected);
    }),
    propertyParameters(300),
  );
});
