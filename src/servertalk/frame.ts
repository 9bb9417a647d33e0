/**
 * The servertalk frame: `[length u32 LE][opcode u16 LE][flags u8][request id u32 LE, when flagged][payload]`.
 * `length` counts the whole frame, its own four bytes included. See `docs/servertalk.md`.
 * @module
 */
import type { ByteWriter } from "../wire/byte_writer.ts";
import { ServertalkError, ServertalkErrorCode } from "./servertalk_error.ts";

/** Bits of a frame's flags byte. */
export const FrameFlag = {
  /** The payload is an LZ4 block (u32 LE inflated length, then the block). */
  Compressed: 0x01,
  /** A request: the peer answers with one Response, Error or Retry carrying the same id. */
  Request: 0x02,
  /** The successful reply to the request with this id. */
  Response: 0x04,
  /** The failing reply to the request with this id: payload is an error (code, message); do not retry as is. */
  Error: 0x08,
  /** The responder cannot serve the request now: payload says how long to wait before retrying. */
  Retry: 0x10,
  /** A one-way message: never answered. */
  Notify: 0x20,
  /** One part of a message too large for one frame; the id names the stream. */
  Stream: 0x40,
  /** The last part of a stream (only with {@linkcode FrameFlag.Stream}). */
  End: 0x80,
} as const;

/** The kind bits: exactly one is set in every frame. */
export const KIND_MASK = FrameFlag.Request | FrameFlag.Response | FrameFlag.Error | FrameFlag.Retry | FrameFlag.Notify;
const ID_MASK = FrameFlag.Request | FrameFlag.Response | FrameFlag.Error | FrameFlag.Retry | FrameFlag.Stream;

/** Bytes of length, opcode and flags. */
export const FRAME_HEADER_BYTES = 7;
/** Bytes of the request id, when present. */
export const REQUEST_ID_BYTES = 4;
/** Default largest frame accepted or sent: 1 MiB (larger messages travel as streams). */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

/** Whether frames with these flags carry a request id. */
export function hasRequestId(flags: number): boolean {
  return (flags & ID_MASK) !== 0;
}

/** For each flags byte, whether it is valid (computed once; checked for every frame). */
const VALID_FLAGS: Uint8Array = new Uint8Array(256);

/** Header length of a frame with these flags. */
export function headerBytes(flags: number): number {
  return (flags & ID_MASK) !== 0 ? FRAME_HEADER_BYTES + REQUEST_ID_BYTES : FRAME_HEADER_BYTES;
}

/** Why `flags` are contradictory, or `undefined` when they are valid. */
export function flagsProblem(flags: number): string | undefined {
  const kind = flags & KIND_MASK;
  if (kind === 0 || (kind & (kind - 1)) !== 0) {
    return "exactly one of request, response, error, retry, notify must be set";
  }
  if ((flags & FrameFlag.End) !== 0 && (flags & FrameFlag.Stream) === 0) return "end is set without stream";
  if ((flags & FrameFlag.Stream) !== 0 && (kind === FrameFlag.Error || kind === FrameFlag.Retry)) {
    return "error and retry replies cannot be streamed";
  }
  return undefined;
}

/**
 * Appends a frame header. The caller appends exactly `payloadLength` payload bytes next.
 * `id` is written only when the flags call for one.
 */
export function writeFrameHeader(
  writer: ByteWriter,
  header: { opcode: number; flags: number; id: number; payloadLength: number },
): void {
  const withId = hasRequestId(header.flags);
  writer.u32le((withId ? FRAME_HEADER_BYTES + REQUEST_ID_BYTES : FRAME_HEADER_BYTES) + header.payloadLength)
    .u16le(header.opcode)
    .u8(header.flags);
  if (withId) writer.u32le(header.id);
}

/** Receives each decoded frame. `payload` is a view the receiver may keep (it is never reused). */
export type FrameSink = (opcode: number, flags: number, id: number, payload: Uint8Array) => void;

/** Options of {@linkcode FrameDecoder}. */
export interface FrameDecoderOptions {
  /** Largest frame accepted, header included; default {@linkcode DEFAULT_MAX_FRAME_BYTES}. */
  readonly maxFrameBytes?: number;
}

/**
 * Cuts a TCP byte stream into frames, whatever the chunking: frames wholly inside a chunk are
 * delivered as views of it (no copy); a frame split across chunks is gathered into a buffer of
 * exactly its size, allocated only after its length has been checked against the limit.
 *
 * A malformed length or contradictory flags throw a {@linkcode ServertalkError}
 * (`SERVERTALK_FRAME_TOO_LARGE`, `SERVERTALK_BAD_FRAME`); the stream is unusable after that.
 */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  /** The first bytes of a frame whose length is not known yet. */
  readonly #lengthBytes = new Uint8Array(4);
  #lengthFilled = 0;
  /** The frame being gathered across chunks. */
  #partial: Uint8Array | undefined;
  #partialFilled = 0;

  constructor(options: FrameDecoderOptions = {}) {
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** Bytes held while waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.#partial === undefined ? this.#lengthFilled : this.#partialFilled;
  }

  #checkLength(length: number): void {
    if (length > this.#maxFrameBytes) {
      throw new ServertalkError(
        ServertalkErrorCode.FrameTooLarge,
        `Cannot decode frame: length ${length} exceeds limit ${this.#maxFrameBytes}`,
      );
    }
    if (length < FRAME_HEADER_BYTES) {
      throw new ServertalkError(
        ServertalkErrorCode.BadFrame,
        `Cannot decode frame: length ${length} is shorter than the ${FRAME_HEADER_BYTES}-byte header`,
      );
    }
  }

  /** Feeds `chunk`; calls `sink` for every frame it completes, in order. */
  push(chunk: Uint8Array, sink: FrameSink): void {
    let at = 0;
    const end = chunk.length;
    // Finish a frame begun in an earlier chunk.
    if (this.#lengthFilled > 0 || this.#partial !== undefined) {
      if (this.#partial === undefined) {
        while (this.#lengthFilled < 4 && at < end) this.#lengthBytes[this.#lengthFilled++] = chunk[at++]!;
        if (this.#lengthFilled < 4) return;
        const b = this.#lengthBytes;
        const length = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
        this.#checkLength(length);
        this.#partial = new Uint8Array(length);
        this.#partial.set(b);
        this.#partialFilled = 4;
        this.#lengthFilled = 0;
      }
      const partial = this.#partial;
      const take = Math.min(partial.length - this.#partialFilled, end - at);
      partial.set(chunk.subarray(at, at + take), this.#partialFilled);
      this.#partialFilled += take;
      at += take;
      if (this.#partialFilled < partial.length) return;
      this.#partial = undefined;
      this.#partialFilled = 0;
      this.#emit(partial, 0, partial.length, sink);
    }
    // Whole frames inside this chunk.
    while (end - at >= 4) {
      const length = (chunk[at]! | (chunk[at + 1]! << 8) | (chunk[at + 2]! << 16) | (chunk[at + 3]! << 24)) >>> 0;
      if (length > end - at) {
        this.#checkLength(length);
        break;
      }
      this.#checkLength(length);
      this.#emit(chunk, at, at + length, sink);
      at += length;
    }
    // Keep the start of the next frame.
    if (at < end) {
      if (end - at < 4) {
        while (at < end) this.#lengthBytes[this.#lengthFilled++] = chunk[at++]!;
      } else {
        const length = (chunk[at]! | (chunk[at + 1]! << 8) | (chunk[at + 2]! << 16) | (chunk[at + 3]! << 24)) >>> 0;
        this.#partial = new Uint8Array(length);
        this.#partial.set(chunk.subarray(at, end));
        this.#partialFilled = end - at;
      }
    }
  }

  #emit(bytes: Uint8Array, start: number, end: number, sink: FrameSink): void {
    const opcode = bytes[start + 4]! | (bytes[start + 5]! << 8);
    const flags = bytes[start + 6]!;
    if (VALID_FLAGS[flags] === 0) {
      const problem = flagsProblem(flags);
      throw new ServertalkError(
        ServertalkErrorCode.BadFrame,
        `Cannot decode frame: flags 0x${flags.toString(16).padStart(2, "0")} are invalid (${problem})`,
      );
    }
    let id = 0;
    let payloadStart = start + FRAME_HEADER_BYTES;
    if (hasRequestId(flags)) {
      if (end - start < FRAME_HEADER_BYTES + REQUEST_ID_BYTES) {
        throw new ServertalkError(
          ServertalkErrorCode.BadFrame,
          `Cannot decode frame: length ${end - start} is too short for a request id`,
        );
      }
      id = (bytes[payloadStart]! | (bytes[payloadStart + 1]! << 8) | (bytes[payloadStart + 2]! << 16) |
        (bytes[payloadStart + 3]! << 24)) >>> 0;
      payloadStart += REQUEST_ID_BYTES;
    }
    sink(opcode, flags, id, bytes.subarray(payloadStart, end));
  }
}

for (let flags = 0; flags < 256; flags++) VALID_FLAGS[flags] = flagsProblem(flags) === undefined ? 1 : 0;
