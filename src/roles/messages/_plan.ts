/**
 * Declaration checks and the precomputed facts the codec needs about each list of fields: which lists
 * a count field sizes, and the fewest bytes a value of each type can take (used to bound decoding work).
 */
import { AppMessageError } from "./app_message_error.ts";
import type { AnyStruct, Fields, FieldType, Guard, Layout, ValueType } from "./schema.ts";

/** A field with what the codec needs to know about it. */
export interface FieldPlan {
  readonly name: string;
  readonly type: FieldType;
  readonly guard: Guard | undefined;
  /** For a count field: the lists whose length it carries. */
  readonly lists: readonly string[];
}

/** The compiled form of a list of fields. */
export interface RecordPlan {
  readonly fields: readonly FieldPlan[];
  /** The fewest bytes an encoding of these fields can take. */
  readonly minBytes: number;
  /** Whether a field's value decides another's presence or length (a guard, a count, a list). */
  readonly dependents: boolean;
}

const PREFIX_LIMIT = { str8: 0xff, str16: 0xffff, str32: 0xffff_ffff } as const;
const WIDTH_BYTES = { u8: 1, u16: 2, u32: 4 } as const;
/** Largest `bytes(n)` / `fixed(_, n)` a declaration may use. */
const MAX_DECLARED_LENGTH = 65536;

const plans = new WeakMap<Fields, RecordPlan>();

/** The plan of `fields`, computed once. */
export function planOf(fields: Fields): RecordPlan {
  let plan = plans.get(fields);
  if (plan === undefined) {
    plan = buildPlan(fields);
    plans.set(fields, plan);
  }
  return plan;
}

function buildPlan(fields: Fields): RecordPlan {
  const out: FieldPlan[] = fields.map(([name, type, guard]) => ({ name, type, guard, lists: [] as string[] }));
  for (const field of out) {
    if (field.type.kind === "list") {
      const counter = out.find((f) => f.name === (field.type as { count: string }).count);
      (counter?.lists as string[] | undefined)?.push(field.name);
    }
  }
  let minBytes = 0;
  for (const field of out) if (field.guard === undefined) minBytes += minBytesOf(field.type);
  const dependents = out.some((f) => f.guard !== undefined || f.type.kind === "count" || f.type.kind === "list");
  return { fields: out, minBytes, dependents };
}

/** The fewest bytes a value of `type` can be encoded in. */
export function minBytesOf(type: FieldType): number {
  switch (type.kind) {
    case "u8":
    case "i8":
    case "bool":
    case "str8":
      return 1;
    case "u16":
    case "i16":
    case "str16":
      return 2;
    case "u32":
    case "i32":
    case "f32":
    case "str32":
      return 4;
    case "u64":
    case "i64":
    case "f64":
      return 8;
    case "color":
      return 3;
    case "bytes":
      return type.length;
    case "count":
      return WIDTH_BYTES[type.width];
    case "fixed":
      return type.length * minBytesOf(type.of);
    case "list":
      return 0;
    case "record":
      return planOf(type.fields).minBytes;
    case "nested":
      return Math.min(...type.struct.layouts.map((layout: Layout) => planOf(layout.fields).minBytes));
  }
}

function fail(where: string, detail: string): never {
  throw new AppMessageError("APP_MESSAGE_BAD_DECLARATION", `Cannot declare ${where}: ${detail}`);
}

/** Checks a struct declaration; throws `APP_MESSAGE_BAD_DECLARATION` on the first problem. */
export function checkStructDeclaration(def: AnyStruct): void {
  const where = `struct ${def.name}`;
  if (!Array.isArray(def.layouts) || def.layouts.length === 0) fail(where, "it has no layout");
  const until = def.validUntil;
  if (until !== undefined && (!Number.isSafeInteger(until) || until < (def.layouts[0] as Layout).since)) {
    fail(where, `validUntil ${until} is not an integer at or after its first layout`);
  }
  let previous = -1;
  for (const layout of def.layouts as readonly Layout[]) {
    if (!Number.isSafeInteger(layout.since) || layout.since < 0) {
      fail(where, `layout version ${layout.since} is not a non-negative integer`);
    }
    if (layout.since <= previous) {
      fail(where, `layout version ${layout.since} does not follow ${previous} (versions must increase)`);
    }
    previous = layout.since;
    checkFields(`${where} version ${layout.since}`, layout.fields);
  }
}

function checkFields(where: string, fields: Fields): void {
  const seen = new Map<string, FieldType>();
  const guards = new Map<string, Guard | undefined>();
  const usedCounts = new Set<string>();
  for (const [name, type, guard] of fields) {
    if (typeof name !== "string" || name === "") fail(where, "a field has no name");
    if (seen.has(name)) fail(where, `field ${name} is declared twice`);
    if (guard !== undefined) {
      const target = seen.get(guard.if);
      if (target === undefined) fail(where, `field ${name} is guarded by ${guard.if}, which is not an earlier field`);
      if (!isIntegerLike(target)) fail(where, `field ${name} is guarded by ${guard.if}, which is not an integer`);
      if (guard.equals !== undefined && !Number.isSafeInteger(guard.equals)) {
        fail(where, `field ${name} has a guard value ${guard.equals} that is not an integer`);
      }
    }
    checkType(`${where} field ${name}`, type);
    if (type.kind === "list") {
      const counter = seen.get(type.count);
      if (counter?.kind !== "count") {
        fail(where, `list ${name} names ${type.count}, which is not an earlier count field`);
      }
      if (!sameGuard(guards.get(type.count), guard)) {
        fail(where, `list ${name} and its count ${type.count} must have the same guard`);
      }
      usedCounts.add(type.count);
    }
    seen.set(name, type);
    guards.set(name, guard);
  }
  for (const [name, type] of seen) {
    if (type.kind === "count" && !usedCounts.has(name)) fail(where, `count field ${name} sizes no list`);
  }
}

function checkType(where: string, type: FieldType): void {
  switch (type.kind) {
    case "u8":
    case "u16":
    case "u32":
    case "i8":
    case "i16":
    case "i32":
    case "u64":
    case "i64":
    case "f32":
    case "f64":
    case "bool":
    case "color":
    case "count":
      return;
    case "str8":
    case "str16":
    case "str32": {
      const limit = type.maxBytes;
      if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0 || limit > PREFIX_LIMIT[type.kind])) {
        fail(where, `byte limit ${limit} is outside 0..${PREFIX_LIMIT[type.kind]}`);
      }
      return;
    }
    case "bytes":
      checkLength(where, type.length);
      return;
    case "fixed":
      checkLength(where, type.length);
      checkElement(where, type.of);
      return;
    case "list":
      checkElement(where, type.of);
      if (minBytesOf(type.of) < 1) fail(where, "list elements must take at least one byte");
      return;
    case "record":
      checkFields(where, type.fields);
      return;
    case "nested":
      if (!Array.isArray(type.struct?.layouts)) fail(where, "the nested struct is not a declared struct");
      return;
    default:
      fail(where, `unknown field type ${(type as { kind: unknown }).kind}`);
  }
}

function checkElement(where: string, type: ValueType): void {
  if ((type.kind as string) === "count" || type.kind === "list") fail(where, `a ${type.kind} cannot be an element`);
  checkType(where, type);
}

function checkLength(where: string, length: number): void {
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_DECLARED_LENGTH) {
    fail(where, `length ${length} is outside 0..${MAX_DECLARED_LENGTH}`);
  }
}

function isIntegerLike(type: FieldType): boolean {
  return ["u8", "u16", "u32", "i8", "i16", "i32", "bool", "count"].includes(type.kind);
}

function sameGuard(a: Guard | undefined, b: Guard | undefined): boolean {
  return a?.if === b?.if && a?.equals === b?.equals;
}
