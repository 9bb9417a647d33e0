import assert from "node:assert/strict";
import { test } from "node:test";
import { botCharacterName } from "../../src/roles/mod.ts";
import { runCli as run } from "../_support/cli.ts";

test("qeynos bot refuses bad usage with one line and exit code 2", async () => {
  const cases: [string[], string][] = [
    [["bot", "--server", "localhost"], "qeynos: Invalid value for --server: 'localhost' (expected HOST:PORT)"],
    [["bot", "--script", "dance"], "qeynos: Invalid value for --script: 'dance' (expected walk, chat, zone-hop, idle)"],
    [["bot", "--count", "0"], "qeynos: Invalid value for --count: '0' is not an integer in 1..100000"],
    [["bot", "--account-prefix", "a b"], "qeynos: Invalid value for --account-prefix: 'a b' (letters, digits, _ . -)"],
    [["bot", "--nope"], "qeynos: Unknown option '--nope'"],
  ];
  for (const [args, message] of cases) {
    const { code, err } = await run(args);
    assert.equal(code, 2, args.join(" "));
    assert.equal(err.split("\n")[0], message);
  }
});

test("bot character names are letters only, distinct per index and within the store's 3..20 limit", () => {
  const names = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const name = botCharacterName("bot-7", i);
    assert.match(name, /^[A-Za-z]{3,20}$/);
    names.add(name.toLowerCase());
  }
  assert.equal(names.size, 2000);
  assert.equal(botCharacterName("bot", 1), "Botaaab");
  assert.equal(botCharacterName("1234", 0), "Botaaaa");
});
