/**
 * The Platform seam: the interface, the real adapters, and {@linkcode createRealPlatform},
 * which picks the adapter for the runtime it runs on.
 * @module
 */
import { createBunPlatform } from "./bun.ts";
import { createConsoleLog } from "./console_log.ts";
import { createDenoPlatform } from "./deno.ts";
import { createNodePlatform } from "./node.ts";
import type { Log, Platform } from "./platform.ts";

export type * from "./platform.ts";
export { createConsoleLog, parseLogLevel } from "./console_log.ts";
export type { ConsoleLogOptions } from "./console_log.ts";

/** Which runtime this process runs on. */
export function runtimeName(): "deno" | "bun" | "node" {
  if ("Deno" in globalThis) return "deno";
  if ("Bun" in globalThis) return "bun";
  return "node";
}

/** The real Platform for this runtime (`QEYNOS_PLATFORM=node` forces the `node:*` adapter). */
export function createRealPlatform(log: Log = createConsoleLog(), prefer?: string): Platform {
  const choice = prefer ?? runtimeName();
  if (choice === "deno" && runtimeName() === "deno") return createDenoPlatform(log);
  if (choice === "bun" && runtimeName() === "bun") return createBunPlatform(log);
  return createNodePlatform(log);
}
