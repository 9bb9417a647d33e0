import assert from "node:assert/strict";
import { test } from "node:test";
import bcrypt from "bcryptjs";
import { bcryptAccepts, PasswordHasher } from "../../src/store/_password.ts";
import { testPlatform } from "./_support.ts";

test("PasswordHasher.salt() draws 16 bytes from the injected rng in bcrypt's alphabet", () => {
  const a = new PasswordHasher(testPlatform(1).rng, 12);
  const b = new PasswordHasher(testPlatform(1).rng, 12);
  const c = new PasswordHasher(testPlatform(2).rng, 12);
  const salt = a.salt();
  assert.match(salt, /^\$2b\$12\$[./A-Za-z0-9]{22}$/);
  assert.equal(b.salt(), salt, "the same seed gives the same salt");
  assert.notEqual(c.salt(), salt);
  assert.notEqual(a.salt(), salt, "each salt takes fresh bytes");
});

test("PasswordHasher.hash() makes standard bcrypt hashes other implementations verify", async () => {
  const platform = testPlatform();
  const hasher = new PasswordHasher(platform.rng, 5);
  const hash = await hasher.hash("pässwörd");
  assert.match(hash, /^\$2b\$05\$[./A-Za-z0-9]{53}$/);
  assert.equal(await bcrypt.compare("pässwörd", hash), true);
  assert.equal(await bcrypt.compare("passwörd", hash), false);
  assert.equal(platform.drawnBytes, 16);
});

test("PasswordHasher.verify() checks a hash, and spends one dummy bcrypt when there is none", async () => {
  const platform = testPlatform();
  const hasher = new PasswordHasher(platform.rng, 4);
  const hash = await hasher.hash("right password");
  assert.equal(await hasher.verify("right password", hash), true);
  assert.equal(await hasher.verify("wrong password", hash), false);
  assert.equal(await hasher.verify("right password", undefined), false);
  assert.equal(await hasher.verify("x".repeat(73), await hasher.hash("x".repeat(72))), false);
  // The dummy hash is made once (16 bytes of secret + 16 of salt), at the first verification.
  const drawn = platform.drawnBytes;
  await hasher.verify("anything", undefined);
  assert.equal(platform.drawnBytes, drawn);
});

test("PasswordHasher.needsRehash() flags hashes of another cost", async () => {
  const hasher = new PasswordHasher(testPlatform().rng, 4);
  assert.equal(hasher.needsRehash(await hasher.hash("password")), false);
  assert.equal(hasher.needsRehash("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"), true);
});

test("bcryptAccepts() refuses what bcrypt would silently cut or misread", () => {
  assert.equal(bcryptAccepts("x".repeat(72)), true);
  assert.equal(bcryptAccepts("x".repeat(73)), false);
  assert.equal(bcryptAccepts("€".repeat(24)), true);
  assert.equal(bcryptAccepts("€".repeat(25)), false);
  assert.equal(bcryptAccepts("nul\0inside"), false);
});

test("PasswordHasher in sync mode reads no real clock, so the simulator's guard sees nothing", async () => {
  const { Simulation } = await import("../../sim/mod.ts");
  const sim = new Simulation({ seed: 3 });
  let verified: boolean | undefined;
  sim.addHost("store", {
    start: async (platform) => {
      const hasher = new PasswordHasher(platform.rng, 4, true);
      const hash = await hasher.hash("botpassword");
      verified = await hasher.verify("botpassword", hash);
    },
  });
  await sim.run({ untilUs: 1_000_000 });
  assert.equal(verified, true);
  assert.deepEqual(sim.violations().recorded.map((v) => v.api), []);
  assert.ok(Date.now() > 1_600_000_000_000, "the real clock is back after the call");
});
