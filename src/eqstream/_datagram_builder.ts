import { ByteArena, copyRange } from "../wire/byte_arena.ts";
import { CRC_BYTES, ProtocolOp, putSubPacketPrefix, putU16, subPacketPrefixBytes, writeCrc } from "./packets.ts";

/** Finished datagrams of every session: they are sent at once and die young, so they share chunks. */
const DATAGRAMS = new ByteArena(64 * 1024);

/**
 * Packs protocol packets into one datagram. Packets are written as Combined entries; a datagram that
 * ends up holding a single packet is sent bare (without the Combined wrapper). The CRC is appended
 * by {@linkcode finish}. `room` says how many bytes one more packet (with its length prefix) may take.
 */
export class DatagramBuilder {
  #buffer: Uint8Array;
  #limit = 0;
  #at = 2;
  #count = 0;
  #firstStart = 0;
  #firstEnd = 0;

  constructor(capacity: number) {
    this.#buffer = new Uint8Array(capacity);
  }

  /** Starts a datagram of at most `maxBytes` (CRC included). */
  begin(maxBytes: number): void {
    if (this.#buffer.length < maxBytes) this.#buffer = new Uint8Array(maxBytes);
    this.#limit = maxBytes - CRC_BYTES;
    this.#buffer[0] = 0;
    this.#buffer[1] = ProtocolOp.Combined;
    this.#at = 2;
    this.#count = 0;
  }

  /** Packets added so far. */
  get count(): number {
    return this.#count;
  }

  /** Bytes a packet of `length` bytes takes, its length prefix included. */
  static cost(length: number): number {
    return subPacketPrefixBytes(length) + length;
  }

  /** Whether a packet of `length` bytes still fits. */
  fits(length: number): boolean {
    return this.#at + subPacketPrefixBytes(length) + length <= this.#limit;
  }

  /** The largest packet that still fits (0 when none does). */
  get room(): number {
    const free = this.#limit - this.#at;
    if (free <= 1) return 0;
    if (free - 1 < 0xff) return free - 1;
    return free - 3;
  }

  #start(length: number): number {
    const at = putSubPacketPrefix(this.#buffer, this.#at, length);
    if (this.#count === 0) {
      this.#firstStart = at;
      this.#firstEnd = at + length;
    }
    this.#count++;
    this.#at = at + length;
    return at;
  }

  /** Adds a packet with no body after the opcode (KeepAlive). */
  addEmpty(op: number): void {
    const at = this.#start(2);
    this.#buffer[at] = 0;
    this.#buffer[at + 1] = op;
  }

  /** Adds a packet with a u16 field (Ack, OutOfOrderAck). */
  addU16(op: number, value: number): void {
    const at = this.#start(4);
    this.#buffer[at] = 0;
    this.#buffer[at + 1] = op;
    putU16(this.#buffer, at + 2, value);
  }

  /** Adds a sequenced packet: opcode, u16 sequence, then `body`. */
  addSequenced(op: number, seq: number, body: Uint8Array): void {
    const at = this.#start(4 + body.length);
    this.#buffer[at] = 0;
    this.#buffer[at + 1] = op;
    putU16(this.#buffer, at + 2, seq);
    this.#buffer.set(body, at + 4);
  }

  /** Adds an already-encoded packet (opcode included). */
  addRaw(packet: Uint8Array): void {
    const at = this.#start(packet.length);
    this.#buffer.set(packet, at);
  }

  /** The finished datagram (a fresh array the caller owns) with its CRC, or `undefined` when nothing was added. */
  finish(crcKey: number): Uint8Array | undefined {
    if (this.#count === 0) return undefined;
    let out: Uint8Array;
    if (this.#count === 1) {
      const length = this.#firstEnd - this.#firstStart;
      out = DATAGRAMS.alloc(length + CRC_BYTES);
      copyRange(out, this.#buffer, this.#firstStart, this.#firstEnd);
      writeCrc(out, length, crcKey);
    } else {
      out = DATAGRAMS.alloc(this.#at + CRC_BYTES);
      copyRange(out, this.#buffer, 0, this.#at);
      writeCrc(out, this.#at, crcKey);
    }
    return out;
  }
}
