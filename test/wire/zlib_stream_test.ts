import assert from "node:assert/strict";
import { test } from "node:test";
import zlib from "node:zlib";
import fc from "fast-check";
import { ByteArena } from "../../src/wire/byte_arena.ts";
import { ZlibDeflater, ZlibInflater } from "../../src/wire/zlib_stream.ts";
import { propertyParameters } from "../_support/property.ts";

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const messages = fc.array(
  fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.string({ maxLength: 400 }).map((s) => new TextEncoder().encode(s.repeat(3))),
    fc.uint8Array({ minLength: 20_000, maxLength: 40_000 }),
  ),
  { minLength: 1, maxLength: 12 },
);

test("ZlibDeflater output inflates with node:zlib, message by message, on one stream (property)", () => {
  fc.assert(
    fc.property(messages, fc.nat(3), (batch, headroom) => {
      const deflater = new ZlibDeflater();
      const arena = new ByteArena(4096);
      const outputs: Uint8Array[] = [];
      for (let i = 0; i < batch.length; i++) {
        // Every other message with free bytes in front, from an arena: the same stream either way.
        if (i % 2 === 0) outputs.push(deflater.deflate(batch[i]!));
        else {
          const out = deflater.deflate(batch[i]!, headroom, arena);
          assert.ok(out.subarray(0, headroom).every((b) => b === 0));
          outputs.push(out.subarray(headroom));
        }
        // Everything sent so far must decode completely: a sync flush ends each message.
        const sofar = zlib.inflateSync(concat(outputs), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
        assert.deepEqual(new Uint8Array(sofar), concat(batch.slice(0, i + 1)));
      }
    }),
    propertyParameters(40),
  );
});

test("ZlibDeflater output of each message ends with the sync-flush marker", () => {
  const deflater = new ZlibDeflater();
  const inflater = new ZlibInflater();
  for (const text of ["hello", "hello again", "x"]) {
    const out = deflater.deflate(new TextEncoder().encode(text));
    assert.deepEqual([...out.subarray(-4)], [0, 0, 0xff, 0xff]);
    assert.equal(new TextDecoder().decode(inflater.inflate(out)), text);
  }
  // Nothing new to flush: an empty message adds no bytes, and inflating nothing yields nothing.
  assert.equal(deflater.deflate(new Uint8Array(0)).length, 0);
  assert.equal(inflater.inflate(new Uint8Array(0)).length, 0);
});

test("ZlibInflater decodes a node:zlib stream flushed after every message", async () => {
  const node = zlib.createDeflate({ level: 9, windowBits: 13, memLevel: 9 });
  const produced: Uint8Array[] = [];
  node.on("data", (chunk: Uint8Array) => produced.push(chunk));
  const inflater = new ZlibInflater();
  for (let i = 0; i < 50; i++) {
    const message = new TextEncoder().encode(`message ${i} `.repeat(i + 1));
    node.write(message);
    await new Promise<void>((resolve) => node.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    const wire = concat(produced.splice(0));
    assert.deepEqual(inflater.inflate(wire), message, `message ${i}`);
  }
  node.close();
});

test("ZlibDeflater keeps its dictionary: a repeated message compresses smaller the second time", () => {
  const deflater = new ZlibDeflater();
  const message = new TextEncoder().encode(
    "The quick brown fox jumps over the lazy dog near Qeynos harbor. ".repeat(4),
  );
  const first = deflater.deflate(message);
  const second = deflater.deflate(message);
  assert.ok(second.length < first.length / 2, `${second.length} vs ${first.length}`);
  const inflater = new ZlibInflater();
  assert.deepEqual(inflater.inflate(first), message);
  assert.deepEqual(inflater.inflate(second), message);
});

test("ZlibInflater refuses output over its limit with WIRE_DECOMPRESSED_TOO_LARGE", () => {
  const bomb = new ZlibDeflater().deflate(new Uint8Array(200_000));
  assert.ok(bomb.length < 1000);
  const inflater = new ZlibInflater({ maxBytes: 100_000 });
  assert.throws(() => inflater.inflate(bomb), {
    code: "WIRE_DECOMPRESSED_TOO_LARGE",
    message: "Cannot inflate: output exceeds limit 100000",
  });
  // The stream state is gone: later calls fail the same way rather than decode garbage.
  assert.throws(() => inflater.inflate(bomb), { code: "WIRE_DECOMPRESSED_TOO_LARGE" });
});

test("ZlibInflater refuses corrupt input with WIRE_CORRUPT_COMPRESSED", () => {
  const inflater = new ZlibInflater();
  assert.throws(() => inflater.inflate(Uint8Array.from([0x78, 0xda, 0xff, 0xff, 0xff, 0x00])), {
    code: "WIRE_CORRUPT_COMPRESSED",
  });
});

test("ZlibInflater fed random bytes fails only with WireErrors (property)", () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 5 }), (chunks) => {
      const inflater = new ZlibInflater({ maxBytes: 64 * 1024 });
      for (const chunk of chunks) {
        try {
          inflater.inflate(chunk);
        } catch (error) {
          assert.equal((error as { name?: string }).name, "WireError");
        }
      }
    }),
    propertyParameters(300),
  );
});
