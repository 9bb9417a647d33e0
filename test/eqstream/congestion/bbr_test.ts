import assert from "node:assert/strict";
import { test } from "node:test";
import { Bbr } from "../../../src/eqstream/congestion/bbr.ts";

const MSS = 1400;
const RTT_US = 100_000;
/** Bytes a round delivers at the bottleneck's rate (250 kB/s × 100 ms). */
const ROUND_BYTES = 25_000;

/** Feeds `rounds` round trips of acks at a flat delivery rate; `lossy` adds a loss in each round. */
function run(options: { appLimited: boolean; lossy: boolean; rounds: number }): Bbr {
  const bbr = new Bbr({ mss: MSS, initialWindowPackets: 10, random: () => 0.5 });
  let delivered = 0;
  for (let round = 0; round < options.rounds; round++) {
    const now = (round + 1) * RTT_US;
    if (options.lossy) bbr.onLoss({ nowUs: now - 1, lostBytes: MSS, inflightBytes: 60_000, newestLostSentAtUs: 0 });
    const prior = delivered;
    delivered += ROUND_BYTES;
    bbr.onAck({
      nowUs: now,
      ackedBytes: ROUND_BYTES,
      inflightBytes: 60_000,
      srttUs: RTT_US,
      rttUs: RTT_US,
      rttVarUs: 1_000,
      minRttUs: RTT_US,
      deliveryRate: ROUND_BYTES * 10,
      appLimited: options.appLimited,
      priorDelivered: prior,
      delivered,
      newestSentAtUs: now - RTT_US,
    });
  }
  return bbr;
}

test("BBR leaves start-up once the bandwidth stops growing for three rounds", () => {
  assert.equal(run({ appLimited: false, lossy: false, rounds: 2 }).state, "startup");
  assert.notEqual(run({ appLimited: false, lossy: false, rounds: 8 }).state, "startup");
});

test("BBR stays in start-up while app-limited without loss (the rate says nothing about the path)", () => {
  assert.equal(run({ appLimited: true, lossy: false, rounds: 8 }).state, "startup");
});

test("BBR leaves start-up after lossy rounds without growth even when app-limited", () => {
  // A flow whose whole send buffer fits its window is app-limited all the time; were that to keep it
  // in start-up, its 2.885 gain would fill the bottleneck queue and starve the flows beside it.
  const bbr = run({ appLimited: true, lossy: true, rounds: 8 });
  assert.notEqual(bbr.state, "startup");
  assert.ok(bbr.pacingRate < 2 * ROUND_BYTES * 10, `pacing ${bbr.pacingRate} B/s`);
});
