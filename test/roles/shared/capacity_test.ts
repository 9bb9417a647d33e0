import assert from "node:assert/strict";
import { test } from "node:test";
import { CapacityState, RoleError, ServerStatus } from "../../../src/roles/mod.ts";

test("CapacityState goes TAKEN at maxPlayers and back ONLINE below the resume threshold", () => {
  const state = new CapacityState({ maxPlayers: 10, resumeAt: 0.8 });
  assert.equal(state.status, ServerStatus.Online);
  assert.equal(state.evaluate(9), undefined);
  assert.equal(state.room, 1);
  assert.deepEqual(state.evaluate(10), { from: "online", to: "taken", players: 10, reason: "capacity" });
  assert.equal(state.accepting, false);
  assert.equal(state.evaluate(9), undefined, "hysteresis: 9 is not below 8");
  assert.equal(state.evaluate(8), undefined);
  assert.deepEqual(state.evaluate(7), { from: "taken", to: "online", players: 7, reason: "capacity" });
  assert.equal(state.accepting, true);
});

test("CapacityState.pin() overrides the rule until released, and OFFLINE is final", () => {
  const state = new CapacityState({ maxPlayers: 2 });
  assert.deepEqual(state.pin(ServerStatus.Taken), { from: "online", to: "taken", players: 0, reason: "operator" });
  assert.equal(state.evaluate(0), undefined);
  assert.equal(state.status, ServerStatus.Taken);
  assert.deepEqual(state.pin(undefined), { from: "taken", to: "online", players: 0, reason: "capacity" });
  assert.deepEqual(state.offline(), { from: "online", to: "offline", players: 0, reason: "drain" });
  assert.equal(state.pin(ServerStatus.Online), undefined);
  assert.equal(state.evaluate(0), undefined);
  assert.equal(state.status, ServerStatus.Offline);
  assert.equal(state.accepting, false);
});

test("CapacityState refuses bad limits with ROLE_BAD_OPTION", () => {
  assert.throws(() => new CapacityState({ maxPlayers: 0 }), (error: unknown) => {
    assert.ok(error instanceof RoleError);
    assert.equal(error.code, "ROLE_BAD_OPTION");
    assert.equal(error.message, "Invalid maxPlayers: 0 is not a positive integer");
    return true;
  });
  assert.throws(() => new CapacityState({ maxPlayers: 5, takenAt: 0.5, resumeAt: 0.9 }), { code: "ROLE_BAD_OPTION" });
});
