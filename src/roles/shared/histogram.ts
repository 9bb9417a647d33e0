/**
 * A small log-linear histogram of non-negative integers (microseconds, mostly): 16 sub-buckets per
 * power of two, so a percentile is within about 6 % of the true value. Memory is fixed (64 × 16 counters).
 * @module
 */
import { floorLog2 } from "../../platform/portable_math.ts";

const SUB_BITS = 4;
const SUB = 1 << SUB_BITS;
const BUCKETS = 64 * SUB;

/** A percentile summary. */
export interface HistogramSnapshot {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

function indexOf(value: number): number {
  if (value < SUB) return value;
  const exponent = floorLog2(value);
  const shift = exponent - SUB_BITS;
  const mantissa = Math.floor(value / 2 ** shift) - SUB;
  return Math.min(BUCKETS - 1, (exponent - SUB_BITS + 1) * SUB + mantissa);
}

function upperOf(index: number): number {
  if (index < SUB) return index;
  const exponent = Math.floor(index / SUB) + SUB_BITS - 1;
  const mantissa = index % SUB;
  return (SUB + mantissa + 1) * 2 ** (exponent - SUB_BITS) - 1;
}

/** Everything a histogram holds, as plain data (to pass to another thread and merge there). */
export interface HistogramState {
  readonly counts: readonly number[];
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
}

/** Records values and answers percentiles. */
export class Histogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = 0;

  /** Records one value (negative values count as 0, fractions are rounded). */
  record(value: number): void {
    const v = Number.isFinite(value) && value > 0 ? Math.round(value) : 0;
    this.#counts[indexOf(v)]!++;
    this.#count++;
    this.#sum += v;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }

  get count(): number {
    return this.#count;
  }

  /** The value at or below which fraction `q` (0..1) of the records lie; 0 when empty. */
  percentile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(this.#max, Math.max(this.#min, upperOf(i)));
    }
    return this.#max;
  }

  snapshot(): HistogramSnapshot {
    const empty = this.#count === 0;
    return {
      count: this.#count,
      min: empty ? 0 : this.#min,
      max: this.#max,
      mean: empty ? 0 : Math.round(this.#sum / this.#count),
      p50: this.percentile(0.5),
      p90: this.percentile(0.9),
      p99: this.percentile(0.99),
    };
  }

  /** The content, for {@linkcode merge} elsewhere. */
  state(): HistogramState {
    return { counts: [...this.#counts], count: this.#count, sum: this.#sum, min: this.#min, max: this.#max };
  }

  /** Adds the records of another histogram's `state()`. */
  merge(state: HistogramState): void {
    if (state.counts.length !== BUCKETS) {
      throw new RangeError(`Cannot merge a histogram of ${state.counts.length} buckets into one of ${BUCKETS}`);
    }
    for (let i = 0; i < BUCKETS; i++) this.#counts[i]! += state.counts[i]!;
    this.#count += state.count;
    this.#sum += state.sum;
    if (state.count > 0) {
      this.#min = Math.min(this.#min, state.min);
      this.#max = Math.max(this.#max, state.max);
    }
  }

  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#min = Infinity;
    this.#max = 0;
  }
}
