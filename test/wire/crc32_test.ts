import assert from "node:assert/strict";
import { test } from "node:test";
import zlib from "node:zlib";
import fc from "fast-check";
import { crc32, eq2Crc, NATIVE_CRC_MIN_BYTES } from "../../src/wire/crc32.ts";
import { oracle } from "../_support/h1emu_core.ts";
import { propertyParameters } from "../_support/property.ts";
import { CAPTURE_CRC_KEY, loadCapture } from "../_support/vectors.ts";

/** Opcodes whose datagrams carry no CRC. */
const UNCHECKED = new Set([0x01, 0x02, 0x1d]);

test("eq2Crc() reproduces the CRC of every datagram in the real client capture", () => {
  const capture = loadCapture();
  let checked = 0;
  for (const { bytes, description } of capture) {
    if (UNCHECKED.has(bytes[1]!)) continue;
    const expected = (bytes[bytes.length - 2]! << 8) | bytes[bytes.length - 1]!;
    assert.equal(eq2Crc(CAPTURE_CRC_KEY, bytes, 0, bytes.length - 2), expected, description);
    checked++;
  }
  assert.equal(checked, 6);
});

test("eq2Crc() detects a single flipped bit in a captured datagram", () => {
  const datagram = loadCapture()[4]!.bytes.slice();
  const expected = (datagram[datagram.length - 2]! << 8) | datagram[datagram.length - 1]!;
  datagram[10] = datagram[10]! ^ 0x04;
  assert.notEqual(eq2Crc(CAPTURE_CRC_KEY, datagram, 0, datagram.length - 2), expected);
});

test("crc32() equals zlib.crc32, and continues a previous CRC (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
      assert.equal(crc32(a), zlib.crc32(a));
      const whole = new Uint8Array([...a, ...b]);
      assert.equal(crc32(b, 0, b.length, crc32(a)), crc32(whole));
    }),
    propertyParameters(300),
  );
});

test("eq2Crc() agrees with h1emu-core and with zlib.crc32 over key‖body (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 0, max: 0xffff_ffff }), (body, key) => {
      const ours = eq2Crc(key, body);
      assert.equal(ours, oracle.crc32_legacy(body, key) & 0xffff);
      const keyed = new Uint8Array(4 + body.length);
      new DataView(keyed.buffer).setUint32(0, key, true);
      keyed.set(body, 4);
      assert.equal(ours, zlib.crc32(keyed) & 0xffff);
    }),
    propertyParameters(300),
  );
});

test("eq2Crc() over a sub-range equals eq2Crc() of the copied range, below and above the native cut-over", () => {
  const bytes = Uint8Array.from({ length: 400 }, (_, i) => i * 7);
  assert.equal(eq2Crc(5, bytes, 3, 41), eq2Crc(5, bytes.slice(3, 41)));
  assert.equal(eq2Crc(5, bytes, 3, 3 + NATIVE_CRC_MIN_BYTES), eq2Crc(5, bytes.slice(3, 3 + NATIVE_CRC_MIN_BYTES)));
  assert.equal(eq2Crc(5, bytes, 7, 390), oracle.crc32_legacy(bytes.slice(7, 390), 5) & 0xffff);
  assert.equal(crc32(bytes, 10, 300), zlib.crc32(bytes.subarray(10, 300)));
});
