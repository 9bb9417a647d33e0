/**
 * Servertalk opcodes. The names and numbers of the EQ2 emulator's server-to-server opcodes are kept
 * as they are (without their `ServerOP_` prefix), so captures and logs line up with that lineage;
 * Qeynos adds link control opcodes at 0xFF00 and its own role messages at 0x4000.
 * @module
 */

/** Every named servertalk opcode. Opcodes not listed here are still carried and delivered raw. */
export const Opcode = {
  // Core (world ↔ zone).
  KeepAlive: 0x0001,
  ChannelMessage: 0x0002,
  SetZone: 0x0003,
  ShutdownAll: 0x0004,
  ZoneShutdown: 0x0005,
  ZoneBootup: 0x0006,
  ZoneStatus: 0x0007,
  SetConnectInfo: 0x0008,
  EmoteMessage: 0x0009,
  ClientList: 0x000a,
  Who: 0x000b,
  ZonePlayer: 0x000c,
  KickPlayer: 0x000d,
  RefreshGuild: 0x000e,
  GuildKickAll: 0x000f,
  GuildInvite: 0x0010,
  GuildRemove: 0x0011,
  GuildPromote: 0x0012,
  GuildDemote: 0x0013,
  GuildLeader: 0x0014,
  GuildGMSet: 0x0015,
  GuildGMSetRank: 0x0016,
  FlagUpdate: 0x0018,
  GMGoto: 0x0019,
  MultiLineMsg: 0x001a,
  Lock: 0x001b,
  Motd: 0x001c,
  Uptime: 0x001d,
  Petition: 0x001e,
  KillPlayer: 0x001f,
  UpdateGM: 0x0020,
  RezzPlayer: 0x0021,
  ZoneReboot: 0x0022,
  ZoneToZoneRequest: 0x0023,
  AcceptWorldEntrance: 0x0024,
  ZAAuth: 0x0025,
  ZAAuthFailed: 0x0026,
  ZoneIncClient: 0x0027,
  ClientListKA: 0x0028,
  ChangeWID: 0x0029,
  IPLookup: 0x002a,
  LockZone: 0x002b,
  ItemStatus: 0x002c,
  OOCMute: 0x002d,
  Revoke: 0x002e,
  GuildJoin: 0x002f,
  GroupIDReq: 0x0030,
  GroupIDReply: 0x0031,
  GroupLeave: 0x0032,
  RezzPlayerAccept: 0x0033,
  SpawnCondition: 0x0034,
  SpawnEvent: 0x0035,
  WhoAll: 0x0210,

  // Login (world ↔ login).
  LSInfo: 0x1000,
  LSStatus: 0x1001,
  LSClientAuth: 0x1002,
  LSFatalError: 0x1003,
  SystemwideMessage: 0x1005,
  ListWorlds: 0x1006,
  PeerConnect: 0x1007,

  // World.
  EncapPacket: 0x2007,
  WorldListUpdate: 0x2008,
  WorldListRemove: 0x2009,
  TriggerWorldListRefresh: 0x200a,
  SetWorldTime: 0x200b,
  GetWorldTime: 0x200c,
  SyncWorldTime: 0x200e,
  CharTimeStamp: 0x200f,
  NameFilterCheck: 0x2011,
  BasicCharUpdate: 0x2012,
  CharacterCreate: 0x2013,
  NameCharUpdate: 0x2014,
  GetLatestTables: 0x2015,
  GetTableQuery: 0x2016,
  GetTableData: 0x2017,
  RaceUpdate: 0x2018,
  ZoneUpdate: 0x2019,
  BugReport: 0x201a,
  ResetDatabase: 0x201b,
  ZoneUpdates: 0x201c,
  LoginEquipment: 0x201d,
  CharacterPicture: 0x201e,

  // Login zone bookkeeping.
  LSZoneInfo: 0x3001,
  LSZoneStart: 0x3002,
  LSZoneBoot: 0x3003,
  LSZoneShutdown: 0x3004,
  LSZoneSleep: 0x3005,
  LSPlayerLeftWorld: 0x3006,
  LSPlayerJoinWorld: 0x3007,
  LSPlayerZoneChange: 0x3008,

  // Update server.
  UpdateServerVerified: 0x5090,
  UpdateServerDisplayMsg: 0x5091,
  UpdateServerCompleted: 0x5092,

  // User routing (login ↔ world).
  UsertoWorldReq: 0xab00,
  UsertoWorldResp: 0xab01,

  // Qeynos role messages (the emulator runs world and zones in one process and has no equivalent).
  /** Zone asks world for a character's saved state. */
  CharacterLoad: 0x4001,
  /** Zone hands a character's state to world for saving. */
  CharacterSave: 0x4002,
  /** Zone leaves world's registry on purpose (a disconnect also removes it). */
  ZoneUnregister: 0x4003,

  // Link control (Qeynos).
  /** First frame of a link: versions, features, identity and credentials. */
  Hello: 0xff00,
  /** Accepting reply to {@linkcode Opcode.Hello}. */
  Welcome: 0xff01,
  /** Last frame before a link closes: why. */
  Goodbye: 0xff02,
} as const;

/** The name of a known opcode. */
export type OpcodeName = keyof typeof Opcode;

const NAMES = new Map<number, OpcodeName>(
  (Object.entries(Opcode) as Array<[OpcodeName, number]>).map(([name, value]) => [value, name]),
);

/** The name of `opcode`, or `0x1234`-style hex for an opcode without one. */
export function opcodeName(opcode: number): string {
  return NAMES.get(opcode) ?? `0x${opcode.toString(16).padStart(4, "0")}`;
}
