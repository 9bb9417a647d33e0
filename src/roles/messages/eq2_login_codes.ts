/**
 * Named values of the EQ2 login messages' response fields (facts from EQ2Emu's login server).
 * @module
 */

/**
 * `LoginReply.loginResponse`. The EQ2 client shows a fixed text per code; any other non-zero value is
 * "Login rejected for an unknown reason".
 */
export const LoginResponse = {
  Accepted: 0,
  /** "Invalid username or password." */
  InvalidCredentials: 1,
  /** "Server thinks your account is currently playing." */
  AccountInUse: 2,
  /** "The client's version does not match the server's." */
  VersionMismatch: 6,
  /** "You have no scheduled playtimes." */
  NoPlaytime: 7,
  /** "Your account does not have the features required to play on this server." */
  AccountLacksFeatures: 8,
  /**
   * EQ2 has no code for a banned account; Qeynos answers a banned account with 8, whose client text
   * ("does not have the features required") refuses without a retry prompt.
   */
  Banned: 8,
  /** "The client's build does not match the server's." */
  BuildMismatch: 11,
  /** "You must update your password in order to log in." */
  PasswordUpdateRequired: 12,
} as const;

/** `PlayCharacterReply.response` (EQ2Emu `PLAY_ERROR_*`). */
export const PlayResponse = {
  Problem: 0,
  Success: 1,
  ZoneDown: 4,
  CharacterNotLoaded: 5,
  CharacterNotFound: 6,
  AccountInUse: 7,
  ServerTimeout: 8,
  ServerShutdown: 9,
  LoadingError: 10,
  ExchangeServer: 11,
  RegionServer: 12,
  ClassInvalid: 13,
  TooManyCharacters: 14,
  EofExpansionNotFound: 15,
  UnknownResponse: 16,
  Unknown: 17,
  AccountBanned: 18,
  Prohibited: 19,
} as const;

/** `CreateCharacterReply.response` (EQ2Emu character-creation replies 0–14). */
export const CreateCharacterResponse = {
  UnknownError: 0,
  Success: 1,
  NoServersAvailable: 2,
  CreatePending: 3,
  MaxCharactersAllowed: 4,
  InvalidRace: 5,
  InvalidCity: 6,
  InvalidClass: 7,
  InvalidGender: 8,
  InvalidFirstLevel: 9,
  BadNameLength: 10,
  NameInvalid: 11,
  NameFiltered: 12,
  NameTaken: 13,
  ServerOverloaded: 14,
} as const;

/** `DeleteCharacterReply.response`. */
export const DeleteCharacterResponse = {
  Refused: 0,
  Deleted: 1,
} as const;

/** `WorldList` entry `tag` (546 and later): whether the world is up. */
export const WorldTag = {
  Down: 0,
  Up: 1,
} as const;
