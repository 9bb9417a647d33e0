/**
 * `qeynos bot`: headless clients that play the whole flow against a running server and report how
 * each one did.
 * @module
 */
import { createConsoleLog, createRealPlatform, parseLogLevel } from "../platform/mod.ts";
import {
  botCharacterName,
  type BotEvent,
  type BotOutcome,
  type BotScriptName,
  Histogram,
  runBot,
} from "../roles/mod.ts";
import { addressFlag, type Command, integerFlag, parseFlags, UsageError } from "./command.ts";

const HELP = `Usage: qeynos bot [options]

Runs headless clients against a login server. Each bot speaks the whole flow over
EQStream: login (creating nothing but its character: the account must exist, or
the server must run with --auto-create) → world list → character (created if the
account has none) → world → zone → the script → logout. Prints one line per bot
and a summary; exits 1 if any bot failed.

Options:
  --server HOST:PORT      login server (default 127.0.0.1:9100)
  --count N               bots (default 1)
  --script NAME           walk, chat, zone-hop or idle (default walk)
  --duration S            seconds each bot runs its script (default 10)
  --account-prefix TEXT   accounts are TEXT1, TEXT2, … (default bot)
  --first N               number of the first bot (default 1)
  --password PW           the accounts' password (default botpassword)
  --move-hz N             movement updates per second (default 10)
  --zones LIST            zone-hop: zones to cycle through (default qeynos,antonica)
  --stagger-ms N          delay between bot starts (default 20)
  --attempts N            whole-flow attempts per bot (default 1)
  --bind ADDR             local address for the bots' sockets (default 127.0.0.1)
  --json                  print one JSON object per bot and a JSON summary
  --log-level LEVEL       debug, info, warn or error (default warn)
  -h, --help              show this help`;

const FLAGS = {
  server: { type: "string" },
  count: { type: "string" },
  script: { type: "string" },
  duration: { type: "string" },
  "account-prefix": { type: "string" },
  first: { type: "string" },
  password: { type: "string" },
  "move-hz": { type: "string" },
  zones: { type: "string" },
  "stagger-ms": { type: "string" },
  attempts: { type: "string" },
  bind: { type: "string" },
  json: { type: "boolean" },
  "log-level": { type: "string" },
} as const;

const SCRIPTS: readonly BotScriptName[] = ["walk", "chat", "zone-hop", "idle"];

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** `qeynos bot`. */
export const botCommand: Command = {
  name: "bot",
  summary: "run headless clients through login, world, zone and a script",
  help: HELP,
  async run(args) {
    const values = parseFlags(args, FLAGS, HELP);
    if (values === undefined) return 0;
    const target = addressFlag("server", values.server, HELP, { fallback: "127.0.0.1:9100" });
    const script = (values.script ?? "walk") as BotScriptName;
    if (!SCRIPTS.includes(script)) {
      throw new UsageError(`Invalid value for --script: '${values.script}' (expected ${SCRIPTS.join(", ")})`, HELP);
    }
    const count = integerFlag("count", values.count, 1, [1, 100_000], HELP);
    const duration = integerFlag("duration", values.duration, 10, [0, 86_400], HELP);
    const first = integerFlag("first", values.first, 1, [0, 1_000_000_000], HELP);
    const moveHz = integerFlag("move-hz", values["move-hz"], 10, [1, 100], HELP);
    const stagger = integerFlag("stagger-ms", values["stagger-ms"], 20, [0, 60_000], HELP);
    const attempts = integerFlag("attempts", values.attempts, 1, [1, 100], HELP);
    const prefix = values["account-prefix"] ?? "bot";
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,23}$/.test(prefix)) {
      throw new UsageError(`Invalid value for --account-prefix: '${prefix}' (letters, digits, _ . -)`, HELP);
    }
    const password = values.password ?? "botpassword";
    const zones = (values.zones ?? "qeynos,antonica").split(",").map((z) => z.trim()).filter((z) => z !== "");
    const level = parseLogLevel(values["log-level"] ?? "warn");
    if (level === undefined) throw new UsageError(`Invalid value for --log-level: '${values["log-level"]}'`, HELP);
    const json = values.json === true;

    const platform = createRealPlatform(createConsoleLog({ level }));
    // Movement latency: from a bot sending a position to another bot seeing it (all bots share this clock).
    const RING = 256;
    const sentAt = new Map<number, Float64Array>();
    const moveLatency = new Histogram();
    const observer = (e: BotEvent) => {
      if (e.type === "move.sent") {
        let ring = sentAt.get(e.charId);
        if (ring === undefined) sentAt.set(e.charId, ring = new Float64Array(RING).fill(-1));
        ring[e.sequence % RING] = e.atUs;
      } else if (e.type === "move.seen") {
        const at = sentAt.get(e.fromCharId)?.[e.sequence % RING];
        if (at !== undefined && at >= 0) moveLatency.record(e.atUs - at);
      }
    };
    const indexes = Array.from({ length: count }, (_, i) => first + i);
    const names = indexes.map((i) => botCharacterName(prefix, i));
    const started = performance.now();
    const outcomes = await Promise.all(indexes.map(async (index, i): Promise<BotOutcome> => {
      if (stagger > 0 && i > 0) await new Promise((resolve) => setTimeout(resolve, stagger * i));
      const outcome = await runBot(platform, {
        server: target,
        account: `${prefix}${index}`,
        password,
        characterName: names[i]!,
        script,
        durationUs: duration * 1_000_000,
        moveHz,
        zones,
        peers: names,
        attempts,
        observer,
        ...(values.bind === undefined ? {} : { bindAddress: values.bind }),
      });
      if (json) console.log(JSON.stringify(outcome));
      else {
        const c = outcome.counts;
        console.log(
          `${outcome.ok ? "ok  " : "FAIL"} ${outcome.account} ${outcome.character}` +
            (outcome.ok
              ? ` in zone after ${
                (outcome.enterUs / 1000).toFixed(0)
              } ms; moves ${c.movesSent} sent, ${c.moveUpdatesSeen} seen; ` +
                `chat ${c.chatSent} sent, ${c.chatReceived} received; zone changes ${c.zoneChanges}; ` +
                `saved ${outcome.saved ? "yes" : "no"}`
              : ` at ${outcome.step}: ${outcome.error}`),
        );
      }
      return outcome;
    }));
    const failed = outcomes.filter((o) => !o.ok);
    const enter = outcomes.filter((o) => o.enterUs >= 0).map((o) => o.enterUs / 1000).sort((a, b) => a - b);
    const summary = {
      bots: count,
      ok: count - failed.length,
      failed: failed.length,
      notSaved: outcomes.filter((o) => o.ok && !o.saved).length,
      enterMs: { p50: percentile(enter, 0.5), p99: percentile(enter, 0.99), max: enter.at(-1) ?? 0 },
      moveLatencyMs: {
        samples: moveLatency.count,
        p50: moveLatency.percentile(0.5) / 1000,
        p99: moveLatency.percentile(0.99) / 1000,
      },
      wallSeconds: Math.round((performance.now() - started) / 100) / 10,
    };
    if (json) console.log(JSON.stringify({ summary }));
    else {
      console.log(
        `\n${summary.ok}/${count} bots ok, ${summary.failed} failed` +
          (summary.notSaved > 0 ? `, ${summary.notSaved} logged out unsaved` : "") +
          `; time to zone p50 ${summary.enterMs.p50.toFixed(0)} ms, p99 ${summary.enterMs.p99.toFixed(0)} ms; ` +
          (summary.moveLatencyMs.samples === 0
            ? ""
            : `movement seen by others after p50 ${summary.moveLatencyMs.p50.toFixed(1)} ms, p99 ${
              summary.moveLatencyMs.p99.toFixed(1)
            } ms (${summary.moveLatencyMs.samples} samples); `) +
          `${summary.wallSeconds} s`,
      );
    }
    return failed.length === 0 ? 0 : 1;
  },
};
