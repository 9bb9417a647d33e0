/**
 * Units of scenario files: durations (`30s`, `250ms`, `500us`, `2m`, `1h`), rates (`2/s`, `1/10s`,
 * `600/m`), sizes (`1200`, `64KB`, `1MiB`), bandwidths (`10mbit`, `1gbit`, `512kbit`) and ranges
 * (`1s..5s`). Each parser returns `undefined` for text it does not understand, so the caller can
 * report where.
 * @module
 */

const DURATION_UNITS: Readonly<Record<string, number>> = {
  us: 1,
  µs: 1,
  ms: 1000,
  s: 1_000_000,
  m: 60_000_000,
  min: 60_000_000,
  h: 3_600_000_000,
};

/** Microseconds in a duration like `30s` or `-5s` (0 may be written without a unit). */
export function parseDuration(value: unknown): number | undefined {
  if (value === 0 || value === "0") return 0;
  if (typeof value !== "string") return undefined;
  const match = /^\s*(-?\d+(?:\.\d+)?)\s*(us|µs|ms|s|m|min|h)\s*$/.exec(value);
  if (match === null) return undefined;
  const us = Number(match[1]) * DURATION_UNITS[match[2]!]!;
  return Number.isFinite(us) ? Math.round(us) : undefined;
}

/** Formats microseconds compactly: `1.5s`, `250ms`, `40us`. */
export function formatDuration(us: number): string {
  const abs = Math.abs(us);
  if (abs >= 3_600_000_000 && us % 3_600_000_000 === 0) return `${us / 3_600_000_000}h`;
  if (abs >= 60_000_000 && us % 60_000_000 === 0) return `${us / 60_000_000}m`;
  if (abs >= 1_000_000) return `${+(us / 1_000_000).toFixed(3)}s`;
  if (abs >= 1000) return `${+(us / 1000).toFixed(3)}ms`;
  return `${us}us`;
}

/** Events per second in a rate like `2/s`, `1/10s`, `600/m` (a bare number means per second). */
export function parseRate(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string") return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)?\s*(us|µs|ms|s|m|min|h)\s*$/.exec(value);
  if (match === null) return undefined;
  const per = parseDuration(`${match[2] ?? "1"}${match[3]}`);
  if (per === undefined || per <= 0) return undefined;
  return (Number(match[1]) * 1_000_000) / per;
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  kb: 1000,
  kib: 1024,
  mb: 1_000_000,
  mib: 1024 * 1024,
  gb: 1_000_000_000,
  gib: 1024 * 1024 * 1024,
};

/** Bytes in a size like `1200`, `64KB`, `1MiB`. */
export function parseSize(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string") return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  if (match === null) return undefined;
  const unit = SIZE_UNITS[match[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Number(match[1]) * unit;
  return Number.isFinite(bytes) ? Math.round(bytes) : undefined;
}

const BANDWIDTH_UNITS: Readonly<Record<string, number>> = {
  bit: 1,
  bps: 1,
  kbit: 1e3,
  kbps: 1e3,
  mbit: 1e6,
  mbps: 1e6,
  gbit: 1e9,
  gbps: 1e9,
};

/** Bits per second in a bandwidth like `10mbit`, `512kbit`, `1gbit` (a bare number is bits/s). */
export function parseBandwidth(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string") return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(value);
  if (match === null) return undefined;
  const unit = BANDWIDTH_UNITS[match[2]!.toLowerCase()];
  return unit === undefined ? undefined : Number(match[1]) * unit;
}

/** `[low, high]` from `a..b` (or a single value, twice) using `parse` for both ends. */
export function parseRange<T extends number>(
  value: unknown,
  parse: (part: unknown) => T | undefined,
): [T, T] | undefined {
  if (typeof value === "string" && value.includes("..")) {
    const [a, b, ...rest] = value.split("..");
    if (rest.length > 0) return undefined;
    const low = parse(a!.trim());
    const high = parse(b!.trim());
    if (low === undefined || high === undefined || high < low) return undefined;
    return [low, high];
  }
  const single = parse(value);
  return single === undefined ? undefined : [single, single];
}
