import { accountCommand } from "./account.ts";
import { benchCommand } from "./bench.ts";
import { botCommand } from "./bot.ts";
import type { Command } from "./command.ts";
import { dbCommand } from "./db.ts";
import { doctorCommand } from "./doctor.ts";
import { netemCommand } from "./netem.ts";
import { scenarioCommand } from "./scenario.ts";
import { serveCommand } from "./serve.ts";
import { servertalkCommand } from "./servertalk.ts";

/** Every subcommand, in the order `qeynos --help` lists them. */
export const COMMANDS: readonly Command[] = [
  serveCommand,
  botCommand,
  doctorCommand,
  accountCommand,
  dbCommand,
  scenarioCommand,
  benchCommand,
  netemCommand,
  servertalkCommand,
];
