/**
 * Seeded random streams for the simulator.
 *
 * One simulation seed is split into independent named streams: each stream's state is derived from
 * the seed and a hash of its name, so adding a new consumer (a new stream name) never changes what
 * the existing streams draw.
 * @module
 */
import type { Rng } from "../src/platform/platform.ts";
import { cos, log } from "../src/platform/portable_math.ts";

const TWO_POW_32 = 0x1_0000_0000;

/** FNV-1a over the UTF-16 code units of `text`: a stable 32-bit hash of a stream name. */
export function hashString(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** One step of splitmix32: spreads a 32-bit value over all bits (used to derive stream states). */
function splitmix32(state: number): number {
  let z = (state + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A deterministic generator (xoshiro128**) implementing the Platform {@linkcode Rng} interface,
 * plus the helpers the simulator needs (ranges, distributions).
 */
export class SimRng implements Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** A stream for `seed` (a safe integer) and `name`; equal inputs give equal streams. */
  constructor(seed: number, name = "") {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`Invalid seed: ${seed} is not a safe integer`);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / TWO_POW_32) >>> 0;
    const n = hashString(name);
    let s = splitmix32(lo ^ splitmix32(hi ^ 0x5bd1e995) ^ n);
    this.#a = s;
    s = splitmix32(s ^ n);
    this.#b = s;
    s = splitmix32(s + lo);
    this.#c = s;
    s = splitmix32(s + hi);
    this.#d = s;
    if ((this.#a | this.#b | this.#c | this.#d) === 0) this.#d = 1;
  }

  /** A uniform unsigned 32-bit integer. */
  u32(): number {
    const a = this.#a, b = this.#b, c = this.#c, d = this.#d;
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9);
    const t = b << 9;
    const c2 = c ^ a;
    const d2 = d ^ b;
    this.#b = b ^ c2;
    this.#a = a ^ d2;
    this.#c = c2 ^ t;
    this.#d = rotl(d2, 11);
    return result >>> 0;
  }

  /** A uniform float in [0, 1) with 32 bits of precision. */
  float(): number {
    return this.u32() / TWO_POW_32;
  }

  /** Fills `bytes` with random bytes and returns it. */
  fill(bytes: Uint8Array): Uint8Array {
    let i = 0;
    for (; i + 4 <= bytes.length; i += 4) {
      const v = this.u32();
      bytes[i] = v & 0xff;
      bytes[i + 1] = (v >>> 8) & 0xff;
      bytes[i + 2] = (v >>> 16) & 0xff;
      bytes[i + 3] = v >>> 24;
    }
    if (i < bytes.length) {
      let v = this.u32();
      for (; i < bytes.length; i++, v >>>= 8) bytes[i] = v & 0xff;
    }
    return bytes;
  }

  /** A uniform integer in `[0, n)` for `1 <= n <= 2^32`. */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** A uniform integer in `[min, max]` (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  /** `true` with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }

  /** A standard normal variate (Box-Muller; draws two floats). Portable math: the same bits on every runtime. */
  normal(): number {
    const u = 1 - this.float();
    const v = this.float();
    return Math.sqrt(-2 * log(u)) * cos(2 * Math.PI * v);
  }

  /** An exponential variate with the given mean. */
  exponential(mean: number): number {
    return -log(1 - this.float()) * mean;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
