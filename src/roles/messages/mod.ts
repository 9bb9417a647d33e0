/**
 * Application messages carried by EQStream: a declarative, versioned struct system and the two message
 * profiles built on it.
 *
 * - {@linkcode Eq2Login}: the EQ2 login-server messages the real client speaks (client version 546 and
 *   the other layouts of EQ2Emu's `LoginStructs.xml`).
 * - {@linkcode QeynosWorld}: Qeynos' own compact world/zone protocol for headless clients.
 *
 * A profile turns EQStream's `(opcode, payload)` into a tagged message and back:
 *
 * ```ts
 * const message = Eq2Login.decode(opcode, payload, clientVersion); // { kind: "LoginRequest", username, … }
 * const { opcode, payload } = Eq2Login.encode({ kind: "LoginReply", loginResponse: LoginResponse.Accepted }, 546);
 * ```
 *
 * Hostile bytes give an {@linkcode AppMessageError} with a stable `code`; decoding work and memory are
 * bounded by the payload size and {@linkcode CodecOptions}. See `docs/app_protocol.md`.
 *
 * @module
 */
export { AppMessageError, AppMessageErrorCode } from "./app_message_error.ts";
export { decodeStruct, DEFAULT_MAX_LIST_LENGTH, DEFAULT_MAX_MESSAGE_BYTES, encodeStruct } from "./codec.ts";
export type { CodecOptions } from "./codec.ts";
export { defineProfile, MessageProfile } from "./profile.ts";
export type { EncodedMessage, OpcodeTable, ProfileInput, ProfileMessage, ProfileSpec } from "./profile.ts";
export {
  bool,
  bytes,
  color,
  count16,
  count32,
  count8,
  defineStruct,
  f32,
  f64,
  finiteF32,
  fixed,
  i16,
  i32,
  i64,
  i8,
  list,
  maxBytes,
  nested,
  record,
  selectLayout,
  str16,
  str32,
  str8,
  u16,
  u32,
  u64,
  u8,
} from "./schema.ts";
export type {
  AnyStruct,
  Color,
  DefineStructOptions,
  Field,
  FieldType,
  Guard,
  Layout,
  StructDef,
  StructInput,
  StructValue,
} from "./schema.ts";
export { EQ2_CAPTURE_CLIENT_VERSION, Eq2Login } from "./eq2_login.ts";
export * as Eq2LoginStructs from "./eq2_login.ts";
export {
  CreateCharacterResponse,
  DeleteCharacterResponse,
  LoginResponse,
  PlayResponse,
  WorldTag,
} from "./eq2_login_codes.ts";
export {
  MAX_ERROR_TEXT_BYTES,
  MAX_MOVE_UPDATES,
  MAX_NAME_BYTES,
  MAX_TEXT_BYTES,
  QEYNOS_PROTOCOL_VERSION,
  QeynosWorld,
} from "./qeynos_world.ts";
export {
  ChannelResult,
  ChatKind,
  ChatResultCode,
  EnterResult,
  LeaveReason,
  LogoutResult,
  ProtocolErrorCode,
  ZoneChangeResult,
} from "./qeynos_codes.ts";

import type { Eq2Login } from "./eq2_login.ts";
import type { ProfileInput, ProfileMessage } from "./profile.ts";
import type { QeynosWorld } from "./qeynos_world.ts";

/** A decoded EQ2 login message: `{ kind, ...fields }`. */
export type Eq2LoginMessage = ProfileMessage<typeof Eq2Login.messages>;
/** An EQ2 login message to encode. */
export type Eq2LoginInput = ProfileInput<typeof Eq2Login.messages>;
/** A decoded Qeynos world/zone message. */
export type QeynosMessage = ProfileMessage<typeof QeynosWorld.messages>;
/** A Qeynos world/zone message to encode. */
export type QeynosInput = ProfileInput<typeof QeynosWorld.messages>;
