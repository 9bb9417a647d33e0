/**
 * The codec derived from declarations: `encodeStruct` and `decodeStruct` read and write any struct
 * declared with `defineStruct`, choosing its layout by client version.
 *
 * Decoding is bounded: the payload must fit `maxBytes`, each list must fit `maxListLength`, and a list
 * count is checked against the bytes left before any element is read (every list element takes at
 * least one byte, which `defineStruct` enforces), so work and memory grow at most linearly with the
 * input. Hostile bytes give an {@linkcode AppMessageError}, never another exception.
 *
 * @module
 */
import { ByteReader } from "../../wire/byte_reader.ts";
import { ByteArena } from "../../wire/byte_arena.ts";
import { ByteWriter } from "../../wire/byte_writer.ts";
import { WireError, WireErrorCode } from "../../wire/wire_error.ts";
import { AppMessageError, type AppMessageErrorCode } from "./app_message_error.ts";
import { minBytesOf, planOf } from "./_plan.ts";
import {
  type AnyStruct,
  type Color,
  type ElementType,
  type Fields,
  type FieldType,
  selectLayout,
  type StructInput,
  type StructValue,
  type ValueType,
} from "./schema.ts";

/** Default largest payload, in bytes, that is decoded or encoded: 64 KiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;
/** Default largest number of elements in one counted list: 1024. */
export const DEFAULT_MAX_LIST_LENGTH = 1024;

/** Limits and strictness of {@linkcode encodeStruct} and {@linkcode decodeStruct}. */
export interface CodecOptions {
  /** Largest payload in bytes; default {@linkcode DEFAULT_MAX_MESSAGE_BYTES}. Larger gives `APP_MESSAGE_TOO_LARGE`. */
  readonly maxBytes?: number;
  /** Largest counted list; default {@linkcode DEFAULT_MAX_LIST_LENGTH}. Longer gives `APP_MESSAGE_TOO_LARGE`. */
  readonly maxListLength?: number;
  /**
   * What decoding does with bytes after the last field: `"reject"` (default) gives `APP_MESSAGE_MALFORMED`,
   * `"ignore"` drops them (EQ2Emu reads only what its struct declares).
   */
  readonly trailingBytes?: "reject" | "ignore";
}

interface Context {
  readonly version: number;
  readonly maxListLength: number;
  /** The field path, for error messages. */
  readonly path: (string | number)[];
}

const utf8 = new TextEncoder();
const INT_RANGE = {
  u8: [0, 0xff],
  u16: [0, 0xffff],
  u32: [0, 0xffff_ffff],
  i8: [-0x80, 0x7f],
  i16: [-0x8000, 0x7fff],
  i32: [-0x8000_0000, 0x7fff_ffff],
} as const;
const BIG_RANGE = {
  u64: [0n, 0xffff_ffff_ffff_ffffn],
  i64: [-0x8000_0000_0000_0000n, 0x7fff_ffff_ffff_ffffn],
} as const;
const PREFIX_LIMIT = { str8: 0xff, str16: 0xffff, str32: 0xffff_ffff } as const;

function pathText(path: readonly (string | number)[]): string {
  let text = "";
  for (const part of path) text += typeof part === "number" ? `[${part}]` : text === "" ? part : `.${part}`;
  return text === "" ? "the struct" : `field ${text}`;
}

// ---- Decoding --------------------------------------------------------------------------------------

/**
 * Decodes `bytes` as the layout of `def` for client `version`. Throws {@linkcode AppMessageError}:
 * `APP_MESSAGE_MALFORMED`, `APP_MESSAGE_TOO_LARGE` or `APP_MESSAGE_UNSUPPORTED_VERSION`.
 * Decoded byte fields are copies, so the input buffer may be reused.
 */
export function decodeStruct<D extends AnyStruct>(
  def: D,
  bytes: Uint8Array,
  version: number,
  options: CodecOptions = {},
): StructValue<D> {
  const what = `Cannot decode ${def.name} for client version ${version}`;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (bytes.length > maxBytes) {
    throw new AppMessageError(
      "APP_MESSAGE_TOO_LARGE",
      `${what}: payload of ${bytes.length} bytes exceeds limit ${maxBytes}`,
    );
  }
  const layout = selectLayout(def, version);
  const reader = new ByteReader(bytes);
  const ctx: Context = { version, maxListLength: options.maxListLength ?? DEFAULT_MAX_LIST_LENGTH, path: [] };
  let value: Record<string, unknown>;
  try {
    value = readFields(reader, layout.fields, ctx);
  } catch (error) {
    throw asAppError(error, what, ctx.path);
  }
  if (!reader.done && options.trailingBytes !== "ignore") {
    throw new AppMessageError(
      "APP_MESSAGE_MALFORMED",
      `${what}: ${reader.remaining} trailing bytes after the last field at offset ${reader.offset}`,
    );
  }
  return value as StructValue<D>;
}

/** A failure inside the field walk, before the path is known. */
class FieldError extends Error {
  constructor(readonly code: AppMessageErrorCode, message: string) {
    super(message);
  }
}

function asAppError(error: unknown, what: string, path: readonly (string | number)[]): AppMessageError {
  const where = pathText(path);
  if (error instanceof FieldError) return new AppMessageError(error.code, `${what}: ${where} ${error.message}`);
  if (error instanceof AppMessageError) return error;
  if (error instanceof WireError) {
    const code = error.code === WireErrorCode.FieldTooLong || error.code === WireErrorCode.WriteLimit
      ? "APP_MESSAGE_TOO_LARGE"
      : "APP_MESSAGE_MALFORMED";
    const detail = error.message.replace(/^Cannot (read|write) [^:]*: /, "");
    return new AppMessageError(code, `${what}: ${where}: ${detail}`, { cause: error });
  }
  // Only a bug reaches here; keep it typed so callers still see one error class.
  const detail = error instanceof Error ? error.message : String(error);
  return new AppMessageError("APP_MESSAGE_MALFORMED", `${what}: ${where}: ${detail}`, { cause: error });
}

function readFields(reader: ByteReader, fields: Fields, ctx: Context): Record<string, unknown> {
  const plan = planOf(fields);
  const list = plan.fields;
  const out: Record<string, unknown> = {};
  // Only records where one field decides another's presence or length keep the numbers read.
  const scalars: Record<string, number> | undefined = plan.dependents ? {} : undefined;
  let i = 0;
  try {
    for (; i < list.length; i++) {
      const { name, type, guard } = list[i]!;
      if (guard !== undefined && !guardHolds(scalars![guard.if] ?? 0, guard.equals)) continue;
      if (type.kind === "count") {
        scalars![name] = readWidth(reader, type.width);
      } else if (type.kind === "list") {
        out[name] = readList(reader, type.of, scalars![type.count]!, ctx);
      } else {
        const value = readValue(reader, type, ctx);
        out[name] = value;
        if (scalars === undefined) continue;
        if (typeof value === "number") scalars[name] = value;
        else if (typeof value === "boolean") scalars[name] = value ? 1 : 0;
      }
    }
  } catch (error) {
    // The path is built as the error unwinds, so the loop does no bookkeeping when nothing fails.
    ctx.path.unshift(list[i]!.name);
    throw error;
  }
  return out;
}

function guardHolds(value: number, equals: number | undefined): boolean {
  return equals === undefined ? value !== 0 : value === equals;
}

function readWidth(reader: ByteReader, width: "u8" | "u16" | "u32"): number {
  return width === "u8" ? reader.u8() : width === "u16" ? reader.u16le() : reader.u32le();
}

function readList(reader: ByteReader, of: ElementType, count: number, ctx: Context): unknown[] {
  if (count > ctx.maxListLength) {
    throw new FieldError("APP_MESSAGE_TOO_LARGE", `has ${count} elements, more than the limit ${ctx.maxListLength}`);
  }
  const least = minBytesOf(of);
  if (count * least > reader.remaining) {
    throw new FieldError(
      "APP_MESSAGE_MALFORMED",
      `claims ${count} elements of at least ${least} bytes at offset ${reader.offset}, but ${reader.remaining} bytes remain`,
    );
  }
  return readElements(reader, of, count, ctx);
}

function readElements(reader: ByteReader, of: ElementType, count: number, ctx: Context): unknown[] {
  const items: unknown[] = new Array(count);
  let i = 0;
  try {
    for (; i < count; i++) items[i] = readValue(reader, of, ctx);
  } catch (error) {
    ctx.path.unshift(i);
    throw error;
  }
  return items;
}

function readValue(reader: ByteReader, type: ValueType, ctx: Context): unknown {
  switch (type.kind) {
    case "u8":
      return reader.u8();
    case "u16":
      return reader.u16le();
    case "u32":
      return reader.u32le();
    case "i8":
      return reader.i8();
    case "i16":
      return reader.i16le();
    case "i32":
      return reader.i32le();
    case "u64":
      return reader.u64le();
    case "i64":
      return reader.i64le();
    case "f32":
    case "f64": {
      const at = reader.offset;
      const value = type.kind === "f32" ? reader.f32le() : reader.f64le();
      if (type.finite === true && !Number.isFinite(value)) {
        throw new FieldError("APP_MESSAGE_MALFORMED", `is ${value} at offset ${at}, not a finite number`);
      }
      return value;
    }
    case "bool": {
      const at = reader.offset;
      const byte = reader.u8();
      if (byte > 1) throw new FieldError("APP_MESSAGE_MALFORMED", `is ${byte} at offset ${at}, not 0 or 1`);
      return byte === 1;
    }
    case "str8":
      return reader.str8(type.maxBytes ?? PREFIX_LIMIT.str8);
    case "str16":
      return reader.str16(type.maxBytes ?? PREFIX_LIMIT.str16);
    case "str32":
      return reader.str32(type.maxBytes ?? PREFIX_LIMIT.str32);
    case "bytes":
      return reader.bytes(type.length).slice();
    case "color":
      return { r: reader.u8(), g: reader.u8(), b: reader.u8() } satisfies Color;
    case "fixed":
      return readElements(reader, type.of, type.length, ctx);
    case "list":
      // Lists are read by readFields, which knows their count; a declaration check keeps them out of here.
      throw new FieldError("APP_MESSAGE_MALFORMED", "is a list outside a record");
    case "record":
      return readFields(reader, type.fields, ctx);
    case "nested":
      return readFields(reader, selectLayout(type.struct, ctx.version).fields, ctx);
  }
}

// ---- Encoding --------------------------------------------------------------------------------------

/**
 * Encodes `value` with the layout of `def` for client `version`. Fields of other layouts are ignored.
 * A left-out field is written as zero if `def` has zero defaults, and is refused otherwise. Throws
 * {@linkcode AppMessageError}: `APP_MESSAGE_INVALID`, `APP_MESSAGE_TOO_LARGE` or
 * `APP_MESSAGE_UNSUPPORTED_VERSION`.
 */
export function encodeStruct<D extends AnyStruct>(
  def: D,
  value: StructInput<D>,
  version: number,
  options: CodecOptions = {},
): Uint8Array {
  const what = `Cannot encode ${def.name} for client version ${version}`;
  const layout = selectLayout(def, version);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  // One scratch writer serves every call with the default limit; a nested call (a getter that encodes)
  // finds it busy and gets its own.
  const shared = maxBytes === DEFAULT_MAX_MESSAGE_BYTES && !scratchBusy;
  const writer = shared
    ? (scratch ??= new ByteWriter({ capacity: 1024, maxBytes: DEFAULT_MAX_MESSAGE_BYTES })).reset()
    : new ByteWriter({ capacity: 128, maxBytes });
  if (shared) scratchBusy = true;
  const ctx: Context = { version, maxListLength: options.maxListLength ?? DEFAULT_MAX_LIST_LENGTH, path: [] };
  try {
    writeFields(writer, layout.fields, value, def.zeroDefaults, ctx);
    return shared ? encoded.copy(writer.finish()) : writer.toBytes();
  } catch (error) {
    if (error instanceof WireError && error.code === WireErrorCode.WriteLimit) {
      throw new AppMessageError("APP_MESSAGE_TOO_LARGE", `${what}: the encoding exceeds limit ${maxBytes} bytes`, {
        cause: error,
      });
    }
    throw asAppError(error, what, ctx.path);
  } finally {
    if (shared) scratchBusy = false;
  }
}

let scratch: ByteWriter | undefined;
let scratchBusy = false;
/** Small encodings are carved from shared chunks: one allocation per chunk, not per message. */
const encoded = new ByteArena();

function invalid(message: string): FieldError {
  return new FieldError("APP_MESSAGE_INVALID", message);
}

function asRecord(value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw invalid("is not an object");
  }
  return value as Record<string, unknown>;
}

function writeFields(writer: ByteWriter, fields: Fields, input: unknown, zero: boolean, ctx: Context): void {
  const value = asRecord(input);
  const plan = planOf(fields);
  const list = plan.fields;
  const scalars: Record<string, number> | undefined = plan.dependents ? {} : undefined;
  let i = 0;
  try {
    for (; i < list.length; i++) {
      const field = list[i]!;
      const { name, type, guard } = field;
      if (guard !== undefined && !guardHolds(scalars![guard.if] ?? 0, guard.equals)) {
        if (type.kind !== "count" && value[name] !== undefined) {
          throw invalid(`is given, but ${guard.if} is ${scalars![guard.if] ?? 0} so the layout leaves it out`);
        }
        continue;
      }
      if (type.kind === "count") {
        const count = countOf(value, field.lists, zero);
        const limit = INT_RANGE[type.width][1];
        if (count > limit) throw invalid(`would be ${count}, more than a ${type.width} can hold`);
        if (count > ctx.maxListLength) {
          throw new FieldError("APP_MESSAGE_TOO_LARGE", `would be ${count}, more than the limit ${ctx.maxListLength}`);
        }
        writeWidth(writer, type.width, count);
        scalars![name] = count;
        continue;
      }
      let item = value[name];
      if (item === undefined) {
        if (!zero) throw invalid("is missing");
        item = type.kind === "list" ? [] : undefined;
      }
      if (type.kind === "list") {
        writeElements(writer, type.of, item, undefined, zero, ctx);
        continue;
      }
      writeValue(writer, type, item, zero, ctx);
      if (scalars === undefined) continue;
      if (typeof item === "number") scalars[name] = item;
      else if (typeof item === "boolean") scalars[name] = item ? 1 : 0;
      else if (item === undefined) scalars[name] = 0;
    }
  } catch (error) {
    ctx.path.unshift(list[i]!.name);
    throw error;
  }
}

function countOf(value: Record<string, unknown>, lists: readonly string[], zero: boolean): number {
  let count: number | undefined;
  for (const name of lists) {
    const items = value[name];
    if (items === undefined && zero) continue;
    if (!Array.isArray(items)) {
      throw invalid(`sizes ${name}, which is ${items === undefined ? "missing" : "not a list"}`);
    }
    if (count !== undefined && count !== items.length) {
      throw invalid(`sizes lists of different lengths (${count} and ${items.length})`);
    }
    count = items.length;
  }
  return count ?? 0;
}

function writeWidth(writer: ByteWriter, width: "u8" | "u16" | "u32", value: number): void {
  if (width === "u8") writer.u8(value);
  else if (width === "u16") writer.u16le(value);
  else writer.u32le(value);
}

function writeElements(
  writer: ByteWriter,
  of: ElementType,
  items: unknown,
  length: number | undefined,
  zero: boolean,
  ctx: Context,
): void {
  if (items === undefined && zero && length !== undefined) {
    for (let i = 0; i < length; i++) writeValue(writer, of, undefined, zero, ctx);
    return;
  }
  if (!Array.isArray(items)) throw invalid("is not a list");
  if (length !== undefined && items.length !== length) {
    throw invalid(`has ${items.length} elements, the layout declares ${length}`);
  }
  let i = 0;
  try {
    for (; i < items.length; i++) writeValue(writer, of, items[i], zero, ctx);
  } catch (error) {
    ctx.path.unshift(i);
    throw error;
  }
}

function integer(value: unknown, kind: keyof typeof INT_RANGE, zero: boolean): number {
  if (value === undefined && zero) return 0;
  const [min, max] = INT_RANGE[kind];
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`is ${describe(value)}, not an integer in ${min}..${max}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === "string") return `the string ${JSON.stringify(value.slice(0, 40))}`;
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "object" && value !== null) return Array.isArray(value) ? "a list" : "an object";
  return String(value);
}

function writeValue(writer: ByteWriter, type: FieldType, value: unknown, zero: boolean, ctx: Context): void {
  switch (type.kind) {
    case "u8":
      writer.u8(integer(value, "u8", zero));
      return;
    case "u16":
      writer.u16le(integer(value, "u16", zero));
      return;
    case "u32":
      writer.u32le(integer(value, "u32", zero));
      return;
    case "i8":
      writer.i8(integer(value, "i8", zero));
      return;
    case "i16":
      writer.i16le(integer(value, "i16", zero));
      return;
    case "i32":
      writer.i32le(integer(value, "i32", zero));
      return;
    case "u64":
    case "i64": {
      const big = value === undefined && zero ? 0n : value;
      const [min, max] = BIG_RANGE[type.kind];
      if (typeof big !== "bigint" || big < min || big > max) {
        throw invalid(`is ${describe(big)}, not a bigint in ${min}..${max}`);
      }
      if (type.kind === "u64") writer.u64le(big);
      else writer.i64le(big);
      return;
    }
    case "f32":
    case "f64": {
      const number = value === undefined && zero ? 0 : value;
      if (typeof number !== "number") throw invalid(`is ${describe(number)}, not a number`);
      if (type.finite === true && !Number.isFinite(number)) throw invalid(`is ${number}, not a finite number`);
      if (type.kind === "f32") writer.f32le(number);
      else writer.f64le(number);
      return;
    }
    case "bool": {
      const flag = value === undefined && zero ? false : value;
      if (typeof flag !== "boolean") throw invalid(`is ${describe(flag)}, not a boolean`);
      writer.u8(flag ? 1 : 0);
      return;
    }
    case "str8":
    case "str16":
    case "str32": {
      const text = value === undefined && zero ? "" : value;
      if (typeof text !== "string") throw invalid(`is ${describe(text)}, not a string`);
      if (!text.isWellFormed()) throw invalid("is not well-formed Unicode (it has a lone surrogate)");
      const encoded = utf8.encode(text);
      const limit = type.maxBytes ?? PREFIX_LIMIT[type.kind];
      if (encoded.length > limit) {
        throw new FieldError("APP_MESSAGE_TOO_LARGE", `is ${encoded.length} bytes, more than the limit ${limit}`);
      }
      if (type.kind === "str8") writer.bytes8(encoded);
      else if (type.kind === "str16") writer.bytes16(encoded);
      else writer.bytes32(encoded);
      return;
    }
    case "bytes": {
      if (value === undefined && zero) {
        writer.bytes(new Uint8Array(type.length));
        return;
      }
      if (!(value instanceof Uint8Array)) throw invalid(`is ${describe(value)}, not a Uint8Array`);
      if (value.length !== type.length) throw invalid(`is ${value.length} bytes, the layout declares ${type.length}`);
      writer.bytes(value);
      return;
    }
    case "color": {
      const c = asRecord(value === undefined && zero ? {} : value ?? null);
      writer.u8(integer(c.r, "u8", zero)).u8(integer(c.g, "u8", zero)).u8(integer(c.b, "u8", zero));
      return;
    }
    case "fixed":
      writeElements(writer, type.of, value, type.length, zero, ctx);
      return;
    case "record":
      writeFields(writer, type.fields, value, zero, ctx);
      return;
    case "nested":
      writeFields(writer, selectLayout(type.struct, ctx.version).fields, value, type.struct.zeroDefaults, ctx);
      return;
    case "count":
    case "list":
      throw invalid(`has type ${type.kind}, which only a record field can have`);
  }
}
