/**
 * The Qeynos world/zone protocol: a compact profile of our own, spoken over EQStream by headless
 * clients (bots) after the EQ2 login flow. It is not the EQ2 zone protocol: its opcodes are 0x1000 and
 * above (so never an EQ2 login opcode) and its versions count from {@linkcode QEYNOS_PROTOCOL_VERSION}.
 * Every field is required (no zero defaults); positions must be finite; texts have byte limits.
 *
 * @module
 */
import { defineProfile } from "./profile.ts";
import { bool, count8, defineStruct, finiteF32, list, maxBytes, record, str16, str8, u16, u32, u8 } from "./schema.ts";

/** The current version of the Qeynos world/zone protocol (the `version` its codecs take). */
export const QEYNOS_PROTOCOL_VERSION = 1;

/** Longest character, zone or channel name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 64;
/** Longest chat line or notification, in UTF-8 bytes. */
export const MAX_TEXT_BYTES = 1024;
/** Longest protocol error text, in UTF-8 bytes. */
export const MAX_ERROR_TEXT_BYTES = 256;

const name = maxBytes(str16, MAX_NAME_BYTES);
const text = maxBytes(str16, MAX_TEXT_BYTES);
/** x, y, z and heading (radians), all finite float32. */
const position = record([["x", finiteF32], ["y", finiteF32], ["z", finiteF32], ["heading", finiteF32]]);
const V1 = QEYNOS_PROTOCOL_VERSION;

const keyFields = [["accountId", u32], ["characterId", u32], ["accessKey", u32]] as const;

/** Client → world: present the access key from `PlayCharacterReply`. */
export const WorldEnterRequest = defineStruct("WorldEnterRequest", [{ since: V1, fields: keyFields }]);
/** World → client: accepted or why not (`result` is an `EnterResult`). */
export const WorldEnterReply = defineStruct("WorldEnterReply", [
  { since: V1, fields: [["result", u8], ["characterId", u32], ["characterName", name]] },
]);
/** World → client: the zone server to connect to, with a one-time key for it. */
export const ZoneAssignment = defineStruct("ZoneAssignment", [
  {
    since: V1,
    fields: [
      ["characterId", u32],
      ["zoneName", name],
      ["instanceId", u32],
      ["address", str8],
      ["port", u16],
      ["accessKey", u32],
    ],
  },
]);

/** Client → zone: present the key from `ZoneAssignment` or `ZoneChangeReply`. */
export const ZoneEnterRequest = defineStruct("ZoneEnterRequest", [{ since: V1, fields: keyFields }]);
/** Zone → client: accepted or why not (`result` is an `EnterResult`). */
export const ZoneEnterReply = defineStruct("ZoneEnterReply", [
  { since: V1, fields: [["result", u8], ["zoneName", name], ["instanceId", u32]] },
]);
/** Zone → client: your own spawn. */
export const SpawnSelf = defineStruct("SpawnSelf", [
  {
    since: V1,
    fields: [["spawnId", u32], ["characterId", u32], ["name", name], ["level", u8], ["position", position]],
  },
]);
/** Zone → client: another player came into view. */
export const PlayerEnteredView = defineStruct("PlayerEnteredView", [
  { since: V1, fields: [["spawnId", u32], ["characterId", u32], ["name", name], ["position", position]] },
]);
/** Zone → client: a player left view (`reason` is a `LeaveReason`). */
export const PlayerLeftView = defineStruct("PlayerLeftView", [
  { since: V1, fields: [["spawnId", u32], ["reason", u8]] },
]);
/** Client → zone: where I am now. `sequence` increases by one per update; `clientTimeMs` wraps. */
export const MoveRequest = defineStruct("MoveRequest", [
  { since: V1, fields: [["sequence", u32], ["clientTimeMs", u32], ["position", position]] },
]);
/** Zone → client: where a spawn in view is now (`sequence` echoes that player's `MoveRequest`). */
export const MoveUpdate = defineStruct("MoveUpdate", [
  { since: V1, fields: [["spawnId", u32], ["sequence", u32], ["serverTimeMs", u32], ["position", position]] },
]);
/** Most updates one `MoveUpdates` carries. */
export const MAX_MOVE_UPDATES = 255;
/**
 * Zone → client: the latest positions of several spawns in view at once (sent instead of separate
 * `MoveUpdate`s when updates for one player arrive faster than the zone's batch window).
 */
export const MoveUpdates = defineStruct("MoveUpdates", [
  {
    since: V1,
    fields: [
      ["serverTimeMs", u32],
      ["count", count8],
      ["updates", list(record([["spawnId", u32], ["sequence", u32], ["position", position]]), "count")],
    ],
  },
]);
/** Client → zone: move me to another zone. */
export const ZoneChangeRequest = defineStruct("ZoneChangeRequest", [{ since: V1, fields: [["zoneName", name]] }]);
/** Zone → client: the answer; only `Granted` (0) carries where to go and the key. */
export const ZoneChangeReply = defineStruct("ZoneChangeReply", [
  {
    since: V1,
    fields: [
      ["result", u8],
      ["zoneName", name],
      ["instanceId", u32, { if: "result", equals: 0 }],
      ["address", str8, { if: "result", equals: 0 }],
      ["port", u16, { if: "result", equals: 0 }],
      ["accessKey", u32, { if: "result", equals: 0 }],
    ],
  },
]);

/** Client → zone: say to players nearby. `messageId` is chosen by the sender, unique per sender. */
export const ChatSay = defineStruct("ChatSay", [{ since: V1, fields: [["messageId", u32], ["text", text]] }]);
/** Client → zone: shout to the players within shout range (wider than a say). */
export const ChatShout = defineStruct("ChatShout", [{ since: V1, fields: [["messageId", u32], ["text", text]] }]);
/** Client → zone: tell one player, wherever they are. */
export const ChatTell = defineStruct("ChatTell", [
  { since: V1, fields: [["messageId", u32], ["to", name], ["text", text]] },
]);
/** Client → zone: join a chat channel. */
export const ChannelJoin = defineStruct("ChannelJoin", [{ since: V1, fields: [["channel", name]] }]);
/** Client → zone: leave a chat channel. */
export const ChannelLeave = defineStruct("ChannelLeave", [{ since: V1, fields: [["channel", name]] }]);
/** Client → zone: speak in a channel. */
export const ChannelMessage = defineStruct("ChannelMessage", [
  { since: V1, fields: [["messageId", u32], ["channel", name], ["text", text]] },
]);
/**
 * Zone → client: a line for this player. `(senderId, messageId)` identifies the sent line, so a
 * receiver can check it gets each line exactly once. `channel` is empty unless `channelKind` is Channel.
 */
export const ChatReceived = defineStruct("ChatReceived", [
  {
    since: V1,
    fields: [
      ["channelKind", u8],
      ["messageId", u32],
      ["senderId", u32],
      ["senderName", name],
      ["channel", name],
      ["text", text],
    ],
  },
]);
/** Zone → sender: what became of a say, shout, tell or channel line (`result` is a `ChatResultCode`). */
export const ChatResult = defineStruct("ChatResult", [{ since: V1, fields: [["messageId", u32], ["result", u8]] }]);
/** Zone → client: the outcome of a join or leave (`result` is a `ChannelResult`). */
export const ChannelStatus = defineStruct("ChannelStatus", [
  { since: V1, fields: [["channel", name], ["result", u8]] },
]);

/** World or zone → client: a server-wide notice. `ttlSeconds` is its remaining lifetime (0: shown once). */
export const ServerNotification = defineStruct("ServerNotification", [
  { since: V1, fields: [["notificationId", u32], ["ttlSeconds", u32], ["text", text]] },
]);
/** Client → world or zone: log out. */
export const LogoutRequest = defineStruct("LogoutRequest", [{ since: V1, fields: [] }]);
/** World or zone → client: logged out (`result` is a `LogoutResult`); `characterSaved` once the save is durable. */
export const LogoutReply = defineStruct("LogoutReply", [
  { since: V1, fields: [["result", u8], ["characterSaved", bool]] },
]);
/** Either way: a refused message or the reason for closing (`code` is a `ProtocolErrorCode`; `opcode` 0 if none). */
export const ProtocolError = defineStruct("ProtocolError", [
  { since: V1, fields: [["code", u16], ["opcode", u16], ["text", maxBytes(str16, MAX_ERROR_TEXT_BYTES)]] },
]);

const QEYNOS_MESSAGES = {
  WorldEnterRequest,
  WorldEnterReply,
  ZoneAssignment,
  ZoneEnterRequest,
  ZoneEnterReply,
  SpawnSelf,
  PlayerEnteredView,
  PlayerLeftView,
  MoveRequest,
  MoveUpdate,
  MoveUpdates,
  ZoneChangeRequest,
  ZoneChangeReply,
  ChatSay,
  ChatShout,
  ChatTell,
  ChannelJoin,
  ChannelLeave,
  ChannelMessage,
  ChatReceived,
  ChatResult,
  ChannelStatus,
  ServerNotification,
  LogoutRequest,
  LogoutReply,
  ProtocolError,
} as const;

/** The Qeynos world/zone profile, version {@linkcode QEYNOS_PROTOCOL_VERSION}. Trailing bytes are refused. */
export const QeynosWorld = defineProfile({
  name: "Qeynos world",
  messages: QEYNOS_MESSAGES,
  opcodes: [
    {
      since: V1,
      until: V1,
      opcodes: {
        WorldEnterRequest: 0x1001,
        WorldEnterReply: 0x1002,
        ZoneAssignment: 0x1003,
        ZoneEnterRequest: 0x1101,
        ZoneEnterReply: 0x1102,
        SpawnSelf: 0x1103,
        PlayerEnteredView: 0x1104,
        PlayerLeftView: 0x1105,
        MoveRequest: 0x1106,
        MoveUpdate: 0x1107,
        ZoneChangeRequest: 0x1108,
        ZoneChangeReply: 0x1109,
        MoveUpdates: 0x110a,
        ChatSay: 0x1201,
        ChatShout: 0x1202,
        ChatTell: 0x1203,
        ChannelJoin: 0x1204,
        ChannelLeave: 0x1205,
        ChannelMessage: 0x1206,
        ChatReceived: 0x1207,
        ChatResult: 0x1208,
        ChannelStatus: 0x1209,
        ServerNotification: 0x1f01,
        LogoutRequest: 0x1f02,
        LogoutReply: 0x1f03,
        ProtocolError: 0x1f04,
      },
    },
  ],
});
