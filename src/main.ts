/**
 * The `qeynos` command: subcommand dispatch only. Each subcommand lives in `src/cli/`.
 * @module
 */
import process from "node:process";
import { type Command, UsageError } from "./cli/command.ts";
import { COMMANDS } from "./cli/commands.ts";
import { VERSION } from "./version.ts";

function usage(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "Usage: qeynos <command> [options]",
    "",
    "Qeynos runs the login, world and zone roles of an EverQuest II-style server,",
    "and a deterministic network simulator that runs the same code.",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Options:",
    "  -h, --help     show this help (qeynos <command> --help for a command)",
    "  -V, --version  print the version",
  ].join("\n");
}

/** Runs `qeynos` with `args` (without the program name) and resolves to the exit code. */
export async function main(args: string[], commands: readonly Command[] = COMMANDS): Promise<number> {
  const [first, ...rest] = args;
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    console.log(usage(commands));
    return first === undefined ? 2 : 0;
  }
  if (first === "--version" || first === "-V") {
    console.log(`qeynos ${VERSION}`);
    return 0;
  }
  const command = commands.find((c) => c.name === first);
  try {
    if (command === undefined) {
      throw new UsageError(
        first.startsWith("-") ? `Unknown option '${first}'` : `Unknown command '${first}'`,
        usage(commands),
      );
    }
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`qeynos: ${error.message}\n`);
      console.error(error.usage);
      return 2;
    }
    throw error;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
