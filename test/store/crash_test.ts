/**
 * Crash safety of the SQLite store: a child process writes and acknowledges each commit; it is
 * killed with SIGKILL at seeded-random moments, many times over one database. After each kill the
 * database must pass SQLite's integrity and foreign-key checks, hold every acknowledged write, and
 * hold every write (acknowledged or not) either whole or not at all.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runtimeName } from "../../src/platform/mod.ts";
import { openSqliteStore } from "../../src/store/sqlite.ts";
import { tempDir, testPlatform } from "./_support.ts";

const ROUNDS = Number(process.env.QEYNOS_CRASH_ROUNDS ?? 16);
const SEED = Number(process.env.QEYNOS_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const WRITER = fileURLToPath(new URL("./_crash_writer.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** mulberry32: a small seeded generator for the kill schedule. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface RoundResult {
  readonly acked: number[];
  readonly lastPos: number | undefined;
  readonly sawReady: boolean;
}

/** Runs the writer until `killAfterAcks` acks (0: `killAtMs` after spawn), waits `extraMs`, then SIGKILLs it. */
function runRound(
  path: string,
  start: number,
  plan: { killAfterAcks: number; killAtMs: number; extraMs: number },
): Promise<RoundResult> {
  const args = runtimeName() === "deno" ? ["run", "-A", WRITER, path, String(start)] : [WRITER, path, String(start)];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const acked: number[] = [];
  let lastPos: number | undefined;
  let sawReady = false;
  let buffered = "";
  let stderr = "";
  let killing = false;
  const kill = () => {
    if (killing) return;
    killing = true;
    setTimeout(() => child.kill("SIGKILL"), plan.extraMs);
  };
  if (plan.killAfterAcks === 0) setTimeout(kill, plan.killAtMs);
  child.stdout.on("data", (chunk: Uint8Array) => {
    buffered += new TextDecoder().decode(chunk);
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      const [word, value] = line.split(" ");
      if (word === "ready") sawReady = true;
      else if (word === "ack") acked.push(Number(value));
      else if (word === "pos") lastPos = Number(value);
      if (plan.killAfterAcks > 0 && acked.length >= plan.killAfterAcks) kill();
    }
  });
  child.stderr.on("data", (chunk: Uint8Array) => stderr += new TextDecoder().decode(chunk));
  // A writer that never gets going is killed anyway, so a failure shows up as an assertion, not a hang.
  const guard = setTimeout(kill, 20_000);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      if (signal !== "SIGKILL") {
        reject(new Error(`writer exited on its own (code ${code}, signal ${signal}): ${stderr}`));
      } else {
        resolve({ acked, lastPos, sawReady });
      }
    });
  });
}

/** Checks the database after a crash; returns the number of complete writes found. */
async function verify(path: string, acked: readonly number[], lastPos: number | undefined): Promise<number> {
  const raw = new DatabaseSync(path);
  try {
    const integrity = raw.prepare("pragma integrity_check").all() as { integrity_check: string }[];
    assert.deepEqual(integrity.map((r) => r.integrity_check), ["ok"]);
    assert.deepEqual(raw.prepare("pragma foreign_key_check").all(), []);
  } finally {
    raw.close();
  }
  const store = await openSqliteStore(path, { platform: testPlatform(), bcryptCost: 4 });
  try {
    for (const n of acked) {
      const account = await store.accounts.findByName(`crash${n}`);
      assert.ok(account !== undefined, `acknowledged write ${n} lost its account`);
      const characters = await store.characters.listByAccount(account.id);
      assert.deepEqual(characters.map((c) => c.appearance), [{ n }], `acknowledged write ${n} lost its character`);
      assert.equal(
        (await store.audit.list({ target: `crash${n}` })).length,
        1,
        `acknowledged write ${n} lost its audit entry`,
      );
    }
    // Every write is whole or absent, acknowledged or not.
    const stats = await store.stats();
    const writes = stats.accounts.player - 1;
    if (stats.accounts.player > 0) {
      assert.equal(stats.characters, writes + 1, "one character per crash account, plus Counter");
      assert.equal(stats.auditEntries, writes, "one audit entry per crash account");
    }
    if (lastPos !== undefined) {
      const counter = await store.characters.findByName(1, "Counter");
      assert.ok(
        counter !== undefined && counter.x >= lastPos,
        `acknowledged position ${lastPos} lost: x = ${counter?.x}`,
      );
    }
    return Math.max(0, writes);
  } finally {
    await store.close();
  }
}

test("SQLite keeps every acknowledged write when the writing process is killed at random moments", async () => {
  console.log(
    `crash test seed=${SEED} rounds=${ROUNDS} (replay with QEYNOS_CRASH_SEED=${SEED} QEYNOS_CRASH_ROUNDS=${ROUNDS})`,
  );
  const random = seeded(SEED);
  const dir = tempDir("qeynos-crash-");
  const path = join(dir.path, "qeynos.db");
  const allAcked: number[] = [];
  let lastPos: number | undefined;
  let killsBeforeReady = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // A quarter of the kills land at a random time after spawn (start-up, migration, first writes);
      // the rest after a random number of acknowledged writes plus up to 3 ms.
      const early = random() < 0.25;
      const plan = {
        killAfterAcks: early ? 0 : 1 + Math.floor(random() * 40),
        killAtMs: Math.floor(random() * 250),
        extraMs: Math.floor(random() * 4),
      };
      const result = await runRound(path, round * 100_000, plan);
      if (!result.sawReady) killsBeforeReady++;
      allAcked.push(...result.acked);
      lastPos = result.lastPos ?? lastPos;
      const complete = await verify(path, allAcked, lastPos);
      assert.ok(complete >= allAcked.length);
    }
    console.log(
      `crash test: ${ROUNDS} kills (${killsBeforeReady} before the writer was ready), ${allAcked.length} acknowledged writes all present`,
    );
    assert.ok(allAcked.length > 0, "the writer acknowledged something");
  } finally {
    dir.remove();
  }
});
