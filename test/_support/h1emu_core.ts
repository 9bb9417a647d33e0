/**
 * `h1emu-core` (npm, test-only): an independent Rust→wasm implementation of the same protocol
 * family, used as an oracle for CRC, RC4 and session packet encodings.
 */
import h1emu from "h1emu-core";

interface H1emuCore {
  crc32_legacy(data: Uint8Array, crcSeed: number): number;
  append_crc_legacy(data: Uint8Array, crcSeed: number): Uint8Array;
  RC4: new (key: Uint8Array) => { encrypt(data: Uint8Array): Uint8Array; free(): void };
}

/** The oracle's exports. */
export const oracle = h1emu as unknown as H1emuCore;
