/**
 * The interface between the EQStream sender and a congestion controller. The sender measures
 * (acks, RTT, delivery rate, losses) and obeys (window, pacing rate); the controller decides.
 * @module
 */

/** What the sender reports after processing one ack packet that delivered something. */
export interface AckSample {
  readonly nowUs: number;
  /** Bytes newly delivered by this ack. */
  readonly ackedBytes: number;
  /** Bytes still in flight after it. */
  readonly inflightBytes: number;
  /** Smoothed RTT (µs); the initial RTO guess before the first sample. */
  readonly srttUs: number;
  /** The RTT sample this ack produced (µs), or 0 when it produced none. */
  readonly rttUs: number;
  /** RTT variation (µs), as for the RTO. */
  readonly rttVarUs: number;
  /** Minimum RTT seen (µs), or 0 before the first sample. */
  readonly minRttUs: number;
  /** Delivery rate of this sample in bytes per second, or 0 when no sample was taken. */
  readonly deliveryRate: number;
  /** The sample was limited by the application, not the network. */
  readonly appLimited: boolean;
  /** Total bytes delivered when the newest packet acked here was sent (for round counting). */
  readonly priorDelivered: number;
  /** Total bytes delivered so far. */
  readonly delivered: number;
  /** Send time of the newest packet this ack delivered. */
  readonly newestSentAtUs: number;
}

/** What the sender reports when it declares packets lost. */
export interface LossSample {
  readonly nowUs: number;
  readonly lostBytes: number;
  readonly inflightBytes: number;
  /** Send time of the newest packet declared lost (a loss of something sent before recovery began is the same event). */
  readonly newestLostSentAtUs: number;
}

/** A congestion controller. */
export interface CongestionControl {
  readonly name: string;
  /** Most bytes in flight allowed. */
  readonly cwndBytes: number;
  /** Pacing rate in bytes per second. */
  readonly pacingRate: number;
  /** A short state name for statistics ("startup", "probe_bw", "recovery", …). */
  readonly state: string;
  onAck(sample: AckSample): void;
  onLoss(sample: LossSample): void;
  /** A retransmission timeout fired. */
  onRto(nowUs: number): void;
  /** The last timeout proved spurious (a delay spike, not a loss): restore the window it took. */
  onRtoUndone(nowUs: number): void;
}

/** Parameters a controller is built with. */
export interface CongestionControlInit {
  /** Bytes of one full datagram. */
  readonly mss: number;
  readonly initialWindowPackets: number;
  /** A uniform random number in [0, 1) from the session's random source (to desynchronize flows). */
  readonly random: () => number;
}

/** Builds a controller for one session. */
export type CongestionControlFactory = (init: CongestionControlInit) => CongestionControl;
