import assert from "node:assert/strict";
import { test } from "node:test";
import { keepLatestPerSpawn } from "../../../src/roles/zone/latest_per_spawn.ts";

interface Entry {
  readonly spawnId: number;
  readonly move: number;
}

/** The spawns' last entries in the order of those entries, the obvious way. */
function reference(entries: readonly Entry[]): Entry[] {
  const last = new Map<number, number>();
  entries.forEach((e, i) => last.set(e.spawnId, i));
  return entries.filter((e, i) => last.get(e.spawnId) === i);
}

test("a batch keeps each spawn's last entry, in the order of those entries", () => {
  const entries: Entry[] = [
    { spawnId: 7, move: 1 },
    { spawnId: 3, move: 1 },
    { spawnId: 7, move: 2 },
    { spawnId: 9, move: 1 },
  ];
  const count = keepLatestPerSpawn(entries);
  assert.equal(count, 3);
  assert.deepEqual(entries.slice(0, count), [{ spawnId: 3, move: 1 }, { spawnId: 7, move: 2 }, {
    spawnId: 9,
    move: 1,
  }]);
  const none: Entry[] = [];
  assert.equal(keepLatestPerSpawn(none), 0);
  // Only the first n entries are the batch; what lies beyond them is left alone.
  const front: Entry[] = [{ spawnId: 1, move: 1 }, { spawnId: 1, move: 2 }, { spawnId: 2, move: 1 }, {
    spawnId: 1,
    move: 3,
  }];
  assert.equal(keepLatestPerSpawn(front, 2), 1);
  assert.deepEqual(front, [{ spawnId: 1, move: 2 }, { spawnId: 1, move: 2 }, { spawnId: 2, move: 1 }, {
    spawnId: 1,
    move: 3,
  }]);
});

test("short and long batches (pairwise and set paths) agree with the obvious way", () => {
  // A fixed linear congruential sequence: the same cases every run.
  let state = 12345;
  const next = (n: number) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
  for (let round = 0; round < 500; round++) {
    const length = next(60);
    const entries: Entry[] = Array.from({ length }, (_, move) => ({ spawnId: next(1 + (round % 40)), move }));
    const expected = reference(entries);
    const count = keepLatestPerSpawn(entries);
    assert.deepEqual(entries.slice(0, count), expected, `round ${round}, length ${length}`);
  }
});
