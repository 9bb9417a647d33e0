/**
 * A log-linear histogram of non-negative integers (latencies in µs): exact below 128, then 64
 * buckets per power of two (≤ 1.6 % error), fixed memory, no random sampling.
 * @module
 */

const EXACT = 128;
const SUB = 64;
const BUCKETS = EXACT + (32 - 7) * SUB;
const MAX_VALUE = 0xffff_ffff;

function bucketOf(value: number): number {
  if (value < EXACT) return value;
  const v = value > MAX_VALUE ? MAX_VALUE : value >>> 0;
  const e = 31 - Math.clz32(v);
  return EXACT + (e - 7) * SUB + ((v >>> (e - 6)) & (SUB - 1));
}

function lowerBound(bucket: number): number {
  if (bucket < EXACT) return bucket;
  const e = 7 + Math.floor((bucket - EXACT) / SUB);
  const sub = (bucket - EXACT) % SUB;
  return (SUB + sub) * 2 ** (e - 6);
}

/** Summary statistics of a histogram. */
export interface HistogramSummary {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
}

/** The histogram. */
export class Histogram {
  #counts: Uint32Array | undefined;
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = 0;

  /** Records one value (negative values count as 0, fractions are truncated). */
  record(value: number): void {
    const v = value > 0 ? Math.floor(value) : 0;
    (this.#counts ??= new Uint32Array(BUCKETS))[bucketOf(v)]!++;
    this.#count++;
    this.#sum += v;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }

  get count(): number {
    return this.#count;
  }

  get min(): number {
    return this.#count === 0 ? 0 : this.#min;
  }

  get max(): number {
    return this.#max;
  }

  get mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count;
  }

  /** The value at quantile `q` in [0, 1] (a bucket's lower bound, clamped to the observed range). */
  quantile(q: number): number {
    const counts = this.#counts;
    if (counts === undefined || this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += counts[b]!;
      if (seen >= rank) return Math.min(this.#max, Math.max(this.#min, lowerBound(b)));
    }
    return this.#max;
  }

  /** Points `[value, fraction ≤ value]` for every non-empty bucket: a CDF to plot. */
  cdf(): Array<[number, number]> {
    const counts = this.#counts;
    const points: Array<[number, number]> = [];
    if (counts === undefined) return points;
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const c = counts[b]!;
      if (c === 0) continue;
      seen += c;
      points.push([Math.min(this.#max, Math.max(this.#min, lowerBound(b))), seen / this.#count]);
    }
    return points;
  }

  /** Count, extremes, mean and the usual percentiles. */
  summary(): HistogramSummary {
    return {
      count: this.#count,
      min: this.min,
      max: this.#max,
      mean: Math.round(this.mean),
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
      p999: this.quantile(0.999),
    };
  }

  /** Adds every value of `other`. */
  merge(other: Histogram): void {
    const theirs = other.#counts;
    if (theirs === undefined) return;
    const mine = this.#counts ??= new Uint32Array(BUCKETS);
    for (let b = 0; b < BUCKETS; b++) mine[b]! += theirs[b]!;
    this.#count += other.#count;
    this.#sum += other.#sum;
    this.#min = Math.min(this.#min, other.#min);
    this.#max = Math.max(this.#max, other.#max);
  }
}
