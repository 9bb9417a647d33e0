/** Stable codes of {@linkcode WireError}. */
export const WireErrorCode = {
  /** A read asked for more bytes than remain. */
  OutOfBounds: "WIRE_OUT_OF_BOUNDS",
  /** A VarInt/VarLong ran past its maximum length or value. */
  BadVarint: "WIRE_BAD_VARINT",
  /** A length-prefixed string or byte field exceeded the caller's limit. */
  FieldTooLong: "WIRE_FIELD_TOO_LONG",
  /** A write would grow a buffer past its limit. */
  WriteLimit: "WIRE_WRITE_LIMIT",
  /** Bytes are not valid UTF-8 where text was expected. */
  BadText: "WIRE_BAD_TEXT",
  /** Compressed input is corrupt. */
  CorruptCompressed: "WIRE_CORRUPT_COMPRESSED",
  /** Decompressed output would exceed the caller's limit. */
  DecompressedTooLarge: "WIRE_DECOMPRESSED_TOO_LARGE",
  /** An argument is outside what the encoding can carry. */
  BadArgument: "WIRE_BAD_ARGUMENT",
} as const;

/** One of the {@linkcode WireErrorCode} values. */
export type WireErrorCode = typeof WireErrorCode[keyof typeof WireErrorCode];

/** A typed error raised by the byte-level codecs. Hostile input produces these, never a crash. */
export class WireError extends Error {
  /** Stable, machine-readable reason. */
  readonly code: WireErrorCode;

  constructor(code: WireErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WireError";
    this.code = code;
  }
}
