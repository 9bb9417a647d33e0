/** Stable codes of {@linkcode EqStreamError}. Each comes with a documented wire reaction (docs/eqstream.md). */
export const EqStreamErrorCode = {
  /** A datagram's CRC does not match its session key. Reaction: the datagram is dropped. */
  BadCrc: "EQSTREAM_BAD_CRC",
  /** A packet is shorter than its fields. Reaction: the datagram is dropped. */
  Truncated: "EQSTREAM_TRUNCATED",
  /** A protocol opcode this implementation does not know. Reaction: the datagram is dropped. */
  UnknownOpcode: "EQSTREAM_UNKNOWN_OPCODE",
  /** A Combined or AppCombined packet whose sub-packet lengths do not add up. Reaction: dropped. */
  BadCombined: "EQSTREAM_BAD_COMBINED",
  /** A fragment announces a total length over the limit. Reaction: the session is closed. */
  FragmentTooLarge: "EQSTREAM_FRAGMENT_TOO_LARGE",
  /** Fragments that do not add up to their announced total. Reaction: the session is closed. */
  BadFragment: "EQSTREAM_BAD_FRAGMENT",
  /** An application packet that cannot be decoded (bad flag, empty, bad opcode). Reaction: that message is dropped. */
  BadAppPacket: "EQSTREAM_BAD_APP_PACKET",
  /** Compressed application data that does not inflate. Reaction: the session is closed (the stream is lost). */
  BadCompressed: "EQSTREAM_BAD_COMPRESSED",
  /** The key exchange is malformed. Reaction: the session is closed. */
  BadKeyExchange: "EQSTREAM_BAD_KEY_EXCHANGE",
  /** A session request that cannot be served (max length too small). Reaction: no session is created. */
  BadSessionRequest: "EQSTREAM_BAD_SESSION_REQUEST",
  /** The send queue is over its limit. Reaction: `sendApp` throws; nothing is queued. */
  SendQueueFull: "EQSTREAM_SEND_QUEUE_FULL",
  /** An application message over the message size limit. Reaction: `sendApp` throws; nothing is queued. */
  MessageTooLarge: "EQSTREAM_MESSAGE_TOO_LARGE",
  /** Sending on a session that is not open. Reaction: `sendApp` throws. */
  NotOpen: "EQSTREAM_NOT_OPEN",
  /** A session request over the per-source rate limit. Reaction: the request is dropped without state. */
  RateLimited: "EQSTREAM_RATE_LIMITED",
  /** A session request over the session caps (per IP, half-open, total). Reaction: dropped without state. */
  SessionLimit: "EQSTREAM_SESSION_LIMIT",
  /** The server did not answer the session request in time. Reaction: `connect` rejects. */
  ConnectTimeout: "EQSTREAM_CONNECT_TIMEOUT",
  /** An option value outside its allowed range. Reaction: the constructor throws. */
  BadOption: "EQSTREAM_BAD_OPTION",
} as const;

/** One of the {@linkcode EqStreamErrorCode} values. */
export type EqStreamErrorCode = typeof EqStreamErrorCode[keyof typeof EqStreamErrorCode];

/** A typed EQStream error. Hostile bytes produce these (and a defined reaction), never a crash or a hang. */
export class EqStreamError extends Error {
  /** Stable, machine-readable reason. */
  readonly code: EqStreamErrorCode;

  constructor(code: EqStreamErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EqStreamError";
    this.code = code;
  }
}
