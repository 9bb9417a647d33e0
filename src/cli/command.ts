import { parseArgs, type ParseArgsConfig } from "node:util";

/** A `qeynos` subcommand. */
export interface Command {
  /** The word typed after `qeynos`. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The full `--help` text. */
  readonly help: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(args: string[]): Promise<number>;
}

/** Bad command-line input: the message is printed on one line with the usage, and the exit code is 2. */
export class UsageError extends Error {
  /** The help text to print after the message. */
  readonly usage: string;

  constructor(message: string, usage: string) {
    super(message);
    this.name = "UsageError";
    this.usage = usage;
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** The result of {@linkcode parseCommandArgs}. */
export interface ParsedArgs<O extends Options> {
  readonly values: ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: true }>>["values"];
  readonly positionals: string[];
  /** `--help` or `-h` was given. */
  readonly help: boolean;
}

/**
 * Strictly parses a subcommand's arguments with `node:util` `parseArgs`: an unknown flag, a missing
 * value or a value given to a boolean flag becomes a {@linkcode UsageError}. `--help`/`-h` is always accepted.
 */
export function parseCommandArgs<O extends Options>(args: string[], options: O, usage: string): ParsedArgs<O> {
  const withHelp = { ...options, help: { type: "boolean", short: "h" } } as O;
  try {
    const parsed = parseArgs({ args, options: withHelp, strict: true, allowPositionals: true });
    const values = parsed.values as Record<string, unknown>;
    const help = values.help === true;
    delete values.help;
    return { values: values as ParsedArgs<O>["values"], positionals: parsed.positionals, help };
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
    throw new UsageError(message.replace(/\. To specify a positional argument.*$/, ""), usage);
  }
}

/**
 * Parses the flags of a command that takes no positional arguments. Prints the help and returns
 * `undefined` for `--help` (the command then exits 0); refuses a positional with a {@linkcode UsageError}.
 */
export function parseFlags<O extends Options>(
  args: string[],
  options: O,
  usage: string,
): ParsedArgs<O>["values"] | undefined {
  const { values, positionals, help } = parseCommandArgs(args, options, usage);
  if (help) {
    console.log(usage);
    return undefined;
  }
  if (positionals.length > 0) throw new UsageError(`Unexpected argument '${positionals[0]}'`, usage);
  return values;
}

/** Parses a decimal integer flag value in `[min, max]`, or throws a {@linkcode UsageError}. */
export function integerFlag(
  name: string,
  text: string | undefined,
  fallback: number,
  range: [number, number],
  usage: string,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < range[0] || value > range[1]) {
    throw new UsageError(`Invalid value for --${name}: '${text}' is not an integer in ${range[0]}..${range[1]}`, usage);
  }
  return value;
}

/** Options of {@linkcode addressFlag}. */
export interface AddressFlagOptions {
  /** Used when the flag is absent; without it, an absent flag is a usage error. */
  readonly fallback?: string;
  /** Accept port 0 ("any free port", for listening); default false. */
  readonly allowPortZero?: boolean;
}

/**
 * Parses a `HOST:PORT` flag value (`[v6addr]:PORT` for IPv6), or throws a {@linkcode UsageError}
 * naming the flag and the value.
 */
export function addressFlag(
  name: string,
  text: string | undefined,
  usage: string,
  options: AddressFlagOptions = {},
): { address: string; port: number } {
  const value = text ?? options.fallback;
  if (value === undefined) throw new UsageError(`Missing --${name} HOST:PORT`, usage);
  const match = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (match === null || port > 65_535 || (port === 0 && options.allowPortZero !== true)) {
    throw new UsageError(`Invalid value for --${name}: '${value}' (expected HOST:PORT)`, usage);
  }
  return { address: match[1] ?? match[2]!, port };
}
