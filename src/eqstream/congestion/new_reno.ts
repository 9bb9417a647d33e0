import type { AckSample, CongestionControl, CongestionControlInit, LossSample } from "./congestion_control.ts";

/**
 * NewReno (RFC 5681/6582 in bytes): slow start, additive increase, one multiplicative decrease per
 * loss episode (losses of packets sent before the episode began do not count again). Only a
 * retransmission timeout drops the window to one datagram. Paced at 2× (slow start) or 1.25× cwnd/srtt.
 */
export class NewReno implements CongestionControl {
  readonly name = "newreno";
  readonly #mss: number;
  #cwnd: number;
  #ssthresh = Infinity;
  #recoveryStartUs = -1;
  #inRecovery = false;
  #srttUs = 100_000;
  #beforeRto: [number, number] | undefined;

  constructor(init: CongestionControlInit) {
    this.#mss = init.mss;
    this.#cwnd = init.mss * init.initialWindowPackets;
  }

  get cwndBytes(): number {
    return this.#cwnd;
  }

  get pacingRate(): number {
    const gain = this.#cwnd < this.#ssthresh ? 2 : 1.25;
    return (gain * this.#cwnd * 1e6) / Math.max(this.#srttUs, 1);
  }

  get state(): string {
    if (this.#inRecovery) return "recovery";
    return this.#cwnd < this.#ssthresh ? "slow_start" : "congestion_avoidance";
  }

  onAck(sample: AckSample): void {
    this.#srttUs = sample.srttUs;
    // An ack for something sent after the timeout: the timeout stands.
    if (this.#beforeRto !== undefined && sample.newestSentAtUs > this.#recoveryStartUs) this.#beforeRto = undefined;
    if (this.#inRecovery) {
      // Recovery ends once a packet sent after it began is acknowledged.
      if (sample.newestSentAtUs > this.#recoveryStartUs) this.#inRecovery = false;
      else return;
    }
    if (this.#cwnd < this.#ssthresh) {
      this.#cwnd += sample.ackedBytes;
    } else {
      this.#cwnd += (this.#mss * sample.ackedBytes) / this.#cwnd;
    }
  }

  onLoss(sample: LossSample): void {
    if (this.#inRecovery && sample.newestLostSentAtUs <= this.#recoveryStartUs) return;
    this.#ssthresh = Math.max(this.#cwnd / 2, 2 * this.#mss);
    this.#cwnd = this.#ssthresh;
    this.#recoveryStartUs = sample.nowUs;
    this.#inRecovery = true;
  }

  onRtoUndone(_nowUs: number): void {
    if (this.#beforeRto === undefined) return;
    [this.#cwnd, this.#ssthresh] = this.#beforeRto;
    this.#beforeRto = undefined;
  }

  onRto(nowUs: number): void {
    this.#beforeRto ??= [this.#cwnd, this.#ssthresh];
    this.#ssthresh = Math.max(this.#cwnd / 2, 2 * this.#mss);
    this.#cwnd = this.#mss;
    this.#recoveryStartUs = nowUs;
    this.#inRecovery = false;
  }
}
