import { WireError, WireErrorCode } from "./wire_error.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });
// Some runtimes decode several times faster when not asked to be fatal; a replacement character in the
// result then sends the bytes through the strict decoder, which either throws or agrees.
const utf8Lenient = new TextDecoder("utf-8");
/** Text up to this many bytes is tried as ASCII, byte by byte, before calling a decoder. */
const ASCII_FAST_PATH_BYTES = 32;
/** Recently read short ASCII strings, by a hash of their bytes (a power of two). */
const SHORT_TEXT_CACHE_SLOTS = 512;
const shortTextCache: (string | undefined)[] = new Array(SHORT_TEXT_CACHE_SLOTS);

// Little-endian floats are read through a shared scratch buffer rather than a DataView per reader.
const FLOAT_BYTES = new Uint8Array(8);
const FLOAT32 = new Float32Array(FLOAT_BYTES.buffer, 0, 1);
const FLOAT64 = new Float64Array(FLOAT_BYTES.buffer, 0, 1);
const FLOAT_WORDS = new Int32Array(FLOAT_BYTES.buffer, 0, 2);
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * Short ASCII (most names) is built straight from the buffer, without a view or a decoder, and the
 * same names recur: a small cache returns the string already built. `undefined` when not ASCII.
 */
function shortAscii(b: Uint8Array, at: number, length: number): string | undefined {
  const end = at + length;
  let hash = length;
  for (let i = at; i < end; i++) {
    const byte = b[i]!;
    if (byte >= 0x80) return undefined;
    hash = (hash * 31 + byte) | 0;
  }
  const slot = hash & (SHORT_TEXT_CACHE_SLOTS - 1);
  const cached = shortTextCache[slot];
  if (cached !== undefined && cached.length === length) {
    let j = 0;
    while (j < length && cached.charCodeAt(j) === b[at + j]) j++;
    if (j === length) return cached;
  }
  let text = "";
  for (let k = at; k < end; k++) text += String.fromCharCode(b[k]!);
  shortTextCache[slot] = text;
  return text;
}

/** Longest VarInt (32-bit) and VarLong (64-bit) encodings, in bytes. */
const MAX_VARINT_BYTES = 5;
const MAX_VARLONG_BYTES = 10;

/**
 * Reads integers, floats, VarInts and length-prefixed strings from a byte array.
 *
 * Every read is bounds-checked: asking for more than remains throws a {@linkcode WireError}
 * with code `WIRE_OUT_OF_BOUNDS` and leaves the position where it was.
 * Methods ending in `le`/`be` are little/big endian; `bytes()` returns views, not copies.
 */
export class ByteReader {
  #bytes: Uint8Array;
  /** Created on first use: most reads need none, and creating one costs more than a small decode. */
  #dataView: DataView | undefined;
  #end: number;
  #offset: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    ByteReader.#checkRange(bytes, start, end);
    this.#bytes = bytes;
    this.#offset = start;
    this.#end = end;
  }

  static #checkRange(bytes: Uint8Array, start: number, end: number): void {
    if (start < 0 || end > bytes.length || start > end) {
      throw new WireError(
        WireErrorCode.BadArgument,
        `Cannot read bytes: range ${start}..${end} is outside 0..${bytes.length}`,
      );
    }
  }

  /** Points the reader at new bytes, as if newly constructed (saves an allocation per message). */
  reset(bytes: Uint8Array, start = 0, end = bytes.length): this {
    ByteReader.#checkRange(bytes, start, end);
    if (bytes !== this.#bytes) {
      this.#bytes = bytes;
      this.#dataView = undefined;
    }
    this.#offset = start;
    this.#end = end;
    return this;
  }

  get #view(): DataView {
    return this.#dataView ??= new DataView(this.#bytes.buffer, this.#bytes.byteOffset, this.#bytes.byteLength);
  }

  /** Position of the next read. */
  get offset(): number {
    return this.#offset;
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.#end - this.#offset;
  }

  /** Whether everything has been read. */
  get done(): boolean {
    return this.#offset === this.#end;
  }

  #take(count: number, what: string): number {
    const at = this.#offset;
    if (count > this.#end - at) {
      throw new WireError(
        WireErrorCode.OutOfBounds,
        `Cannot read ${what}: needs ${count} bytes at offset ${at}, ${this.#end - at} remain`,
      );
    }
    this.#offset = at + count;
    return at;
  }

  /** Skips `count` bytes. */
  skip(count: number): void {
    this.#take(count, "skipped bytes");
  }

  u8(): number {
    return this.#bytes[this.#take(1, "u8")]!;
  }
  i8(): number {
    return (this.#bytes[this.#take(1, "i8")]! << 24) >> 24;
  }
  u16le(): number {
    const at = this.#take(2, "u16");
    const b = this.#bytes;
    return b[at]! | (b[at + 1]! << 8);
  }
  u16be(): number {
    const at = this.#take(2, "u16");
    const b = this.#bytes;
    return (b[at]! << 8) | b[at + 1]!;
  }
  i16le(): number {
    const at = this.#take(2, "i16");
    const b = this.#bytes;
    return ((b[at]! | (b[at + 1]! << 8)) << 16) >> 16;
  }
  i16be(): number {
    const at = this.#take(2, "i16");
    const b = this.#bytes;
    return (((b[at]! << 8) | b[at + 1]!) << 16) >> 16;
  }
  u32le(): number {
    return this.#int32le("u32") >>> 0;
  }
  u32be(): number {
    return this.#int32be("u32") >>> 0;
  }
  i32le(): number {
    return this.#int32le("i32");
  }
  i32be(): number {
    return this.#int32be("i32");
  }
  #int32le(what: string): number {
    const at = this.#take(4, what);
    const b = this.#bytes;
    return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
  }
  #int32be(what: string): number {
    const at = this.#take(4, what);
    const b = this.#bytes;
    return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
  }
  u64le(): bigint {
    return this.#view.getBigUint64(this.#take(8, "u64"), true);
  }
  u64be(): bigint {
    return this.#view.getBigUint64(this.#take(8, "u64"), false);
  }
  i64le(): bigint {
    return this.#view.getBigInt64(this.#take(8, "i64"), true);
  }
  i64be(): bigint {
    return this.#view.getBigInt64(this.#take(8, "i64"), false);
  }
  f32le(): number {
    const at = this.#take(4, "f32");
    if (!LITTLE_ENDIAN) return this.#view.getFloat32(at, true);
    const b = this.#bytes;
    FLOAT_WORDS[0] = b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
    return FLOAT32[0]!;
  }
  f32be(): number {
    return this.#view.getFloat32(this.#take(4, "f32"), false);
  }
  f64le(): number {
    const at = this.#take(8, "f64");
    if (!LITTLE_ENDIAN) return this.#view.getFloat64(at, true);
    const b = this.#bytes;
    FLOAT_WORDS[0] = b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
    FLOAT_WORDS[1] = b[at + 4]! | (b[at + 5]! << 8) | (b[at + 6]! << 16) | (b[at + 7]! << 24);
    return FLOAT64[0]!;
  }
  f64be(): number {
    return this.#view.getFloat64(this.#take(8, "f64"), false);
  }
  bool(): boolean {
    return this.u8() !== 0;
  }

  /** An unsigned LEB128 VarInt of at most 32 bits. */
  uvarint(): number {
    const start = this.#offset;
    let result = 0;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.#offset >= this.#end) {
        this.#offset = start;
        throw new WireError(
          WireErrorCode.OutOfBounds,
          `Cannot read VarInt: input ends inside it at offset ${start + i}`,
        );
      }
      const byte = this.#bytes[this.#offset++]!;
      if (i === 4 && byte > 0x0f) {
        this.#offset = start;
        throw new WireError(WireErrorCode.BadVarint, `Cannot read VarInt: value at offset ${start} exceeds 32 bits`);
      }
      result += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) return result;
    }
    this.#offset = start;
    throw new WireError(
      WireErrorCode.BadVarint,
      `Cannot read VarInt: longer than ${MAX_VARINT_BYTES} bytes at offset ${start}`,
    );
  }

  /** A zigzag-encoded signed VarInt of at most 32 bits. */
  varint(): number {
    const raw = this.uvarint();
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }

  /** An unsigned LEB128 VarLong of at most 64 bits. */
  uvarlong(): bigint {
    const start = this.#offset;
    let result = 0n;
    for (let i = 0; i < MAX_VARLONG_BYTES; i++) {
      if (this.#offset >= this.#end) {
        this.#offset = start;
        throw new WireError(
          WireErrorCode.OutOfBounds,
          `Cannot read VarLong: input ends inside it at offset ${start + i}`,
        );
      }
      const byte = this.#bytes[this.#offset++]!;
      if (i === 9 && byte > 0x01) {
        this.#offset = start;
        throw new WireError(WireErrorCode.BadVarint, `Cannot read VarLong: value at offset ${start} exceeds 64 bits`);
      }
      result |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if ((byte & 0x80) === 0) return result;
    }
    this.#offset = start;
    throw new WireError(
      WireErrorCode.BadVarint,
      `Cannot read VarLong: longer than ${MAX_VARLONG_BYTES} bytes at offset ${start}`,
    );
  }

  /** A zigzag-encoded signed VarLong of at most 64 bits. */
  varlong(): bigint {
    const raw = this.uvarlong();
    return (raw >> 1n) ^ -(raw & 1n);
  }

  /** A view of the next `count` bytes. */
  bytes(count: number): Uint8Array {
    const at = this.#take(count, "bytes");
    return this.#bytes.subarray(at, at + count);
  }

  /** A view of everything left. */
  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }

  #prefixed(length: number, prefixBytes: number, maxBytes: number, what: string): Uint8Array {
    const remaining = this.remaining;
    if (length <= maxBytes && length <= remaining) return this.bytes(length);
    this.#offset -= prefixBytes;
    if (length > maxBytes) {
      throw new WireError(
        WireErrorCode.FieldTooLong,
        `Cannot read ${what}: length ${length} exceeds limit ${maxBytes}`,
      );
    }
    throw new WireError(
      WireErrorCode.OutOfBounds,
      `Cannot read ${what}: length ${length} at offset ${this.#offset} exceeds the ${remaining} bytes that remain`,
    );
  }

  /** Bytes prefixed by a u8 length. */
  bytes8(maxBytes = 0xff): Uint8Array {
    return this.#prefixed(this.u8(), 1, maxBytes, "u8-prefixed field");
  }
  /** Bytes prefixed by a u16 LE length (the EQ2 string layout). */
  bytes16(maxBytes = 0xffff): Uint8Array {
    return this.#prefixed(this.u16le(), 2, maxBytes, "u16-prefixed field");
  }
  /** Bytes prefixed by a u32 LE length. */
  bytes32(maxBytes = 0xffff_ffff): Uint8Array {
    return this.#prefixed(this.u32le(), 4, maxBytes, "u32-prefixed field");
  }

  #text(start: number, bytes: Uint8Array, what: string): string {
    const length = bytes.length;
    if (length <= ASCII_FAST_PATH_BYTES) {
      let text = "";
      let i = 0;
      for (; i < length; i++) {
        const byte = bytes[i]!;
        if (byte >= 0x80) break;
        text += String.fromCharCode(byte);
      }
      if (i === length) return text;
    }
    const text = utf8Lenient.decode(bytes);
    if (!text.includes("\uFFFD")) return text;
    try {
      return utf8.decode(bytes);
    } catch (cause) {
      this.#offset = start;
      throw new WireError(WireErrorCode.BadText, `Cannot read ${what}: not valid UTF-8 at offset ${start}`, { cause });
    }
  }

  /** An EQ2 string with a u8 length prefix (UTF-8). */
  str8(maxBytes = 0xff): string {
    return this.#text(this.#offset, this.bytes8(maxBytes), "u8 string");
  }
  /** An EQ2 string with a u16 LE length prefix (UTF-8). */
  str16(maxBytes = 0xffff): string {
    return this.#text(this.#offset, this.bytes16(maxBytes), "u16 string");
  }
  /** An EQ2 string with a u32 LE length prefix (UTF-8). */
  str32(maxBytes = 0xffff_ffff): string {
    return this.#text(this.#offset, this.bytes32(maxBytes), "u32 string");
  }

  /** Bytes prefixed by their length as a VarInt (a view, not a copy). */
  bytesv(maxBytes = 0xffff_ffff): Uint8Array {
    const start = this.#offset;
    const first = start < this.#end ? this.#bytes[start]! : 0x80;
    const length = first < 0x80 ? (this.#offset = start + 1, first) : this.uvarint();
    if (length <= maxBytes && length <= this.#end - this.#offset) {
      const at = this.#offset;
      this.#offset = at + length;
      return this.#bytes.subarray(at, at + length);
    }
    const remaining = this.remaining;
    this.#offset = start;
    if (length > maxBytes) {
      throw new WireError(
        WireErrorCode.FieldTooLong,
        `Cannot read VarInt-prefixed field: length ${length} exceeds limit ${maxBytes}`,
      );
    }
    throw new WireError(
      WireErrorCode.OutOfBounds,
      `Cannot read VarInt-prefixed field: length ${length} at offset ${start} exceeds the ${remaining} bytes that remain`,
    );
  }

  /** UTF-8 text prefixed by its byte length as a VarInt. */
  strv(maxBytes = 0xffff_ffff): string {
    const start = this.#offset;
    const b = this.#bytes;
    // One-byte lengths (under 128) are by far the most common: read them inline.
    const first = start < this.#end ? b[start]! : 0x80;
    const length = first < 0x80 ? (this.#offset = start + 1, first) : this.uvarint();
    if (length <= ASCII_FAST_PATH_BYTES && length <= maxBytes && length <= this.#end - this.#offset) {
      const text = shortAscii(b, this.#offset, length);
      if (text !== undefined) {
        this.#offset += length;
        return text;
      }
    }
    this.#offset = start;
    return this.#text(start, this.bytesv(maxBytes), "VarInt string");
  }
}
