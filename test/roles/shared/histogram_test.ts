import assert from "node:assert/strict";
import { test } from "node:test";
import { Histogram } from "../../../src/roles/mod.ts";

test("Histogram percentiles are within 7 % of the exact ones", () => {
  const histogram = new Histogram();
  const values: number[] = [];
  for (let i = 1; i <= 10_000; i++) {
    const v = (i * 7919) % 100_003;
    values.push(v);
    histogram.record(v);
  }
  values.sort((a, b) => a - b);
  for (const q of [0.5, 0.9, 0.99]) {
    const exact = values[Math.ceil(q * values.length) - 1]!;
    const got = histogram.percentile(q);
    assert.ok(Math.abs(got - exact) <= exact * 0.07, `q=${q}: ${got} vs ${exact}`);
  }
  const s = histogram.snapshot();
  assert.equal(s.count, 10_000);
  assert.equal(s.min, values[0]);
  assert.equal(s.max, values.at(-1));
});

test("Histogram of nothing reports zeros, and small values exactly", () => {
  const histogram = new Histogram();
  assert.deepEqual(histogram.snapshot(), { count: 0, min: 0, max: 0, mean: 0, p50: 0, p90: 0, p99: 0 });
  for (const v of [0, 1, 2, 3, -5]) histogram.record(v);
  assert.equal(histogram.percentile(0.5), 1);
  assert.equal(histogram.snapshot().max, 3);
});

test("merging states gives the histogram of all the records", () => {
  const whole = new Histogram();
  const parts = [new Histogram(), new Histogram()];
  for (let i = 0; i < 5000; i++) {
    const value = (i * 7919) % 100_003;
    whole.record(value);
    parts[i % 3 === 0 ? 0 : 1]!.record(value);
  }
  const merged = new Histogram();
  merged.merge(structuredClone(parts[0]!.state()));
  merged.merge(structuredClone(parts[1]!.state()));
  assert.deepEqual(merged.snapshot(), whole.snapshot());
  // An empty state changes nothing, min included.
  merged.merge(new Histogram().state());
  assert.deepEqual(merged.snapshot(), whole.snapshot());
  assert.throws(
    () => merged.merge({ counts: [1], count: 1, sum: 1, min: 1, max: 1 }),
    /Cannot merge a histogram of 1 buckets/,
  );
});
