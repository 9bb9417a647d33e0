/**
 * Token buckets per source, in a map of bounded size (least recently used sources are forgotten
 * first, and full buckets are dropped as they age), so tracking sources costs bounded memory
 * whatever a flood of spoofed addresses does, and returns to nothing when the flood stops.
 */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxSources: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  /** `ratePerSec` tokens per second up to `burst`, for at most `maxSources` sources at once. */
  constructor(ratePerSec: number, options: { readonly burst: number; readonly maxSources: number }) {
    this.#rate = ratePerSec;
    this.#burst = options.burst;
    this.#maxSources = options.maxSources;
  }

  /** Sources tracked now. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Takes one token for `source` at `nowUs`; false when its bucket is empty. */
  take(source: string, nowUs: number): boolean {
    this.#forgetOldest(nowUs);
    let bucket = this.#buckets.get(source);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxSources) this.#buckets.delete(this.#buckets.keys().next().value!);
      bucket = { tokens: this.#burst, at: nowUs };
    } else {
      this.#buckets.delete(source);
      bucket.tokens = Math.min(this.#burst, bucket.tokens + ((nowUs - bucket.at) * this.#rate) / 1e6);
      bucket.at = nowUs;
    }
    this.#buckets.set(source, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** A bucket that has refilled completely says nothing a new one would not: forget it. */
  #forgetOldest(nowUs: number): void {
    for (let i = 0; i < 2; i++) {
      const first = this.#buckets.entries().next();
      if (first.done) return;
      const [source, bucket] = first.value;
      if (bucket.tokens + ((nowUs - bucket.at) * this.#rate) / 1e6 < this.#burst) return;
      this.#buckets.delete(source);
    }
  }
}

/** One token bucket (a global limit). */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #at = 0;

  constructor(ratePerSec: number, burst: number) {
    this.#rate = ratePerSec;
    this.#burst = burst;
    this.#tokens = burst;
  }

  take(nowUs: number): boolean {
    this.#tokens = Math.min(this.#burst, this.#tokens + ((nowUs - this.#at) * this.#rate) / 1e6);
    this.#at = nowUs;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
