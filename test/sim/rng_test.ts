import assert from "node:assert/strict";
import { test } from "node:test";
import { SimRng } from "../../sim/rng.ts";

test("SimRng gives the same stream for the same seed and name", () => {
  const a = new SimRng(42, "link:a>b");
  const b = new SimRng(42, "link:a>b");
  for (let i = 0; i < 1000; i++) assert.equal(a.u32(), b.u32());
});

test("SimRng streams differ by seed and by name", () => {
  const draw = (rng: SimRng) => Array.from({ length: 8 }, () => rng.u32());
  assert.notDeepEqual(draw(new SimRng(42, "x")), draw(new SimRng(43, "x")));
  assert.notDeepEqual(draw(new SimRng(42, "x")), draw(new SimRng(42, "y")));
  // Seeds above 2^32 use their high bits too.
  assert.notDeepEqual(draw(new SimRng(2 ** 40, "x")), draw(new SimRng(2 ** 41, "x")));
});

test("SimRng.float() is uniform in [0, 1)", () => {
  const rng = new SimRng(1, "uniform");
  const buckets = new Array(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const x = rng.float();
    assert.ok(x >= 0 && x < 1);
    buckets[Math.floor(x * 10)]++;
  }
  for (const count of buckets) assert.ok(Math.abs(count - 10_000) < 500, `bucket count ${count}`);
});

test("SimRng.int() covers its inclusive range and nothing else", () => {
  const rng = new SimRng(5, "int");
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const v = rng.int(3, 7);
    assert.ok(v >= 3 && v <= 7);
    seen.add(v);
  }
  assert.deepEqual([...seen].sort(), [3, 4, 5, 6, 7]);
});

test("SimRng.normal() and exponential() have the expected moments", () => {
  const rng = new SimRng(9, "moments");
  let sum = 0;
  let sq = 0;
  let exp = 0;
  const n = 50_000;
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    sum += z;
    sq += z * z;
    exp += rng.exponential(3);
  }
  assert.ok(Math.abs(sum / n) < 0.03);
  assert.ok(Math.abs(sq / n - 1) < 0.05);
  assert.ok(Math.abs(exp / n - 3) < 0.1);
});

test("SimRng.fill() fills every byte, including a ragged tail", () => {
  const bytes = new SimRng(3, "fill").fill(new Uint8Array(1027));
  assert.ok(bytes.subarray(1020).some((b) => b !== 0));
  const again = new SimRng(3, "fill").fill(new Uint8Array(1027));
  assert.deepEqual(bytes, again);
});

test("SimRng refuses a seed that is not a safe integer", () => {
  assert.throws(() => new SimRng(1.5), { name: "RangeError", message: "Invalid seed: 1.5 is not a safe integer" });
});
