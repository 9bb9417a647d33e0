import type { Log, LogFields, LogLevel } from "./platform.ts";

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Options of {@linkcode createConsoleLog}. */
export interface ConsoleLogOptions {
  /** Lowest level written; default `"info"`. */
  readonly level?: LogLevel;
  /** `"text"` (default) for people, `"json"` for one JSON object per line. */
  readonly format?: "text" | "json";
  /** Where lines go; default standard error. */
  readonly write?: (line: string) => void;
  /** Timestamp source in ms since the epoch; default `Date.now`. */
  readonly wallMs?: () => number;
}

/** Parses a level name, or returns `undefined` when it is not one. */
export function parseLogLevel(text: string): LogLevel | undefined {
  return Object.hasOwn(LEVEL_RANK, text) ? text as LogLevel : undefined;
}

function formatValue(value: unknown): string {
  if (typeof value === "string") return /[\s="]/.test(value) ? JSON.stringify(value) : value;
  if (value instanceof Error) return JSON.stringify(value.message);
  if (typeof value === "bigint") return value.toString();
  return JSON.stringify(value) ?? String(value);
}

/** A structured logger writing one line per call. */
export function createConsoleLog(options: ConsoleLogOptions = {}, bound: LogFields = {}): Log {
  const minimum = LEVEL_RANK[options.level ?? "info"];
  const format = options.format ?? "text";
  const write = options.write ?? ((line: string) => console.error(line));
  const wallMs = options.wallMs ?? Date.now;

  const emit = (level: LogLevel, message: string, fields: LogFields | undefined): void => {
    if (LEVEL_RANK[level] < minimum) return;
    const all = fields === undefined ? bound : { ...bound, ...fields };
    const time = new Date(wallMs()).toISOString();
    if (format === "json") {
      write(
        JSON.stringify(
          { time, level, message, ...all },
          (_key, value) => typeof value === "bigint" ? value.toString() : value,
        ),
      );
      return;
    }
    let line = `${time} ${level.toUpperCase().padEnd(5)} ${message}`;
    for (const [key, value] of Object.entries(all)) line += ` ${key}=${formatValue(value)}`;
    write(line);
  };

  return {
    debug: (message, fields) => emit("debug", message, fields),
    info: (message, fields) => emit("info", message, fields),
    warn: (message, fields) => emit("warn", message, fields),
    error: (message, fields) => emit("error", message, fields),
    child: (fields) => createConsoleLog(options, { ...bound, ...fields }),
  };
}
