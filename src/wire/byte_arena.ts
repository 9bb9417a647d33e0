/**
 * Fresh byte arrays carved out of larger chunks.
 *
 * On Deno, `new Uint8Array(n)` allocates a backing store from the system allocator and costs about
 * 1 µs (and as much again in garbage collection), against a few tens of nanoseconds for a view of
 * an existing buffer; per datagram that decides the packet rate (test/bench/eqstream_session_bench.ts).
 * Every array handed out is a view of its own region, zero-filled and never handed out again, so its
 * owner may keep and mutate it like a new array. A region keeps its whole chunk alive, so an arena
 * suits arrays that die young or that its owner keeps in allocation order (a send queue), with a
 * chunk size that bounds what one forgotten array can pin. Arrays over a quarter of the chunk get
 * their own buffer.
 * @module
 */

/** Default chunk size, bytes. */
export const DEFAULT_ARENA_CHUNK_BYTES = 16 * 1024;

/** A bump allocator of byte arrays. */
export class ByteArena {
  readonly #chunkBytes: number;
  readonly #ownFrom: number;
  #chunk: ArrayBuffer | undefined;
  #offset = 0;

  /** `chunkBytes` (at least 64) is the size of each shared buffer. */
  constructor(chunkBytes: number = DEFAULT_ARENA_CHUNK_BYTES) {
    if (!Number.isInteger(chunkBytes) || chunkBytes < 64) {
      throw new RangeError(`Invalid arena chunk size: ${chunkBytes} is not an integer of at least 64`);
    }
    this.#chunkBytes = chunkBytes;
    this.#ownFrom = chunkBytes >>> 2;
  }

  /** A zero-filled array of `length` bytes that nobody else holds. */
  alloc(length: number): Uint8Array {
    if (length > this.#ownFrom) return new Uint8Array(length);
    let offset = this.#offset;
    if (this.#chunk === undefined || offset + length > this.#chunkBytes) {
      this.#chunk = new ArrayBuffer(this.#chunkBytes);
      offset = 0;
    }
    this.#offset = offset + length;
    return new Uint8Array(this.#chunk, offset, length);
  }

  /** A copy of `bytes[start..end)` in a fresh array. */
  copy(bytes: Uint8Array, start = 0, end: number = bytes.length): Uint8Array {
    const out = this.alloc(end - start);
    copyRange(out, bytes, start, end);
    return out;
  }
}

/** Copies `from[start..end)` to the start of `to` (a loop beats a subarray view for small sizes). */
export function copyRange(to: Uint8Array, from: Uint8Array, start: number, end: number): void {
  if (end - start <= 64) {
    for (let i = start, j = 0; i < end; i++, j++) to[j] = from[i]!;
  } else {
    to.set(from.subarray(start, end));
  }
}
