/**
 * A message profile: a set of declared messages plus, per range of client versions, the app opcode of
 * each. It turns `(opcode, payload)` from EQStream into a tagged message `{ kind, ...fields }` and back.
 *
 * @module
 */
import { AppMessageError } from "./app_message_error.ts";
import { type CodecOptions, decodeStruct, encodeStruct } from "./codec.ts";
import type { AnyStruct, Layout, StructInput, StructValue } from "./schema.ts";

/** The app opcodes of one range of client versions (inclusive). */
export interface OpcodeTable<K extends string = string> {
  readonly since: number;
  readonly until: number;
  readonly opcodes: { readonly [P in K]?: number };
}

/** What {@linkcode defineProfile} takes. */
export interface ProfileSpec<M extends Record<string, AnyStruct>> {
  /** Shown in error messages. */
  readonly name: string;
  /** Message name → struct declaration. No struct may have a top-level field called `kind`. */
  readonly messages: M;
  /** Opcode tables; their version ranges must not overlap. */
  readonly opcodes: readonly OpcodeTable<keyof M & string>[];
  /** Default for {@linkcode CodecOptions.trailingBytes} when decoding this profile; default `"reject"`. */
  readonly trailingBytes?: "reject" | "ignore";
}

type Flatten<T> = { [K in keyof T]: T[K] } & unknown;

/** A decoded message of a profile: `{ kind: name, ...fields }`. */
export type ProfileMessage<M extends Record<string, AnyStruct>> = {
  [K in keyof M & string]: Flatten<{ kind: K } & StructValue<M[K]>>;
}[keyof M & string];

/** A message given to {@linkcode MessageProfile.encode}: `{ kind: name, ...fields }`. */
export type ProfileInput<M extends Record<string, AnyStruct>> = {
  [K in keyof M & string]: Flatten<{ kind: K } & StructInput<M[K]>>;
}[keyof M & string];

/** An encoded message: what EQStream carries. */
export interface EncodedMessage {
  readonly opcode: number;
  readonly payload: Uint8Array;
}

interface CompiledTable {
  readonly since: number;
  readonly until: number;
  readonly byName: ReadonlyMap<string, number>;
  readonly byOpcode: ReadonlyMap<number, string>;
}

/** A set of messages and their opcodes by client version. Build one with {@linkcode defineProfile}. */
export class MessageProfile<M extends Record<string, AnyStruct>> {
  /** The profile's name. */
  readonly name: string;
  /** Message name → struct declaration. */
  readonly messages: M;
  readonly #tables: readonly CompiledTable[];
  readonly #trailingBytes: "reject" | "ignore";

  constructor(spec: ProfileSpec<M>) {
    this.name = spec.name;
    this.messages = spec.messages;
    this.#trailingBytes = spec.trailingBytes ?? "reject";
    this.#tables = compileTables(spec);
  }

  #table(version: number): CompiledTable {
    for (const table of this.#tables) if (table.since <= version && version <= table.until) return table;
    throw new AppMessageError(
      "APP_MESSAGE_UNSUPPORTED_VERSION",
      `Cannot use the ${this.name} profile: no opcode table covers client version ${version}`,
    );
  }

  /** Whether an opcode table covers client `version`. */
  supportsVersion(version: number): boolean {
    return this.#tables.some((table) => table.since <= version && version <= table.until);
  }

  /** The opcode of message `kind` for client `version`; throws `APP_MESSAGE_UNSUPPORTED_VERSION` if it has none. */
  opcodeOf(kind: keyof M & string, version: number): number {
    const opcode = this.#table(version).byName.get(kind);
    if (opcode === undefined) {
      throw new AppMessageError(
        "APP_MESSAGE_UNSUPPORTED_VERSION",
        `Cannot use ${kind} of the ${this.name} profile: it has no opcode for client version ${version}`,
      );
    }
    return opcode;
  }

  /** The message name of `opcode` for client `version`, or undefined. */
  kindOf(opcode: number, version: number): (keyof M & string) | undefined {
    return this.#table(version).byOpcode.get(opcode) as (keyof M & string) | undefined;
  }

  /** Encodes a tagged message for client `version` into its opcode and payload. */
  encode(message: ProfileInput<M>, version: number, options?: CodecOptions): EncodedMessage {
    const kind = (message as unknown as { kind: keyof M & string }).kind;
    const struct = this.messages[kind];
    if (struct === undefined) {
      throw new AppMessageError(
        "APP_MESSAGE_INVALID",
        `Cannot encode: the ${this.name} profile has no message ${kind}`,
      );
    }
    const opcode = this.opcodeOf(kind, version);
    return {
      opcode,
      payload: encodeStruct(struct, message as unknown as StructInput<typeof struct>, version, options),
    };
  }

  /**
   * Decodes `payload` of `opcode` for client `version` into a tagged message. Throws
   * `APP_MESSAGE_UNKNOWN_OPCODE` for an opcode the profile does not know at that version, and the
   * errors of {@linkcode decodeStruct}.
   */
  decode(opcode: number, payload: Uint8Array, version: number, options: CodecOptions = {}): ProfileMessage<M> {
    const kind = this.#table(version).byOpcode.get(opcode);
    if (kind === undefined) {
      throw new AppMessageError(
        "APP_MESSAGE_UNKNOWN_OPCODE",
        `Cannot decode: opcode ${opcode} is no message of the ${this.name} profile for client version ${version}`,
      );
    }
    const value = decodeStruct(this.messages[kind]!, payload, version, {
      ...options,
      trailingBytes: options.trailingBytes ?? this.#trailingBytes,
    });
    return Object.assign({ kind }, value) as ProfileMessage<M>;
  }
}

/** Declares a profile; checks opcode tables and message names (`APP_MESSAGE_BAD_DECLARATION`). */
export function defineProfile<const M extends Record<string, AnyStruct>>(spec: ProfileSpec<M>): MessageProfile<M> {
  return new MessageProfile(spec);
}

function compileTables<M extends Record<string, AnyStruct>>(spec: ProfileSpec<M>): CompiledTable[] {
  const fail = (detail: string): never => {
    throw new AppMessageError("APP_MESSAGE_BAD_DECLARATION", `Cannot declare the ${spec.name} profile: ${detail}`);
  };
  for (const [name, struct] of Object.entries(spec.messages)) {
    for (const layout of struct.layouts as readonly Layout[]) {
      if (layout.fields.some(([field]) => field === "kind")) fail(`message ${name} has a field named kind`);
    }
  }
  const tables = [...spec.opcodes].sort((a, b) => a.since - b.since);
  return tables.map((table, index) => {
    if (!Number.isSafeInteger(table.since) || !Number.isSafeInteger(table.until) || table.since > table.until) {
      fail(`opcode table ${table.since}..${table.until} is not a version range`);
    }
    const before = tables[index - 1];
    if (before !== undefined && before.until >= table.since) {
      fail(`opcode tables ${before.since}..${before.until} and ${table.since}..${table.until} overlap`);
    }
    const byName = new Map<string, number>();
    const byOpcode = new Map<number, string>();
    for (const [name, opcode] of Object.entries(table.opcodes as Record<string, number | undefined>)) {
      if (opcode === undefined) continue;
      if (!(name in spec.messages)) fail(`opcode table ${table.since}..${table.until} names unknown message ${name}`);
      if (!Number.isInteger(opcode) || opcode < 0 || opcode > 0xffff) fail(`opcode ${opcode} of ${name} is not a u16`);
      const other = byOpcode.get(opcode);
      if (other !== undefined) fail(`opcode ${opcode} is used by both ${other} and ${name}`);
      byName.set(name, opcode);
      byOpcode.set(opcode, name);
    }
    return { since: table.since, until: table.until, byName, byOpcode };
  });
}
