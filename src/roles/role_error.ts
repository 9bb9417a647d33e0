/**
 * The typed error of the login, world and zone roles and the bot client.
 * @module
 */

/** Stable codes of {@linkcode RoleError}. */
export const RoleErrorCode = {
  /** An option or configuration value is out of range or of the wrong type. */
  BadOption: "ROLE_BAD_OPTION",
  /** A configuration file cannot be parsed or does not match the format. */
  BadConfig: "ROLE_BAD_CONFIG",
  /** The role is draining or closed and takes nothing new. */
  Draining: "ROLE_DRAINING",
  /** A bounded table (access keys, pending saves, queued deliveries) is full. */
  LimitExceeded: "ROLE_LIMIT_EXCEEDED",
  /** A bot step got no answer in time. */
  Timeout: "ROLE_TIMEOUT",
  /** A bot was refused by a server (the message says which step and why). */
  Refused: "ROLE_REFUSED",
  /** A peer sent something the protocol does not allow at that point. */
  Protocol: "ROLE_PROTOCOL",
} as const;

/** One of the {@linkcode RoleErrorCode} values. */
export type RoleErrorCode = typeof RoleErrorCode[keyof typeof RoleErrorCode];

/** An error of a role or bot, with a stable `code`. */
export class RoleError extends Error {
  readonly code: RoleErrorCode;

  constructor(code: RoleErrorCode, message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.name = "RoleError";
    this.code = code;
  }
}
