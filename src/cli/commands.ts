import { accountCommand } from "./account.ts";
import type { Command } from "./command.ts";
import { dbCommand } from "./db.ts";
import { doctorCommand } from "./doctor.ts";

/** Every subcommand, in the order `qeynos --help` lists them. */
export const COMMANDS: readonly Command[] = [
  doctorCommand,
  accountCommand,
  dbCommand,
];
