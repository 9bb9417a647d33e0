import assert from "node:assert/strict";
import { test } from "node:test";
import { AccessKeys, RoleError } from "../../../src/roles/mod.ts";
import { seededRng } from "./_rng.ts";

test("AccessKeys.redeem() accepts a key once, for its account and character only", () => {
  const keys = new AccessKeys<string>(seededRng(1), { ttlUs: 1_000 });
  const grant = keys.issue(0, 7, 70, "zone-1");
  assert.notEqual(grant.key, 0);
  assert.deepEqual(keys.redeem(grant.key, 8, 70, 10), { ok: false, reason: "bad_key" });
  assert.deepEqual(keys.redeem(grant.key, 7, 71, 10), { ok: false, reason: "bad_key" });
  const redeemed = keys.redeem(grant.key, 7, 70, 10);
  assert.ok(redeemed.ok);
  assert.equal(redeemed.grant.data, "zone-1");
  assert.deepEqual(keys.redeem(grant.key, 7, 70, 10), { ok: false, reason: "bad_key" });
});

test("AccessKeys.redeem() refuses an expired key and consumes it", () => {
  const keys = new AccessKeys(seededRng(2), { ttlUs: 1_000 });
  const grant = keys.issue(0, 1, 2, undefined);
  assert.deepEqual(keys.redeem(grant.key, 1, 2, 1_000), { ok: false, reason: "expired" });
  assert.equal(keys.size, 0);
});

test("AccessKeys.issue() revokes an earlier key of the same character", () => {
  const keys = new AccessKeys(seededRng(3));
  const first = keys.issue(0, 1, 2, undefined);
  const second = keys.issue(1, 1, 2, undefined);
  assert.equal(keys.size, 1);
  assert.equal(keys.redeem(first.key, 1, 2, 2).ok, false);
  assert.equal(keys.redeem(second.key, 1, 2, 2).ok, true);
});

test("AccessKeys drops the oldest grant when maxPending is reached", () => {
  const keys = new AccessKeys(seededRng(4), { maxPending: 3 });
  const grants = [1, 2, 3, 4].map((c) => keys.issue(c, 1, c, undefined));
  assert.equal(keys.size, 3);
  assert.equal(keys.evicted, 1);
  assert.equal(keys.redeem(grants[0]!.key, 1, 1, 5).ok, false);
  assert.equal(keys.redeem(grants[3]!.key, 1, 4, 5).ok, true);
});

test("AccessKeys.accept() keeps a key chosen elsewhere and refuses one already outstanding or zero", () => {
  const keys = new AccessKeys<number>(seededRng(5));
  assert.ok(keys.accept(1234, 0, 1, 10, 99));
  assert.equal(keys.accept(1234, 0, 2, 20, 99), undefined);
  assert.equal(keys.accept(0, 0, 2, 20, 99), undefined);
  const expired = keys.expire(30_000_001);
  assert.deepEqual(expired.map((g) => g.characterId), [10]);
});

test("AccessKeys refuses a non-positive ttl with ROLE_BAD_OPTION", () => {
  assert.throws(() => new AccessKeys(seededRng(6), { ttlUs: 0 }), (error: unknown) => {
    assert.ok(error instanceof RoleError);
    assert.equal(error.code, "ROLE_BAD_OPTION");
    assert.equal(error.message, "Invalid access key ttlUs: 0 is not a positive integer");
    return true;
  });
  assert.throws(() => new AccessKeys(seededRng(6), { maxPending: 0 }), { code: "ROLE_BAD_OPTION" });
});
