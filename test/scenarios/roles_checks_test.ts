/**
 * Each role check passes on a healthy run and fails on a broken system or a fault it must catch: a
 * partition that keeps bots out, a zone that dies for good, an interest grid that ignores range, a
 * delivery path that duplicates or drops lines, a store with an extra character, a zone whose
 * presence reports never reach world, and a world that dies silently.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { EqStreamConnection } from "../../src/eqstream/mod.ts";
import { InterestGrid, PlayerPresence } from "../../src/roles/mod.ts";
import { QEYNOS_PROTOCOL_VERSION, QeynosWorld } from "../../src/roles/messages/mod.ts";
import { Link } from "../../src/servertalk/mod.ts";
import { loadScenario } from "../../sim/scenario/loader.ts";
import { registerWorkload } from "../../sim/workloads/registry.ts";
import { type GameBotEvent, RoleGame } from "../../sim/workloads/roles/mod.ts";
import { check, run, verdicts } from "./_roles.ts";

const CHECKS = [
  "bots_logged_in",
  "bots_finished",
  "chat_exactly_once",
  "characters_consistent",
  "sessions_converge",
  "world_list_accurate",
];

interface Variant {
  readonly duration?: string;
  readonly faults?: string;
  readonly login?: string;
  readonly server?: string;
  readonly checks?: string;
  readonly extra?: string;
}

/** Six bots, one zone server; every bot chats (say, shout, tell, channel in turn). */
function scenario(v: Variant = {}) {
  return loadScenario(
    `version: 1
name: role-checks
seed: 9
duration: ${v.duration ?? "{ chaos: 14s, heal: 8s }"}
hosts:
  - { id: login, role: login }
  - { id: world, role: world }
  - { id: zone1, role: zone }
  - { id: bot, role: client, count: 6 }
links:
  default: { latency: { dist: uniform, min: 5ms, max: 15ms } }
faults: ${v.faults ?? "[]"}
workload:
  login: { count: 6, window: 1s, start: 1s, play: 10s${v.login ?? ""}, server: { ${v.server ?? "spawnRadius: 40"} } }
  move: { hz: 5 }
  chat: { rate: 2/s }
${v.extra ?? ""}
checks: ${v.checks ?? `[${CHECKS.join(", ")}]`}
`,
    "role-checks.yaml",
  );
}

/** Replaces `object[name]` while `body` runs. */
async function patched<T>(
  object: object,
  name: string,
  replacement: (original: (...args: unknown[]) => unknown) => (...args: unknown[]) => unknown,
  body: () => Promise<T>,
): Promise<T> {
  const target = object as Record<string, (...args: unknown[]) => unknown>;
  const original = target[name]!;
  target[name] = replacement(original);
  try {
    return await body();
  } finally {
    target[name] = original;
  }
}

test("a healthy run passes every role check", async () => {
  const r = await run(scenario());
  assert.ok(r.passed, verdicts(r));
  assert.match(check(r, "chat_exactly_once").detail, /each once/);
});

test("bots_logged_in fails when a partition keeps the bots from login", async () => {
  const r = await run(scenario({
    duration: "20s",
    faults: `[{ at: 0s, partition: [[login], ["bot*"]] }]`,
    checks: "[bots_logged_in]",
  }));
  const c = check(r, "bots_logged_in");
  assert.equal(c.passed, false);
  assert.match(c.detail, /^6 of 6 bots did not log in as required: bot1 never reached a zone/);
});

test("bots_logged_in fails when login takes longer than its limit", async () => {
  const r = await run(scenario({ checks: "[{ bots_logged_in: { within: 100ms } }]" }));
  const c = check(r, "bots_logged_in");
  assert.equal(c.passed, false);
  assert.match(c.detail, /bot1 took \d\.\d{3}s to reach a zone/);
});

test("bots_finished fails when the only zone server dies for good", async () => {
  const r = await run(scenario({
    duration: "25s",
    faults: "[{ at: 6s, crash: zone1 }]",
    login: ", attempts: 1, giveUp: 2s, idleTimeout: 3s, keepAlive: 500ms",
    checks: "[bots_finished]",
  }));
  const c = check(r, "bots_finished");
  assert.equal(c.passed, false);
  assert.match(c.detail, /^6 bots: bot1 gave up after 1 attempts at script/);
});

test("chat_exactly_once fails when the interest grid ignores range (says reach players out of range)", async () => {
  const r = await patched(
    InterestGrid.prototype,
    "query",
    (original) =>
      function (this: InterestGrid, x: unknown, z: unknown, _radius: unknown, out?: unknown) {
        return original.call(this, x, z, 1e9, out);
      },
    () => run(scenario({ server: "spawnRadius: 400, sayRange: 20", checks: "[chat_exactly_once]" })),
  );
  const c = check(r, "chat_exactly_once");
  assert.equal(c.passed, false);
  assert.match(c.detail, /^say #1 of \d+ went to [\d, ]+, out of range/);
});

const CHAT_RECEIVED = QeynosWorld.opcodeOf("ChatReceived", QEYNOS_PROTOCOL_VERSION);

test("chat_exactly_once fails when a zone sends a line twice", async () => {
  const r = await patched(
    EqStreamConnection.prototype,
    "sendApp",
    (original) =>
      function (this: EqStreamConnection, opcode: unknown, payload: unknown) {
        original.call(this, opcode, payload);
        if (opcode === CHAT_RECEIVED) original.call(this, opcode, payload);
      },
    () => run(scenario({ checks: "[chat_exactly_once]" })),
  );
  const c = check(r, "chat_exactly_once");
  assert.equal(c.passed, false);
  assert.match(c.detail, /^(say|shout|tell|channel) #\d+ of character \d+ to character \d+ arrived twice/);
});

test("chat_exactly_once fails when lines handed to players never arrive", async () => {
  const r = await patched(
    EqStreamConnection.prototype,
    "sendApp",
    (original) =>
      function (this: EqStreamConnection, opcode: unknown, payload: unknown) {
        if (opcode !== CHAT_RECEIVED) original.call(this, opcode, payload);
      },
    () => run(scenario({ checks: "[chat_exactly_once]" })),
  );
  const c = check(r, "chat_exactly_once");
  assert.equal(c.passed, false);
  assert.match(c.detail, /^\d+ lines lost: .* never arrived/);
});

registerWorkload<null>({
  name: "test-extra-character",
  description: "test only: writes a second character for bot1's account straight into the store",
  parse: () => null,
  setup(ctx) {
    ctx.at(8_000_000, async () => {
      const store = RoleGame.of(ctx).store!;
      const account = await store.accounts.findByName("bot1");
      const world = RoleGame.of(ctx).world!;
      await store.characters.create({
        accountId: account!.id,
        worldId: world.worldId,
        name: "Stowaway",
        race: 0,
        class: 1,
        gender: 1,
        zone: "qeynos",
      });
    });
  },
});

test("characters_consistent fails when the store holds a character no bot played", async () => {
  const r = await run(scenario({ extra: "  test-extra-character:", checks: "[characters_consistent]" }));
  const c = check(r, "characters_consistent");
  assert.equal(c.passed, false);
  assert.match(c.detail, /^bot1 owns 2 characters \(Botaaaa, Stowaway\)/);
});

test("sessions_converge fails when a zone's presence reports never reach world", async () => {
  const r = await patched(
    Link.prototype,
    "send",
    (original) =>
      function (this: Link, type: unknown, value: unknown) {
        return type === PlayerPresence ? true : original.call(this, type, value);
      },
    () => run(scenario({ checks: "[sessions_converge]" })),
  );
  const c = check(r, "sessions_converge");
  assert.equal(c.passed, false);
  assert.match(c.detail, /bot\d logged out but world still has Bot[a-z]+ \((in_zone|assigned)\)/);
});

test("world_list_accurate fails when login keeps showing a world that died silently", async () => {
  const r = await run(scenario({
    duration: "25s",
    faults: "[{ at: 8s, crash: world, silent: true }]",
    checks: "[{ world_list_accurate: { timeout: 3s } }]",
  }));
  const c = check(r, "world_list_accurate");
  assert.equal(c.passed, false);
  assert.match(c.detail, /^Login has shown the world up since 8\.\d{3}s while it is down/);
  const first = r.report.checks.find((x) => x.name === "world_list_accurate")!.firstViolationUs!;
  assert.ok(first > 11_000_000 && first < 12_000_000, `first violation at ${first}`);
});

registerWorkload<null>({
  name: "test-chat-ids",
  description: "test only: records the message ids each bot sends",
  parse: () => null,
  setup(ctx) {
    const ids = new Map<string, number[]>();
    ctx.on("roles.bot", (raw) => {
      const { host, event } = raw as GameBotEvent;
      if (event.type === "chat.sent") ids.set(host, [...ids.get(host) ?? [], event.messageId]);
    });
    ctx.onFinish(() =>
      ctx.metric("test.chat_ids_repeated", [...ids.values()].filter((l) => new Set(l).size !== l.length).length)
    );
    ctx.onFinish(() => ctx.metric("test.chat_ids", [...ids.values()].reduce((n, l) => n + l.length, 0)));
  },
});

test("a bot that logs in again after losing its zone keeps numbering its chat lines", async () => {
  const r = await run(scenario({
    duration: "{ chaos: 30s, heal: 20s }",
    faults: "[{ at: 5s, crash: zone1, for: 3s }]",
    login: ", attempts: 4, retryDelay: 1s, giveUp: 2s, idleTimeout: 3s, keepAlive: 500ms",
    extra: "  test-chat-ids:",
  }));
  assert.ok(r.passed, verdicts(r));
  assert.ok(r.game.totals.failures >= 6, `failed attempts: ${r.game.totals.failures}`);
  const metric = (name: string) => r.report.metrics.find((m) => m.name === name)!.value;
  assert.ok(metric("test.chat_ids") > 60);
  assert.equal(metric("test.chat_ids_repeated"), 0);
});

test("the role workloads refuse a file without the login, world and zone hosts, at the workload's line", () => {
  assert.throws(
    () =>
      loadScenario(
        `version: 1
name: no-world
duration: 5s
hosts:
  - { id: login, role: login }
  - { id: zone1, role: zone }
  - { id: bot, role: client, count: 2 }
workload:
  login: { count: 2 }
`,
        "no-world.yaml",
      ),
    {
      name: "ScenarioError",
      message: /^no-world\.yaml:9: The role workloads need exactly one host with role world, not 0/,
    },
  );
});
