import type { Command } from "./command.ts";
import { doctorCommand } from "./doctor.ts";

/** Every subcommand, in the order `qeynos --help` lists them. */
export const COMMANDS: readonly Command[] = [
  doctorCommand,
];
