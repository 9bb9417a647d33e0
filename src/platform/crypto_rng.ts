import type { Rng } from "./platform.ts";

/** Words fetched from the system generator at a time; refilling per call would dominate u32(). */
const POOL_WORDS = 1024;

/** Cryptographically strong randomness from `crypto.getRandomValues`, pooled. */
export function createCryptoRng(): Rng {
  const pool = new Uint32Array(POOL_WORDS);
  let next = POOL_WORDS;
  const u32 = (): number => {
    if (next === POOL_WORDS) {
      crypto.getRandomValues(pool);
      next = 0;
    }
    return pool[next++]!;
  };
  return {
    u32,
    float: () => u32() / 0x1_0000_0000,
    fill(bytes: Uint8Array): Uint8Array {
      // getRandomValues refuses more than 65536 bytes per call.
      for (let offset = 0; offset < bytes.length; offset += 65536) {
        crypto.getRandomValues(bytes.subarray(offset, Math.min(bytes.length, offset + 65536)));
      }
      return bytes;
    },
  };
}
