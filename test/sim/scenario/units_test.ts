import assert from "node:assert/strict";
import { test } from "node:test";
import {
  formatDuration,
  parseBandwidth,
  parseDuration,
  parseRange,
  parseRate,
  parseSize,
} from "../../../sim/scenario/units.ts";

test("parseDuration() reads every unit and refuses bare numbers", () => {
  assert.equal(parseDuration("30s"), 30_000_000);
  assert.equal(parseDuration("250ms"), 250_000);
  assert.equal(parseDuration("500us"), 500);
  assert.equal(parseDuration("1.5m"), 90_000_000);
  assert.equal(parseDuration("2h"), 7_200_000_000);
  assert.equal(parseDuration("-5s"), -5_000_000);
  assert.equal(parseDuration(0), 0);
  assert.equal(parseDuration(30), undefined);
  assert.equal(parseDuration("30"), undefined);
  assert.equal(parseDuration("30 parsecs"), undefined);
});

test("parseRate() reads per-interval rates", () => {
  assert.equal(parseRate("2/s"), 2);
  assert.equal(parseRate("1/10s"), 0.1);
  assert.equal(parseRate("600/m"), 10);
  assert.equal(parseRate("5/100ms"), 50);
  assert.equal(parseRate(7), 7);
  assert.equal(parseRate("fast"), undefined);
  assert.equal(parseRate("1/0s"), undefined);
});

test("parseSize() and parseBandwidth() read units", () => {
  assert.equal(parseSize(1200), 1200);
  assert.equal(parseSize("64KB"), 64_000);
  assert.equal(parseSize("64KiB"), 65_536);
  assert.equal(parseSize("1MiB"), 1_048_576);
  assert.equal(parseSize("3 apples"), undefined);
  assert.equal(parseSize(1.5), undefined);
  assert.equal(parseBandwidth("10mbit"), 10_000_000);
  assert.equal(parseBandwidth("512kbit"), 512_000);
  assert.equal(parseBandwidth("1gbps"), 1e9);
  assert.equal(parseBandwidth("10 furlongs"), undefined);
});

test("parseRange() reads a..b and single values", () => {
  assert.deepEqual(parseRange("1s..5s", parseDuration), [1_000_000, 5_000_000]);
  assert.deepEqual(parseRange("64..1200", parseSize), [64, 1200]);
  assert.deepEqual(parseRange("2s", parseDuration), [2_000_000, 2_000_000]);
  assert.equal(parseRange("5s..1s", parseDuration), undefined);
  assert.equal(parseRange("1s..2s..3s", parseDuration), undefined);
});

test("formatDuration() prints compact durations", () => {
  assert.equal(formatDuration(1_500_000), "1.5s");
  assert.equal(formatDuration(120_000_000), "2m");
  assert.equal(formatDuration(250_000), "250ms");
  assert.equal(formatDuration(40), "40us");
});
