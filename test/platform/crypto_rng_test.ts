import assert from "node:assert/strict";
import { test } from "node:test";
import { createCryptoRng } from "../../src/platform/crypto_rng.ts";

test("crypto rng gives u32s and floats in range, and fills buffers larger than 64 KiB", () => {
  const rng = createCryptoRng();
  const seen = new Set<number>();
  for (let i = 0; i < 5000; i++) {
    const u = rng.u32();
    assert.ok(Number.isInteger(u) && u >= 0 && u <= 0xffff_ffff);
    const f = rng.float();
    assert.ok(f >= 0 && f < 1);
    seen.add(u);
  }
  assert.ok(seen.size > 4990, "u32 values repeat far too often");
  const big = rng.fill(new Uint8Array(200_000));
  const tail = big.subarray(150_000);
  assert.ok(tail.some((b) => b !== 0), "bytes past 64 KiB were not filled");
});
