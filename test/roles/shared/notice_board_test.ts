import assert from "node:assert/strict";
import { test } from "node:test";
import { NoticeBoard } from "../../../src/roles/mod.ts";

test("NoticeBoard.active() keeps notices until their TTL ends, oldest first", () => {
  const board = new NoticeBoard();
  board.add(1, "first", 1_000_000, 0);
  board.add(2, "second", 5_000_000, 0);
  assert.deepEqual(board.active(999_999).map((n) => n.id), [1, 2]);
  assert.deepEqual(board.active(1_000_000).map((n) => n.id), [2]);
  const [second] = board.active(1_500_000);
  assert.equal(NoticeBoard.remainingSeconds(second!, 1_500_000), 4);
  assert.deepEqual(board.active(5_000_000), []);
});

test("NoticeBoard replaces a notice with the same id and drops the oldest past maxNotices", () => {
  const board = new NoticeBoard({ maxNotices: 2 });
  board.add(1, "a", 10, 0);
  board.add(2, "b", 10, 0);
  board.add(1, "a again", 10, 0);
  board.add(3, "c", 10, 0);
  assert.deepEqual(board.active(0).map((n) => [n.id, n.text]), [[1, "a again"], [3, "c"]]);
});
