/**
 * Child process of the crash-safety test: writes to the SQLite store at argv[2] as fast as it can and
 * prints one line to stdout after each write commits: `ack N` after the transaction of write N
 * (account `crashN`, its character and an audit entry), `pos N` after moving the `Counter` character
 * to x = N outside any transaction. Runs until killed.
 */
import process from "node:process";
import { openSqliteStore } from "../../src/store/sqlite.ts";
import { recordingLog } from "./_support.ts";

const [path, startText] = process.argv.slice(2);
if (path === undefined || startText === undefined) {
  console.error("usage: _crash_writer.ts DB_PATH START_INDEX");
  process.exit(2);
}

/** Character names are letters only: write N becomes `Crash` + N in base 26 letters. */
function letters(n: number): string {
  let text = "";
  do {
    text = String.fromCharCode(97 + (n % 26)) + text;
    n = Math.floor(n / 26);
  } while (n > 0);
  return `Crash${text}`;
}

const store = await openSqliteStore(path, {
  platform: {
    clock: { wallMs: () => Date.now() },
    rng: { fill: (bytes: Uint8Array) => crypto.getRandomValues(bytes) },
    log: recordingLog(),
  },
  bcryptCost: 4,
});
const counter = await store.transaction(async (tx) => {
  const existing = await tx.characters.findByName(1, "Counter");
  if (existing !== undefined) return existing.id;
  const owner = await tx.accounts.create({ name: "counter", password: "counter password" });
  const created = await tx.characters.create({
    accountId: owner.id,
    worldId: 1,
    name: "Counter",
    race: 0,
    class: 0,
    gender: 0,
    zone: "qeynos",
  });
  return created.id;
});
process.stdout.write("ready\n");

for (let n = Number(startText);; n++) {
  await store.transaction(async (tx) => {
    const account = await tx.accounts.create({ name: `crash${n}`, password: "crash password" });
    await tx.characters.create({
      accountId: account.id,
      worldId: 1,
      name: letters(n),
      race: n % 256,
      class: 1,
      gender: 0,
      zone: "qeynos",
      appearance: { n },
    });
    await tx.audit.record({ actor: "crash-writer", action: "crash.write", target: `crash${n}`, detail: { n } });
  });
  process.stdout.write(`ack ${n}\n`);
  await store.characters.savePosition(counter, { zone: "qeynos", x: n, y: 0, z: 0, heading: 0 });
  process.stdout.write(`pos ${n}\n`);
}
