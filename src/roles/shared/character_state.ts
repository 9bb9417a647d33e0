/**
 * The character state a zone holds and hands back: what servertalk's `CharacterSave`,
 * `ZoneToZoneRequest` and the role's `ZoneTransfer` carry in their `state` bytes (UTF-8 JSON).
 * @module
 */
import { RoleError, RoleErrorCode } from "../role_error.ts";

/** A character in play. */
export interface CharacterState {
  /** The hand-off this state belongs to: world refuses a save of an older one. */
  readonly generation: number;
  readonly accountId: number;
  readonly name: string;
  readonly level: number;
  readonly race: number;
  readonly class: number;
  readonly zone: string;
  readonly x: number;
  readonly y: number;
  readonly z: number;
  readonly heading: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function encodeCharacterState(state: CharacterState): Uint8Array {
  return encoder.encode(JSON.stringify(state));
}

function num(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new RoleError(RoleErrorCode.Protocol, `Cannot decode character state: ${field} is not a finite number`);
  }
  return value;
}

/** Decodes and checks a state blob; throws `ROLE_PROTOCOL` for anything malformed. */
export function decodeCharacterState(bytes: Uint8Array): CharacterState {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch (cause) {
    throw new RoleError(RoleErrorCode.Protocol, "Cannot decode character state: not UTF-8 JSON", { cause });
  }
  if (typeof value !== "object" || value === null) {
    throw new RoleError(RoleErrorCode.Protocol, "Cannot decode character state: not an object");
  }
  const v = value as Record<string, unknown>;
  if (typeof v.name !== "string" || typeof v.zone !== "string") {
    throw new RoleError(RoleErrorCode.Protocol, "Cannot decode character state: name or zone is not a string");
  }
  return {
    generation: num(v.generation, "generation") >>> 0,
    accountId: num(v.accountId, "accountId"),
    name: v.name,
    level: num(v.level, "level"),
    race: num(v.race, "race"),
    class: num(v.class, "class"),
    zone: v.zone,
    x: num(v.x, "x"),
    y: num(v.y, "y"),
    z: num(v.z, "z"),
    heading: num(v.heading, "heading"),
  };
}
