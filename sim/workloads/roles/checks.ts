/**
 * Checks of the role workloads, each able to fail (test/scenarios/ shows every one failing):
 *
 * - `bots_logged_in` (liveness): every bot due to log in reached a zone (optionally within a time);
 * - `bots_finished` (liveness): every bot that ended played its script, logged out and was saved;
 * - `chat_exactly_once` (safety, plus liveness at the end): every say and shout reaches exactly the
 *   connected players in range, routed tells and channel lines reach exactly the players world
 *   routed them to, no player receives a line twice or one not meant for it, and every line handed
 *   to a player arrives unless that player's session broke;
 * - `characters_consistent` (safety, plus the store at the end): saves never go back to an older
 *   generation, and the store holds exactly one character per bot, the one it played, where its
 *   last confirmed save put it;
 * - `sessions_converge` (liveness): at the end, world, zones and bots agree on who is where;
 * - `world_list_accurate` (safety, sampled): login's world list shows the world up exactly when it
 *   is registered and reachable, and its population, within the keep-alive timeout.
 * @module
 */
import { ChatKind } from "../../../src/roles/messages/mod.ts";
import type { Character } from "../../../src/store/mod.ts";
import { registerCheck } from "../../scenario/check_registry.ts";
import type { CheckContext } from "../../scenario/context.ts";
import { type BotRecord, type GameBotEvent, type GameRoleEvent, RoleGame } from "./game.ts";

function gameOf(ctx: CheckContext): RoleGame | undefined {
  const game = RoleGame.find(ctx.env);
  if (game === undefined) ctx.fail("This check needs the login workload");
  return game;
}

function seconds(us: number): string {
  return `${(us / 1e6).toFixed(3)}s`;
}

function list(items: readonly string[], max = 5): string {
  return items.length <= max ? items.join("; ") : `${items.slice(0, max).join("; ")}; … (${items.length} in all)`;
}

const KIND_NAMES = Object.fromEntries(Object.entries(ChatKind).map(([name, value]) => [value, name.toLowerCase()]));

// ---------------------------------------------------------------------------------------------
// bots_logged_in

/** Parameters of `bots_logged_in`. */
export interface BotsLoggedInParams {
  /** Bots due to start within this long of the end are not judged; default 0. */
  readonly graceUs: number;
  /** Each bot must reach its zone within this long of its start; default: any time. */
  readonly withinUs: number | undefined;
}

registerCheck<BotsLoggedInParams>({
  name: "bots_logged_in",
  kind: "liveness",
  description: "every bot due to log in reached a zone (within: a time limit from its start)",
  parse(node) {
    const m = node?.map(["grace", "within"]);
    const within = m?.get("within")?.duration({ min: 1 });
    return { graceUs: m?.get("grace")?.duration() ?? 0, withinUs: within };
  },
  create(ctx, params) {
    return {
      finish() {
        const game = gameOf(ctx);
        if (game === undefined) return;
        const due = game.botList().filter((b) => b.startUs <= ctx.endUs - params.graceUs);
        if (due.length === 0) return ctx.fail("No bot was due to log in");
        const late: string[] = [];
        for (const b of due) {
          if (b.entries === 0) {
            late.push(`${b.account} never reached a zone (${b.lastError || `state ${b.state}`})`);
          } else if (params.withinUs !== undefined && b.firstEnteredUs - b.startUs > params.withinUs) {
            late.push(`${b.account} took ${seconds(b.firstEnteredUs - b.startUs)} to reach a zone`);
          }
        }
        if (late.length > 0) {
          ctx.fail(`${late.length} of ${due.length} bots did not log in as required: ${list(late)}`);
          return;
        }
        const times = due.map((b) => b.firstEnteredUs - b.startUs).sort((a, b) => a - b);
        ctx.pass(
          `${due.length} bots reached a zone; login to zone p50 ${seconds(times[Math.floor(times.length / 2)]!)}, ` +
            `max ${seconds(times[times.length - 1]!)}`,
        );
      },
    };
  },
});

// ---------------------------------------------------------------------------------------------
// bots_finished

/** Parameters of `bots_finished`. */
export interface BotsFinishedParams {
  /** Time a bot may take beyond its play time to log in and out; default 15 s. */
  readonly graceUs: number;
}

registerCheck<BotsFinishedParams>({
  name: "bots_finished",
  kind: "liveness",
  description: "every bot that ended did so cleanly (script played, logged out, character saved), retries " +
    "allowed; none is still busy long after its play time",
  parse(node) {
    return { graceUs: node?.map(["grace"]).get("grace")?.duration() ?? 15_000_000 };
  },
  create(ctx, params) {
    return {
      finish() {
        const game = gameOf(ctx);
        if (game === undefined) return;
        const play = game.loginPlan?.playUs ?? 0;
        const problems: string[] = [];
        let finished = 0;
        for (const b of game.botList()) {
          const o = b.outcome;
          if (o !== undefined) {
            finished++;
            if (!o.ok) problems.push(`${b.account} gave up after ${o.attempts} attempts at ${o.step}: ${o.error}`);
            else if (!o.saved) problems.push(`${b.account} logged out without its character saved`);
          } else if (b.lastFailureUs < 0 && b.state !== "waiting" && b.startUs + play + params.graceUs < ctx.endUs) {
            problems.push(
              `${b.account} is still ${b.state} ${seconds(ctx.endUs - b.startUs - play)} after its play time`,
            );
          }
        }
        if (problems.length > 0) return ctx.fail(`${problems.length} bots: ${list(problems)}`, ctx.endUs);
        if (finished === 0) return ctx.fail("No bot finished; the check proved nothing", ctx.endUs);
        ctx.pass(`${finished} bots played, logged out and were saved`);
      },
    };
  },
});

// ---------------------------------------------------------------------------------------------
// chat_exactly_once

/** Parameters of `chat_exactly_once`. */
export interface ChatExactlyOnceParams {
  /** Lines handed to a player this close to the end may still be in flight; default 5 s. */
  readonly graceUs: number;
}

interface Expected {
  readonly atUs: number;
  readonly recipient: number;
}

function lineKey(recipient: number, sender: number, messageId: number, kind: number): string {
  return `${recipient}<${sender}#${messageId}/${kind}`;
}

function describeLine(key: string): string {
  const m = /^(\d+)<(\d+)#(\d+)\/(\d+)$/.exec(key)!;
  return `${KIND_NAMES[Number(m[4])] ?? m[4]} #${m[3]} of character ${m[2]} to character ${m[1]}`;
}

registerCheck<ChatExactlyOnceParams>({
  name: "chat_exactly_once",
  kind: "safety",
  description: "say and shout reach exactly the connected players in range, tells and channel lines exactly the " +
    "players world routes them to; nobody gets a line twice or one not meant for it; handed lines arrive",
  parse(node) {
    return { graceUs: node?.map(["grace"]).get("grace")?.duration() ?? 5_000_000 };
  },
  create(ctx, params) {
    const game = gameOf(ctx);
    if (game === undefined) return;
    const expected = new Map<string, Expected>();
    const received = new Map<string, number>();
    /** Routed lines: key without recipient → recipients and, for those in a zone then, whether a zone handed it. */
    const routed = new Map<string, { atUs: number; recipients: Set<number>; inZone: Set<number> }>();
    const handed = new Set<string>();
    let zoneDowns: number[] = [];
    let local = 0;
    let routedLines = 0;

    const range = (kind: number) => kind === ChatKind.Say ? game.server.sayRange : game.server.shoutRange;

    ctx.on("roles.role", (raw) => {
      const { host, event: e } = raw as GameRoleEvent;
      switch (e.type) {
        case "chat.local": {
          local++;
          const zone = game.zones.get(host);
          if (zone === undefined) return;
          const players = zone.players().filter((p) => p.instanceId === e.instanceId);
          const sender = players.find((p) => p.charId === e.senderId);
          if (sender === undefined) {
            ctx.fail(`A ${KIND_NAMES[e.kind]} of character ${e.senderId} came from nobody in instance ${e.instanceId}`);
            return;
          }
          const r2 = range(e.kind) ** 2;
          const inRange = new Set<number>();
          for (const p of players) {
            if (p.charId === e.senderId || !p.connected) continue;
            const dx = p.x - sender.x;
            const dz = p.z - sender.z;
            if (dx * dx + dz * dz <= r2) inRange.add(p.charId);
          }
          const got = new Set(e.recipients);
          const outside = [...got].filter((c) => !inRange.has(c));
          const skipped = [...inRange].filter((c) => !got.has(c));
          if (outside.length > 0) {
            ctx.fail(
              `${KIND_NAMES[e.kind]} #${e.messageId} of ${e.senderId} went to ${outside.join(", ")}, out of range`,
            );
          }
          if (skipped.length > 0) {
            ctx.fail(`${KIND_NAMES[e.kind]} #${e.messageId} of ${e.senderId} skipped ${skipped.join(", ")}, in range`);
          }
          for (const r of e.recipients) {
            expected.set(lineKey(r, e.senderId, e.messageId, e.kind), { atUs: ctx.now(), recipient: r });
          }
          return;
        }
        case "chat.routed": {
          routedLines++;
          const world = game.world;
          const online = new Map((world?.players() ?? []).map((p) => [p.charId, p]));
          const recipients = new Set(e.recipients);
          if (e.kind === ChatKind.Tell && recipients.size !== 1) {
            ctx.fail(`Tell #${e.messageId} of ${e.senderId} was routed to ${recipients.size} players`);
          }
          if (e.kind === ChatKind.Channel && world !== undefined && game.chatPlan !== undefined) {
            const members = new Set(world.channels()[game.chatPlan.channel.toLowerCase()] ?? []);
            const due = [...members].filter((c) =>
              c !== e.senderId && online.has(c) && online.get(c)!.place !== "linkdead"
            );
            const stray = [...recipients].filter((c) => !members.has(c) || c === e.senderId);
            const skipped = due.filter((c) => !recipients.has(c));
            if (stray.length > 0) ctx.fail(`Channel line #${e.messageId} of ${e.senderId} routed to ${stray}`);
            if (skipped.length > 0) ctx.fail(`Channel line #${e.messageId} of ${e.senderId} skipped ${skipped}`);
          }
          const inZone = new Set([...recipients].filter((c) => online.get(c)?.place === "in_zone"));
          routed.set(`${e.senderId}#${e.messageId}/${e.kind}`, { atUs: ctx.now(), recipients, inZone });
          return;
        }
        case "chat.delivered": {
          const route = routed.get(`${e.senderId}#${e.messageId}/${e.kind}`);
          for (const r of [...e.recipients, ...e.missed]) {
            handed.add(lineKey(r, e.senderId, e.messageId, e.kind));
            if (route === undefined || !route.recipients.has(r)) {
              ctx.fail(
                `Zone ${e.server} handed ${describeLine(lineKey(r, e.senderId, e.messageId, e.kind))}, ` +
                  "which world never routed to it",
              );
            }
          }
          for (const r of e.recipients) {
            expected.set(lineKey(r, e.senderId, e.messageId, e.kind), { atUs: ctx.now(), recipient: r });
          }
          return;
        }
        case "zone.down":
          zoneDowns.push(ctx.now());
          return;
      }
    });

    ctx.on("roles.bot", (raw) => {
      const { event: e } = raw as GameBotEvent;
      if (e.type !== "chat.received") return;
      const key = lineKey(e.charId, e.senderId, e.messageId, e.kind);
      const n = (received.get(key) ?? 0) + 1;
      received.set(key, n);
      if (!expected.has(key)) ctx.fail(`${describeLine(key)} arrived, but no zone handed it to that player`);
      else if (n === 2) ctx.fail(`${describeLine(key)} arrived twice`);
    });

    return {
      finish() {
        const byChar = new Map<number, BotRecord>();
        for (const b of game.botList()) if (b.charId !== 0) byChar.set(b.charId, b);
        const worldStarts = game.starts.get(game.worldHost) ?? 0;
        zoneDowns = zoneDowns.sort((a, b) => a - b);
        const lost: string[] = [];
        for (const [key, x] of expected) {
          if (received.has(key)) continue;
          const bot = byChar.get(x.recipient);
          const brokenAfter = bot?.brokenSessionsUs.some((t) => t >= x.atUs) ?? false;
          const stillPlaying = bot?.state === "playing" || bot?.state === "flow";
          if (brokenAfter || (stillPlaying && x.atUs > ctx.endUs - params.graceUs)) continue;
          lost.push(`${describeLine(key)} handed at ${seconds(x.atUs)} never arrived`);
        }
        for (const [k, route] of routed) {
          if (route.atUs > ctx.endUs - params.graceUs || worldStarts > 1) continue;
          if (zoneDowns.some((t) => t >= route.atUs)) continue;
          for (const r of route.inZone) {
            const key = `${r}<${k}`;
            const bot = byChar.get(r);
            if (handed.has(key) || (bot?.brokenSessionsUs.some((t) => t >= route.atUs) ?? false)) continue;
            lost.push(`${describeLine(key)} routed at ${seconds(route.atUs)} never reached its zone`);
          }
        }
        if (lost.length > 0) {
          ctx.fail(`${lost.length} lines lost: ${list(lost)}`, ctx.endUs);
          return;
        }
        if (local + routedLines === 0) {
          ctx.fail("No chat line was sent; the check proved nothing", ctx.endUs);
          return;
        }
        ctx.pass(
          `${local} says and shouts, ${routedLines} routed lines; ${expected.size} deliveries, ${received.size} ` +
            "arrived, each once",
        );
      },
    };
  },
});

// ---------------------------------------------------------------------------------------------
// characters_consistent

interface SaveRecord {
  readonly generation: number;
  readonly zone: string;
  readonly x: number;
  readonly y: number;
  readonly z: number;
  readonly atUs: number;
}

registerCheck({
  name: "characters_consistent",
  kind: "safety",
  description: "saves never go back to an older generation; at the end the store holds exactly one character per " +
    "bot, the one it played, as its last confirmed save left it",
  create(ctx) {
    const game = gameOf(ctx);
    if (game === undefined) return;
    const lastSave = new Map<number, SaveRecord>();
    /** Last time world moved a character (a hand-off stores its new zone). */
    const lastAssigned = new Map<number, number>();
    let saves = 0;
    ctx.on("roles.role", (raw) => {
      const { event: e } = raw as GameRoleEvent;
      if (e.type === "character.saved") {
        saves++;
        const before = lastSave.get(e.charId);
        if (before !== undefined && e.generation < before.generation) {
          ctx.fail(
            `Character ${e.charId} was saved from generation ${e.generation} after generation ${before.generation}`,
          );
        }
        lastSave.set(e.charId, {
          generation: e.generation,
          zone: e.zone,
          x: e.x,
          y: e.y,
          z: e.z,
          atUs: ctx.now(),
        });
      } else if (e.type === "player.assigned") {
        lastAssigned.set(e.charId, ctx.now());
      }
    });
    // The store answers asynchronously: read it just before the end, then judge in finish().
    let snapshot:
      | { characters: number; byBot: Map<string, Character[]>; at: number }
      | { error: string }
      | undefined;
    ctx.at(Math.max(0, ctx.endUs - 10_000), async () => {
      const store = game.store;
      if (store === undefined) return void (snapshot = { error: "the store was never opened" });
      try {
        const byBot = new Map<string, Character[]>();
        for (const b of game.botList()) {
          const account = await store.accounts.findByName(b.account);
          byBot.set(b.host, account === undefined ? [] : await store.characters.listByAccount(account.id));
        }
        snapshot = { characters: (await store.stats()).characters, byBot, at: ctx.now() };
      } catch (error) {
        snapshot = { error: error instanceof Error ? error.message : String(error) };
      }
    });
    return {
      finish() {
        if (snapshot === undefined) return ctx.fail("The store was not read before the end", ctx.endUs);
        if ("error" in snapshot) return ctx.fail(`Cannot read the store: ${snapshot.error}`, ctx.endUs);
        const problems: string[] = [];
        let played = 0;
        let confirmed = 0;
        for (const b of game.botList()) {
          const rows = snapshot.byBot.get(b.host) ?? [];
          if (b.charId === 0) {
            if (rows.length > 1) problems.push(`${b.account} never played but owns ${rows.length} characters`);
            continue;
          }
          played++;
          if (rows.length !== 1) {
            problems.push(`${b.account} owns ${rows.length} characters (${rows.map((r) => r.name).join(", ")})`);
            continue;
          }
          const row = rows[0]!;
          if (row.id !== b.charId || row.name.toLowerCase() !== b.character.toLowerCase()) {
            problems.push(`${b.account} played ${b.character} (${b.charId}) but owns ${row.name} (${row.id})`);
            continue;
          }
          if (b.outcome?.ok === true && !b.outcome.saved) problems.push(`${b.account} logged out unsaved`);
          const save = lastSave.get(b.charId);
          if (b.outcome?.ok === true && save !== undefined && (lastAssigned.get(b.charId) ?? -1) <= save.atUs) {
            confirmed++;
            if (row.zone !== save.zone || row.x !== save.x || row.y !== save.y || row.z !== save.z) {
              problems.push(
                `${b.character} was last saved in ${save.zone} at (${save.x.toFixed(2)}, ${save.z.toFixed(2)}) ` +
                  `but the store has ${row.zone} at (${row.x.toFixed(2)}, ${row.z.toFixed(2)})`,
              );
            }
          }
        }
        const owned = [...snapshot.byBot.values()].reduce((n, rows) => n + rows.length, 0);
        if (snapshot.characters !== owned) {
          problems.push(`the store holds ${snapshot.characters} characters, the bots own ${owned}`);
        }
        if (played === 0) problems.push("no bot played a character");
        if (problems.length > 0) return ctx.fail(`${list(problems)}`, ctx.endUs);
        ctx.pass(
          `${played} characters, one per bot; ${saves} saves in generation order; ${confirmed} final saves match the store`,
        );
      },
    };
  },
});

// ---------------------------------------------------------------------------------------------
// sessions_converge

registerCheck({
  name: "sessions_converge",
  kind: "liveness",
  description: "at the end, world, zone servers and bots agree: each player is in one zone with the generation " +
    "world gave it, bots that left are gone, bots still playing are where world says",
  create(ctx) {
    return {
      finish() {
        const game = gameOf(ctx);
        if (game === undefined) return;
        const world = game.world;
        if (world === undefined || !game.up(game.worldHost)) return ctx.fail("The world is not running at the end");
        const problems: string[] = [];
        const online = new Map(world.players().map((p) => [p.charId, p]));
        const linkDeadUs = game.server.linkDeadUs;
        const views = new Map(world.zoneServers().map((z) => [z.name, z]));
        const holders = new Map<number, string[]>();
        for (const host of game.zoneHosts) {
          const name = game.zoneNames.get(host)!;
          const up = game.up(host) && game.zones.has(host);
          const view = views.get(name);
          if (up !== (view?.up ?? false)) {
            problems.push(`zone server ${name} is ${up ? "up" : "down"} but world sees it ${view?.up ? "up" : "down"}`);
          }
          if (!up) continue;
          for (const p of game.zones.get(host)!.players()) {
            holders.set(p.charId, [...holders.get(p.charId) ?? [], name]);
            const w = online.get(p.charId);
            if (w === undefined) problems.push(`${name} holds ${p.name}, whom world has offline`);
            else if (w.zoneServer !== name || w.generation !== p.generation) {
              problems.push(
                `${name} holds ${p.name} (generation ${p.generation}); world places it on ${w.zoneServer} ` +
                  `(generation ${w.generation})`,
              );
            }
          }
        }
        for (const [charId, names] of holders) {
          if (names.length > 1) problems.push(`character ${charId} is in ${names.length} zones: ${names.join(", ")}`);
        }
        for (const w of online.values()) {
          if (w.place === "in_zone" || w.place === "linkdead") {
            if (!(holders.get(w.charId) ?? []).includes(w.zoneServer)) {
              problems.push(`world places ${w.name} on ${w.zoneServer}, which does not hold it`);
            }
          }
        }
        for (const b of game.botList()) {
          const w = b.charId === 0 ? undefined : online.get(b.charId);
          if (b.state === "playing") {
            if (w === undefined) problems.push(`${b.account} plays ${b.character}, whom world has offline`);
            else if (w.zoneName !== b.zone?.zoneName || w.instanceId !== b.zone?.instanceId) {
              problems.push(
                `${b.account} is in ${b.zone?.zoneName}/${b.zone?.instanceId}; world says ${w.zoneName}/${w.instanceId}`,
              );
            }
          } else if (b.state === "done" && w !== undefined) {
            problems.push(`${b.account} logged out but world still has ${b.character} (${w.place})`);
          } else if (b.state === "failed" && w !== undefined && ctx.endUs - b.lastFailureUs > linkDeadUs + 10_000_000) {
            problems.push(`${b.account} gave up at ${seconds(b.lastFailureUs)} but world still has ${b.character}`);
          }
        }
        if (problems.length > 0) return ctx.fail(list(problems), ctx.endUs);
        const playing = game.botList().filter((b) => b.state === "playing").length;
        ctx.pass(`${online.size} online, ${playing} bots playing, every zone server and bot agrees with world`);
      },
    };
  },
});

// ---------------------------------------------------------------------------------------------
// world_list_accurate

/** Parameters of `world_list_accurate`. */
export interface WorldListParams {
  /** How long login may show a world's state wrong; default the servers' worldStatusTimeout + heartbeat timeout. */
  readonly timeoutUs: number | undefined;
  /** How long login may show a stale population; default 5 s. */
  readonly populationUs: number;
  /** Sampling interval; default 500 ms. */
  readonly everyUs: number;
}

registerCheck<WorldListParams>({
  name: "world_list_accurate",
  kind: "safety",
  description: "login's world list shows the world up exactly while it is registered and reachable, with its " +
    "population, never staler than the keep-alive timeout",
  parse(node) {
    const m = node?.map(["timeout", "population", "every"]);
    return {
      timeoutUs: m?.get("timeout")?.duration({ min: 1 }),
      populationUs: m?.get("population")?.duration({ min: 1 }) ?? 5_000_000,
      everyUs: m?.get("every")?.duration({ min: 10_000 }) ?? 500_000,
    };
  },
  create(ctx, params) {
    const game = gameOf(ctx);
    if (game === undefined) return;
    let stateWrongSince: number | undefined;
    let populationWrongSince: number | undefined;
    const history: Array<{ atUs: number; players: number }> = [];
    let samples = 0;
    let upSamples = 0;
    const sample = () => {
      const now = ctx.now();
      const timeout = params.timeoutUs ?? game.server.worldStatusTimeoutUs + game.server.heartbeatTimeoutUs;
      const login = game.login;
      const world = game.world;
      if (login === undefined || !game.up(game.loginHost)) {
        stateWrongSince = populationWrongSince = undefined;
        return;
      }
      samples++;
      const worldUp = world !== undefined && game.up(game.worldHost);
      const truth = worldUp && world.worldId !== 0 && world.login.link !== undefined && !world.draining &&
        world.status !== "offline";
      const views = login.worlds();
      const view = views.find((w) => w.name === game.server.worldName);
      const shown = view?.up ?? false;
      if (views.length > 1) ctx.fail(`Login lists ${views.length} worlds: ${views.map((w) => w.name).join(", ")}`);
      if (shown !== truth) {
        stateWrongSince ??= now;
        if (now - stateWrongSince > timeout) {
          ctx.fail(
            `Login has shown the world ${shown ? "up" : "down"} since ${seconds(stateWrongSince)} while it is ` +
              `${truth ? "up" : "down"} (keep-alive timeout ${seconds(timeout)})`,
          );
          stateWrongSince = undefined;
        }
      } else stateWrongSince = undefined;
      if (truth && worldUp) {
        upSamples++;
        history.push({ atUs: now, players: world.players().length });
        while (history.length > 0 && history[0]!.atUs < now - params.populationUs) history.shift();
        // Between samples the population passes through every value from one to the next.
        const low = Math.min(...history.map((h) => h.players));
        const high = Math.max(...history.map((h) => h.players));
        if (shown && (view!.numPlayers < low || view!.numPlayers > high)) {
          populationWrongSince ??= now;
          if (now - populationWrongSince > params.populationUs) {
            ctx.fail(
              `Login shows ${view!.numPlayers} players; world had ${low}..${high} in the last ${
                seconds(params.populationUs)
              }`,
            );
            populationWrongSince = undefined;
          }
        } else populationWrongSince = undefined;
      } else {
        history.length = 0;
        populationWrongSince = undefined;
      }
    };
    for (let t = params.everyUs; t < ctx.endUs; t += params.everyUs) ctx.at(t, sample);
    return {
      finish() {
        if (upSamples === 0) {
          return ctx.fail("The world never was up and registered; the check proved nothing", ctx.endUs);
        }
        ctx.pass(`${samples} samples of the world list (${upSamples} with the world up) matched the world`);
      },
    };
  },
});
