/**
 * Stable codes of {@linkcode ServertalkError}. Codes travel on the wire (in error replies and in the
 * `Goodbye` frame sent before a link closes), so a peer sees exactly why it was refused or dropped.
 */
export const ServertalkErrorCode = {
  // Framing and payloads: a peer that sends these is broken or hostile; the link closes.
  /** A frame announced a length above `maxFrameBytes`. */
  FrameTooLarge: "SERVERTALK_FRAME_TOO_LARGE",
  /** A frame is shorter than its header, or its flags are contradictory. */
  BadFrame: "SERVERTALK_BAD_FRAME",
  /** A payload does not decode as its declared message (error reply for requests, close otherwise). */
  BadPayload: "SERVERTALK_BAD_PAYLOAD",
  /** A compressed payload is corrupt or inflates past the limit. */
  BadCompression: "SERVERTALK_BAD_COMPRESSION",
  /** A streamed message would exceed `maxMessageBytes`. */
  MessageTooLarge: "SERVERTALK_MESSAGE_TOO_LARGE",
  /** The peer opened more concurrent streams than `maxConcurrentStreams`, or broke a stream's framing. */
  StreamLimit: "SERVERTALK_STREAM_LIMIT",
  /** Received messages waiting for their handlers exceed `maxInboundQueueBytes`. */
  InboundOverflow: "SERVERTALK_INBOUND_OVERFLOW",

  // Handshake and authentication: the refused peer receives the code in the reply to its hello.
  /** A frame other than the hello arrived before the link was authenticated. */
  NotAuthenticated: "SERVERTALK_NOT_AUTHENTICATED",
  /** The peer speaks a protocol version (or lacks a feature) this side does not support. */
  VersionMismatch: "SERVERTALK_VERSION_MISMATCH",
  /** The hello did not arrive within `handshakeTimeoutUs`. */
  HandshakeTimeout: "SERVERTALK_HANDSHAKE_TIMEOUT",
  /** Unknown account or wrong password (deliberately not told apart). */
  BadCredentials: "SERVERTALK_AUTH_BAD_CREDENTIALS",
  /** The account exists but is disabled. */
  AccountDisabled: "SERVERTALK_AUTH_DISABLED",
  /** The peer's address is banned. */
  Banned: "SERVERTALK_AUTH_BANNED",
  /** Too many failed attempts from the peer's address within the window. */
  LockedOut: "SERVERTALK_AUTH_LOCKED_OUT",
  /** The account may not act in the role the hello asked for. */
  RoleNotAllowed: "SERVERTALK_AUTH_ROLE_NOT_ALLOWED",
  /** Another live, authenticated link already holds the server name. */
  DuplicateName: "SERVERTALK_AUTH_DUPLICATE_NAME",
  /** Authentication is required but no authenticator is configured, or the authenticator failed. */
  AuthUnavailable: "SERVERTALK_AUTH_UNAVAILABLE",
  /** The server is TAKEN (full) and accepts no new links. */
  ServerTaken: "SERVERTALK_SERVER_TAKEN",
  /** The server is OFFLINE (shutting down) and accepts no new links. */
  ServerOffline: "SERVERTALK_SERVER_OFFLINE",

  // Requests.
  /** No reply arrived before the request's deadline. */
  Timeout: "SERVERTALK_TIMEOUT",
  /** The responder asked to retry later and the retries allowed are used up. */
  RetryLater: "SERVERTALK_RETRY_LATER",
  /** No handler is registered for the request's opcode. */
  NoHandler: "SERVERTALK_NO_HANDLER",
  /** The handler chain finished without replying to a request. */
  NoReply: "SERVERTALK_NO_REPLY",
  /** A handler threw or passed an error to `next`. */
  HandlerFailed: "SERVERTALK_HANDLER_FAILED",
  /** A handler chain did not finish within `handlerTimeoutUs`. */
  HandlerTimeout: "SERVERTALK_HANDLER_TIMEOUT",
  /** A reply carried an opcode other than the one the request declares. */
  UnexpectedReply: "SERVERTALK_UNEXPECTED_REPLY",
  /** More requests are in flight than `maxPendingRequests`. */
  TooManyRequests: "SERVERTALK_TOO_MANY_REQUESTS",

  // Link state.
  /** The send queue would exceed `maxQueuedBytes`. */
  QueueFull: "SERVERTALK_QUEUE_FULL",
  /** Nothing arrived from the peer for `heartbeatTimeoutUs`. */
  HeartbeatTimeout: "SERVERTALK_HEARTBEAT_TIMEOUT",
  /** The link is closed (or closing) and cannot carry the message. */
  Closed: "SERVERTALK_CLOSED",
  /** The transport closed underneath the link. */
  ConnectionLost: "SERVERTALK_CONNECTION_LOST",
  /** The client has no live link right now. */
  NotConnected: "SERVERTALK_NOT_CONNECTED",
  /** The peer is shutting down gracefully. */
  Shutdown: "SERVERTALK_SHUTDOWN",
  /** An argument is outside what the protocol can carry. */
  BadArgument: "SERVERTALK_BAD_ARGUMENT",
} as const;

/** One of the {@linkcode ServertalkErrorCode} values. */
export type ServertalkErrorCode = typeof ServertalkErrorCode[keyof typeof ServertalkErrorCode];

/** Options of {@linkcode ServertalkError}. */
export interface ServertalkErrorOptions extends ErrorOptions {
  /** For refusals that can be retried: how long to wait first, in milliseconds. */
  readonly retryAfterMs?: number;
}

/**
 * A typed servertalk failure. `code` is stable and machine-readable; codes received from a peer
 * (which may be newer) are kept as they came, so the type is widened to `string`.
 */
export class ServertalkError extends Error {
  /** Stable, machine-readable reason (one of {@linkcode ServertalkErrorCode} for errors raised here). */
  readonly code: string;
  /** Milliseconds to wait before trying again, when the refusal says so. */
  readonly retryAfterMs: number | undefined;

  constructor(code: string, message: string, options: ServertalkErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ServertalkError";
    this.code = code;
    this.retryAfterMs = options.retryAfterMs;
  }
}
