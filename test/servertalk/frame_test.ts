import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DEFAULT_MAX_FRAME_BYTES,
  flagsProblem,
  FrameDecoder,
  FrameFlag,
  writeFrameHeader,
} from "../../src/servertalk/frame.ts";
import { ByteWriter } from "../../src/wire/byte_writer.ts";

interface Decoded {
  opcode: number;
  flags: number;
  id: number;
  payload: number[];
}

function frame(opcode: number, flags: number, id: number, payload: number[]): Uint8Array {
  const w = new ByteWriter();
  writeFrameHeader(w, { opcode, flags, id, payloadLength: payload.length });
  return w.bytes(Uint8Array.from(payload)).toBytes();
}

function decodeAll(decoder: FrameDecoder, chunks: Uint8Array[]): Decoded[] {
  const out: Decoded[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk, (opcode, flags, id, payload) => out.push({ opcode, flags, id, payload: [...payload] }));
  }
  return out;
}

const SAMPLE: Array<[number, number, number, number[]]> = [
  [0x1000, FrameFlag.Request, 7, [1, 2, 3]],
  [0x0002, FrameFlag.Notify, 0, []],
  [0x1000, FrameFlag.Response, 7, [9]],
  [0xab00, FrameFlag.Error, 0xffff_ffff, [4, 5]],
  [0x0001, FrameFlag.Notify | FrameFlag.Compressed, 0, [0, 0, 0, 0]],
  [0x4002, FrameFlag.Request | FrameFlag.Stream | FrameFlag.End, 3, [6]],
];

test("writeFrameHeader lays out length, opcode, flags and the id only when flagged", () => {
  assert.deepEqual([...frame(0x1001, FrameFlag.Notify, 99, [0xaa])], [8, 0, 0, 0, 0x01, 0x10, 0x20, 0xaa]);
  assert.deepEqual(
    [...frame(0xab00, FrameFlag.Request, 0x01020304, [])],
    [11, 0, 0, 0, 0x00, 0xab, 0x02, 4, 3, 2, 1],
  );
});

test("FrameDecoder fed one byte at a time yields the same frames as fed all at once", () => {
  const stream = Uint8Array.from(SAMPLE.flatMap(([o, f, i, p]) => [...frame(o, f, i, p)]));
  const whole = decodeAll(new FrameDecoder(), [stream]);
  const bytewise = decodeAll(new FrameDecoder(), [...stream].map((b) => Uint8Array.of(b)));
  const expected = SAMPLE.map(([opcode, flags, id, payload]) => ({
    opcode,
    flags,
    id: flags & (FrameFlag.Notify) && !(flags & FrameFlag.Stream) ? 0 : id,
    payload,
  }));
  assert.deepEqual(whole, expected);
  assert.deepEqual(bytewise, expected);
});

test("FrameDecoder hands out views of whole frames and owned copies of split ones", () => {
  const a = frame(1, FrameFlag.Notify, 0, [1, 2]);
  const b = frame(2, FrameFlag.Notify, 0, [3, 4, 5]);
  const chunk = new Uint8Array([...a, ...b.subarray(0, 5)]);
  const payloads: Uint8Array[] = [];
  const decoder = new FrameDecoder();
  decoder.push(chunk, (_o, _f, _i, payload) => payloads.push(payload));
  assert.equal(payloads.length, 1);
  assert.equal(payloads[0]!.buffer, chunk.buffer, "a frame wholly inside the chunk is a view of it");
  assert.equal(decoder.bufferedBytes, 5);
  decoder.push(b.subarray(5), (_o, _f, _i, payload) => payloads.push(payload));
  assert.deepEqual([...payloads[1]!], [3, 4, 5]);
  assert.notEqual(payloads[1]!.buffer, chunk.buffer);
  assert.equal(decoder.bufferedBytes, 0);
});

test("FrameDecoder refuses a frame over the limit before allocating it", () => {
  const decoder = new FrameDecoder({ maxFrameBytes: 1024 });
  // Only the length prefix has arrived: the announced 4 GiB is refused at once.
  assert.throws(() => decoder.push(Uint8Array.of(0xff, 0xff, 0xff, 0xff), () => {}), {
    name: "ServertalkError",
    code: "SERVERTALK_FRAME_TOO_LARGE",
    message: "Cannot decode frame: length 4294967295 exceeds limit 1024",
  });
  const split = new FrameDecoder({ maxFrameBytes: 1024 });
  split.push(Uint8Array.of(0x01, 0x04), () => {});
  assert.throws(() => split.push(Uint8Array.of(0, 0), () => {}), {
    code: "SERVERTALK_FRAME_TOO_LARGE",
    message: "Cannot decode frame: length 1025 exceeds limit 1024",
  });
  assert.equal(DEFAULT_MAX_FRAME_BYTES, 1024 * 1024);
});

test("FrameDecoder refuses short lengths, contradictory flags and a missing request id", () => {
  assert.throws(() => new FrameDecoder().push(Uint8Array.of(6, 0, 0, 0, 0, 0), () => {}), {
    code: "SERVERTALK_BAD_FRAME",
    message: "Cannot decode frame: length 6 is shorter than the 7-byte header",
  });
  assert.throws(() => new FrameDecoder().push(Uint8Array.of(7, 0, 0, 0, 1, 0, 0x06), () => {}), {
    code: "SERVERTALK_BAD_FRAME",
    message:
      "Cannot decode frame: flags 0x06 are invalid (exactly one of request, response, error, retry, notify must be set)",
  });
  assert.throws(() => new FrameDecoder().push(Uint8Array.of(8, 0, 0, 0, 1, 0, 0x02, 0), () => {}), {
    code: "SERVERTALK_BAD_FRAME",
    message: "Cannot decode frame: length 8 is too short for a request id",
  });
});

test("flagsProblem accepts each kind alone and refuses end without stream or streamed errors", () => {
  for (const kind of [FrameFlag.Request, FrameFlag.Response, FrameFlag.Error, FrameFlag.Retry, FrameFlag.Notify]) {
    assert.equal(flagsProblem(kind), undefined);
    assert.equal(flagsProblem(kind | FrameFlag.Compressed), undefined);
  }
  assert.equal(flagsProblem(0), "exactly one of request, response, error, retry, notify must be set");
  assert.equal(flagsProblem(FrameFlag.Notify | FrameFlag.End), "end is set without stream");
  assert.equal(flagsProblem(FrameFlag.Error | FrameFlag.Stream), "error and retry replies cannot be streamed");
  assert.equal(flagsProblem(FrameFlag.Request | FrameFlag.Stream | FrameFlag.End), undefined);
});
