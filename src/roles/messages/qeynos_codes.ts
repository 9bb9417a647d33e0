/**
 * Named values of the Qeynos world/zone protocol's result and reason fields.
 * @module
 */

/** `WorldEnterReply.result` and `ZoneEnterReply.result`. */
export const EnterResult = {
  Accepted: 0,
  /** The key is unknown, already used, or issued for another account or character. */
  BadKey: 1,
  /** The key was valid but its time ran out. */
  KeyExpired: 2,
  /** The server is at capacity. */
  Full: 3,
  /** The server is shutting down and takes no new players. */
  Draining: 4,
  /** The character is already in the world or zone on another connection. */
  AlreadyConnected: 5,
} as const;

/** `ZoneChangeReply.result`. Only `Granted` carries an address, port and key. */
export const ZoneChangeResult = {
  Granted: 0,
  UnknownZone: 1,
  NotAllowed: 2,
  ZoneUnavailable: 3,
  AlreadyThere: 4,
} as const;

/** `PlayerLeftView.reason`. */
export const LeaveReason = {
  OutOfRange: 0,
  LoggedOut: 1,
  ZonedOut: 2,
  LinkDead: 3,
} as const;

/** `ChatReceived.channelKind`: how a line was sent. */
export const ChatKind = {
  Say: 0,
  Shout: 1,
  Tell: 2,
  Channel: 3,
  System: 4,
} as const;

/** `ChatResult.result`: the fate of a say, shout, tell or channel message. */
export const ChatResultCode = {
  Delivered: 0,
  NoSuchPlayer: 1,
  NotInChannel: 2,
  RateLimited: 3,
  Muted: 4,
} as const;

/** `ChannelStatus.result`: the fate of a join or leave. */
export const ChannelResult = {
  Joined: 0,
  Left: 1,
  NotMember: 2,
  TooManyChannels: 3,
  BadName: 4,
} as const;

/** `LogoutReply.result`. */
export const LogoutResult = {
  Done: 0,
  NotLoggedIn: 1,
} as const;

/** `ProtocolError.code`: why a server refused a message or closes the connection. */
export const ProtocolErrorCode = {
  Malformed: 1,
  TooLarge: 2,
  UnknownOpcode: 3,
  UnsupportedVersion: 4,
  NotAuthenticated: 5,
  RateLimited: 6,
  ShuttingDown: 7,
  Internal: 8,
  /** The server removed the player (logged in elsewhere, or an operator's kick); the text says why. */
  Kicked: 9,
} as const;
