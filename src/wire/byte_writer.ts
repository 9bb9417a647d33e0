import { WireError, WireErrorCode } from "./wire_error.ts";

const utf8 = new TextEncoder();

/** Default initial capacity of a {@linkcode ByteWriter}, in bytes. */
export const DEFAULT_WRITER_CAPACITY = 256;
/** Default largest size a {@linkcode ByteWriter} may grow to: 16 MiB. */
export const DEFAULT_WRITER_MAX_BYTES = 16 * 1024 * 1024;

/** Options of {@linkcode ByteWriter}. */
export interface ByteWriterOptions {
  /** Initial buffer size; default {@linkcode DEFAULT_WRITER_CAPACITY}. */
  readonly capacity?: number;
  /** Growing past this many bytes throws `WIRE_WRITE_LIMIT`; default {@linkcode DEFAULT_WRITER_MAX_BYTES}. */
  readonly maxBytes?: number;
}

/** Bytes of the LEB128 VarInt encoding of `value` (0 … 2^32-1). */
function varintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x20_0000 ? 3 : value < 0x1000_0000 ? 4 : 5;
}

/**
 * Appends integers, floats, VarInts and length-prefixed strings to a growable, bounded buffer.
 * The mirror of {@linkcode ByteReader}. `finish()` returns a view of what was written;
 * `reset()` reuses the buffer (earlier views then see new bytes, so copy them first if kept).
 */
export class ByteWriter {
  #bytes: Uint8Array;
  #view: DataView;
  #length = 0;
  readonly #maxBytes: number;

  constructor(options: ByteWriterOptions = {}) {
    this.#maxBytes = options.maxBytes ?? DEFAULT_WRITER_MAX_BYTES;
    this.#bytes = new Uint8Array(Math.min(options.capacity ?? DEFAULT_WRITER_CAPACITY, this.#maxBytes));
    this.#view = new DataView(this.#bytes.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  /** Makes room for `count` more bytes and returns the offset where they go. */
  #reserve(count: number): number {
    const at = this.#length;
    const needed = at + count;
    if (needed > this.#bytes.length) {
      if (needed > this.#maxBytes) {
        throw new WireError(
          WireErrorCode.WriteLimit,
          `Cannot write ${count} bytes: total ${needed} exceeds limit ${this.#maxBytes}`,
        );
      }
      const grown = new Uint8Array(Math.min(this.#maxBytes, Math.max(needed, this.#bytes.length * 2)));
      grown.set(this.#bytes.subarray(0, at));
      this.#bytes = grown;
      this.#view = new DataView(grown.buffer);
    }
    this.#length = needed;
    return at;
  }

  /** Forgets what was written; the buffer is reused. */
  reset(): this {
    this.#length = 0;
    return this;
  }

  /** A view of the bytes written. */
  finish(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  /** A copy of the bytes written. */
  toBytes(): Uint8Array {
    return this.#bytes.slice(0, this.#length);
  }

  /** Overwrites a u16 at `offset` (for lengths known only after the body is written). */
  patchU16be(offset: number, value: number): this {
    this.#checkPatch(offset, 2);
    this.#view.setUint16(offset, value, false);
    return this;
  }
  /** Overwrites a u32 LE at `offset`. */
  patchU32le(offset: number, value: number): this {
    this.#checkPatch(offset, 4);
    this.#view.setUint32(offset, value, true);
    return this;
  }
  /** Overwrites a u32 BE at `offset`. */
  patchU32be(offset: number, value: number): this {
    this.#checkPatch(offset, 4);
    this.#view.setUint32(offset, value, false);
    return this;
  }
  #checkPatch(offset: number, size: number): void {
    if (offset < 0 || offset + size > this.#length) {
      throw new WireError(
        WireErrorCode.BadArgument,
        `Cannot patch ${size} bytes at offset ${offset}: only ${this.#length} written`,
      );
    }
  }

  u8(value: number): this {
    const at = this.#reserve(1);
    this.#bytes[at] = value;
    return this;
  }
  i8(value: number): this {
    const at = this.#reserve(1);
    this.#view.setInt8(at, value);
    return this;
  }
  u16le(value: number): this {
    const at = this.#reserve(2);
    this.#view.setUint16(at, value, true);
    return this;
  }
  u16be(value: number): this {
    const at = this.#reserve(2);
    this.#view.setUint16(at, value, false);
    return this;
  }
  i16le(value: number): this {
    const at = this.#reserve(2);
    this.#view.setInt16(at, value, true);
    return this;
  }
  i16be(value: number): this {
    const at = this.#reserve(2);
    this.#view.setInt16(at, value, false);
    return this;
  }
  u32le(value: number): this {
    const at = this.#reserve(4);
    this.#view.setUint32(at, value, true);
    return this;
  }
  u32be(value: number): this {
    const at = this.#reserve(4);
    this.#view.setUint32(at, value, false);
    return this;
  }
  i32le(value: number): this {
    const at = this.#reserve(4);
    this.#view.setInt32(at, value, true);
    return this;
  }
  i32be(value: number): this {
    const at = this.#reserve(4);
    this.#view.setInt32(at, value, false);
    return this;
  }
  u64le(value: bigint): this {
    const at = this.#reserve(8);
    this.#view.setBigUint64(at, value, true);
    return this;
  }
  u64be(value: bigint): this {
    const at = this.#reserve(8);
    this.#view.setBigUint64(at, value, false);
    return this;
  }
  i64le(value: bigint): this {
    const at = this.#reserve(8);
    this.#view.setBigInt64(at, value, true);
    return this;
  }
  i64be(value: bigint): this {
    const at = this.#reserve(8);
    this.#view.setBigInt64(at, value, false);
    return this;
  }
  f32le(value: number): this {
    const at = this.#reserve(4);
    this.#view.setFloat32(at, value, true);
    return this;
  }
  f32be(value: number): this {
    const at = this.#reserve(4);
    this.#view.setFloat32(at, value, false);
    return this;
  }
  f64le(value: number): this {
    const at = this.#reserve(8);
    this.#view.setFloat64(at, value, true);
    return this;
  }
  f64be(value: number): this {
    const at = this.#reserve(8);
    this.#view.setFloat64(at, value, false);
    return this;
  }
  bool(value: boolean): this {
    return this.u8(value ? 1 : 0);
  }

  /** An unsigned LEB128 VarInt; `value` must be an integer in 0 … 2^32-1. */
  uvarint(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
      throw new WireError(
        WireErrorCode.BadArgument,
        `Cannot write VarInt: ${value} is not an integer in 0..4294967295`,
      );
    }
    while (value >= 0x80) {
      this.u8((value % 0x80) | 0x80);
      value = Math.floor(value / 0x80);
    }
    return this.u8(value);
  }

  /** A zigzag-encoded signed VarInt; `value` must be an integer in -2^31 … 2^31-1. */
  varint(value: number): this {
    if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0x7fff_ffff) {
      throw new WireError(
        WireErrorCode.BadArgument,
        `Cannot write VarInt: ${value} is not an integer in -2147483648..2147483647`,
      );
    }
    return this.uvarint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  /** An unsigned LEB128 VarLong; `value` must be in 0 … 2^64-1. */
  uvarlong(value: bigint): this {
    if (value < 0n || value > 0xffff_ffff_ffff_ffffn) {
      throw new WireError(WireErrorCode.BadArgument, `Cannot write VarLong: ${value} is outside 0..2^64-1`);
    }
    while (value >= 0x80n) {
      this.u8(Number(value & 0x7fn) | 0x80);
      value >>= 7n;
    }
    return this.u8(Number(value));
  }

  /** A zigzag-encoded signed VarLong; `value` must be in -2^63 … 2^63-1. */
  varlong(value: bigint): this {
    if (value < -0x8000_0000_0000_0000n || value > 0x7fff_ffff_ffff_ffffn) {
      throw new WireError(WireErrorCode.BadArgument, `Cannot write VarLong: ${value} is outside -2^63..2^63-1`);
    }
    return this.uvarlong(value >= 0n ? value << 1n : ((-value) << 1n) - 1n);
  }

  /** Raw bytes. */
  bytes(value: Uint8Array): this {
    const at = this.#reserve(value.length);
    this.#bytes.set(value, at);
    return this;
  }

  #prefixed(value: Uint8Array, maxLength: number, what: string): void {
    if (value.length > maxLength) {
      throw new WireError(
        WireErrorCode.FieldTooLong,
        `Cannot write ${what}: length ${value.length} exceeds limit ${maxLength}`,
      );
    }
  }

  /** Bytes with a u8 length prefix. */
  bytes8(value: Uint8Array): this {
    this.#prefixed(value, 0xff, "u8-prefixed field");
    return this.u8(value.length).bytes(value);
  }
  /** Bytes with a u16 LE length prefix (the EQ2 string layout). */
  bytes16(value: Uint8Array): this {
    this.#prefixed(value, 0xffff, "u16-prefixed field");
    return this.u16le(value.length).bytes(value);
  }
  /** Bytes with a u32 LE length prefix. */
  bytes32(value: Uint8Array): this {
    this.#prefixed(value, 0xffff_ffff, "u32-prefixed field");
    return this.u32le(value.length).bytes(value);
  }

  /** An EQ2 string with a u8 length prefix (UTF-8). */
  str8(value: string): this {
    return this.bytes8(utf8.encode(value));
  }
  /** An EQ2 string with a u16 LE length prefix (UTF-8). */
  str16(value: string): this {
    return this.bytes16(utf8.encode(value));
  }
  /** An EQ2 string with a u32 LE length prefix (UTF-8). */
  str32(value: string): this {
    return this.bytes32(utf8.encode(value));
  }

  /** Bytes prefixed by their length as a VarInt; longer than `maxBytes` throws `WIRE_FIELD_TOO_LONG`. */
  bytesv(value: Uint8Array, maxBytes = 0xffff_ffff): this {
    this.#prefixed(value, maxBytes, "VarInt-prefixed field");
    return this.uvarint(value.length).bytes(value);
  }

  /**
   * UTF-8 text prefixed by its byte length as a VarInt; more than `maxBytes` bytes throws
   * `WIRE_FIELD_TOO_LONG` and writes nothing. Encodes straight into the buffer (no temporary array).
   */
  strv(value: string, maxBytes = 0xffff_ffff): this {
    const worst = value.length * 3;
    const prefix = varintSize(worst);
    const at = this.#length;
    let written: number;
    if (at + prefix + worst > this.#maxBytes) {
      // Near the limit: measure exactly rather than reserving for the worst case.
      const bytes = utf8.encode(value);
      written = bytes.length;
      if (written <= maxBytes) {
        this.#reserve(varintSize(written) + written); // throws before writing anything
        this.#bytes.set(bytes, at + varintSize(written));
      }
    } else {
      this.#reserve(prefix + worst);
      written = utf8.encodeInto(value, this.#bytes.subarray(at + prefix, at + prefix + worst)).written;
      if (written <= maxBytes && varintSize(written) < prefix) {
        this.#bytes.copyWithin(at + varintSize(written), at + prefix, at + prefix + written);
      }
    }
    if (written > maxBytes) {
      this.#length = at;
      throw new WireError(
        WireErrorCode.FieldTooLong,
        `Cannot write VarInt string: length ${written} exceeds limit ${maxBytes}`,
      );
    }
    const needed = varintSize(written);
    let length = written;
    let i = at;
    while (length >= 0x80) {
      this.#bytes[i++] = (length % 0x80) | 0x80;
      length = Math.floor(length / 0x80);
    }
    this.#bytes[i] = length;
    this.#length = at + needed + written;
    return this;
  }
}
