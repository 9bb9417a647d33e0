/**
 * The role workloads (`login`, `move`, `chat`, `zone-hop`) and their checks (`bots_logged_in`,
 * `chat_exactly_once`, `characters_consistent`, `sessions_converge`, `world_list_accurate`):
 * importing this module registers them. The game they share is {@linkcode RoleGame}.
 * @module
 */
import "./workloads.ts";
import "./checks.ts";
export {
  type BotRecord,
  type ChatPlan,
  GAME_ACCOUNTS,
  type GameBotEvent,
  type GameExtras,
  type GameRoleEvent,
  type HopPlan,
  LocalMoveSendLog,
  type LoginPlan,
  type MovePlan,
  type MoveSendLog,
  ROLE_PORTS,
  RoleGame,
  SERVER_DEFAULTS,
  type ServerSettings,
  SharedMoveSendLog,
} from "./game.ts";
