/** Runs `qeynos` in-process through `main()` and captures what it printed. */
import type { Command } from "../../src/cli/command.ts";
import { main } from "../../src/main.ts";

/** What one in-process run printed. */
export interface CliRun {
  /** The exit code `main()` resolved to. */
  readonly code: number;
  /** Standard output, lines joined with `\n`. */
  readonly out: string;
  /** Standard error, lines joined with `\n`. */
  readonly err: string;
  /** Standard output, line by line. */
  readonly lines: readonly string[];
  /** Both streams interleaved in the order printed. */
  readonly all: string;
}

/** Options of {@linkcode runCli}. */
export interface RunCliOptions {
  /** The command table to dispatch to (default: every real command). */
  readonly commands?: readonly Command[];
  /** Called with each standard-output line as it is printed (for long-running commands). */
  readonly onLine?: (line: string) => void;
}

/** Runs `qeynos <args>` in this process with console output captured. */
export async function runCli(args: string[], options: RunCliOptions = {}): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const all: string[] = [];
  const original = { log: console.log, error: console.error };
  console.log = (...parts: unknown[]) => {
    const line = parts.join(" ");
    out.push(line);
    all.push(line);
    options.onLine?.(line);
  };
  console.error = (...parts: unknown[]) => {
    const line = parts.join(" ");
    err.push(line);
    all.push(line);
  };
  try {
    const code = options.commands === undefined ? await main(args) : await main(args, options.commands);
    return { code, out: out.join("\n"), err: err.join("\n"), lines: out, all: all.join("\n") };
  } finally {
    console.log = original.log;
    console.error = original.error;
  }
}
