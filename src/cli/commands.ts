import { accountCommand } from "./account.ts";
import { benchCommand } from "./bench.ts";
import type { Command } from "./command.ts";
import { dbCommand } from "./db.ts";
import { doctorCommand } from "./doctor.ts";
import { netemCommand } from "./netem.ts";
import { scenarioCommand } from "./scenario.ts";

/** Every subcommand, in the order `qeynos --help` lists them. */
export const COMMANDS: readonly Command[] = [
  doctorCommand,
  accountCommand,
  dbCommand,
  scenarioCommand,
  benchCommand,
  netemCommand,
];
