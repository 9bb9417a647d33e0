import type { AckSample, CongestionControl, CongestionControlInit, LossSample } from "./congestion_control.ts";

/** Startup gain: 2/ln 2, the smallest gain that doubles the sending rate each round. */
const HIGH_GAIN = 2.885;
/** Probe-bandwidth pacing gains, one phase per min RTT. */
const CYCLE = [1.25, 0.75, 1, 1, 1, 1, 1, 1] as const;
/** Bandwidth max-filter length in round trips. */
const BW_WINDOW_ROUNDS = 10;
/** Min-RTT filter length. */
const MIN_RTT_WINDOW_US = 10_000_000;
/** Time spent at a tiny window to re-measure the min RTT. */
const PROBE_RTT_US = 200_000;
/** Datagrams per round trip the bounds grow back by. */
const BOUND_GROWTH_PACKETS = 4;
/** Bound cut after a loss that came with a queue. */
const LOSS_CUT = 0.8;
/** Bound cut after a round whose every RTT sample showed a queue. */
const STANDING_QUEUE_CUT = 0.85;
/** Steady-state window: this many BDPs. */
const CWND_GAIN = 2;

/**
 * A BBR-style controller (after BBR v1): it models the path as a bottleneck bandwidth (max delivery
 * rate over 10 round trips) and a propagation delay (min RTT over 10 s), paces at that bandwidth
 * with a gain cycle that probes for more, and caps in-flight data at 2× their product. Random loss
 * does not shrink the window, so throughput survives a lossy path; the window cap and the pacing
 * keep the bottleneck queue short.
 */
export class Bbr implements CongestionControl {
  readonly name = "bbr";
  readonly #mss: number;
  readonly #initialCwnd: number;
  #mode: "startup" | "drain" | "probe_bw" | "probe_rtt" = "startup";
  #cwnd: number;
  #priorCwnd = 0;
  #pacingRate = 0;
  #pacingGain = HIGH_GAIN;
  #cwndGain = HIGH_GAIN;
  readonly #bwRound = new Array<number>(BW_WINDOW_ROUNDS).fill(-1);
  readonly #bwValue = new Array<number>(BW_WINDOW_ROUNDS).fill(0);
  #btlBw = 0;
  #minRttUs = 0;
  #minRttStampUs = 0;
  #round = 0;
  #nextRoundDelivered = 0;
  #fullBw = 0;
  #fullBwCount = 0;
  #filledPipe = false;
  #cycleIndex = 0;
  #cycleStampUs = 0;
  #probeRttDoneUs = -1;
  #probeRttRoundDone = false;
  #lossInRound = false;
  #lossInLastRound = false;
  #inRtoRecovery = false;
  readonly #random: () => number;
  /** Bandwidth and in-flight bounds learnt from losses that came with a queue (Infinity: none). */
  #bwLo = Infinity;
  #inflightHi = Infinity;
  #cutInRound = false;
  #cutInPreviousRound = false;
  #latestRttUs = 0;
  #roundMinRttUs = Infinity;
  #rttVarUs = 0;

  constructor(init: CongestionControlInit) {
    this.#mss = init.mss;
    this.#initialCwnd = init.mss * init.initialWindowPackets;
    this.#cwnd = this.#initialCwnd;
    this.#random = init.random;
  }

  get cwndBytes(): number {
    return this.#cwnd;
  }

  get pacingRate(): number {
    return this.#pacingRate;
  }

  get state(): string {
    return this.#mode;
  }

  /** Bottleneck bandwidth estimate in bytes per second. */
  get bandwidth(): number {
    return this.#btlBw;
  }

  /** The bandwidth the controller uses: the path estimate, lowered after losses that came with a queue. */
  #bw(): number {
    return Math.min(this.#btlBw, this.#bwLo);
  }

  #bdp(gain: number): number {
    if (this.#btlBw === 0 || this.#minRttUs === 0) return this.#initialCwnd;
    return (gain * this.#bw() * this.#minRttUs) / 1e6;
  }

  #updateBandwidth(round: number, rate: number): void {
    const slot = round % BW_WINDOW_ROUNDS;
    if (this.#bwRound[slot] !== round) {
      this.#bwRound[slot] = round;
      this.#bwValue[slot] = rate;
    } else if (rate > this.#bwValue[slot]!) {
      this.#bwValue[slot] = rate;
    }
    let best = 0;
    for (let i = 0; i < BW_WINDOW_ROUNDS; i++) {
      if (this.#bwRound[i]! > round - BW_WINDOW_ROUNDS && this.#bwValue[i]! > best) best = this.#bwValue[i]!;
    }
    this.#btlBw = best;
  }

  onAck(sample: AckSample): void {
    const now = sample.nowUs;
    let roundStart = false;
    if (sample.priorDelivered >= this.#nextRoundDelivered) {
      this.#nextRoundDelivered = sample.delivered;
      this.#round++;
      roundStart = true;
      this.#lossInLastRound = this.#lossInRound;
      this.#lossInRound = false;
      // A round without a queue lets the bounds grow back additively (a datagram per round trip):
      // multiplicative cuts with additive growth is what makes competing flows converge to fair shares.
      if (!this.#cutInRound && !this.#cutInPreviousRound) {
        if (this.#bwLo !== Infinity) {
          this.#bwLo += (BOUND_GROWTH_PACKETS * this.#mss * 1e6) / Math.max(this.#minRttUs, 1);
          if (this.#bwLo >= this.#btlBw) this.#bwLo = Infinity;
        }
        if (this.#inflightHi !== Infinity) {
          this.#inflightHi += BOUND_GROWTH_PACKETS * this.#mss;
          if (this.#inflightHi >= 2 * this.#bdp(CWND_GAIN)) this.#inflightHi = Infinity;
        }
      }
      this.#cutInPreviousRound = this.#cutInRound;
      this.#cutInRound = false;
      // A queue that never drained during a whole round is this flow's (or its neighbours') doing:
      // back off a little, so that flows sharing the queue shrink it and drift towards equal shares.
      // (The round's minimum already filters path jitter, so no RTT-variation margin here.)
      if (this.#filledPipe && this.#roundMinRttUs !== Infinity && this.#standingQueue(this.#roundMinRttUs)) {
        this.#cut(STANDING_QUEUE_CUT, sample.inflightBytes, false);
      }
      this.#roundMinRttUs = Infinity;
    }
    if (sample.rttUs > 0) {
      this.#latestRttUs = sample.rttUs;
      if (sample.rttUs < this.#roundMinRttUs) this.#roundMinRttUs = sample.rttUs;
    }
    this.#rttVarUs = sample.rttVarUs;
    if (sample.deliveryRate > 0 && (!sample.appLimited || sample.deliveryRate >= this.#btlBw)) {
      this.#updateBandwidth(this.#round, sample.deliveryRate);
    }
    let minRttExpired = false;
    if (sample.rttUs > 0) {
      minRttExpired = this.#minRttUs > 0 && now > this.#minRttStampUs + MIN_RTT_WINDOW_US;
      if (this.#minRttUs === 0 || sample.rttUs <= this.#minRttUs || minRttExpired) {
        this.#minRttUs = sample.rttUs;
        this.#minRttStampUs = now;
      }
    }
    if (this.#inRtoRecovery) {
      // The path answers again: grow back towards the window from before the timeout one ack at a
      // time (slow start), so that a timeout that was only a delay spike costs a resend or two, not a burst.
      this.#cwnd += sample.ackedBytes;
      if (this.#cwnd < this.#priorCwnd) return;
      this.#inRtoRecovery = false;
    }

    // Startup ends when three rounds in a row fail to grow the bandwidth by a quarter. A round that lost
    // packets counts even when the sender ran short of data: a flow whose whole buffer fits its window
    // would otherwise stay in start-up, at its high gain, for as long as it lives.
    if (!this.#filledPipe && roundStart && (!sample.appLimited || this.#lossInLastRound)) {
      if (this.#btlBw >= this.#fullBw * 1.25) {
        this.#fullBw = this.#btlBw;
        this.#fullBwCount = 0;
      } else if (++this.#fullBwCount >= 3) {
        this.#filledPipe = true;
      }
    }
    if (this.#mode === "startup" && this.#filledPipe) {
      this.#mode = "drain";
      this.#pacingGain = 1 / HIGH_GAIN;
      this.#cwndGain = HIGH_GAIN;
    }
    if (this.#mode === "drain" && sample.inflightBytes <= this.#bdp(1)) this.#enterProbeBw(now);
    if (this.#mode === "probe_bw") this.#advanceCycle(now, sample);

    if (this.#mode !== "probe_rtt" && minRttExpired) {
      this.#mode = "probe_rtt";
      this.#pacingGain = 1;
      this.#priorCwnd = Math.max(this.#priorCwnd, this.#cwnd);
      this.#probeRttDoneUs = -1;
    }
    if (this.#mode === "probe_rtt") {
      if (this.#probeRttDoneUs < 0 && sample.inflightBytes <= 4 * this.#mss) {
        this.#probeRttDoneUs = now + PROBE_RTT_US;
        this.#probeRttRoundDone = false;
        this.#nextRoundDelivered = sample.delivered;
      } else if (this.#probeRttDoneUs >= 0) {
        if (roundStart) this.#probeRttRoundDone = true;
        if (this.#probeRttRoundDone && now >= this.#probeRttDoneUs) {
          this.#minRttStampUs = now;
          this.#cwnd = Math.max(this.#cwnd, this.#priorCwnd);
          if (this.#filledPipe) this.#enterProbeBw(now);
          else {
            this.#mode = "startup";
            this.#pacingGain = HIGH_GAIN;
            this.#cwndGain = HIGH_GAIN;
          }
        }
      }
    }

    // Pacing: never slow down before the pipe is known to be full.
    const rate = this.#btlBw > 0
      ? this.#pacingGain * this.#bw()
      : (this.#pacingGain * this.#initialCwnd * 1e6) / Math.max(sample.srttUs, 1);
    if (this.#filledPipe || rate > this.#pacingRate) this.#pacingRate = rate;

    // Window: grow towards the target by what was delivered.
    const target = Math.min(this.#bdp(this.#cwndGain) + 3 * this.#mss, Math.max(this.#inflightHi, 4 * this.#mss));
    if (this.#filledPipe) this.#cwnd = Math.min(this.#cwnd + sample.ackedBytes, target);
    else if (this.#cwnd < target || sample.delivered < this.#initialCwnd) this.#cwnd += sample.ackedBytes;
    this.#cwnd = Math.max(this.#cwnd, 4 * this.#mss);
    if (this.#mode === "probe_rtt") this.#cwnd = Math.min(this.#cwnd, 4 * this.#mss);
  }

  #enterProbeBw(now: number): void {
    this.#mode = "probe_bw";
    this.#cwndGain = CWND_GAIN;
    // Start at a random phase other than the draining one, so that flows do not probe in lockstep.
    const phase = Math.floor(this.#random() * (CYCLE.length - 1));
    this.#cycleIndex = phase === 0 ? 0 : phase + 1;
    this.#pacingGain = CYCLE[this.#cycleIndex]!;
    this.#cycleStampUs = now;
  }

  #advanceCycle(now: number, sample: AckSample): void {
    const gain = this.#pacingGain;
    let next = now - this.#cycleStampUs > this.#minRttUs;
    // Probing up lasts until the queue has been pushed (or loss says stop); draining ends once the queue is gone.
    if (gain > 1) next = next && (this.#lossInRound || sample.inflightBytes >= this.#bdp(gain));
    else if (gain < 1) next = next || sample.inflightBytes <= this.#bdp(1);
    if (!next) return;
    this.#cycleIndex = (this.#cycleIndex + 1) % CYCLE.length;
    this.#pacingGain = CYCLE[this.#cycleIndex]!;
    this.#cycleStampUs = now;
  }

  /**
   * Random loss leaves the model alone. Loss while the RTT stands well above its minimum means a
   * queue overflowed: then bandwidth and in-flight bounds drop by 30% (once per round) and grow back
   * over loss-free rounds, which lets flows sharing a bottleneck converge to fair shares.
   */
  onLoss(sample: LossSample): void {
    this.#lossInRound = true;
    if (this.#minRttUs === 0 || this.#btlBw === 0 || !this.#queueing(this.#latestRttUs)) return;
    // Start-up overshoots on purpose and drains afterwards: its losses trim the window, not the rate.
    const starting = this.#mode === "startup" || this.#mode === "drain";
    this.#cut(LOSS_CUT, sample.inflightBytes + sample.lostBytes, !starting);
  }

  /** Whether the smallest RTT of a whole round stands well above the minimum: the queue never drained. */
  #standingQueue(roundMinRttUs: number): boolean {
    return roundMinRttUs - this.#minRttUs > Math.max(this.#minRttUs / 2, 2_000);
  }

  /** Whether an RTT sample stands well above the minimum: more than jitter explains, so a queue. */
  #queueing(rttUs: number): boolean {
    return rttUs - this.#minRttUs > Math.max(this.#minRttUs / 2, 3 * this.#rttVarUs, 2_000);
  }

  /**
   * Lowers the in-flight bound and, after an overflow, the bandwidth bound (at most once per round).
   * A standing queue without loss only means too much in flight: pacing keeps its rate, the window
   * shrinks, and the queue drains while the link stays busy.
   */
  #cut(factor: number, inflight: number, rate: boolean): void {
    if (this.#cutInRound || this.#btlBw === 0) return;
    this.#cutInRound = true;
    if (rate) this.#bwLo = Math.min(this.#bwLo, this.#btlBw) * factor;
    this.#inflightHi = Math.max(4 * this.#mss, Math.min(this.#inflightHi, inflight) * factor);
    this.#cwnd = Math.max(4 * this.#mss, Math.min(this.#cwnd, this.#inflightHi));
  }

  onRtoUndone(_nowUs: number): void {
    if (!this.#inRtoRecovery) return;
    this.#inRtoRecovery = false;
    this.#cwnd = Math.max(this.#cwnd, this.#priorCwnd);
  }

  onRto(_nowUs: number): void {
    if (!this.#inRtoRecovery) this.#priorCwnd = this.#cwnd;
    this.#inRtoRecovery = true;
    this.#cwnd = this.#mss;
  }
}
