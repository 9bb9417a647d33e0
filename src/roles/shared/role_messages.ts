/**
 * The servertalk messages the roles add to servertalk's own (LSInfo, LSStatus, UsertoWorldReq,
 * SetConnectInfo, ZoneStatus, ZoneToZoneRequest, CharacterSave, KickPlayer, SystemwideMessage …):
 * character list/create/delete between login and world, zone instance boot, player presence, chat
 * routing and zone transfers between world and zones. Opcodes 0x4100–0x41FF belong to the roles.
 * @module
 */
import { defineMessage, type MessageValue, t } from "../../servertalk/mod.ts";

/** Opcodes of the role messages. */
export const RoleOpcode = {
  CharacterList: 0x4101,
  CharacterCreate: 0x4102,
  CharacterDelete: 0x4103,
  ZoneBoot: 0x4104,
  PlayerPresence: 0x4105,
  ChatRoute: 0x4106,
  ChatDeliver: 0x4107,
  ChannelMembership: 0x4108,
  ZoneTransfer: 0x4109,
} as const;

const name = () => t.string(64);

/** A character as the character-select screen shows it. */
const CharacterSummary = t.struct({
  id: t.u32(),
  worldId: t.u32(),
  name: name(),
  race: t.u8(),
  class: t.u8(),
  gender: t.u8(),
  level: t.u16(),
  zone: name(),
  createdMs: t.f64(),
  updatedMs: t.f64(),
});

/** One character of {@linkcode CharacterListResult}. */
export type CharacterSummary = MessageValue<typeof CharacterListResult>["characters"][number];

/** World's answer to {@linkcode CharacterList}. */
export const CharacterListResult = defineMessage("CharacterListResult", RoleOpcode.CharacterList, {
  characters: t.array(CharacterSummary, 64),
});

/** Login asks world for an account's characters on that world. */
export const CharacterList = defineMessage("CharacterList", RoleOpcode.CharacterList, {
  accountId: t.u32(),
}, { reply: CharacterListResult });

/** World's answer to {@linkcode CharacterCreate}: a `CreateCharacterResponse` code and the character. */
export const CharacterCreateResult = defineMessage("CharacterCreateResult", RoleOpcode.CharacterCreate, {
  result: t.u8(),
  character: t.optional(CharacterSummary),
});

/** Login asks world to create a character for an account. */
export const CharacterCreate = defineMessage("CharacterCreate", RoleOpcode.CharacterCreate, {
  accountId: t.u32(),
  name: name(),
  race: t.u8(),
  class: t.u8(),
  gender: t.u8(),
}, { reply: CharacterCreateResult });

/** World's answer to {@linkcode CharacterDelete}. */
export const CharacterDeleteResult = defineMessage("CharacterDeleteResult", RoleOpcode.CharacterDelete, {
  deleted: t.bool(),
  reason: t.string(256),
});

/** Login asks world to delete one of an account's characters. */
export const CharacterDelete = defineMessage("CharacterDelete", RoleOpcode.CharacterDelete, {
  accountId: t.u32(),
  charId: t.u32(),
}, { reply: CharacterDeleteResult });

/** A zone server's answer to {@linkcode ZoneBoot}. */
export const ZoneBootResult = defineMessage("ZoneBootResult", RoleOpcode.ZoneBoot, {
  accepted: t.bool(),
  reason: t.string(256),
});

/** World asks a zone server to start an instance of a zone (the instance id is world's). */
export const ZoneBoot = defineMessage("ZoneBoot", RoleOpcode.ZoneBoot, {
  zoneName: name(),
  instanceId: t.u32(),
  maxPlayers: t.u32(),
}, { reply: ZoneBootResult });

/** What {@linkcode PlayerPresence} reports. */
export const PresenceEvent = {
  /** The player entered the zone (also re-announced after a zone reconnects to world). */
  Entered: 0,
  /** The player's connection dropped; the link-dead window runs. */
  LinkDead: 1,
  /** The player left the zone for good (logout, link-dead timeout, kick, drain). */
  Left: 2,
  /** The key world handed out was never used. */
  NeverArrived: 3,
} as const;

/** Zone tells world where a player is. `generation` is the hand-off the zone holds the player under. */
export const PlayerPresence = defineMessage("PlayerPresence", RoleOpcode.PlayerPresence, {
  charId: t.u32(),
  accountId: t.u32(),
  name: name(),
  zoneName: name(),
  instanceId: t.u32(),
  generation: t.u32(),
  /** A {@linkcode PresenceEvent}. */
  event: t.u8(),
});

/** World's answer to {@linkcode ChatRoute}: a `ChatResultCode` and how many players it reached. */
export const ChatRouteResult = defineMessage("ChatRouteResult", RoleOpcode.ChatRoute, {
  result: t.u8(),
  recipients: t.u32(),
});

/** Zone hands a tell or channel line to world for routing (`kind` is a `ChatKind`). */
export const ChatRoute = defineMessage("ChatRoute", RoleOpcode.ChatRoute, {
  kind: t.u8(),
  senderId: t.u32(),
  senderName: name(),
  messageId: t.u32(),
  /** The recipient of a tell. */
  to: name(),
  /** The channel of a channel line. */
  channel: name(),
  text: t.string(1024),
}, { reply: ChatRouteResult });

/** World hands a routed line to a zone for the listed characters (each listed once, in one zone). */
export const ChatDeliver = defineMessage("ChatDeliver", RoleOpcode.ChatDeliver, {
  kind: t.u8(),
  senderId: t.u32(),
  senderName: name(),
  messageId: t.u32(),
  channel: name(),
  text: t.string(1024),
  recipients: t.array(t.u32(), 65_536),
});

/** World's answer to {@linkcode ChannelMembership}: a `ChannelResult`. */
export const ChannelMembershipResult = defineMessage("ChannelMembershipResult", RoleOpcode.ChannelMembership, {
  result: t.u8(),
});

/** Zone asks world to add a character to a channel or remove it. */
export const ChannelMembership = defineMessage("ChannelMembership", RoleOpcode.ChannelMembership, {
  charId: t.u32(),
  channel: name(),
  join: t.bool(),
}, { reply: ChannelMembershipResult });

/** World's answer to {@linkcode ZoneTransfer}: a `ZoneChangeResult` and, when granted, where to go. */
export const ZoneTransferResult = defineMessage("ZoneTransferResult", RoleOpcode.ZoneTransfer, {
  result: t.u8(),
  zoneName: name(),
  instanceId: t.u32(),
  address: t.string(250),
  port: t.u16(),
  accessKey: t.u32(),
});

/** Zone asks world to move a player to another zone; `state` is the character as of leaving. */
export const ZoneTransfer = defineMessage("ZoneTransfer", RoleOpcode.ZoneTransfer, {
  charId: t.u32(),
  accountId: t.u32(),
  generation: t.u32(),
  zoneName: name(),
  state: t.bytes(64 * 1024),
}, { reply: ZoneTransferResult });

/** Every role message a peer may send (for mock links and tools). */
export const ROLE_MESSAGES = [
  CharacterList,
  CharacterCreate,
  CharacterDelete,
  ZoneBoot,
  PlayerPresence,
  ChatRoute,
  ChatDeliver,
  ChannelMembership,
  ZoneTransfer,
] as const;
