/** Helpers for the store tests: a controllable clock, a seeded rng, a recording log, error assertions. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Log, LogFields } from "../../src/platform/platform.ts";
import type { StorePlatform } from "../../src/store/store.ts";
import { StoreError, type StoreErrorCode } from "../../src/store/store_error.ts";

/** A log that keeps every line (message and fields) for inspection. */
export interface RecordingLog extends Log {
  readonly lines: string[];
}

export function recordingLog(lines: string[] = []): RecordingLog {
  const write = (level: string, base: LogFields) => (message: string, fields?: LogFields) => {
    lines.push(`${level} ${message} ${JSON.stringify({ ...base, ...fields })}`);
  };
  const make = (base: LogFields): RecordingLog => ({
    lines,
    debug: write("debug", base),
    info: write("info", base),
    warn: write("warn", base),
    error: write("error", base),
    child: (fields) => make({ ...base, ...fields }),
  });
  return make({});
}

/** A store platform whose wall clock the test sets, with a seeded xorshift rng. */
export interface TestPlatform extends StorePlatform {
  nowMs: number;
  readonly log: RecordingLog;
  /** How many random bytes were drawn. */
  drawnBytes: number;
}

export function testPlatform(seed = 0x9e3779b9, startMs = 1_700_000_000_000): TestPlatform {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  const platform: TestPlatform = {
    nowMs: startMs,
    drawnBytes: 0,
    clock: { wallMs: () => platform.nowMs },
    rng: {
      fill(bytes: Uint8Array): Uint8Array {
        for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
        platform.drawnBytes += bytes.length;
        return bytes;
      },
    },
    log: recordingLog(),
  };
  return platform;
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(prefix = "qeynos-store-"): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Asserts that `promise` rejects with a StoreError of `code` whose message matches `message`. */
export async function rejectsWith(
  promise: Promise<unknown> | (() => Promise<unknown>),
  code: StoreErrorCode,
  message: RegExp | string,
): Promise<StoreError> {
  let caught: unknown;
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof StoreError, `expected a StoreError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (typeof message === "string") assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  return caught;
}
