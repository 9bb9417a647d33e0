/**
 * EQ2 application opcodes differ between client versions (the emulators load them from a table per
 * version). A profile maps the names the roles use to the numbers one client version speaks.
 * @module
 */
import { EqStreamError, EqStreamErrorCode } from "./errors.ts";

/** Names of the application opcodes the EQStream layer and the login flow need. */
export const AppOpcodeName = {
  LoginRequest: "LoginRequest",
  LoginReply: "LoginReply",
  AllWorldsRequest: "AllWorldsRequest",
  WorldList: "WorldList",
  CharactersRequest: "CharactersRequest",
  CharactersReply: "CharactersReply",
  KeyRequest: "KeyRequest",
} as const;

/** An application opcode table for one or more client versions. */
export interface AppOpcodeProfile {
  /** A short name for logs and options. */
  readonly name: string;
  /** Client versions that speak this table (as reported in their login request). */
  readonly clientVersions: readonly number[];
  /** The opcode of a name; throws `EQSTREAM_BAD_OPTION` for a name the profile lacks. */
  opcode(name: string): number;
  /** The name of an opcode, or `undefined`. */
  nameOf(opcode: number): string | undefined;
  /** Every name → opcode pair. */
  readonly opcodes: Readonly<Record<string, number>>;
}

/** Builds a profile from a name → opcode table. Opcodes must be 0…65535 and distinct. */
export function createOpcodeProfile(
  name: string,
  options: { readonly clientVersions?: readonly number[]; readonly opcodes: Readonly<Record<string, number>> },
): AppOpcodeProfile {
  const byOpcode = new Map<number, string>();
  for (const [key, value] of Object.entries(options.opcodes)) {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
      throw new EqStreamError(
        EqStreamErrorCode.BadOption,
        `Cannot build opcode profile ${name}: opcode ${value} of ${key} is not an integer in 0..65535`,
      );
    }
    if (byOpcode.has(value)) {
      throw new EqStreamError(
        EqStreamErrorCode.BadOption,
        `Cannot build opcode profile ${name}: opcode ${value} is used by both ${byOpcode.get(value)} and ${key}`,
      );
    }
    byOpcode.set(value, key);
  }
  const opcodes = Object.freeze({ ...options.opcodes });
  return Object.freeze({
    name,
    clientVersions: Object.freeze([...(options.clientVersions ?? [])]),
    opcodes,
    opcode(key: string): number {
      const value = opcodes[key];
      if (value === undefined) {
        throw new EqStreamError(EqStreamErrorCode.BadOption, `Cannot find opcode: profile ${name} has no ${key}`);
      }
      return value;
    },
    nameOf(opcode: number): string | undefined {
      return byOpcode.get(opcode);
    },
  });
}

/**
 * The opcodes of the client version in the real login capture (test/vectors/eq2_login_capture.txt).
 * Its login request ends with the u16 0x0222 (546), which is listed as the client version.
 */
export const EQ2_CAPTURE_PROFILE: AppOpcodeProfile = createOpcodeProfile("eq2-capture", {
  clientVersions: [546],
  opcodes: {
    [AppOpcodeName.LoginRequest]: 0,
    [AppOpcodeName.KeyRequest]: 2,
    [AppOpcodeName.LoginReply]: 4,
    [AppOpcodeName.AllWorldsRequest]: 7,
    [AppOpcodeName.WorldList]: 8,
    [AppOpcodeName.CharactersRequest]: 9,
    [AppOpcodeName.CharactersReply]: 10,
  },
});

/** The first profile in `profiles` that lists `clientVersion`, or `undefined`. */
export function findOpcodeProfile(
  profiles: readonly AppOpcodeProfile[],
  clientVersion: number,
): AppOpcodeProfile | undefined {
  return profiles.find((profile) => profile.clientVersions.includes(clientVersion));
}
