/** A small seeded Rng for role tests (xorshift32). */
import type { Rng } from "../../../src/platform/platform.ts";

export function seededRng(seed: number): Rng {
  let x = seed | 0 || 1;
  const u32 = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  return {
    u32,
    float: () => u32() / 2 ** 32,
    fill(bytes: Uint8Array) {
      for (let i = 0; i < bytes.length; i++) bytes[i] = u32() & 0xff;
      return bytes;
    },
  };
}
