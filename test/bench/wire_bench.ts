/**
 * Throughput of the wire primitives: EQ2 CRC, RC4, zlib (persistent, sync flush) and LZ4.
 * Prints one JSON line per primitive and size.
 *
 *   deno run -A test/bench/wire_bench.ts      bun test/bench/wire_bench.ts
 */
import zlib from "node:zlib";
import { runtimeName } from "../../src/platform/mod.ts";
import { eq2Crc } from "../../src/wire/crc32.ts";
import { lz4Compress, lz4Decompress } from "../../src/wire/lz4.ts";
import { EQ2_RC4_DROP, Rc4 } from "../../src/wire/rc4.ts";
import { ZlibDeflater, ZlibInflater } from "../../src/wire/zlib_stream.ts";

/** Runs `body` repeatedly for about `seconds` and returns calls per second. */
function measure(seconds: number, body: () => void): number {
  for (let i = 0; i < 200; i++) body(); // warm up
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < seconds * 1000) {
    for (let i = 0; i < 100; i++) body();
    calls += 100;
    elapsed = performance.now() - start;
  }
  return calls / (elapsed / 1000);
}

function report(name: string, size: number, callsPerSec: number): void {
  console.log(JSON.stringify({
    bench: "wire",
    runtime: runtimeName(),
    name,
    size,
    opsPerSec: Math.round(callsPerSec),
    mbPerSec: Number((callsPerSec * size / 1e6).toFixed(1)),
  }));
}

/** A game-like payload: structured, partly repetitive. */
function payload(size: number): Uint8Array {
  const text = new TextEncoder().encode(
    Array.from({ length: Math.ceil(size / 24) }, (_, i) => `spawn ${i} x=${(i * 7) % 1000} y=4\n`).join(""),
  );
  return text.subarray(0, size);
}

const SECONDS = 0.5;
for (const size of [64, 512, 4096]) {
  const data = payload(size);
  report("eq2Crc", size, measure(SECONDS, () => eq2Crc(0x33624702, data)));
  report("zlib.crc32 (native, for comparison)", size, measure(SECONDS, () => zlib.crc32(data)));
  const rc4 = new Rc4(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), EQ2_RC4_DROP);
  const scratch = data.slice();
  report("rc4", size, measure(SECONDS, () => rc4.process(scratch)));
}
for (const size of [200, 1024, 65536]) {
  const data = payload(size);
  const packed = lz4Compress(data);
  report("lz4Compress", size, measure(SECONDS, () => lz4Compress(data)));
  report("lz4Decompress", size, measure(SECONDS, () => lz4Decompress(packed)));
}
for (const size of [200, 1024]) {
  const data = payload(size);
  const deflater = new ZlibDeflater();
  report("zlib deflate+sync flush (EQ2 stream)", size, measure(SECONDS, () => deflater.deflate(data)));
  const source = new ZlibDeflater();
  const messages = Array.from({ length: 4096 }, () => source.deflate(data));
  let inflater = new ZlibInflater();
  let next = 0;
  report(
    "zlib inflate (EQ2 stream)",
    size,
    measure(SECONDS, () => {
      // The stream only decodes in order: start a new inflater at each lap over the recorded messages.
      if (next === messages.length) [inflater, next] = [new ZlibInflater(), 0];
      inflater.inflate(messages[next++]!);
    }),
  );
}
