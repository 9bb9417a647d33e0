/**
 * The EQ2 application layer carried inside reliable EQStream packets: app opcodes, the compression
 * flag with one persistent zlib stream per connection, RC4 per direction (20 keystream bytes
 * dropped), leading-zero escaping and the key exchange. Little-endian, unlike the session layer.
 * @module
 */
import { ByteArena } from "../wire/byte_arena.ts";
import { EQ2_RC4_DROP, Rc4 } from "../wire/rc4.ts";
import { WireError } from "../wire/wire_error.ts";
import { ZlibDeflater, ZlibInflater } from "../wire/zlib_stream.ts";
import { EqStreamError, EqStreamErrorCode } from "./errors.ts";
import { forEachSubPacket, ProtocolOp } from "./packets.ts";

/** Which end of a connection a codec serves. */
export type Side = "server" | "client";

/** Bytes of the RC4 key the client chooses. */
export const RC4_KEY_BYTES = 8;
/** Server → client application packets whose opcode + payload exceed this many bytes are compressed. */
export const DEFAULT_COMPRESS_THRESHOLD = 128;
/** Flag byte of a server → client packet: plain. */
export const APP_FLAG_PLAIN = 0x00;
/** Flag byte of a server → client packet: zlib. */
export const APP_FLAG_ZLIB = 0x01;

const KEY_REQUEST_MODULUS_BYTES = 60;
/** The key reply: `FF FF FF FF`, u32 LE 60, then 60 bytes ending in the reversed RC4 key. */
export const KEY_REPLY_BYTES = 8 + KEY_REQUEST_MODULUS_BYTES;

/** An application packet: opcode and payload. */
export interface AppPacket {
  readonly opcode: number;
  readonly payload: Uint8Array;
}

/** Bytes taken by an opcode: one, or 0xFF + u16 LE for 255 and above. */
export function opcodeBytes(opcode: number): number {
  return opcode < 0xff ? 1 : 3;
}

/** Writes `[opcode][payload]` at `out[at..]`; returns the end offset. */
function putOpcodeAndPayload(out: Uint8Array, at: number, opcode: number, payload: Uint8Array): number {
  if (opcode < 0xff) {
    out[at++] = opcode;
  } else {
    out[at++] = 0xff;
    out[at++] = opcode & 0xff;
    out[at++] = opcode >>> 8;
  }
  out.set(payload, at);
  return at + payload.length;
}

/** Reads `[opcode][payload]` from `bytes[start..end)`. */
export function readOpcodeAndPayload(bytes: Uint8Array, start: number, end: number): AppPacket {
  if (end - start < 1) {
    throw new EqStreamError(EqStreamErrorCode.BadAppPacket, "Cannot decode app packet: it is empty");
  }
  const first = bytes[start]!;
  if (first !== 0xff) return { opcode: first, payload: bytes.subarray(start + 1, end) };
  if (end - start < 3) {
    throw new EqStreamError(
      EqStreamErrorCode.BadAppPacket,
      `Cannot decode app packet: long opcode needs 3 bytes, got ${end - start}`,
    );
  }
  return { opcode: bytes[start + 1]! | (bytes[start + 2]! << 8), payload: bytes.subarray(start + 3, end) };
}

/** The RC4 key of each direction: server → client uses `key`, client → server its bitwise NOT. */
function directionKey(key: Uint8Array, direction: "toClient" | "toServer"): Uint8Array {
  return direction === "toClient" ? key.slice() : key.map((b) => ~b & 0xff);
}

/**
 * The key request the server sends after the stat response: app opcode `opcode` (2 for the captured
 * client), no flag byte, not encrypted: u32 LE 60, sixty 0xFF bytes, u32 LE 1, u8 1.
 */
export function encodeKeyRequest(opcode: number): Uint8Array {
  const body = new Uint8Array(4 + KEY_REQUEST_MODULUS_BYTES + 4 + 1);
  const view = new DataView(body.buffer);
  view.setUint32(0, KEY_REQUEST_MODULUS_BYTES, true);
  body.fill(0xff, 4, 4 + KEY_REQUEST_MODULUS_BYTES);
  view.setUint32(4 + KEY_REQUEST_MODULUS_BYTES, 1, true);
  body[body.length - 1] = 1;
  const out = new Uint8Array(opcodeBytes(opcode) + body.length);
  putOpcodeAndPayload(out, 0, opcode, body);
  return out;
}

/** Checks that `bytes` is a key request with `opcode`; throws `EQSTREAM_BAD_KEY_EXCHANGE` otherwise. */
export function checkKeyRequest(bytes: Uint8Array, opcode: number): void {
  const packet = readOpcodeAndPayload(bytes, 0, bytes.length);
  if (packet.opcode !== opcode || packet.payload.length < 4) {
    throw new EqStreamError(
      EqStreamErrorCode.BadKeyExchange,
      `Cannot read key request: opcode ${packet.opcode} with ${packet.payload.length} bytes, expected opcode ${opcode}`,
    );
  }
}

/**
 * The client's key reply: `FF FF FF FF`, u32 LE 60, then 60 bytes whose last 8 are the RC4 key in
 * reversed byte order. `filler` supplies the 52 leading bytes (random in a real client).
 */
export function encodeKeyReply(key: Uint8Array, filler: Uint8Array): Uint8Array {
  if (key.length !== RC4_KEY_BYTES) {
    throw new EqStreamError(EqStreamErrorCode.BadOption, `Cannot build key reply: key has ${key.length} bytes, not 8`);
  }
  const out = new Uint8Array(KEY_REPLY_BYTES);
  out.fill(0xff, 0, 4);
  new DataView(out.buffer).setUint32(4, KEY_REQUEST_MODULUS_BYTES, true);
  out.set(filler.subarray(0, KEY_REQUEST_MODULUS_BYTES - RC4_KEY_BYTES), 8);
  for (let i = 0; i < RC4_KEY_BYTES; i++) out[KEY_REPLY_BYTES - 1 - i] = key[i]!;
  return out;
}

/** The RC4 key inside a key reply; throws `EQSTREAM_BAD_KEY_EXCHANGE` for anything else. */
export function decodeKeyReply(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 8 || bytes[0] !== 0xff || bytes[1] !== 0xff || bytes[2] !== 0xff || bytes[3] !== 0xff) {
    throw new EqStreamError(
      EqStreamErrorCode.BadKeyExchange,
      `Cannot read key reply: ${bytes.length} bytes not starting with FF FF FF FF`,
    );
  }
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (length < RC4_KEY_BYTES || length > bytes.length - 8) {
    throw new EqStreamError(
      EqStreamErrorCode.BadKeyExchange,
      `Cannot read key reply: block length ${length} does not fit its ${bytes.length - 8} bytes`,
    );
  }
  const end = 8 + length;
  const key = new Uint8Array(RC4_KEY_BYTES);
  for (let i = 0; i < RC4_KEY_BYTES; i++) key[i] = bytes[end - 1 - i]!;
  return key;
}

/**
 * The most bytes one application packet can take inside reliable data: flag, opcode, payload (or
 * zlib's worst case for it) and an escape byte. Receivers bound reassembly by this.
 */
export function maxEncodedBytes(
  side: Side,
  opcode: number,
  payloadLength: number,
  compressThreshold = DEFAULT_COMPRESS_THRESHOLD,
): number {
  const plain = opcodeBytes(opcode) + payloadLength;
  if (side === "client") return plain + 1;
  const body = plain > compressThreshold ? plain + (plain >> 12) + (plain >> 14) + 32 : plain;
  return 1 + body + 1;
}

/** Options of {@linkcode AppEncoder}. */
export interface AppEncoderOptions {
  /** Compress server → client packets over the threshold (always off for the client side); default true. */
  readonly compression?: boolean;
  /** Compress when opcode + payload exceed this many bytes; default {@linkcode DEFAULT_COMPRESS_THRESHOLD}. */
  readonly compressThreshold?: number;
  /**
   * Where encoded packets are allocated; default a private arena of 2 KiB chunks. Packets live until
   * acknowledged, in the order they were encoded, so one connection's arena pins little.
   */
  readonly arena?: ByteArena;
}

/** Chunk size of an encoder's own arena. */
const ENCODER_ARENA_BYTES = 2048;

/**
 * Turns application packets into the bytes of one direction of a connection: server side
 * `[flag][opcode][payload]` (zlib after the flag over the threshold), client side `[opcode][payload]`;
 * then RC4 once keyed. Encoding advances the cipher and the deflate stream, so packets must be
 * encoded in the order they will be sequenced; the result is what resends repeat.
 * Leading-zero escaping is left to the caller, who knows whether the bytes travel alone.
 */
export class AppEncoder {
  readonly #side: Side;
  readonly #compression: boolean;
  readonly #threshold: number;
  readonly #arena: ByteArena;
  #cipher: Rc4 | undefined;
  #deflater: ZlibDeflater | undefined;
  #plainBytes = 0;
  #wireBytes = 0;

  constructor(side: Side, options: AppEncoderOptions = {}) {
    this.#side = side;
    this.#compression = side === "server" && (options.compression ?? true);
    this.#threshold = options.compressThreshold ?? DEFAULT_COMPRESS_THRESHOLD;
    this.#arena = options.arena ?? new ByteArena(ENCODER_ARENA_BYTES);
  }

  /** Starts encrypting with the client's 8-byte key (server → client: key; client → server: ~key). */
  setKey(key: Uint8Array): void {
    this.#cipher = new Rc4(directionKey(key, this.#side === "server" ? "toClient" : "toServer"), EQ2_RC4_DROP);
  }

  /** Whether a key is set. */
  get keyed(): boolean {
    return this.#cipher !== undefined;
  }

  /** Plain bytes given and bytes produced, for the compression ratio. */
  get totals(): { readonly plainBytes: number; readonly wireBytes: number } {
    return { plainBytes: this.#plainBytes, wireBytes: this.#wireBytes };
  }

  /** Encodes one packet; the result is new and owned by the caller. */
  encode(opcode: number, payload: Uint8Array): Uint8Array {
    const plainLength = opcodeBytes(opcode) + payload.length;
    let out: Uint8Array;
    if (this.#side === "client") {
      out = this.#arena.alloc(plainLength);
      putOpcodeAndPayload(out, 0, opcode, payload);
    } else if (this.#compression && plainLength > this.#threshold) {
      // Both from the arena: the plain bytes die here, the packet soon after it is sent.
      const plain = this.#arena.alloc(plainLength);
      putOpcodeAndPayload(plain, 0, opcode, payload);
      this.#deflater ??= new ZlibDeflater({ level: 9, windowBits: 13, memLevel: 9 });
      out = this.#deflater.deflate(plain, 1, this.#arena);
      out[0] = APP_FLAG_ZLIB;
    } else {
      out = this.#arena.alloc(1 + plainLength);
      out[0] = APP_FLAG_PLAIN;
      putOpcodeAndPayload(out, 1, opcode, payload);
    }
    this.#plainBytes += plainLength;
    this.#wireBytes += out.length;
    this.#cipher?.process(out);
    return out;
  }
}

/** Options of {@linkcode AppDecoder}. */
export interface AppDecoderOptions {
  /** Largest inflated packet; default 1 MiB. */
  readonly maxBytes?: number;
}

/**
 * The receiving end of an {@linkcode AppEncoder}: decrypts (in place) and, on the client side,
 * reads the flag and inflates. Packets must be decoded in sequence order.
 */
export class AppDecoder {
  readonly #side: Side;
  readonly #maxBytes: number;
  #cipher: Rc4 | undefined;
  #inflater: ZlibInflater | undefined;

  /** `side` is the side that *receives* (a server decodes what clients send). */
  constructor(side: Side, options: AppDecoderOptions = {}) {
    this.#side = side;
    this.#maxBytes = options.maxBytes ?? 1024 * 1024;
  }

  /** Starts decrypting with the client's 8-byte key. */
  setKey(key: Uint8Array): void {
    this.#cipher = new Rc4(directionKey(key, this.#side === "server" ? "toServer" : "toClient"), EQ2_RC4_DROP);
  }

  /** Whether a key is set. */
  get keyed(): boolean {
    return this.#cipher !== undefined;
  }

  /**
   * Decodes one packet. `bytes` is decrypted in place (the caller gives up its contents); the payload
   * returned may view it. Throws `EQSTREAM_BAD_APP_PACKET` or `EQSTREAM_BAD_COMPRESSED`.
   */
  decode(bytes: Uint8Array): AppPacket {
    if (bytes.length === 0) {
      throw new EqStreamError(EqStreamErrorCode.BadAppPacket, "Cannot decode app packet: it is empty");
    }
    this.#cipher?.process(bytes);
    if (this.#side === "server") return readOpcodeAndPayload(bytes, 0, bytes.length);
    const flag = bytes[0]!;
    if (flag === APP_FLAG_PLAIN) return readOpcodeAndPayload(bytes, 1, bytes.length);
    if (flag !== APP_FLAG_ZLIB) {
      throw new EqStreamError(
        EqStreamErrorCode.BadAppPacket,
        `Cannot decode app packet: flag 0x${flag.toString(16).padStart(2, "0")} is neither 0x00 nor 0x01`,
      );
    }
    this.#inflater ??= new ZlibInflater({ maxBytes: this.#maxBytes });
    let plain: Uint8Array;
    try {
      plain = this.#inflater.inflate(bytes.subarray(1));
    } catch (cause) {
      if (cause instanceof WireError) {
        throw new EqStreamError(EqStreamErrorCode.BadCompressed, `Cannot inflate app packet: ${cause.message}`, {
          cause,
        });
      }
      throw cause;
    }
    return readOpcodeAndPayload(plain, 0, plain.length);
  }
}

/** Whether reliable data starts with 0x00 and so needs the escape byte when it travels alone. */
export function needsEscape(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === 0;
}

/**
 * Splits reliable data into the application packets it carries: an AppCombined (`00 19` + entries),
 * an escaped packet (`00 00 …`: one zero dropped), or a bare packet. Calls `visit` with views.
 */
export function forEachAppPacket(data: Uint8Array, visit: (bytes: Uint8Array) => void): void {
  if (data.length === 0) {
    throw new EqStreamError(EqStreamErrorCode.BadAppPacket, "Cannot decode reliable data: it is empty");
  }
  if (data[0] !== 0) {
    visit(data);
    return;
  }
  if (data.length < 2) {
    throw new EqStreamError(EqStreamErrorCode.BadAppPacket, "Cannot decode reliable data: lone 0x00 byte");
  }
  const second = data[1]!;
  if (second === ProtocolOp.AppCombined) {
    forEachSubPacket(data, 2, data.length, "AppCombined", (s, e) => visit(data.subarray(s, e)));
  } else if (second === 0) {
    visit(data.subarray(1));
  } else {
    throw new EqStreamError(
      EqStreamErrorCode.BadAppPacket,
      `Cannot decode reliable data: embedded protocol opcode 0x${second.toString(16).padStart(2, "0")}`,
    );
  }
}
