/**
 * fast-check arbitraries derived from struct declarations: complete, valid values of the layout a
 * client version selects (guards respected, texts within their byte limits, floats exact in float32).
 */
import fc from "fast-check";
import { type AnyStruct, selectLayout } from "../../../src/roles/messages/mod.ts";
import type { ElementType, Fields, FieldType } from "../../../src/roles/messages/schema.ts";

const utf8 = new TextEncoder();
const INT_RANGE = {
  u8: [0, 0xff],
  u16: [0, 0xffff],
  u32: [0, 0xffff_ffff],
  i8: [-0x80, 0x7f],
  i16: [-0x8000, 0x7fff],
  i32: [-0x8000_0000, 0x7fff_ffff],
} as const;
const PREFIX_LIMIT = { str8: 0xff, str16: 0xffff, str32: 0xffff_ffff } as const;

/** Options for the generated sizes. */
export interface ArbitraryOptions {
  /** Longest generated list; default 3. */
  readonly maxListLength?: number;
}

/** Values of the layout `def` uses for `version`. */
export function structArbitrary(
  def: AnyStruct,
  version: number,
  options: ArbitraryOptions = {},
): fc.Arbitrary<Record<string, unknown>> {
  return fieldsArbitrary(selectLayout(def, version).fields, version, options.maxListLength ?? 3);
}

function fieldsArbitrary(fields: Fields, version: number, maxList: number): fc.Arbitrary<Record<string, unknown>> {
  // Guard targets get small values often, so both sides of each guard are exercised.
  const guardValues = new Map<string, number[]>();
  for (const [, , guard] of fields) {
    if (guard !== undefined) guardValues.set(guard.if, [0, 1, ...(guard.equals === undefined ? [] : [guard.equals])]);
  }
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, type] of fields) {
    if (type.kind === "count") {
      parts[name] = fc.constant(undefined); // implied by the list lengths
    } else if (type.kind === "list") {
      parts[name] = fc.array(valueArbitrary(type.of, version, maxList), { maxLength: maxList });
    } else {
      const special = guardValues.get(name);
      const plain = valueArbitrary(type, version, maxList);
      parts[name] = special === undefined ? plain : fc.oneof(fc.constantFrom(...special), plain);
    }
  }
  return fc.record(parts).map((raw) => {
    const value: Record<string, unknown> = {};
    const scalars: Record<string, number> = {};
    for (const [name, type, guard] of fields) {
      if (type.kind === "count") {
        const lists = fields.filter(([, t]) => t.kind === "list" && t.count === name).map(([n]) => n);
        scalars[name] = lists.length === 0 ? 0 : (raw[lists[0]!] as unknown[]).length;
        continue;
      }
      if (guard !== undefined) {
        const g = scalars[guard.if] ?? 0;
        if (guard.equals === undefined ? g === 0 : g !== guard.equals) continue;
      }
      value[name] = raw[name];
      if (typeof raw[name] === "number") scalars[name] = raw[name] as number;
      if (typeof raw[name] === "boolean") scalars[name] = raw[name] ? 1 : 0;
    }
    return value;
  });
}

function textArbitrary(limit: number): fc.Arbitrary<string> {
  return fc.string({ unit: "grapheme", maxLength: 12 })
    .filter((text) => text.isWellFormed() && utf8.encode(text).length <= limit);
}

/** Values of one field type. */
export function valueArbitrary(type: FieldType | ElementType, version: number, maxList: number): fc.Arbitrary<unknown> {
  switch (type.kind) {
    case "u8":
    case "u16":
    case "u32":
    case "i8":
    case "i16":
    case "i32": {
      const [min, max] = INT_RANGE[type.kind];
      return fc.integer({ min, max });
    }
    case "u64":
      return fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });
    case "i64":
      return fc.bigInt({ min: -0x8000_0000_0000_0000n, max: 0x7fff_ffff_ffff_ffffn });
    case "f32":
      return fc.float({ noNaN: type.finite === true, noDefaultInfinity: type.finite === true });
    case "f64":
      return fc.double({ noNaN: type.finite === true, noDefaultInfinity: type.finite === true });
    case "bool":
      return fc.boolean();
    case "str8":
    case "str16":
    case "str32":
      return textArbitrary(Math.min(type.maxBytes ?? PREFIX_LIMIT[type.kind], 1000));
    case "bytes":
      return fc.uint8Array({ minLength: type.length, maxLength: type.length });
    case "color": {
      const channel = fc.integer({ min: 0, max: 255 });
      return fc.record({ r: channel, g: channel, b: channel }, { noNullPrototype: true });
    }
    case "fixed":
      return fc.array(valueArbitrary(type.of, version, maxList), { minLength: type.length, maxLength: type.length });
    case "list":
      return fc.array(valueArbitrary(type.of, version, maxList), { maxLength: maxList });
    case "record":
      return fieldsArbitrary(type.fields, version, maxList);
    case "nested":
      return fieldsArbitrary(selectLayout(type.struct, version).fields, version, maxList);
    case "count":
      return fc.constant(undefined);
  }
}
