/**
 * EQStream: the reliable-UDP session layer of the EverQuest II client, with its application layer
 * (key exchange, RC4, zlib, opcode profiles) and a loss-tolerant sender.
 *
 * Servers (the login, world and zone roles) use {@linkcode listen}; bots and benchmarks use
 * {@linkcode connect}. Both hand out {@linkcode EqStreamConnection}s: `sendApp(opcode, payload)`,
 * `close(reason)`, `stats`. The sans-IO {@linkcode Session} underneath can be driven directly.
 * See docs/eqstream.md.
 * @module
 */
export { connect } from "./client.ts";
export type { ClientOptions } from "./client.ts";
export { EqStreamConnection } from "./connection.ts";
export type { EqStreamHandlers } from "./connection.ts";
export { EqStreamServer, listen } from "./server.ts";
export type { ServerLimits, ServerOptions, ServerStats } from "./server.ts";
export { Session } from "./session.ts";
export type {
  ClientSessionOptions,
  CloseReason,
  PollResult,
  ServerSessionOptions,
  SessionEvent,
  SessionState,
} from "./session.ts";
export { DEFAULT_SESSION_OPTIONS, resolveSessionOptions } from "./options.ts";
export type { CongestionControlName, RedundancyOptions, ResolvedSessionOptions, SessionOptions } from "./options.ts";
export type { SessionStats } from "./stats.ts";
export { EqStreamError, EqStreamErrorCode } from "./errors.ts";
export { AppOpcodeName, createOpcodeProfile, EQ2_CAPTURE_PROFILE, findOpcodeProfile } from "./opcode_profile.ts";
export type { AppOpcodeProfile } from "./opcode_profile.ts";
export {
  AppDecoder,
  AppEncoder,
  decodeKeyReply,
  encodeKeyReply,
  encodeKeyRequest,
  forEachAppPacket,
} from "./app_codec.ts";
export type { AppPacket } from "./app_codec.ts";
export { decodeDatagram, encodeDatagram, EQ2_CLIENT_MAX_LENGTH, EQ2_PROTOCOL_VERSION, ProtocolOp } from "./packets.ts";
export type { ProtocolPacket } from "./packets.ts";
export { Bbr, createCongestionControl, NewReno } from "./congestion/mod.ts";
export type {
  AckSample,
  CongestionControl,
  CongestionControlFactory,
  CongestionControlInit,
  LossSample,
} from "./congestion/mod.ts";
