/**
 * Message schemas: each servertalk message is declared once, as an ordered list of typed fields,
 * and its encoder and decoder are derived from that declaration. The wire layout of every field
 * type is specified in `docs/servertalk.md` ("Payload encoding").
 *
 * ```ts
 * const LSStatus = defineMessage("LSStatus", Opcode.LSStatus, {
 *   status: t.i32(), numPlayers: t.i32(), numZones: t.i32(), worldMaxLevel: t.u8(),
 * });
 * const bytes = LSStatus.encode({ status: 1, numPlayers: 10, numZones: 3, worldMaxLevel: 50 });
 * LSStatus.decode(bytes).numPlayers; // 10
 * ```
 * @module
 */
import { ByteReader } from "../wire/byte_reader.ts";
import { ByteWriter } from "../wire/byte_writer.ts";
import { WireError, WireErrorCode } from "../wire/wire_error.ts";
import { ServertalkError, ServertalkErrorCode } from "./servertalk_error.ts";

/** What a field type is, for tests, documentation and tools that walk a schema. */
export type FieldSpec =
  | {
    readonly kind:
      | "u8"
      | "u16"
      | "u32"
      | "i8"
      | "i16"
      | "i32"
      | "f32"
      | "f64"
      | "bool"
      | "u64"
      | "i64"
      | "varuint"
      | "varint";
  }
  | { readonly kind: "string"; readonly maxBytes: number }
  | { readonly kind: "bytes"; readonly maxBytes: number }
  | { readonly kind: "array"; readonly element: FieldType<unknown>; readonly maxCount: number }
  | { readonly kind: "optional"; readonly inner: FieldType<unknown> }
  | { readonly kind: "struct"; readonly fields: Readonly<Record<string, FieldType<unknown>>> };

/** A field type: how one value is written and read. */
export interface FieldType<T> {
  readonly spec: FieldSpec;
  /** Appends `value`; throws a `ServertalkError` (`SERVERTALK_BAD_ARGUMENT`) for a value the type cannot carry. */
  write(writer: ByteWriter, value: T): void;
  /** Reads one value; throws a `WireError` for malformed or over-limit input. */
  read(reader: ByteReader): T;
}

/** The TypeScript type a field type carries. */
export type Infer<F> = F extends FieldType<infer T> ? T : never;

/** A record of named field types: the body of a message declaration. */
export type Fields = Record<string, FieldType<unknown>>;

/** The value type of a record of fields. */
export type InferFields<F extends Fields> = { -readonly [K in keyof F]: Infer<F[K]> };

/**
 * A value a field cannot carry. `path` grows as the error travels out of nested structs and arrays,
 * so the final message names the exact field: `Cannot encode LSStatus.numPlayers: -1 is not …`.
 */
class EncodeFault extends ServertalkError {
  readonly path: readonly string[];
  readonly detail: string;

  /** `label` names the value while no field path is known (a field type used on its own). */
  constructor(path: readonly string[], detail: string, label = "value") {
    const where = path.length === 0 ? label : path.join(".").replaceAll(".[", "[");
    super(ServertalkErrorCode.BadArgument, `Cannot encode ${where}: ${detail}`);
    this.path = path;
    this.detail = detail;
  }

  within(segment: string): EncodeFault {
    return new EncodeFault([segment, ...this.path], this.detail);
  }
}

function badValue(what: string, value: unknown, expected: string): EncodeFault {
  const shown = typeof value === "string"
    ? JSON.stringify(value)
    : typeof value === "bigint"
    ? `${value}n`
    : String(value);
  return new EncodeFault([], `${shown} is not ${expected}`, what);
}

/** Field types made by {@linkcode t}, whose reads the struct compiler may inline. */
const BUILTIN = new WeakSet<object>();

function builtin<T>(type: FieldType<T>): FieldType<T> {
  BUILTIN.add(type);
  return type;
}

function integer(
  kind: "u8" | "u16" | "u32" | "i8" | "i16" | "i32" | "varuint" | "varint",
  min: number,
  max: number,
  write: (writer: ByteWriter, value: number) => void,
  read: (reader: ByteReader) => number,
): FieldType<number> {
  return builtin({
    spec: { kind },
    write(writer, value) {
      if (!(Number.isInteger(value) && value >= min && value <= max)) {
        throw badValue(kind, value, `an integer in ${min}..${max}`);
      }
      write(writer, value);
    },
    read,
  });
}

const U8 = integer("u8", 0, 0xff, (w, v) => w.u8(v), (r) => r.u8());
const U16 = integer("u16", 0, 0xffff, (w, v) => w.u16le(v), (r) => r.u16le());
const U32 = integer("u32", 0, 0xffff_ffff, (w, v) => w.u32le(v), (r) => r.u32le());
const I8 = integer("i8", -0x80, 0x7f, (w, v) => w.i8(v), (r) => r.i8());
const I16 = integer("i16", -0x8000, 0x7fff, (w, v) => w.i16le(v), (r) => r.i16le());
const I32 = integer("i32", -0x8000_0000, 0x7fff_ffff, (w, v) => w.i32le(v), (r) => r.i32le());
const VARUINT = integer("varuint", 0, 0xffff_ffff, (w, v) => w.uvarint(v), (r) => r.uvarint());
const VARINT = integer("varint", -0x8000_0000, 0x7fff_ffff, (w, v) => w.varint(v), (r) => r.varint());

function float(kind: "f32" | "f64"): FieldType<number> {
  const is32 = kind === "f32";
  return builtin({
    spec: { kind },
    write(writer, value) {
      if (typeof value !== "number") throw badValue(kind, value, "a number");
      if (is32) writer.f32le(value);
      else writer.f64le(value);
    },
    read: is32 ? (r) => r.f32le() : (r) => r.f64le(),
  });
}

function bigint(kind: "u64" | "i64"): FieldType<bigint> {
  const unsigned = kind === "u64";
  const [min, max] = unsigned ? [0n, 0xffff_ffff_ffff_ffffn] : [-0x8000_0000_0000_0000n, 0x7fff_ffff_ffff_ffffn];
  return builtin({
    spec: { kind },
    write(writer, value) {
      if (typeof value !== "bigint" || value < min || value > max) {
        throw badValue(kind, value, `a bigint in ${min}..${max}`);
      }
      if (unsigned) writer.u64le(value);
      else writer.i64le(value);
    },
    read: unsigned ? (r) => r.u64le() : (r) => r.i64le(),
  });
}

/** A malformed payload, with the path of the field being read when it failed. */
class DecodeFault extends Error {
  readonly path: readonly string[];

  constructor(path: readonly string[], cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.path = path;
  }

  within(segment: string): DecodeFault {
    return new DecodeFault([segment, ...this.path], this.cause);
  }
}

function checkLimit(what: string, limit: number): void {
  if (!Number.isInteger(limit) || limit < 0 || limit > 0xffff_ffff) {
    throw new ServertalkError(
      ServertalkErrorCode.BadArgument,
      `Cannot declare ${what}: limit ${limit} is not an integer in 0..4294967295`,
    );
  }
}

function readLength(reader: ByteReader, limit: number, what: string): number {
  const at = reader.offset;
  const length = reader.uvarint();
  if (length > limit) {
    throw new WireError(
      WireErrorCode.FieldTooLong,
      `Cannot read ${what} at offset ${at}: length ${length} exceeds limit ${limit}`,
    );
  }
  return length;
}

/** Field type constructors. Every variable-length type takes its limit, checked on both sides. */
export const t = {
  /** Unsigned 8-bit integer. */
  u8: (): FieldType<number> => U8,
  /** Unsigned 16-bit integer, little endian. */
  u16: (): FieldType<number> => U16,
  /** Unsigned 32-bit integer, little endian. */
  u32: (): FieldType<number> => U32,
  /** Signed 8-bit integer. */
  i8: (): FieldType<number> => I8,
  /** Signed 16-bit integer, little endian. */
  i16: (): FieldType<number> => I16,
  /** Signed 32-bit integer, little endian. */
  i32: (): FieldType<number> => I32,
  /** Unsigned 32-bit integer as an LEB128 VarInt (1 to 5 bytes). */
  varuint: (): FieldType<number> => VARUINT,
  /** Signed 32-bit integer as a zigzag VarInt (1 to 5 bytes). */
  varint: (): FieldType<number> => VARINT,
  /** IEEE 754 single, little endian. */
  f32: (): FieldType<number> => float("f32"),
  /** IEEE 754 double, little endian. */
  f64: (): FieldType<number> => float("f64"),
  /** One byte, 0 or 1 (any non-zero byte reads as true). */
  bool: (): FieldType<boolean> =>
    builtin({
      spec: { kind: "bool" },
      write(writer, value) {
        if (typeof value !== "boolean") throw badValue("bool", value, "a boolean");
        writer.u8(value ? 1 : 0);
      },
      read: (r) => r.u8() !== 0,
    }),
  /** Unsigned 64-bit integer (bigint), little endian. */
  u64: (): FieldType<bigint> => bigint("u64"),
  /** Signed 64-bit integer (bigint), little endian. */
  i64: (): FieldType<bigint> => bigint("i64"),

  /** UTF-8 text of at most `maxBytes` bytes, prefixed by its byte length as a VarInt. */
  string(maxBytes: number): FieldType<string> {
    checkLimit("string", maxBytes);
    return builtin({
      spec: { kind: "string", maxBytes },
      write(writer, value) {
        if (typeof value !== "string") throw badValue("string", value, "a string");
        try {
          writer.strv(value, maxBytes);
        } catch (error) {
          if (error instanceof WireError && error.code === WireErrorCode.FieldTooLong) {
            throw new EncodeFault(
              [],
              `${new TextEncoder().encode(value).length} UTF-8 bytes exceed limit ${maxBytes}`,
              "string",
            );
          }
          throw error;
        }
      },
      read: (reader) => reader.strv(maxBytes),
    });
  },

  /** Opaque bytes, at most `maxBytes`, prefixed by their length as a VarInt. Decoding returns a view, not a copy. */
  bytes(maxBytes: number): FieldType<Uint8Array> {
    checkLimit("bytes", maxBytes);
    return builtin({
      spec: { kind: "bytes", maxBytes },
      write(writer, value) {
        if (!(value instanceof Uint8Array)) throw badValue("bytes", value, "a Uint8Array");
        if (value.length > maxBytes) {
          throw new EncodeFault([], `length ${value.length} exceeds limit ${maxBytes}`, "bytes");
        }
        writer.uvarint(value.length).bytes(value);
      },
      read: (reader) => reader.bytesv(maxBytes),
    });
  },

  /** At most `maxCount` elements, prefixed by their count as a VarInt. */
  array<T>(element: FieldType<T>, maxCount: number): FieldType<T[]> {
    checkLimit("array", maxCount);
    return {
      spec: { kind: "array", element: element as FieldType<unknown>, maxCount },
      write(writer, value) {
        if (!Array.isArray(value)) throw badValue("array", value, "an array");
        if (value.length > maxCount) {
          throw new EncodeFault([], `${value.length} elements exceed limit ${maxCount}`, "array");
        }
        writer.uvarint(value.length);
        let i = 0;
        try {
          for (; i < value.length; i++) element.write(writer, value[i]!);
        } catch (error) {
          throw error instanceof EncodeFault ? error.within(`[${i}]`) : error;
        }
      },
      read(reader) {
        const count = readLength(reader, maxCount, "array");
        // Every element takes at least one byte, so a hostile count cannot allocate past the payload.
        if (count > reader.remaining) {
          throw new WireError(
            WireErrorCode.OutOfBounds,
            `Cannot read array: ${count} elements announced, ${reader.remaining} bytes remain`,
          );
        }
        const out: T[] = [];
        let i = 0;
        try {
          for (; i < count; i++) out.push(element.read(reader));
        } catch (error) {
          throw error instanceof DecodeFault ? error.within(`[${i}]`) : new DecodeFault([`[${i}]`], error);
        }
        return out;
      },
    };
  },

  /** A value or `undefined`, as a presence byte (0 or 1) followed by the value when present. */
  optional<T>(inner: FieldType<T>): FieldType<T | undefined> {
    return {
      spec: { kind: "optional", inner: inner as FieldType<unknown> },
      write(writer, value) {
        if (value === undefined) {
          writer.u8(0);
          return;
        }
        writer.u8(1);
        inner.write(writer, value);
      },
      read(reader) {
        const at = reader.offset;
        const present = reader.u8();
        if (present === 0) return undefined;
        if (present !== 1) {
          throw new WireError(
            WireErrorCode.BadArgument,
            `Cannot read optional at offset ${at}: presence byte ${present} is not 0 or 1`,
          );
        }
        return inner.read(reader);
      },
    };
  },

  /** Named fields in declaration order, with nothing between them. */
  struct<F extends Fields>(fields: F): FieldType<InferFields<F>> {
    return structType(fields);
  },
} as const;

function structType<F extends Fields>(fields: F): FieldType<InferFields<F>> {
  const names = Object.keys(fields);
  for (const name of names) {
    // Only plain identifiers: integer-like keys would be iterated first by JavaScript (silently
    // changing the wire order), and names are spliced into the generated codec below.
    if (!/^[A-Za-z_$][\w$]*$/.test(name)) {
      throw new ServertalkError(
        ServertalkErrorCode.BadArgument,
        `Cannot declare field '${name}': names must be identifiers (letters, digits, _ and $, not starting with a digit)`,
      );
    }
  }
  const types = names.map((name) => fields[name]!);
  const { read, write } = compileStruct(names, types);
  return {
    spec: { kind: "struct", fields },
    write(writer, value) {
      if (typeof value !== "object" || value === null) throw badValue("struct", value, "an object");
      write(writer, value as Record<string, unknown>);
    },
    read: read as (reader: ByteReader) => InferFields<F>,
  };
}

/** A reader call for field `i`: the ByteReader method itself for fixed kinds, else the field type's read. */
function inlineRead(type: FieldType<unknown>, i: number): string {
  const spec = type.spec;
  if (!BUILTIN.has(type)) return `t${i}.read(r)`;
  switch (spec.kind) {
    case "u8":
    case "i8":
    case "varuint":
    case "varint":
      return `r.${spec.kind === "varuint" ? "uvarint" : spec.kind}()`;
    case "u16":
    case "u32":
    case "i16":
    case "i32":
    case "f32":
    case "f64":
    case "u64":
    case "i64":
      return `r.${spec.kind}le()`;
    case "bool":
      return "(r.u8() !== 0)";
    case "string":
      return `r.strv(${spec.maxBytes})`;
    case "bytes":
      return `r.bytesv(${spec.maxBytes})`;
    default:
      return `t${i}.read(r)`;
  }
}

type StructRead = (reader: ByteReader) => Record<string, unknown>;
type StructWrite = (writer: ByteWriter, value: Record<string, unknown>) => void;

/**
 * Builds a struct's read and write functions as straight-line code, one call site per field: the
 * decoded object is one object literal, so every message of a type shares one shape. This is several
 * times faster than looping over the fields. The loop remains as a fallback where code generation
 * is not permitted.
 */
function compileStruct(names: readonly string[], types: readonly FieldType<unknown>[]): {
  read: StructRead;
  write: StructWrite;
} {
  const onReadError = (error: unknown, field: number): never => {
    throw error instanceof DecodeFault ? error.within(names[field]!) : new DecodeFault([names[field]!], error);
  };
  const onWriteError = (error: unknown, field: number): never => {
    throw error instanceof EncodeFault ? error.within(names[field]!) : error;
  };
  try {
    const args = types.map((_, i) => `t${i}`);
    const readBody = `let f = 0;
try {
  return { ${names.map((name, i) => `${name}: (f = ${i}, ${inlineRead(types[i]!, i)})`).join(", ")} };
} catch (e) { return fail(e, f); }`;
    const writeBody = `let f = 0;
try {
  ${names.map((name, i) => `f = ${i}; t${i}.write(w, v.${name});`).join("\n  ")}
} catch (e) { fail(e, f); }`;
    const read = new Function(...args, "fail", `return function read(r) {\n${readBody}\n};`)(...types, onReadError);
    const write = new Function(...args, "fail", `return function write(w, v) {\n${writeBody}\n};`)(
      ...types,
      onWriteError,
    );
    return { read, write };
  } catch (error) {
    if (!(error instanceof EvalError)) throw error;
  }
  const count = names.length;
  return {
    read(reader) {
      const out: Record<string, unknown> = {};
      let i = 0;
      try {
        for (; i < count; i++) out[names[i]!] = types[i]!.read(reader);
      } catch (error) {
        onReadError(error, i);
      }
      return out;
    },
    write(writer, value) {
      let i = 0;
      try {
        for (; i < count; i++) types[i]!.write(writer, value[names[i]!]);
      } catch (error) {
        onWriteError(error, i);
      }
    },
  };
}

/** A declared message: its name, opcode, fields, and (for requests) the message its reply carries. */
export interface MessageType<T = unknown, R = unknown> {
  readonly name: string;
  readonly opcode: number;
  /** The payload codec derived from the declaration. */
  readonly codec: FieldType<T>;
  /** The declared fields, in wire order. */
  readonly fields: Readonly<Record<string, FieldType<unknown>>>;
  /** For a request: the message type of its reply. */
  readonly reply: MessageType<R> | undefined;
  /** Appends the payload of `value` to `writer`. */
  encodeInto(writer: ByteWriter, value: T): void;
  /** The payload of `value` as a fresh byte array. */
  encode(value: T): Uint8Array;
  /**
   * Decodes a whole payload. Malformed input, over-limit fields and trailing bytes throw a
   * `ServertalkError` with code `SERVERTALK_BAD_PAYLOAD` (the `WireError` is its cause).
   */
  decode(payload: Uint8Array): T;
}

/** The value type a message carries. */
export type MessageValue<M> = M extends MessageType<infer T, unknown> ? T : never;
/** The value type of a request's reply. */
export type ReplyValue<M> = M extends MessageType<unknown, infer R> ? R : never;

/** Options of {@linkcode defineMessage}. */
export interface DefineMessageOptions<R> {
  /** Declares the message a request of this type is answered with. */
  readonly reply?: MessageType<R, unknown>;
}

const encodeWriter = new ByteWriter({ capacity: 1024 });
// Decoding is synchronous and never re-entered, so one reader serves every message.
const decodeReader = new ByteReader(new Uint8Array(0));

/** Declares a message: `fields` in wire order; the encoder and decoder follow from them. */
export function defineMessage<F extends Fields, R = never>(
  name: string,
  opcode: number,
  fields: F,
  options: DefineMessageOptions<R> = {},
): MessageType<InferFields<F>, R> {
  if (!Number.isInteger(opcode) || opcode < 0 || opcode > 0xffff) {
    throw new ServertalkError(
      ServertalkErrorCode.BadArgument,
      `Cannot declare message ${name}: opcode ${opcode} is not an integer in 0..65535`,
    );
  }
  const codec = structType(fields);
  const type: MessageType<InferFields<F>, R> = {
    name,
    opcode,
    codec,
    fields,
    reply: options.reply,
    encodeInto(writer, value) {
      try {
        codec.write(writer, value);
      } catch (error) {
        throw error instanceof EncodeFault ? error.within(name) : error;
      }
    },
    encode(value) {
      encodeWriter.reset();
      type.encodeInto(encodeWriter, value);
      return encodeWriter.toBytes();
    },
    decode(payload) {
      const reader = decodeReader.reset(payload);
      let value: InferFields<F>;
      try {
        value = codec.read(reader);
      } catch (error) {
        const fault = error instanceof DecodeFault ? error : new DecodeFault([], error);
        const where = [name, ...fault.path].join(".").replaceAll(".[", "[");
        throw new ServertalkError(ServertalkErrorCode.BadPayload, `Cannot decode ${where}: ${fault.message}`, {
          cause: fault.cause,
        });
      }
      if (!reader.done) {
        throw new ServertalkError(
          ServertalkErrorCode.BadPayload,
          `Cannot decode ${name}: ${reader.remaining} trailing bytes after offset ${reader.offset}`,
        );
      }
      return value;
    },
  };
  return type;
}
