import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { FrameDecoder, FrameFlag, writeFrameHeader } from "../../src/servertalk/frame.ts";
import { ServertalkError } from "../../src/servertalk/servertalk_error.ts";
import { ByteWriter } from "../../src/wire/byte_writer.ts";
import { propertyParameters } from "../_support/property.ts";

const KINDS = [FrameFlag.Request, FrameFlag.Response, FrameFlag.Error, FrameFlag.Retry, FrameFlag.Notify];

const frameArbitrary = fc.record({
  opcode: fc.integer({ min: 0, max: 0xffff }),
  kind: fc.constantFrom(...KINDS),
  compressed: fc.boolean(),
  id: fc.integer({ min: 0, max: 0xffff_ffff }),
  payload: fc.uint8Array({ maxLength: 300 }),
});

type TestFrame = typeof frameArbitrary extends fc.Arbitrary<infer T> ? T : never;

function encode(frames: Array<TestFrame>): Uint8Array {
  const w = new ByteWriter();
  for (const f of frames) {
    writeFrameHeader(w, {
      opcode: f.opcode,
      flags: f.kind | (f.compressed ? FrameFlag.Compressed : 0),
      id: f.id,
      payloadLength: f.payload.length,
    });
    w.bytes(f.payload);
  }
  return w.toBytes();
}

/** Cuts `bytes` at the given (sorted, deduplicated) offsets. */
function cut(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.slice(at, point));
    at = point;
  }
  return chunks;
}

test("a valid frame stream re-chunked at random split points decodes to the same frames (property)", () => {
  fc.assert(
    fc.property(
      fc.array(frameArbitrary, { maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 40 }),
      (frames, offsets) => {
        const bytes = encode(frames);
        const decoder = new FrameDecoder();
        const seen: Array<{ opcode: number; flags: number; id: number; payload: number[] }> = [];
        for (const chunk of cut(bytes, offsets)) {
          decoder.push(chunk, (opcode, flags, id, payload) => seen.push({ opcode, flags, id, payload: [...payload] }));
        }
        assert.equal(decoder.bufferedBytes, 0);
        assert.deepEqual(
          seen,
          frames.map((f) => ({
            opcode: f.opcode,
            flags: f.kind | (f.compressed ? FrameFlag.Compressed : 0),
            id: f.kind === FrameFlag.Notify ? 0 : f.id,
            payload: [...f.payload],
          })),
        );
      },
    ),
    propertyParameters(300),
  );
});

test("random bytes fed in random chunks fail only with a ServertalkError and buffer at most one frame (property)", () => {
  const maxFrameBytes = 512;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(), { maxLength: 20 }), (bytes, offsets) => {
      const decoder = new FrameDecoder({ maxFrameBytes });
      try {
        for (const chunk of cut(bytes, offsets)) {
          decoder.push(chunk, (_opcode, _flags, _id, payload) => assert.ok(payload.length < maxFrameBytes));
          assert.ok(decoder.bufferedBytes <= maxFrameBytes);
        }
      } catch (error) {
        assert.ok(error instanceof ServertalkError, `unexpected ${error}`);
        assert.match(error.code, /^SERVERTALK_(FRAME_TOO_LARGE|BAD_FRAME)$/);
      }
    }),
    propertyParameters(300),
  );
});
