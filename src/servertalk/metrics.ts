/**
 * Server and client metrics: byte and message totals, per-second rates, connections and their
 * high-water mark, reconnects, RTT and queue depth. Rates are computed when asked for, from the
 * totals at the previous sample at least a second earlier, so nothing runs on a timer.
 * @module
 */

/** Totals that rates are derived from. */
export interface TrafficTotals {
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
}

/** Per-second rates over the last sampling interval (at least one second). */
export type TrafficRates = TrafficTotals;

const ZERO: TrafficTotals = { bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0 };

/** Derives per-second rates from growing totals. */
export class RateMeter {
  #sampleUs: number | undefined;
  #sample: TrafficTotals = ZERO;
  #rates: TrafficRates = ZERO;

  /** The rates as of `nowUs`: recomputed when a second or more has passed since the last sample. */
  rates(totals: TrafficTotals, nowUs: number): TrafficRates {
    if (this.#sampleUs === undefined) {
      this.#sampleUs = nowUs;
      this.#sample = totals;
      return this.#rates;
    }
    const elapsedUs = nowUs - this.#sampleUs;
    if (elapsedUs >= 1_000_000) {
      const perSecond = (now: number, then: number) => Math.round(((now - then) * 1_000_000) / elapsedUs);
      this.#rates = {
        bytesIn: perSecond(totals.bytesIn, this.#sample.bytesIn),
        bytesOut: perSecond(totals.bytesOut, this.#sample.bytesOut),
        messagesIn: perSecond(totals.messagesIn, this.#sample.messagesIn),
        messagesOut: perSecond(totals.messagesOut, this.#sample.messagesOut),
      };
      this.#sampleUs = nowUs;
      this.#sample = totals;
    }
    return this.#rates;
  }
}

/** Adds two sets of totals. */
export function addTotals(a: TrafficTotals, b: TrafficTotals): TrafficTotals {
  return {
    bytesIn: a.bytesIn + b.bytesIn,
    bytesOut: a.bytesOut + b.bytesOut,
    messagesIn: a.messagesIn + b.messagesIn,
    messagesOut: a.messagesOut + b.messagesOut,
  };
}

/** A snapshot of a server's metrics. */
export interface ServerMetrics extends TrafficTotals {
  /** Open (authenticated) links now. */
  readonly connections: number;
  /** Most open links at one time. */
  readonly maxConnections: number;
  /** Connections accepted at the transport (before the handshake). */
  readonly accepted: number;
  /** Hellos refused (any code). */
  readonly refused: number;
  readonly perSecond: TrafficRates;
  /** Mean of the links' last RTTs, µs (undefined before any was measured). */
  readonly meanRttUs: number | undefined;
  /** Bytes queued across all links. */
  readonly queuedBytes: number;
  /** Server state: online, taken or offline. */
  readonly state: string;
}

/** A snapshot of a client's metrics. */
export interface ClientMetrics extends TrafficTotals {
  readonly connected: boolean;
  /** Handshakes that succeeded. */
  readonly connects: number;
  /** Handshakes that succeeded after the first. */
  readonly reconnects: number;
  /** Connection attempts that failed (transport or refusal). */
  readonly failedAttempts: number;
  readonly perSecond: TrafficRates;
  readonly rttUs: number | undefined;
  readonly queuedBytes: number;
  /** The last error that ended a link or an attempt. */
  readonly lastError: string | undefined;
}
