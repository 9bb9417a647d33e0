import assert from "node:assert/strict";
import { test } from "node:test";
import { createPipe } from "../../src/servertalk/pipe.ts";
import { eventually, testPlatform } from "./_platform.ts";

test("an in-process pipe delivers bytes in order, asynchronously, including bytes written before start", async () => {
  const { platform } = testPlatform();
  const [a, b] = createPipe(platform);
  a.write(Uint8Array.of(1, 2));
  const got: number[] = [];
  b.start({ data: (bytes) => got.push(...bytes), drain() {}, close() {} });
  a.start({ data() {}, drain() {}, close() {} });
  a.write(Uint8Array.of(3));
  assert.deepEqual(got, [], "nothing is delivered synchronously");
  await eventually(() => got.length === 3);
  assert.deepEqual(got, [1, 2, 3]);
  assert.equal(a.remote.port, b.local.port);
});

test("a pipe applies back-pressure past its high-water mark and drains", async () => {
  const { platform } = testPlatform();
  const [a, b] = createPipe(platform, { highWaterBytes: 100 });
  let drains = 0;
  a.start({ data() {}, drain: () => void drains++, close() {} });
  let received = 0;
  b.start({ data: (bytes) => void (received += bytes.length), drain() {}, close() {} });
  assert.equal(a.write(new Uint8Array(60)), true);
  assert.equal(a.write(new Uint8Array(60)), false);
  assert.equal(a.bufferedBytes, 120);
  await eventually(() => drains === 1);
  assert.equal(received, 120);
  assert.equal(a.bufferedBytes, 0);
});

test("ending one side of a pipe delivers what was written, then closes both sides once", async () => {
  const { platform } = testPlatform();
  const [a, b] = createPipe(platform);
  const closes: string[] = [];
  const got: number[] = [];
  a.start({ data() {}, drain() {}, close: (error) => closes.push(`a ${error}`) });
  b.start({ data: (bytes) => got.push(...bytes), drain() {}, close: (error) => closes.push(`b ${error}`) });
  a.write(Uint8Array.of(7));
  a.end();
  assert.equal(a.write(Uint8Array.of(8)), false, "nothing is written after end");
  await eventually(() => closes.length === 2);
  assert.deepEqual(got, [7]);
  assert.deepEqual(closes.sort(), ["a undefined", "b undefined"]);
  const [c, d] = createPipe(platform);
  const dCloses: string[] = [];
  d.start({ data() {}, drain() {}, close: () => dCloses.push("d") });
  c.start({ data() {}, drain() {}, close() {} });
  c.destroy();
  await eventually(() => dCloses.length === 1);
});
