import { WireError, WireErrorCode } from "./wire_error.ts";

/** The keystream bytes EQ2 discards after keying each cipher. */
export const EQ2_RC4_DROP = 20;

/**
 * The RC4 stream cipher, optionally discarding the first `drop` keystream bytes (RC4-drop[n]).
 * One instance is one direction of a connection: its state advances with every byte processed.
 */
export class Rc4 {
  readonly #s = new Uint8Array(256);
  #i = 0;
  #j = 0;

  constructor(key: Uint8Array, drop = 0) {
    if (key.length < 1 || key.length > 256) {
      throw new WireError(WireErrorCode.BadArgument, `Cannot key RC4: key length ${key.length} is outside 1..256`);
    }
    const s = this.#s;
    for (let i = 0; i < 256; i++) s[i] = i;
    let j = 0;
    for (let i = 0; i < 256; i++) {
      j = (j + s[i]! + key[i % key.length]!) & 0xff;
      const t = s[i]!;
      s[i] = s[j]!;
      s[j] = t;
    }
    if (drop > 0) this.process(new Uint8Array(drop));
  }

  /** Encrypts or decrypts `bytes[start..end)` in place and returns `bytes`. */
  process(bytes: Uint8Array, start = 0, end = bytes.length): Uint8Array {
    const s = this.#s;
    let i = this.#i;
    let j = this.#j;
    for (let k = start; k < end; k++) {
      i = (i + 1) & 0xff;
      const si = s[i]!;
      j = (j + si) & 0xff;
      const sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      bytes[k] = bytes[k]! ^ s[(si + sj) & 0xff]!;
    }
    this.#i = i;
    this.#j = j;
    return bytes;
  }
}
