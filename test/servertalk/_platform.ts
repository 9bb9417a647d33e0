/** A real Platform whose log lines are kept in memory (tests assert on them; nothing is printed). */
import { createConsoleLog, createRealPlatform } from "../../src/platform/mod.ts";
import type { Platform } from "../../src/platform/platform.ts";

export interface TestPlatform {
  readonly platform: Platform;
  /** Every log line written so far, JSON-formatted. */
  readonly lines: string[];
}

export function testPlatform(): TestPlatform {
  const lines: string[] = [];
  const log = createConsoleLog({ level: "debug", format: "json", write: (line) => lines.push(line) });
  return { platform: createRealPlatform(log), lines };
}

/** Resolves after `ms` real milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every few ms until it is true (at most `timeoutMs`). */
export async function eventually(check: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(2);
  }
}
