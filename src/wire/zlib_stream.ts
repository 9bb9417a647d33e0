import {
  Z_BUF_ERROR,
  Z_DEFAULT_STRATEGY,
  Z_OK,
  Z_STREAM_END,
  Z_SYNC_FLUSH,
  zlibDeflate,
  zlibDeflateInit2,
  zlibInflate,
  zlibInflateInit2,
  ZStream,
} from "pako";
import type { ByteArena } from "./byte_arena.ts";
import { WireError, WireErrorCode } from "./wire_error.ts";

/** zlib's method number for deflate. */
const Z_DEFLATED = 8;
/** Output buffer granted to each step of the (de)compressor. */
const CHUNK_BYTES = 16 * 1024;
/** Default largest output of one {@linkcode ZlibInflater.inflate} call: 1 MiB. */
export const DEFAULT_INFLATE_MAX_BYTES = 1024 * 1024;

/** Parameters of a {@linkcode ZlibDeflater}; the defaults are the EQ2 server's. */
export interface ZlibDeflaterOptions {
  /** Compression level 0–9; default 9. */
  readonly level?: number;
  /** Window size as a power of two, 9–15; default 13. */
  readonly windowBits?: number;
  /** Memory level 1–9; default 9. */
  readonly memLevel?: number;
}

/** Concatenates output chunks (usually just one) after `headroom` free bytes. */
function joinChunks(chunks: Uint8Array[], total: number, headroom = 0, arena?: ByteArena): Uint8Array {
  if (chunks.length === 1 && headroom === 0 && arena === undefined) return chunks[0]!;
  const joined = arena?.alloc(headroom + total) ?? new Uint8Array(headroom + total);
  let at = headroom;
  for (const chunk of chunks) {
    joined.set(chunk, at);
    at += chunk.length;
  }
  return joined;
}

/**
 * One persistent zlib deflate stream (with zlib header) for a whole connection. Each call to
 * {@linkcode deflate} ends with a sync flush, so its output decodes on its own given everything
 * sent before it; the dictionary carries over between messages and is never reset.
 */
export class ZlibDeflater {
  readonly #stream = new ZStream();
  #buffer = new Uint8Array(CHUNK_BYTES);
  #bytesIn = 0;
  #bytesOut = 0;

  constructor(options: ZlibDeflaterOptions = {}) {
    const status = zlibDeflateInit2(
      this.#stream,
      options.level ?? 9,
      Z_DEFLATED,
      options.windowBits ?? 13,
      options.memLevel ?? 9,
      Z_DEFAULT_STRATEGY,
    );
    if (status !== Z_OK) {
      throw new WireError(
        WireErrorCode.BadArgument,
        `Cannot start zlib deflate: ${this.#stream.msg || `status ${status}`}`,
      );
    }
  }

  /** Total bytes given to and produced by this stream (for compression-ratio statistics). */
  get totals(): { readonly bytesIn: number; readonly bytesOut: number } {
    return { bytesIn: this.#bytesIn, bytesOut: this.#bytesOut };
  }

  /**
   * Compresses one message and sync-flushes; the result is a new array the caller owns, from `arena`
   * if given, with `headroom` free bytes before the compressed ones (for a header of the caller's).
   */
  deflate(bytes: Uint8Array, headroom = 0, arena?: ByteArena): Uint8Array {
    const stream = this.#stream;
    stream.input = bytes;
    stream.next_in = 0;
    stream.avail_in = bytes.length;
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      stream.output = this.#buffer as Uint8Array<ArrayBuffer>;
      stream.next_out = 0;
      stream.avail_out = this.#buffer.length;
      const status = zlibDeflate(stream, Z_SYNC_FLUSH);
      if (status !== Z_OK && status !== Z_BUF_ERROR) {
        throw new WireError(WireErrorCode.BadArgument, `Cannot deflate: ${stream.msg || `status ${status}`}`);
      }
      // A sync flush is complete once the compressor stops filling the whole buffer.
      const done = stream.avail_out !== 0;
      // The next step reuses the buffer, so earlier chunks are copied out; the last is copied once, below.
      chunks.push(done ? this.#buffer.subarray(0, stream.next_out) : this.#buffer.slice(0, stream.next_out));
      total += stream.next_out;
      if (done) break;
    }
    this.#bytesIn += bytes.length;
    this.#bytesOut += total;
    if (chunks.length === 1 && headroom === 0 && arena === undefined) return chunks[0]!.slice();
    return joinChunks(chunks, total, headroom, arena);
  }
}

/** Options of {@linkcode ZlibInflater}. */
export interface ZlibInflaterOptions {
  /** Largest output of one `inflate` call; default {@linkcode DEFAULT_INFLATE_MAX_BYTES}. */
  readonly maxBytes?: number;
}

/**
 * The receiving end of a {@linkcode ZlibDeflater}: one persistent inflate stream for a connection.
 * Each call inflates one sync-flushed message. Output is bounded (a compression bomb yields
 * `WIRE_DECOMPRESSED_TOO_LARGE`), and corrupt input yields `WIRE_CORRUPT_COMPRESSED`; after either,
 * the stream's state is lost and every later call fails the same way.
 */
export class ZlibInflater {
  readonly #stream = new ZStream();
  readonly #maxBytes: number;
  #buffer = new Uint8Array(CHUNK_BYTES);
  #failure: WireError | undefined;

  constructor(options: ZlibInflaterOptions = {}) {
    this.#maxBytes = options.maxBytes ?? DEFAULT_INFLATE_MAX_BYTES;
    // 15 accepts a stream made with any smaller window as well.
    const status = zlibInflateInit2(this.#stream, 15);
    if (status !== Z_OK) throw new WireError(WireErrorCode.BadArgument, `Cannot start zlib inflate: status ${status}`);
  }

  /** Inflates one message; the result is a new array the caller owns. */
  inflate(bytes: Uint8Array): Uint8Array {
    if (this.#failure !== undefined) throw this.#failure;
    const stream = this.#stream;
    stream.input = bytes;
    stream.next_in = 0;
    stream.avail_in = bytes.length;
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      stream.output = this.#buffer as Uint8Array<ArrayBuffer>;
      stream.next_out = 0;
      stream.avail_out = this.#buffer.length;
      const status = zlibInflate(stream, Z_SYNC_FLUSH);
      if (status !== Z_OK && status !== Z_BUF_ERROR && status !== Z_STREAM_END) {
        this.#failure = new WireError(
          WireErrorCode.CorruptCompressed,
          `Cannot inflate: ${stream.msg || `status ${status}`}`,
        );
        throw this.#failure;
      }
      total += stream.next_out;
      if (total > this.#maxBytes) {
        this.#failure = new WireError(
          WireErrorCode.DecompressedTooLarge,
          `Cannot inflate: output exceeds limit ${this.#maxBytes}`,
        );
        throw this.#failure;
      }
      chunks.push(this.#buffer.slice(0, stream.next_out));
      if (stream.avail_out !== 0 || status === Z_STREAM_END) break;
    }
    return joinChunks(chunks, total);
  }
}
