/**
 * Link control messages: the handshake (Hello, Welcome), the close reason (Goodbye), heartbeats
 * (KeepAlive), and the payloads of error and retry replies. Declared with the same schema machinery
 * as every other message.
 * @module
 */
import { Opcode } from "./opcodes.ts";
import { defineMessage, type MessageValue, t } from "./schema.ts";

/** The servertalk protocol version this build speaks. */
export const PROTOCOL_VERSION = 1;

/** `"QYNS"` as a little-endian u32: the first field of every hello. */
export const HELLO_MAGIC = 0x534e5951;

/** Feature bits announced in the handshake; a link uses the features both sides announce. */
export const Feature = {
  /** May send LZ4-compressed frames. */
  Compression: 0x1,
  /** May send messages larger than a frame as streams. */
  Streams: 0x2,
} as const;

/** Every feature this build implements. */
export const ALL_FEATURES = Feature.Compression | Feature.Streams;

/** Which role a peer plays; carried in the hello and checked against the account. */
export const ServerRole = {
  Login: 1,
  World: 2,
  Zone: 3,
  /** Operator tools (`qeynos servertalk ping`, monitors). */
  Tool: 4,
} as const;

/** One of the {@linkcode ServerRole} values. */
export type ServerRole = typeof ServerRole[keyof typeof ServerRole];

/** The name of a role number (`"world"`), or `"role N"` for an unknown one. */
export function roleName(role: number): string {
  for (const [name, value] of Object.entries(ServerRole)) if (value === role) return name.toLowerCase();
  return `role ${role}`;
}

/** Welcome: the acceptor's answer to an acceptable hello. */
export const Welcome = defineMessage("Welcome", Opcode.Welcome, {
  protocolVersion: t.u16(),
  /** Features both sides have. */
  features: t.varuint(),
  buildId: t.string(64),
  /** The acceptor's server name. */
  serverName: t.string(64),
  /** The acceptor's {@linkcode ServerRole}. */
  role: t.u8(),
  /** The acceptor's number for this link (for logs on both sides). */
  linkId: t.varuint(),
  /** How often the acceptor expects a heartbeat. */
  heartbeatIntervalMs: t.varuint(),
  /** Largest frame the acceptor accepts. */
  maxFrameBytes: t.varuint(),
  /** Largest (streamed) message the acceptor accepts. */
  maxMessageBytes: t.varuint(),
});

/** Hello: the first frame a dialer sends, as a request answered by {@linkcode Welcome} or an error. */
export const Hello = defineMessage("Hello", Opcode.Hello, {
  magic: t.u32(),
  protocolVersion: t.u16(),
  features: t.varuint(),
  /** Free-form build identifier (version, commit), logged by the peer. */
  buildId: t.string(64),
  /** A {@linkcode ServerRole}. */
  role: t.u8(),
  /** The server name this peer registers under (unique among live links). */
  name: t.string(64),
  account: t.string(64),
  password: t.string(256),
  /** Random per process run: lets a reconnecting peer replace its own stale link, never someone else's. */
  instance: t.string(32),
  maxFrameBytes: t.varuint(),
  maxMessageBytes: t.varuint(),
}, { reply: Welcome });

/** Goodbye: sent just before a link closes, with the reason. */
export const Goodbye = defineMessage("Goodbye", Opcode.Goodbye, {
  code: t.string(64),
  message: t.string(1024),
});

/**
 * Heartbeat (KeepAlive): the sender's load and clock, and an echo of the last heartbeat it received
 * so the other side can compute the round-trip time: `rtt = now - echoUs - heldUs`.
 * As a request it is a ping, answered at once by the peer's link core.
 */
export const Heartbeat = defineMessage("KeepAlive", Opcode.KeepAlive, {
  /** 0 idle … 65535 overloaded. */
  load: t.u16(),
  /** Sender's monotonic clock, µs. */
  sentUs: t.f64(),
  /** The `sentUs` of the last heartbeat received from the peer (0 if none). */
  echoUs: t.f64(),
  /** How long the sender held that heartbeat before this one, µs. */
  heldUs: t.f64(),
});

/** Payload of an error reply: do not retry the request as is. */
export const ErrorReply = defineMessage("ErrorReply", 0, {
  code: t.string(64),
  message: t.string(1024),
  /** For a refusal that may succeed later (lock-out, duplicate name): wait this long first; 0 if not. */
  retryAfterMs: t.varuint(),
});

/** Payload of a retry reply: the responder is busy; try again after `waitMs`. */
export const RetryReply = defineMessage("RetryReply", 0, {
  waitMs: t.varuint(),
  reason: t.string(1024),
});

export type HelloMessage = MessageValue<typeof Hello>;
export type WelcomeMessage = MessageValue<typeof Welcome>;
export type GoodbyeMessage = MessageValue<typeof Goodbye>;
export type HeartbeatMessage = MessageValue<typeof Heartbeat>;
