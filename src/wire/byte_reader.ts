import { WireError, WireErrorCode } from "./wire_error.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

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
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #end: number;
  #offset: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    if (start < 0 || end > bytes.length || start > end) {
      throw new WireError(
        WireErrorCode.BadArgument,
        `Cannot read bytes: range ${start}..${end} is outside 0..${bytes.length}`,
      );
    }
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#offset = start;
    this.#end = end;
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
    return this.#view.getInt8(this.#take(1, "i8"));
  }
  u16le(): number {
    return this.#view.getUint16(this.#take(2, "u16"), true);
  }
  u16be(): number {
    return this.#view.getUint16(this.#take(2, "u16"), false);
  }
  i16le(): number {
    return this.#view.getInt16(this.#take(2, "i16"), true);
  }
  i16be(): number {
    return this.#view.getInt16(this.#take(2, "i16"), false);
  }
  u32le(): number {
    return this.#view.getUint32(this.#take(4, "u32"), true);
  }
  u32be(): number {
    return this.#view.getUint32(this.#take(4, "u32"), false);
  }
  i32le(): number {
    return this.#view.getInt32(this.#take(4, "i32"), true);
  }
  i32be(): number {
    return this.#view.getInt32(this.#take(4, "i32"), false);
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
    return this.#view.getFloat32(this.#take(4, "f32"), true);
  }
  f32be(): number {
    return this.#view.getFloat32(this.#take(4, "f32"), false);
  }
  f64le(): number {
    return this.#view.getFloat64(this.#take(8, "f64"), true);
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
}
