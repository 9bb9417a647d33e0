/**
 * The typed messages the login, world and zone roles exchange. Each is declared once; its encoder
 * and decoder come from the declaration (see schema.ts). A request declares its reply type, and
 * `link.request(Type, value)` resolves to a value of that reply type.
 *
 * Field limits are generous for their purpose and are part of the wire contract (`docs/servertalk.md`).
 * @module
 */
import { Opcode } from "./opcodes.ts";
import { defineMessage, type MessageType, type MessageValue, t } from "./schema.ts";

/** Largest character state blob carried by saves, loads and zone transfers: 4 MiB. */
export const MAX_CHARACTER_STATE_BYTES = 4 * 1024 * 1024;

const name = () => t.string(64);
const address = () => t.string(250);

// ---------------------------------------------------------------------------------------------
// World ↔ login.

/** Answer to {@linkcode LSInfo}: the id login gives the world for this registration. */
export const LSInfoResult = defineMessage("LSInfoResult", Opcode.LSInfo, {
  worldId: t.u32(),
  /** Login's display name for the world (normally the name it registered). */
  name: name(),
});

/** World registers with login (after the link's hello authenticated it). */
export const LSInfo = defineMessage("LSInfo", Opcode.LSInfo, {
  /** Display name; login keys its world list by the hello's server name. */
  name: t.string(201),
  /** Address players connect to. */
  address: address(),
  /** EQStream port players connect to. */
  port: t.u16(),
  protocolVersion: t.string(25),
  serverVersion: t.string(64),
  /** 0 world, 1 chat, 2 login, 3 mesh login, 4 world debug (the emulator's numbering). */
  serverType: t.u8(),
  dbVersion: t.u32(),
}, { reply: LSInfoResult });

/** Values of {@linkcode LSStatus}'s `status` and {@linkcode ZoneStatus}'s `state` (the Diarkis server states). */
export const ServerState = {
  /** Shutting down or not accepting anything. */
  Offline: 0,
  /** Accepting players. */
  Online: 1,
  /** Full: no new players, existing ones stay. */
  Taken: 2,
  /** Locked by an operator: only privileged players. */
  Locked: 3,
} as const;

/** World reports its status to login (every 15 s, and on change). */
export const LSStatus = defineMessage("LSStatus", Opcode.LSStatus, {
  /** A {@linkcode ServerState}. */
  status: t.i32(),
  numPlayers: t.i32(),
  numZones: t.i32(),
  worldMaxLevel: t.u8(),
});

/** World leaves login's list on purpose (a disconnect removes it too). */
export const WorldListRemove = defineMessage("WorldListRemove", Opcode.WorldListRemove, {
  reason: t.string(256),
});

/** Results of {@linkcode UsertoWorldReq} (`UsertoWorldResp.response`). */
export const UserToWorldResult = {
  Allowed: 1,
  Denied: 0,
  Suspended: -1,
  Banned: -2,
  WorldFull: -3,
  NoSuchCharacter: -4,
} as const;

/** World's answer to {@linkcode UsertoWorldReq}: where to connect, with the one-time access key. */
export const UsertoWorldResp = defineMessage("UsertoWorldResp", Opcode.UsertoWorldResp, {
  lsAccountId: t.u32(),
  charId: t.u32(),
  worldId: t.u32(),
  /** One-time key the player presents to the world/zone; 0 when refused. */
  accessKey: t.u32(),
  /** A {@linkcode UserToWorldResult}. */
  response: t.i8(),
  ipAddress: t.string(80),
  port: t.u16(),
  fromId: t.u32(),
  toId: t.u32(),
});

/** Login asks world to admit a player's character. */
export const UsertoWorldReq = defineMessage("UsertoWorldReq", Opcode.UsertoWorldReq, {
  lsAccountId: t.u32(),
  charId: t.u32(),
  worldId: t.u32(),
  fromId: t.u32(),
  toId: t.u32(),
  ipAddress: t.string(64),
}, { reply: UsertoWorldResp });

/** What changed in {@linkcode BasicCharUpdate} (bit flags of `updateField`). */
export const CharUpdateField = {
  Level: 1,
  Race: 2,
  Class: 4,
  Gender: 8,
  Zone: 16,
  Armor: 32,
  Name: 64,
  Delete: 128,
} as const;

/** World tells login about a character change for the character select screen. */
export const BasicCharUpdate = defineMessage("BasicCharUpdate", Opcode.BasicCharUpdate, {
  accountId: t.u32(),
  charId: t.u32(),
  /** {@linkcode CharUpdateField} bits. */
  updateField: t.u8(),
  updateData: t.u32(),
});

/** World tells login a player entered the world. */
export const LSPlayerJoinWorld = defineMessage("LSPlayerJoinWorld", Opcode.LSPlayerJoinWorld, {
  accountId: t.u32(),
  charId: t.u32(),
  name: name(),
});

/** World tells login a player left the world. */
export const LSPlayerLeftWorld = defineMessage("LSPlayerLeftWorld", Opcode.LSPlayerLeftWorld, {
  accountId: t.u32(),
  charId: t.u32(),
  name: name(),
});

// ---------------------------------------------------------------------------------------------
// Zone ↔ world.

/** One zone (or instance) a zone server hosts. */
const HostedZone = t.struct({ zoneId: t.u32(), instanceId: t.u32(), name: name(), numPlayers: t.u32() });

/** World's answer to {@linkcode SetConnectInfo}. */
export const SetConnectInfoResult = defineMessage("SetConnectInfoResult", Opcode.SetConnectInfo, {
  /** World's id for this zone server registration. */
  zoneServerId: t.u32(),
});

/** A zone server registers with world: where players reach it and what it hosts. */
export const SetConnectInfo = defineMessage("SetConnectInfo", Opcode.SetConnectInfo, {
  address: address(),
  port: t.u16(),
  maxPlayers: t.u32(),
  zones: t.array(HostedZone, 1024),
}, { reply: SetConnectInfoResult });

/** A zone server's periodic status. */
export const ZoneStatus = defineMessage("ZoneStatus", Opcode.ZoneStatus, {
  /** A {@linkcode ServerState}. */
  state: t.u8(),
  numPlayers: t.u32(),
  /** 0 idle … 65535 overloaded. */
  load: t.u16(),
  zones: t.array(HostedZone, 1024),
});

/** A zone server leaves world's registry on purpose (a disconnect removes it too). */
export const ZoneUnregister = defineMessage("ZoneUnregister", Opcode.ZoneUnregister, {
  reason: t.string(256),
});

/** World's answer to {@linkcode CharacterLoad}. */
export const CharacterLoadResult = defineMessage("CharacterLoadResult", Opcode.CharacterLoad, {
  charId: t.u32(),
  found: t.bool(),
  /** Save generation: a save must name the version it replaces. */
  version: t.u32(),
  state: t.bytes(MAX_CHARACTER_STATE_BYTES),
});

/** Zone asks world for a character's saved state. */
export const CharacterLoad = defineMessage("CharacterLoad", Opcode.CharacterLoad, {
  charId: t.u32(),
  accountId: t.u32(),
}, { reply: CharacterLoadResult });

/** World's answer to {@linkcode CharacterSave}. */
export const CharacterSaveResult = defineMessage("CharacterSaveResult", Opcode.CharacterSave, {
  charId: t.u32(),
  /** The version now stored. */
  version: t.u32(),
  /** False when `baseVersion` was stale (another save won): reload before saving again. */
  saved: t.bool(),
});

/** Zone hands a character's state to world for saving. */
export const CharacterSave = defineMessage("CharacterSave", Opcode.CharacterSave, {
  charId: t.u32(),
  accountId: t.u32(),
  /** The version this state was loaded at (optimistic concurrency). */
  baseVersion: t.u32(),
  state: t.bytes(MAX_CHARACTER_STATE_BYTES),
}, { reply: CharacterSaveResult });

/** A place in the world. */
const Location = t.struct({
  zoneId: t.u32(),
  instanceId: t.u32(),
  x: t.f32(),
  y: t.f32(),
  z: t.f32(),
  heading: t.f32(),
});

/** World's answer to {@linkcode ZonePlayer}: where the client goes next. */
export const ZonePlayerResult = defineMessage("ZonePlayerResult", Opcode.ZonePlayer, {
  charId: t.u32(),
  accepted: t.bool(),
  /** Why not, when refused. */
  reason: t.string(256),
  address: address(),
  port: t.u16(),
  /** One-time key the client presents to the new zone. */
  accessKey: t.u32(),
});

/** A zone asks world to move a player to another zone (zoning, #zone, #summon). */
export const ZonePlayer = defineMessage("ZonePlayer", Opcode.ZonePlayer, {
  charId: t.u32(),
  accountId: t.u32(),
  name: name(),
  from: Location,
  to: Location,
  /** The character's state as of leaving, so the new zone needs no database round trip. */
  state: t.bytes(MAX_CHARACTER_STATE_BYTES),
}, { reply: ZonePlayerResult });

/** The receiving zone's answer to {@linkcode ZoneToZoneRequest}. */
export const ZoneToZoneResult = defineMessage("ZoneToZoneResult", Opcode.ZoneToZoneRequest, {
  charId: t.u32(),
  accepted: t.bool(),
  reason: t.string(256),
});

/** World hands a player to the zone that will host them; that zone answers whether it accepts. */
export const ZoneToZoneRequest = defineMessage("ZoneToZoneRequest", Opcode.ZoneToZoneRequest, {
  charId: t.u32(),
  accountId: t.u32(),
  name: name(),
  to: Location,
  accessKey: t.u32(),
  state: t.bytes(MAX_CHARACTER_STATE_BYTES),
}, { reply: ZoneToZoneResult });

// ---------------------------------------------------------------------------------------------
// Chat and notices.

/** Kinds of {@linkcode ChannelMessage}. */
export const ChatType = {
  Say: 0,
  Tell: 1,
  Group: 2,
  Guild: 3,
  Raid: 4,
  Ooc: 5,
  Shout: 6,
  Auction: 7,
  /** A named custom channel (`channel` says which). */
  Channel: 8,
  /** Server-wide announcement. */
  Broadcast: 9,
} as const;

/** Chat routed between zones through world: channels, guild, group, and tells (`to` set). */
export const ChannelMessage = defineMessage("ChannelMessage", Opcode.ChannelMessage, {
  /** A {@linkcode ChatType}. */
  chatType: t.u8(),
  from: name(),
  /** The recipient of a tell; empty otherwise. */
  to: name(),
  /** The custom channel's name for {@linkcode ChatType.Channel}; empty otherwise. */
  channel: name(),
  /** Guild or group id for guild and group chat; 0 otherwise. */
  targetId: t.u32(),
  language: t.u8(),
  text: t.string(1024),
});

/** A system line shown to one character (e.g. "X is not online" after a failed tell). */
export const EmoteMessage = defineMessage("EmoteMessage", Opcode.EmoteMessage, {
  to: name(),
  guildId: t.u32(),
  minStatus: t.i16(),
  type: t.u32(),
  message: t.string(1024),
});

/**
 * A server-wide notice with a lifetime: servers that connect while it is still alive receive it
 * too (see `ServertalkServer.notify`). A later notice with the same `id` replaces it.
 */
export const SystemwideMessage = defineMessage("SystemwideMessage", Opcode.SystemwideMessage, {
  id: t.string(64),
  /** Free for the roles: 0 plain text, others role-defined. */
  type: t.u32(),
  text: t.string(1024),
  /** When it was issued (wall clock, ms since the epoch). */
  issuedAtMs: t.f64(),
  /** How long it stays alive from `issuedAtMs`. */
  ttlMs: t.u32(),
});

/** Message of the day, pushed by world to its zones. */
export const Motd = defineMessage("Motd", Opcode.Motd, {
  text: t.string(4096),
});

/** Disconnect a player wherever they are. */
export const KickPlayer = defineMessage("KickPlayer", Opcode.KickPlayer, {
  charId: t.u32(),
  name: name(),
  reason: t.string(256),
});

/** Every message that arrives as a request or a one-way message (reply-only types excluded). */
export const MESSAGES: readonly MessageType<unknown, unknown>[] = [
  LSInfo,
  LSStatus,
  WorldListRemove,
  UsertoWorldReq,
  BasicCharUpdate,
  LSPlayerJoinWorld,
  LSPlayerLeftWorld,
  SetConnectInfo,
  ZoneStatus,
  ZoneUnregister,
  CharacterLoad,
  CharacterSave,
  ZonePlayer,
  ZoneToZoneRequest,
  ChannelMessage,
  EmoteMessage,
  SystemwideMessage,
  Motd,
  KickPlayer,
];

/** Every reply type (each belongs to one request type above). */
export const REPLIES: readonly MessageType<unknown, unknown>[] = MESSAGES.flatMap((m) =>
  m.reply === undefined ? [] : [m.reply]
);

export type LSInfoMessage = MessageValue<typeof LSInfo>;
export type LSStatusMessage = MessageValue<typeof LSStatus>;
export type UsertoWorldRequest = MessageValue<typeof UsertoWorldReq>;
export type UsertoWorldResponse = MessageValue<typeof UsertoWorldResp>;
export type SetConnectInfoMessage = MessageValue<typeof SetConnectInfo>;
export type ZoneStatusMessage = MessageValue<typeof ZoneStatus>;
export type ChannelMessageValue = MessageValue<typeof ChannelMessage>;
export type SystemwideMessageValue = MessageValue<typeof SystemwideMessage>;
export type ZonePlayerMessage = MessageValue<typeof ZonePlayer>;
export type ZoneToZoneMessage = MessageValue<typeof ZoneToZoneRequest>;
export type CharacterSaveMessage = MessageValue<typeof CharacterSave>;
