import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { InterestGrid, RoleError } from "../../../src/roles/mod.ts";
import { propertyParameters } from "../../_support/property.ts";

test("InterestGrid.query() finds exactly the ids within the radius, inclusive", () => {
  const grid = new InterestGrid(10);
  grid.insert(1, 0, 0);
  grid.insert(2, 10, 0);
  grid.insert(3, 10.01, 0);
  grid.insert(4, -7, -7);
  assert.deepEqual(grid.query(0, 0, 10).sort(), [1, 2, 4]);
  assert.deepEqual(grid.query(100, 100, 5), []);
});

test("InterestGrid.move() reports a cell change and the old cell forgets the id", () => {
  const grid = new InterestGrid(10);
  grid.insert(1, 1, 1);
  assert.equal(grid.move(1, 2, 2), false);
  assert.equal(grid.move(1, 25, 2), true);
  assert.deepEqual(grid.query(1, 1, 3), []);
  assert.deepEqual(grid.query(25, 2, 0), [1]);
  assert.equal(grid.cells, 1);
  assert.equal(grid.remove(1), true);
  assert.equal(grid.cells, 0);
  assert.equal(grid.size, 0);
});

test("InterestGrid refuses a cell size that is not positive with ROLE_BAD_OPTION", () => {
  assert.throws(() => new InterestGrid(0), (error: unknown) => {
    assert.ok(error instanceof RoleError);
    assert.equal(error.code, "ROLE_BAD_OPTION");
    assert.equal(error.message, "Invalid grid cell size: 0 is not a positive number");
    return true;
  });
});

test("InterestGrid.query() matches a brute-force distance check after any inserts, moves and removes", async () => {
  const coordinate = fc.double({ min: -500, max: 500, noNaN: true });
  const op = fc.oneof(
    fc.record({ kind: fc.constant("put" as const), id: fc.integer({ min: 0, max: 30 }), x: coordinate, z: coordinate }),
    fc.record({ kind: fc.constant("remove" as const), id: fc.integer({ min: 0, max: 30 }) }),
  );
  await fc.assert(
    fc.property(
      fc.double({ min: 1, max: 200, noNaN: true }),
      fc.array(op, { maxLength: 80 }),
      coordinate,
      coordinate,
      fc.double({ min: 0, max: 400, noNaN: true }),
      (cell, ops, qx, qz, radius) => {
        const grid = new InterestGrid(cell);
        const model = new Map<number, { x: number; z: number }>();
        for (const o of ops) {
          if (o.kind === "put") {
            grid.insert(o.id, o.x, o.z);
            model.set(o.id, { x: o.x, z: o.z });
          } else {
            assert.equal(grid.remove(o.id), model.delete(o.id));
          }
        }
        const expected = [...model].filter(([, p]) => (p.x - qx) ** 2 + (p.z - qz) ** 2 <= radius * radius)
          .map(([id]) => id).sort((a, b) => a - b);
        assert.deepEqual(grid.query(qx, qz, radius).sort((a, b) => a - b), expected);
        assert.equal(grid.size, model.size);
      },
    ),
    propertyParameters(200),
  );
});
