/** fast-check arbitraries derived from servertalk field declarations (for round-trip properties). */
import fc from "fast-check";
import type { FieldType } from "../../src/servertalk/schema.ts";

const utf8 = new TextEncoder();

/** Values `type` can carry, small enough to keep properties fast. */
export function arbitraryFor(type: FieldType<unknown>): fc.Arbitrary<unknown> {
  const spec = type.spec;
  switch (spec.kind) {
    case "u8":
      return fc.integer({ min: 0, max: 0xff });
    case "u16":
      return fc.integer({ min: 0, max: 0xffff });
    case "u32":
    case "varuint":
      return fc.integer({ min: 0, max: 0xffff_ffff });
    case "i8":
      return fc.integer({ min: -0x80, max: 0x7f });
    case "i16":
      return fc.integer({ min: -0x8000, max: 0x7fff });
    case "i32":
    case "varint":
      return fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
    case "f32":
      return fc.float();
    case "f64":
      return fc.double();
    case "bool":
      return fc.boolean();
    case "u64":
      return fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });
    case "i64":
      return fc.bigInt({ min: -0x8000_0000_0000_0000n, max: 0x7fff_ffff_ffff_ffffn });
    case "string":
      return fc.string({ unit: "binary", maxLength: Math.min(40, Math.floor(spec.maxBytes / 4)) })
        .filter((s) => utf8.encode(s).length <= spec.maxBytes);
    case "bytes":
      return fc.uint8Array({ maxLength: Math.min(64, spec.maxBytes) });
    case "array":
      return fc.array(arbitraryFor(spec.element), { maxLength: Math.min(4, spec.maxCount) });
    case "optional":
      return fc.option(arbitraryFor(spec.inner), { nil: undefined });
    case "struct":
      return fc.record(
        Object.fromEntries(Object.entries(spec.fields).map(([name, field]) => [name, arbitraryFor(field)])),
        { noNullPrototype: true },
      );
  }
}
