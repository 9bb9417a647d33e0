/** Stable codes of {@linkcode AppMessageError}. */
export const AppMessageErrorCode = {
  /** Bytes do not match the layout: truncated, bad UTF-8, a count larger than the bytes left, trailing bytes. */
  Malformed: "APP_MESSAGE_MALFORMED",
  /** A payload, string or list is larger than its limit (decoding or encoding). */
  TooLarge: "APP_MESSAGE_TOO_LARGE",
  /** A value given to the encoder does not fit its declaration (missing field, out of range, wrong length). */
  Invalid: "APP_MESSAGE_INVALID",
  /** No layout or opcode table covers the client version. */
  UnsupportedVersion: "APP_MESSAGE_UNSUPPORTED_VERSION",
  /** The opcode names no message of the profile at this client version. */
  UnknownOpcode: "APP_MESSAGE_UNKNOWN_OPCODE",
  /** A struct or profile declaration is inconsistent (a programming error, raised when the module loads). */
  BadDeclaration: "APP_MESSAGE_BAD_DECLARATION",
} as const;

/** One of the {@linkcode AppMessageErrorCode} values. */
export type AppMessageErrorCode = typeof AppMessageErrorCode[keyof typeof AppMessageErrorCode];

/**
 * A typed error of the application-message layer. Hostile bytes give `APP_MESSAGE_MALFORMED`,
 * `APP_MESSAGE_TOO_LARGE` or `APP_MESSAGE_UNKNOWN_OPCODE`, never another exception. Byte-level causes
 * ({@linkcode WireError}) are kept as `cause`.
 */
export class AppMessageError extends Error {
  /** Stable, machine-readable reason. */
  readonly code: AppMessageErrorCode;

  constructor(code: AppMessageErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AppMessageError";
    this.code = code;
  }
}
