/**
 * The declaration language of application messages: field types, fields, versioned layouts, and the
 * TypeScript types derived from a declaration.
 *
 * A struct is declared once as data: a name and one or more layouts, each valid from a minimum client
 * version (`since`). A layout is an ordered list of fields `[name, type]` or `[name, type, guard]`.
 * Every value is little-endian. The codec in `codec.ts` reads and writes any declaration; nothing
 * here encodes bytes.
 *
 * @module
 */
import { AppMessageError } from "./app_message_error.ts";
import { checkStructDeclaration } from "./_plan.ts";

/** Fixed-width integers, read and written as JavaScript numbers. */
export interface IntType {
  readonly kind: "u8" | "u16" | "u32" | "i8" | "i16" | "i32";
}
/** 64-bit integers, read and written as bigints. */
export interface BigIntType {
  readonly kind: "u64" | "i64";
}
/** IEEE floats. With `finite`, NaN and ±Infinity are refused in both directions. */
export interface FloatType {
  readonly kind: "f32" | "f64";
  readonly finite?: boolean;
}
/** One byte that must be 0 or 1. */
export interface BoolType {
  readonly kind: "bool";
}
/** UTF-8 text with a u8, u16 or u32 byte-length prefix (EQ2 8/16/32-bit strings). */
export interface StringType {
  readonly kind: "str8" | "str16" | "str32";
  /** Longest accepted text in bytes; defaults to what the prefix can carry. */
  readonly maxBytes?: number;
}
/** A fixed number of raw bytes. */
export interface BytesType {
  readonly kind: "bytes";
  readonly length: number;
}
/** An EQ2 colour: three bytes red, green, blue. */
export interface ColorType {
  readonly kind: "color";
}
/** An element count: an integer field whose value is the length of the list(s) that name it. */
export interface CountType {
  readonly kind: "count";
  readonly width: "u8" | "u16" | "u32";
}
/** A fixed number of elements, declared in the layout. */
export interface FixedType<E extends ElementType = ElementType> {
  readonly kind: "fixed";
  readonly of: E;
  readonly length: number;
}
/** A counted list: its length is the value of the earlier count field named by `count`. */
export interface ListType<E extends ElementType = ElementType> {
  readonly kind: "list";
  readonly of: E;
  readonly count: string;
}
/** An inline group of fields (used for list elements). */
export interface RecordType<F extends Fields = Fields> {
  readonly kind: "record";
  readonly fields: F;
}
/** Another versioned struct; its layout is chosen by the same client version as the outer one. */
export interface NestedType<D extends AnyStruct = AnyStruct> {
  readonly kind: "nested";
  readonly struct: D;
}

/** Types a list or fixed array can hold (anything but a list, which needs a count field beside it). */
export type ElementType =
  | IntType
  | BigIntType
  | FloatType
  | BoolType
  | StringType
  | BytesType
  | ColorType
  | FixedType
  | RecordType
  | NestedType;
/** Every type a field value can have. */
export type ValueType = ElementType | ListType;
/** Every type a field can have. */
export type FieldType = ValueType | CountType;

/**
 * Makes a field conditional: it is present only when the earlier integer, bool or count field `if` is
 * non-zero (EQ2Emu `IfVariableSet`), or, with `equals`, only when that field equals the number.
 */
export interface Guard {
  readonly if: string;
  readonly equals?: number;
}
/** One field: a name, a type and an optional guard. */
export type Field = readonly [name: string, type: FieldType] | readonly [name: string, type: FieldType, guard: Guard];
/** The ordered fields of a layout or record. */
export type Fields = readonly Field[];

/** One version of a struct: valid for client versions `since` and above, until a newer layout takes over. */
export interface Layout<F extends Fields = Fields> {
  readonly since: number;
  readonly fields: F;
}

/**
 * A declared, versioned struct. `zeroDefaults` selects the EQ2Emu rule for encoding: a field the value
 * leaves out is written as zero (0, "", zero bytes, empty list). Without it every unguarded field is
 * required.
 */
export interface StructDef<
  N extends string = string,
  L extends readonly Layout[] = readonly Layout[],
  Z extends boolean = boolean,
> {
  readonly name: N;
  readonly layouts: L;
  readonly zeroDefaults: Z;
  /** Newest client version the layouts are known to describe; newer versions are refused. */
  readonly validUntil?: number;
}
/** Any struct declaration. */
// deno-lint-ignore no-explicit-any
export type AnyStruct = StructDef<string, readonly Layout<any>[], boolean>;

/** An EQ2 colour value. */
export interface Color {
  r: number;
  g: number;
  b: number;
}

// ---- Field type constants and constructors -------------------------------------------------------

/** Unsigned 8-bit integer. */
export const u8 = { kind: "u8" } as const;
/** Unsigned 16-bit integer. */
export const u16 = { kind: "u16" } as const;
/** Unsigned 32-bit integer. */
export const u32 = { kind: "u32" } as const;
/** Signed 8-bit integer. */
export const i8 = { kind: "i8" } as const;
/** Signed 16-bit integer. */
export const i16 = { kind: "i16" } as const;
/** Signed 32-bit integer. */
export const i32 = { kind: "i32" } as const;
/** Unsigned 64-bit integer (bigint). */
export const u64 = { kind: "u64" } as const;
/** Signed 64-bit integer (bigint). */
export const i64 = { kind: "i64" } as const;
/** 32-bit float; values are rounded to float32 when written. */
export const f32 = { kind: "f32" } as const;
/** 32-bit float that must be finite (positions, headings). */
export const finiteF32 = { kind: "f32", finite: true } as const;
/** 64-bit float. */
export const f64 = { kind: "f64" } as const;
/** Boolean byte, 0 or 1. */
export const bool = { kind: "bool" } as const;
/** EQ2 8-bit string: u8 length, then UTF-8 bytes. */
export const str8 = { kind: "str8" } as const;
/** EQ2 16-bit string: u16 length, then UTF-8 bytes. */
export const str16 = { kind: "str16" } as const;
/** EQ2 32-bit string: u32 length, then UTF-8 bytes. */
export const str32 = { kind: "str32" } as const;
/** EQ2 colour: red, green, blue bytes. */
export const color = { kind: "color" } as const;
/** A u8 element count. */
export const count8 = { kind: "count", width: "u8" } as const;
/** A u16 element count. */
export const count16 = { kind: "count", width: "u16" } as const;
/** A u32 element count. */
export const count32 = { kind: "count", width: "u32" } as const;

/** A string type with a smaller byte limit than its prefix allows, e.g. `maxBytes(str16, 64)`. */
export function maxBytes<const T extends StringType>(type: T, limit: number): T & { readonly maxBytes: number } {
  return { ...type, maxBytes: limit };
}
/** `length` raw bytes (EQ2 `int8` fields with `Size` > 1). */
export function bytes<const N extends number>(length: N): { readonly kind: "bytes"; readonly length: N } {
  return { kind: "bytes", length };
}
/** `length` elements of `of` (EQ2 fields with `Size` > 1). */
export function fixed<const E extends ElementType, const N extends number>(
  of: E,
  length: N,
): { readonly kind: "fixed"; readonly of: E; readonly length: N } {
  return { kind: "fixed", of, length };
}
/** A list whose length is the earlier count field `countField` (EQ2 `Array` with `ArraySizeVariable`). */
export function list<const E extends ElementType, const C extends string>(
  of: E,
  countField: C,
): { readonly kind: "list"; readonly of: E; readonly count: C } {
  return { kind: "list", of, count: countField };
}
/** An inline group of fields, for list elements. */
export function record<const F extends Fields>(fields: F): { readonly kind: "record"; readonly fields: F } {
  return { kind: "record", fields };
}
/** A field holding another versioned struct. */
export function nested<const D extends AnyStruct>(struct: D): { readonly kind: "nested"; readonly struct: D } {
  return { kind: "nested", struct };
}

/** Options of {@linkcode defineStruct}. */
export interface DefineStructOptions<Z extends boolean> {
  /** Write left-out fields as zero (the EQ2Emu rule) instead of refusing them. Default false. */
  readonly zeroDefaults?: Z;
  /** Newest client version the layouts are known to describe; newer versions get `APP_MESSAGE_UNSUPPORTED_VERSION`. */
  readonly validUntil?: number;
}

/**
 * Declares a versioned struct. Layouts must be listed with strictly increasing `since`; the codec uses,
 * for a client version V, the newest layout whose `since` ≤ V. The declaration is checked here: unique
 * names, guards and counts that name earlier fields, every count used by a list, list elements at least
 * one byte long (so decoding work is bounded by the input size). A bad declaration throws
 * `APP_MESSAGE_BAD_DECLARATION` at module load.
 */
export function defineStruct<
  const N extends string,
  const L extends readonly Layout[],
  const Z extends boolean = false,
>(
  name: N,
  layouts: L,
  options: DefineStructOptions<Z> = {},
): StructDef<N, L, Z> {
  const def: StructDef<N, L, Z> = {
    name,
    layouts,
    zeroDefaults: (options.zeroDefaults ?? false) as Z,
    ...(options.validUntil === undefined ? {} : { validUntil: options.validUntil }),
  };
  checkStructDeclaration(def);
  return Object.freeze(def);
}

/**
 * The newest layout of `def` valid for `version` (the greatest `since` ≤ `version`), or throws
 * `APP_MESSAGE_UNSUPPORTED_VERSION` when `version` is older than the first layout or newer than `validUntil`.
 */
export function selectLayout<D extends AnyStruct>(def: D, version: number): D["layouts"][number] {
  const layouts = def.layouts;
  if (def.validUntil !== undefined && version > def.validUntil) {
    throw new AppMessageError(
      "APP_MESSAGE_UNSUPPORTED_VERSION",
      `Cannot use ${def.name}: client version ${version} is newer than its layouts cover (${def.validUntil})`,
    );
  }
  for (let i = layouts.length - 1; i >= 0; i--) {
    const layout = layouts[i]!;
    if (layout.since <= version) return layout;
  }
  throw new AppMessageError(
    "APP_MESSAGE_UNSUPPORTED_VERSION",
    `Cannot use ${def.name}: client version ${version} is older than its first layout (${layouts[0]?.since})`,
  );
}

// ---- Types derived from declarations ---------------------------------------------------------------

type Flatten<T> = { [K in keyof T]: T[K] } & unknown;
type NameOf<E> = E extends readonly [infer N extends string, ...unknown[]] ? N : never;
type TypeOf<E> = E extends readonly [string, infer T, ...unknown[]] ? T : never;
type IsCount<E> = TypeOf<E> extends CountType ? true : false;
type IsGuarded<E> = E extends readonly [string, FieldType, Guard] ? true : false;
type RequiredName<E> = IsCount<E> extends true ? never : IsGuarded<E> extends true ? never : NameOf<E>;
type GuardedName<E> = IsCount<E> extends true ? never : IsGuarded<E> extends true ? NameOf<E> : never;
type ValueName<E> = IsCount<E> extends true ? never : NameOf<E>;

/** The decoded value of a field type. */
export type ValueOf<T> = T extends IntType | FloatType ? number
  : T extends BigIntType ? bigint
  : T extends BoolType ? boolean
  : T extends StringType ? string
  : T extends BytesType ? Uint8Array
  : T extends ColorType ? Color
  : T extends FixedType<infer E> | ListType<infer E> ? ValueOf<E>[]
  : T extends RecordType<infer F> ? RecordValue<F>
  : T extends NestedType<infer D> ? StructValue<D>
  : never;

/** The decoded value of a list of fields: count fields are implied by list lengths; guarded fields are optional. */
export type RecordValue<F extends Fields> = Flatten<
  & { [E in F[number] as RequiredName<E>]: ValueOf<TypeOf<E>> }
  & { [E in F[number] as GuardedName<E>]?: ValueOf<TypeOf<E>> }
>;

/** The value accepted for a field type when encoding (`Z`: zero defaults of the enclosing struct). */
export type InputOf<T, Z extends boolean> = T extends FixedType<infer E> | ListType<infer E> ? InputOf<E, Z>[]
  : T extends RecordType<infer F> ? RecordInput<F, Z>
  : T extends NestedType<infer D> ? StructInput<D>
  : ValueOf<T>;

/** The value accepted for a list of fields when encoding. */
export type RecordInput<F extends Fields, Z extends boolean> = Z extends true
  ? Flatten<{ [E in F[number] as ValueName<E>]?: InputOf<TypeOf<E>, Z> }>
  : Flatten<
    & { [E in F[number] as RequiredName<E>]: InputOf<TypeOf<E>, Z> }
    & { [E in F[number] as GuardedName<E>]?: InputOf<TypeOf<E>, Z> }
  >;

/** The decoded value of a struct: a union with one member per layout. */
export type StructValue<D> = D extends StructDef<string, infer L, boolean>
  ? L[number] extends infer Y ? Y extends Layout<infer F> ? RecordValue<F> : never : never
  : never;

/** The value accepted by the encoder for a struct: a union with one member per layout. */
export type StructInput<D> = D extends StructDef<string, infer L, infer Z>
  ? L[number] extends infer Y ? Y extends Layout<infer F> ? RecordInput<F, Z> : never : never
  : never;
