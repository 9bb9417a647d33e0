/**
 * A fixed-rate loop on the Platform's timers: ticks are due at start + n × period; a tick that starts
 * late does not shift the ones after it, and when the loop falls more than a period behind it skips
 * ahead (counting the skipped ticks) instead of bursting. Every tick's duration is measured.
 * @module
 */
import type { Platform, TimerId } from "../../platform/platform.ts";
import { RoleError, RoleErrorCode } from "../role_error.ts";
import { Histogram, type HistogramSnapshot } from "./histogram.ts";

/** Counters of a {@linkcode TickLoop}. */
export interface TickStats {
  readonly hz: number;
  readonly ticks: number;
  /** Ticks skipped because the loop fell behind. */
  readonly skipped: number;
  /** Ticks that took longer than the period. */
  readonly overruns: number;
  /** How long ticks took, µs. */
  readonly durationUs: HistogramSnapshot;
  /** How late ticks started, µs. */
  readonly lagUs: HistogramSnapshot;
}

/** A fixed-rate loop. */
export class TickLoop {
  readonly hz: number;
  readonly periodUs: number;
  readonly #platform: Platform;
  readonly #onTick: (tick: number, nowUs: number) => void;
  readonly #durationClock: { now(): number };
  readonly #duration = new Histogram();
  readonly #lag = new Histogram();
  #timer: TimerId | undefined;
  #dueUs = 0;
  #tick = 0;
  #skipped = 0;
  #overruns = 0;
  #running = false;

  constructor(
    platform: Platform,
    options: {
      readonly hz: number;
      readonly onTick: (tick: number, nowUs: number) => void;
      /** The clock tick durations are measured with (µs); default the platform's. Scheduling always uses the platform's. */
      readonly durationClock?: { now(): number };
    },
  ) {
    if (!(Number.isFinite(options.hz) && options.hz > 0 && options.hz <= 1000)) {
      throw new RoleError(RoleErrorCode.BadOption, `Invalid tick rate: ${options.hz} Hz is not in (0, 1000]`);
    }
    this.#platform = platform;
    this.hz = options.hz;
    this.periodUs = Math.round(1_000_000 / options.hz);
    this.#onTick = options.onTick;
    this.#durationClock = options.durationClock ?? platform.clock;
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#dueUs = this.#platform.clock.now() + this.periodUs;
    this.#timer = this.#platform.timers.setTimeout(this.#run, this.periodUs);
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) this.#platform.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  readonly #run = (): void => {
    this.#timer = undefined;
    if (!this.#running) return;
    const clock = this.#platform.clock;
    const start = clock.now();
    const measured = this.#durationClock.now();
    this.#lag.record(start - this.#dueUs);
    try {
      this.#onTick(this.#tick++, start);
    } finally {
      const end = clock.now();
      const took = this.#durationClock.now() - measured;
      this.#duration.record(took);
      if (took > this.periodUs) this.#overruns++;
      this.#dueUs += this.periodUs;
      if (end - this.#dueUs > this.periodUs) {
        // More than a period behind: drop the missed slots and resume at the next one after now.
        const behind = Math.ceil((end - this.#dueUs) / this.periodUs);
        this.#skipped += behind;
        this.#dueUs += behind * this.periodUs;
      }
      if (this.#running) this.#timer = this.#platform.timers.setTimeout(this.#run, Math.max(0, this.#dueUs - end));
    }
  };

  /** Starts the duration and lag statistics afresh (a benchmark's measurement window). */
  resetStats(): void {
    this.#duration.reset();
    this.#lag.reset();
  }

  stats(): TickStats {
    return {
      hz: this.hz,
      ticks: this.#tick,
      skipped: this.#skipped,
      overruns: this.#overruns,
      durationUs: this.#duration.snapshot(),
      lagUs: this.#lag.snapshot(),
    };
  }
}
