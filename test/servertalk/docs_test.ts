import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ErrorReply, Goodbye, Heartbeat, Hello, RetryReply, Welcome } from "../../src/servertalk/control.ts";
import { LINK_DEFAULTS } from "../../src/servertalk/link_core.ts";
import { MESSAGES, REPLIES } from "../../src/servertalk/messages.ts";
import { Opcode } from "../../src/servertalk/opcodes.ts";
import { ServertalkErrorCode } from "../../src/servertalk/servertalk_error.ts";

const doc = readFileSync(new URL("../../docs/servertalk.md", import.meta.url), "utf8");
const hex = (n: number) => `0x${n.toString(16).padStart(4, "0")}`;

test("docs/servertalk.md lists every opcode, every message with its fields, every code and every limit", () => {
  for (const [name, value] of Object.entries(Opcode)) assert.ok(doc.includes(`\`${hex(value)}\` ${name}`), name);
  for (const type of [...MESSAGES, ...REPLIES, Hello, Welcome, Goodbye, Heartbeat, ErrorReply, RetryReply]) {
    const row = doc.split("\n").find((line) => line.startsWith(`| ${type.name} `));
    assert.ok(row !== undefined, `${type.name} has a row`);
    for (const field of Object.keys(type.fields)) assert.ok(row.includes(`${field}:`), `${type.name}.${field}`);
  }
  for (const code of Object.values(ServertalkErrorCode)) assert.ok(doc.includes(code), code);
  for (const option of Object.keys(LINK_DEFAULTS)) assert.ok(doc.includes(`\`${option}\``), option);
});
