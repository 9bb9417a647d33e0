import assert from "node:assert/strict";
import { test } from "node:test";
import { createConsoleLog, parseLogLevel } from "../../src/platform/console_log.ts";

test("console log filters by level and adds child fields", () => {
  const lines: string[] = [];
  const log = createConsoleLog({ level: "info", write: (l) => lines.push(l), wallMs: () => 0 });
  log.debug("hidden");
  log.child({ role: "login" }).warn("world dropped", { world: "Antonia Bayle", players: 3 });
  assert.deepEqual(lines, ['1970-01-01T00:00:00.000Z WARN  world dropped role=login world="Antonia Bayle" players=3']);
});

test("console log writes one JSON object per line in json format", () => {
  const lines: string[] = [];
  const log = createConsoleLog({ format: "json", write: (l) => lines.push(l), wallMs: () => 0 });
  log.error("boom", { code: "X", big: 5n });
  assert.deepEqual(JSON.parse(lines[0]!), {
    time: "1970-01-01T00:00:00.000Z",
    level: "error",
    message: "boom",
    code: "X",
    big: "5",
  });
});

test("parseLogLevel() accepts the four levels only", () => {
  assert.equal(parseLogLevel("debug"), "debug");
  assert.equal(parseLogLevel("verbose"), undefined);
  assert.equal(parseLogLevel("toString"), undefined);
});
