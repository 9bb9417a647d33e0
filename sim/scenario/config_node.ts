/**
 * Reading YAML with line numbers. Every value of a scenario file is reached through a
 * {@linkcode ConfigNode}, whose typed accessors reject bad values with `file:line: message`
 * ({@linkcode ScenarioError}). Workloads and checks parse their own configuration with it.
 * @module
 */
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { parseBandwidth, parseDuration, parseRange, parseRate, parseSize } from "./units.ts";

/** An invalid scenario file: the message reads `file:line: detail`. */
export class ScenarioError extends Error {
  readonly code = "SIM_SCENARIO_INVALID";
  readonly file: string;
  readonly line: number;
  /** The message without the location. */
  readonly detail: string;
  constructor(file: string, line: number, detail: string) {
    super(`${file}:${line}: ${detail}`);
    this.name = "ScenarioError";
    this.file = file;
    this.line = line;
    this.detail = detail;
  }
}

interface Source {
  readonly file: string;
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
}

/** Parses YAML text; syntax errors become a {@linkcode ScenarioError}. */
export function parseYaml(text: string, file: string): ConfigNode {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const error = doc.errors[0];
  if (error !== undefined) {
    const line = error.linePos?.[0]?.line ?? lines.linePos(error.pos[0]).line;
    const detail = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    throw new ScenarioError(file, line, `Invalid YAML: ${detail}`);
  }
  return new ConfigNode({ file, doc, lines }, doc.contents as Node | null, "", 1);
}

/** Options of {@linkcode ConfigNode.number}. */
export interface NumberOptions {
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
}

/** A map's entries, read once their keys were checked. */
export class ConfigMap {
  readonly #entries: Map<string, ConfigNode>;
  /** The map itself (for errors about a missing key). */
  readonly node: ConfigNode;

  constructor(node: ConfigNode, entries: Map<string, ConfigNode>) {
    this.node = node;
    this.#entries = entries;
  }

  /** Keys in file order. */
  get keys(): string[] {
    return [...this.#entries.keys()];
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** The entry, or `undefined` when absent (a `null` value counts as present). */
  get(key: string): ConfigNode | undefined {
    return this.#entries.get(key);
  }

  /** The entry, or an error naming the missing key at the map's line. */
  require(key: string): ConfigNode {
    const node = this.#entries.get(key);
    if (node === undefined) this.node.fail(`Missing key '${key}'${this.node.at()}`);
    return node;
  }
}

/** One value of a YAML document, with its location. */
export class ConfigNode {
  readonly #source: Source;
  readonly #node: Node | null;
  /** Dotted path from the document root, e.g. `workload.echo.rate`. */
  readonly path: string;
  /** 1-based line of the value. */
  readonly line: number;

  constructor(source: Source, node: Node | null, path: string, fallbackLine: number) {
    this.#source = source;
    this.#node = node !== null && isAlias(node) ? (node.resolve(source.doc) as Node | undefined) ?? null : node;
    this.path = path;
    const offset = this.#node?.range?.[0];
    this.line = offset === undefined ? fallbackLine : source.lines.linePos(offset).line;
  }

  /** The file name used in errors. */
  get file(): string {
    return this.#source.file;
  }

  /** Throws a {@linkcode ScenarioError} at this value's line. */
  fail(detail: string): never {
    throw new ScenarioError(this.#source.file, this.line, detail);
  }

  /** ` in <path>` for messages, or `""` at the root. */
  at(): string {
    return this.path === "" ? "" : ` in ${this.path}`;
  }

  /** `"map"`, `"list"`, `"null"` or `"scalar"`. */
  get kind(): "map" | "list" | "null" | "scalar" {
    const n = this.#node;
    if (n === null || (isScalar(n) && n.value === null)) return "null";
    if (isMap(n)) return "map";
    if (isSeq(n)) return "list";
    return "scalar";
  }

  /** The plain JavaScript value. */
  plain(): unknown {
    const n = this.#node;
    if (n === null) return null;
    return n.toJSON();
  }

  /** The entries of a map; keys outside `allowed` (when given) are errors at their own line. */
  map(allowed?: readonly string[]): ConfigMap {
    const n = this.#node;
    if (n === null || !isMap(n)) this.fail(`Expected a map${this.at()}, got ${this.#describe()}`);
    const entries = new Map<string, ConfigNode>();
    for (const pair of n.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as Node | null;
      const keyLine = keyNode?.range ? this.#source.lines.linePos(keyNode.range[0]).line : this.line;
      const key = isScalar(keyNode) ? String(keyNode.value) : undefined;
      if (key === undefined) {
        throw new ScenarioError(this.#source.file, keyLine, `Keys must be plain names${this.at()}`);
      }
      if (allowed !== undefined && !allowed.includes(key)) {
        throw new ScenarioError(
          this.#source.file,
          keyLine,
          `Unknown key '${key}'${this.at()} (expected one of: ${allowed.join(", ")})`,
        );
      }
      const path = this.path === "" ? key : `${this.path}.${key}`;
      entries.set(key, new ConfigNode(this.#source, pair.value as Node | null, path, keyLine));
    }
    return new ConfigMap(this, entries);
  }

  /** The items of a list. */
  list(): ConfigNode[] {
    const n = this.#node;
    if (n === null || !isSeq(n)) this.fail(`Expected a list${this.at()}, got ${this.#describe()}`);
    return n.items.map((item, i) => new ConfigNode(this.#source, item as Node | null, `${this.path}[${i}]`, this.line));
  }

  /** The items of a list, or this single value as a one-item list. */
  listOrOne(): ConfigNode[] {
    return this.kind === "list" ? this.list() : [this];
  }

  #scalar(): unknown {
    const n = this.#node;
    if (n === null) return null;
    if (!isScalar(n)) this.fail(`Expected a single value${this.at()}, got ${this.#describe()}`);
    return n.value;
  }

  #describe(): string {
    const kind = this.kind;
    if (kind === "scalar") return JSON.stringify(this.plain());
    return kind === "list" ? "a list" : kind === "map" ? "a map" : "nothing";
  }

  string(): string {
    const v = this.#scalar();
    if (typeof v !== "string" || v === "") this.fail(`Expected text${this.at()}, got ${this.#describe()}`);
    return v;
  }

  boolean(): boolean {
    const v = this.#scalar();
    if (typeof v !== "boolean") this.fail(`Expected true or false${this.at()}, got ${this.#describe()}`);
    return v;
  }

  number(options: NumberOptions = {}): number {
    const v = this.#scalar();
    const { min = -Infinity, max = Infinity, integer = false } = options;
    if (typeof v !== "number" || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
      const what = integer ? "an integer" : "a number";
      const bounds = min !== -Infinity || max !== Infinity ? ` in ${min}..${max}` : "";
      this.fail(`Expected ${what}${bounds}${this.at()}, got ${this.#describe()}`);
    }
    return v;
  }

  /** A probability in 0..1 (`1%` is accepted too). */
  probability(): number {
    const v = this.#scalar();
    const p = typeof v === "string" && /^\s*\d+(\.\d+)?\s*%\s*$/.test(v) ? Number.parseFloat(v) / 100 : v;
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
      this.fail(`Expected a probability in 0..1 (or a percentage)${this.at()}, got ${this.#describe()}`);
    }
    return p;
  }

  /** One of `values`. */
  oneOf<T extends string>(values: readonly T[]): T {
    const v = this.#scalar();
    if (typeof v !== "string" || !values.includes(v as T)) {
      this.fail(`Expected one of ${values.join(", ")}${this.at()}, got ${this.#describe()}`);
    }
    return v as T;
  }

  /** Microseconds from a duration like `30s`; negative only with `allowNegative`. */
  duration(options: { readonly allowNegative?: boolean; readonly min?: number } = {}): number {
    const us = parseDuration(this.#scalar());
    if (us === undefined || (!options.allowNegative && us < 0) || us < (options.min ?? -Infinity)) {
      this.fail(`Expected a duration like 30s, 250ms or 500us${this.at()}, got ${this.#describe()}`);
    }
    return us;
  }

  /** Events per second from a rate like `2/s` or `1/10s`. */
  rate(): number {
    const r = parseRate(this.#scalar());
    if (r === undefined) this.fail(`Expected a rate like 10/s or 1/5s${this.at()}, got ${this.#describe()}`);
    return r;
  }

  /** Bytes from a size like `1200` or `64KB`. */
  size(options: NumberOptions = {}): number {
    const b = parseSize(this.#scalar());
    if (b === undefined || b < (options.min ?? 0) || b > (options.max ?? Infinity)) {
      const bounds = options.max !== undefined ? ` up to ${options.max}` : "";
      this.fail(`Expected a size in bytes like 1200 or 64KB${bounds}${this.at()}, got ${this.#describe()}`);
    }
    return b;
  }

  /** Bits per second from a bandwidth like `10mbit`. */
  bandwidth(): number {
    const b = parseBandwidth(this.#scalar());
    if (b === undefined) this.fail(`Expected a bandwidth like 10mbit or 512kbit${this.at()}, got ${this.#describe()}`);
    return b;
  }

  /** `[low, high]` from `a..b` or a single value, each end read with `kind`. */
  range(kind: "duration" | "size" | "number"): [number, number] {
    const parse = kind === "duration" ? parseDuration : kind === "size" ? parseSize : (x: unknown) => {
      const n = typeof x === "number" ? x : typeof x === "string" && x !== "" ? Number(x) : NaN;
      return Number.isFinite(n) ? n : undefined;
    };
    const r = parseRange(this.#scalar(), parse);
    if (r === undefined) {
      const example = kind === "duration" ? "1s..5s" : kind === "size" ? "64..1200" : "1..10";
      this.fail(`Expected a value or a range like ${example}${this.at()}, got ${this.#describe()}`);
    }
    return r;
  }
}
