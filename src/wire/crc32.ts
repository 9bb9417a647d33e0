/**
 * CRC-32 (IEEE: reflected polynomial 0xEDB88320, initial value and final xor all ones) and the EQ2
 * keyed 16-bit CRC built on it. Short inputs use slicing-by-8 tables in JavaScript (a native call
 * costs more than the work); from {@linkcode NATIVE_CRC_MIN_BYTES} on, the runtime's native
 * `zlib.crc32` is several times faster (test/bench/wire_bench.ts measures both).
 * @module
 */
import zlib from "node:zlib";

/** Inputs at least this long go to the native `zlib.crc32`. */
export const NATIVE_CRC_MIN_BYTES = 128;

const TABLES = (() => {
  const tables = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    tables[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = tables[n]!;
    for (let t = 1; t < 8; t++) {
      c = tables[c & 0xff]! ^ (c >>> 8);
      tables[t * 256 + n] = c;
    }
  }
  return tables;
})();

/** Feeds bytes into a running (pre-inverted) CRC state. */
function update(state: number, bytes: Uint8Array, start: number, end: number): number {
  const t = TABLES;
  let c = state;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const lo = c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    const hi = bytes[i + 4]! | (bytes[i + 5]! << 8) | (bytes[i + 6]! << 16) | (bytes[i + 7]! << 24);
    c = t[1792 + (lo & 0xff)]! ^ t[1536 + ((lo >>> 8) & 0xff)]! ^ t[1280 + ((lo >>> 16) & 0xff)]! ^
      t[1024 + (lo >>> 24)]! ^ t[768 + (hi & 0xff)]! ^ t[512 + ((hi >>> 8) & 0xff)]! ^
      t[256 + ((hi >>> 16) & 0xff)]! ^ t[hi >>> 24]!;
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return c;
}

/**
 * The standard CRC-32 of `bytes[start..end)`, the same value as `zlib.crc32`.
 * `previous` continues an earlier CRC, so `crc32(b, 0, b.length, crc32(a))` is the CRC of a‖b.
 */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length, previous = 0): number {
  if (end - start >= NATIVE_CRC_MIN_BYTES) return zlib.crc32(bytes.subarray(start, end), previous);
  return (update(~previous, bytes, start, end) ^ -1) >>> 0;
}

/**
 * The EQ2 session-layer CRC: CRC-32 over the 4 key bytes in little-endian order followed by
 * `bytes[start..end)`, truncated to its low 16 bits. On the wire it is appended big-endian.
 */
export function eq2Crc(key: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  const t = TABLES;
  let c = -1;
  c = t[(c ^ key) & 0xff]! ^ (c >>> 8);
  c = t[(c ^ (key >>> 8)) & 0xff]! ^ (c >>> 8);
  c = t[(c ^ (key >>> 16)) & 0xff]! ^ (c >>> 8);
  c = t[(c ^ (key >>> 24)) & 0xff]! ^ (c >>> 8);
  if (end - start >= NATIVE_CRC_MIN_BYTES) return zlib.crc32(bytes.subarray(start, end), (c ^ -1) >>> 0) & 0xffff;
  return (update(c, bytes, start, end) ^ -1) & 0xffff;
}
