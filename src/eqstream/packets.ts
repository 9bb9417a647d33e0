/**
 * The EQStream session-layer codec: protocol opcodes, CRC, and every protocol packet the EQ2 client
 * and server exchange. The session layer is big-endian; application packets inside it are not.
 * @module
 */
import { eq2Crc } from "../wire/crc32.ts";
import { EqStreamError, EqStreamErrorCode } from "./errors.ts";

/** Protocol opcodes: the second byte of every datagram (the first is always 0x00). */
export const ProtocolOp = {
  SessionRequest: 0x01,
  SessionResponse: 0x02,
  Combined: 0x03,
  SessionDisconnect: 0x05,
  KeepAlive: 0x06,
  SessionStatRequest: 0x07,
  SessionStatResponse: 0x08,
  Packet: 0x09,
  Fragment: 0x0d,
  OutOfOrderAck: 0x11,
  Ack: 0x15,
  AppCombined: 0x19,
  OutOfSession: 0x1d,
} as const;

/** One of the {@linkcode ProtocolOp} values. */
export type ProtocolOp = typeof ProtocolOp[keyof typeof ProtocolOp];

/** CRC bytes appended to every datagram except SessionRequest, SessionResponse and OutOfSession. */
export const CRC_BYTES = 2;
/** The protocol version the EQ2 client puts in its SessionRequest. */
export const EQ2_PROTOCOL_VERSION = 2;
/** The max length the EQ2 client asks for. */
export const EQ2_CLIENT_MAX_LENGTH = 512;
/** Session-disconnect reason the EQ2 emulators send for an application close. */
export const DISCONNECT_REASON_APPLICATION = 6;

/** Sizes of fixed-layout packets, opcode included, CRC excluded. */
export const PacketSize = {
  SessionRequest: 14,
  SessionResponse: 21,
  SessionDisconnect: 8,
  SessionStatRequest: 40,
  SessionStatResponse: 40,
  Ack: 4,
} as const;

/** Whether datagrams with this opcode carry a CRC. */
export function hasCrc(op: number): boolean {
  return op !== ProtocolOp.SessionRequest && op !== ProtocolOp.SessionResponse && op !== ProtocolOp.OutOfSession;
}

/** The name of a protocol opcode, for messages. */
export function opName(op: number): string {
  for (const [name, value] of Object.entries(ProtocolOp)) if (value === op) return name;
  return `0x${op.toString(16).padStart(2, "0")}`;
}

/** SessionRequest (client → server). */
export interface SessionRequest {
  readonly op: typeof ProtocolOp.SessionRequest;
  readonly protocolVersion: number;
  readonly sessionId: number;
  readonly maxLength: number;
}

/** SessionResponse (server → client). `crcKey` seeds the CRC; it is not an RC4 key. */
export interface SessionResponse {
  readonly op: typeof ProtocolOp.SessionResponse;
  readonly sessionId: number;
  readonly crcKey: number;
  /** CRC bytes per datagram (2 for EQ2). */
  readonly crcBytes: number;
  /** 0x01 compressed, 0x04 encoded; 0 for EQ2. */
  readonly format: number;
  readonly unknownByte: number;
  readonly maxLength: number;
  readonly unknownTail: number;
}

/** Combined: several protocol packets in one datagram. */
export interface Combined {
  readonly op: typeof ProtocolOp.Combined;
  readonly packets: readonly ProtocolPacket[];
}

/** SessionDisconnect. */
export interface SessionDisconnect {
  readonly op: typeof ProtocolOp.SessionDisconnect;
  readonly sessionId: number;
  readonly reason: number;
}

/** KeepAlive (empty; answered with a KeepAlive). */
export interface KeepAlive {
  readonly op: typeof ProtocolOp.KeepAlive;
}

/** SessionStatRequest (client → server), big-endian counters. */
export interface SessionStatRequest {
  readonly op: typeof ProtocolOp.SessionStatRequest;
  readonly requestId: number;
  readonly lastLocalDelta: number;
  readonly averageDelta: number;
  readonly lowDelta: number;
  readonly highDelta: number;
  readonly lastRemoteDelta: number;
  readonly packetsSent: bigint;
  readonly packetsReceived: bigint;
}

/** SessionStatResponse (server → client): the request id echoed, the server's clock, and packet counters. */
export interface SessionStatResponse {
  readonly op: typeof ProtocolOp.SessionStatResponse;
  readonly requestId: number;
  /** Server time in milliseconds, modulo 2^32. */
  readonly serverTime: number;
  readonly clientPacketsSent: bigint;
  readonly clientPacketsReceived: bigint;
  readonly serverPacketsSent: bigint;
  readonly serverPacketsReceived: bigint;
}

/** A reliable, sequenced packet; `data` is the reliable payload (application bytes or an AppCombined). */
export interface SequencedPacket {
  readonly op: typeof ProtocolOp.Packet;
  readonly seq: number;
  readonly data: Uint8Array;
}

/**
 * One fragment. Whether it is the first of a message (whose data then starts with the u32 BE total
 * length) depends on the receiver's reassembly state, so the codec leaves `data` whole.
 */
export interface Fragment {
  readonly op: typeof ProtocolOp.Fragment;
  readonly seq: number;
  readonly data: Uint8Array;
}

/** OutOfOrderAck: a selective ack of exactly `seq`. */
export interface OutOfOrderAck {
  readonly op: typeof ProtocolOp.OutOfOrderAck;
  readonly seq: number;
}

/** Ack: cumulative, everything up to and including `seq`. */
export interface Ack {
  readonly op: typeof ProtocolOp.Ack;
  readonly seq: number;
}

/** OutOfSession: the sender has no session for this address. */
export interface OutOfSession {
  readonly op: typeof ProtocolOp.OutOfSession;
  /** The bytes after the opcode (EQ emulators put a session id there; some send nothing). */
  readonly body: Uint8Array;
}

/** Every protocol packet. */
export type ProtocolPacket =
  | SessionRequest
  | SessionResponse
  | Combined
  | SessionDisconnect
  | KeepAlive
  | SessionStatRequest
  | SessionStatResponse
  | SequencedPacket
  | Fragment
  | OutOfOrderAck
  | Ack
  | OutOfSession;

function truncated(what: string, needed: number, got: number): EqStreamError {
  return new EqStreamError(
    EqStreamErrorCode.Truncated,
    `Cannot decode ${what}: needs ${needed} bytes, got ${got}`,
  );
}

function u16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}

function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function u64(bytes: Uint8Array, at: number): bigint {
  return (BigInt(u32(bytes, at)) << 32n) | BigInt(u32(bytes, at + 4));
}

/** Writes a u16 BE. */
export function putU16(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 8;
  bytes[at + 1] = value;
}

/** Writes a u32 BE. */
export function putU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = value >>> 16;
  bytes[at + 2] = value >>> 8;
  bytes[at + 3] = value;
}

function putU64(bytes: Uint8Array, at: number, value: bigint): void {
  putU32(bytes, at, Number((value >> 32n) & 0xffff_ffffn));
  putU32(bytes, at + 4, Number(value & 0xffff_ffffn));
}

/** Reads the u16 BE at `at`. */
export function readU16(bytes: Uint8Array, at: number): number {
  return u16(bytes, at);
}

/** Reads the u32 BE at `at`. */
export function readU32(bytes: Uint8Array, at: number): number {
  return u32(bytes, at);
}

/**
 * Checks and strips the CRC of a datagram whose opcode carries one.
 * Returns the end of the body (the datagram length minus the CRC).
 * Throws `EQSTREAM_BAD_CRC` on a mismatch (a CRC of 0x0000 is not accepted as a wildcard).
 */
export function verifyCrc(datagram: Uint8Array, crcKey: number): number {
  const end = datagram.length - CRC_BYTES;
  if (end < 2) throw truncated("datagram", 2 + CRC_BYTES, datagram.length);
  const expected = eq2Crc(crcKey, datagram, 0, end);
  const got = u16(datagram, end);
  if (expected !== got) {
    throw new EqStreamError(
      EqStreamErrorCode.BadCrc,
      `Cannot accept datagram: CRC 0x${got.toString(16).padStart(4, "0")} does not match 0x${
        expected.toString(16).padStart(4, "0")
      }`,
    );
  }
  return end;
}

/** Writes the CRC of `datagram[0..end)` into `datagram[end..end+2)`. */
export function writeCrc(datagram: Uint8Array, end: number, crcKey: number): void {
  putU16(datagram, end, eq2Crc(crcKey, datagram, 0, end));
}

/** Calls `visit(op, bytes, start, end)` for each packet in `bytes[start..end)`, unwrapping one level of Combined. */
export function forEachPacket(
  bytes: Uint8Array,
  start: number,
  end: number,
  visit: (op: number, bytes: Uint8Array, start: number, end: number) => void,
): void {
  if (end - start < 2) throw truncated("packet", 2, end - start);
  if (bytes[start] !== 0) {
    throw new EqStreamError(
      EqStreamErrorCode.UnknownOpcode,
      `Cannot decode packet: first byte 0x${bytes[start]!.toString(16).padStart(2, "0")} is not 0x00`,
    );
  }
  const op = bytes[start + 1]!;
  if (op !== ProtocolOp.Combined) {
    visit(op, bytes, start, end);
    return;
  }
  forEachSubPacket(bytes, start + 2, end, "Combined", (subStart, subEnd) => {
    if (subEnd - subStart < 2) throw truncated("Combined sub-packet", 2, subEnd - subStart);
    if (bytes[subStart] !== 0) {
      throw new EqStreamError(
        EqStreamErrorCode.BadCombined,
        `Cannot decode Combined: sub-packet at offset ${subStart} starts with 0x${
          bytes[subStart]!.toString(16).padStart(2, "0")
        }, not 0x00`,
      );
    }
    const subOp = bytes[subStart + 1]!;
    if (subOp === ProtocolOp.Combined) {
      throw new EqStreamError(
        EqStreamErrorCode.BadCombined,
        `Cannot decode Combined: nested Combined at offset ${subStart}`,
      );
    }
    visit(subOp, bytes, subStart, subEnd);
  });
}

/**
 * Walks length-prefixed sub-packets: a u8 length, or 0xFF + u16 BE, or 0xFF 0xFFFF + u32 BE.
 * Used by Combined (where only the first two forms occur) and AppCombined. Zero-length entries are refused.
 */
export function forEachSubPacket(
  bytes: Uint8Array,
  start: number,
  end: number,
  what: string,
  visit: (start: number, end: number) => void,
): void {
  let at = start;
  if (at >= end) throw new EqStreamError(EqStreamErrorCode.BadCombined, `Cannot decode ${what}: it is empty`);
  while (at < end) {
    let length = bytes[at]!;
    at += 1;
    if (length === 0xff) {
      if (end - at < 2) throw new EqStreamError(EqStreamErrorCode.BadCombined, `Cannot decode ${what}: length cut off`);
      length = u16(bytes, at);
      at += 2;
      if (length === 0xffff) {
        if (end - at < 4) {
          throw new EqStreamError(EqStreamErrorCode.BadCombined, `Cannot decode ${what}: length cut off`);
        }
        length = u32(bytes, at);
        at += 4;
      }
    }
    if (length === 0) {
      throw new EqStreamError(EqStreamErrorCode.BadCombined, `Cannot decode ${what}: zero-length entry at ${at - 1}`);
    }
    if (length > end - at) {
      throw new EqStreamError(
        EqStreamErrorCode.BadCombined,
        `Cannot decode ${what}: entry length ${length} at offset ${at} exceeds the ${end - at} bytes that remain`,
      );
    }
    visit(at, at + length);
    at += length;
  }
}

/** Bytes needed for the length prefix of a sub-packet of `length` bytes. */
export function subPacketPrefixBytes(length: number): number {
  if (length < 0xff) return 1;
  if (length < 0xffff) return 3;
  return 7;
}

/** Writes a sub-packet length prefix at `at`; returns the offset after it. */
export function putSubPacketPrefix(bytes: Uint8Array, at: number, length: number): number {
  if (length < 0xff) {
    bytes[at] = length;
    return at + 1;
  }
  bytes[at] = 0xff;
  if (length < 0xffff) {
    putU16(bytes, at + 1, length);
    return at + 3;
  }
  putU16(bytes, at + 1, 0xffff);
  putU32(bytes, at + 3, length);
  return at + 7;
}

function expectLength(what: string, start: number, end: number, length: number): void {
  if (end - start < length) throw truncated(what, length, end - start);
}

/** Decodes one packet (no CRC) from `bytes[start..end)`. */
export function decodeBody(op: number, bytes: Uint8Array, start: number, end: number): ProtocolPacket {
  const at = start + 2;
  switch (op) {
    case ProtocolOp.SessionRequest:
      expectLength("SessionRequest", start, end, PacketSize.SessionRequest);
      return { op, protocolVersion: u32(bytes, at), sessionId: u32(bytes, at + 4), maxLength: u32(bytes, at + 8) };
    case ProtocolOp.SessionResponse:
      expectLength("SessionResponse", start, end, PacketSize.SessionResponse);
      return {
        op,
        sessionId: u32(bytes, at),
        crcKey: u32(bytes, at + 4),
        crcBytes: bytes[at + 8]!,
        format: bytes[at + 9]!,
        unknownByte: bytes[at + 10]!,
        maxLength: u32(bytes, at + 11),
        unknownTail: u32(bytes, at + 15),
      };
    case ProtocolOp.SessionDisconnect:
      expectLength("SessionDisconnect", start, end, PacketSize.SessionDisconnect);
      return { op, sessionId: u32(bytes, at), reason: u16(bytes, at + 4) };
    case ProtocolOp.KeepAlive:
      return { op };
    case ProtocolOp.SessionStatRequest:
      expectLength("SessionStatRequest", start, end, PacketSize.SessionStatRequest);
      return {
        op,
        requestId: u16(bytes, at),
        lastLocalDelta: u32(bytes, at + 2),
        averageDelta: u32(bytes, at + 6),
        lowDelta: u32(bytes, at + 10),
        highDelta: u32(bytes, at + 14),
        lastRemoteDelta: u32(bytes, at + 18),
        packetsSent: u64(bytes, at + 22),
        packetsReceived: u64(bytes, at + 30),
      };
    case ProtocolOp.SessionStatResponse:
      expectLength("SessionStatResponse", start, end, PacketSize.SessionStatResponse);
      return {
        op,
        requestId: u16(bytes, at),
        serverTime: u32(bytes, at + 2),
        clientPacketsSent: u64(bytes, at + 6),
        clientPacketsReceived: u64(bytes, at + 14),
        serverPacketsSent: u64(bytes, at + 22),
        serverPacketsReceived: u64(bytes, at + 30),
      };
    case ProtocolOp.Packet:
    case ProtocolOp.Fragment:
      expectLength(opName(op), start, end, 4);
      return { op, seq: u16(bytes, at), data: bytes.subarray(at + 2, end) };
    case ProtocolOp.OutOfOrderAck:
    case ProtocolOp.Ack:
      expectLength(opName(op), start, end, PacketSize.Ack);
      return { op, seq: u16(bytes, at) };
    case ProtocolOp.OutOfSession:
      return { op, body: bytes.subarray(at, end) };
    default:
      throw new EqStreamError(
        EqStreamErrorCode.UnknownOpcode,
        `Cannot decode packet: unknown opcode 0x${op.toString(16).padStart(2, "0")}`,
      );
  }
}

/**
 * Decodes a whole datagram. `crcKey` is the session's CRC key; without it (before a session exists),
 * only the CRC-less SessionRequest, SessionResponse and OutOfSession decode.
 */
export function decodeDatagram(datagram: Uint8Array, crcKey?: number): ProtocolPacket {
  if (datagram.length < 2) throw truncated("datagram", 2, datagram.length);
  const op = datagram[1]!;
  let end = datagram.length;
  if (datagram[0] === 0 && hasCrc(op)) {
    if (crcKey === undefined) {
      throw new EqStreamError(
        EqStreamErrorCode.BadCrc,
        `Cannot accept datagram: ${opName(op)} carries a CRC but no session key is known`,
      );
    }
    end = verifyCrc(datagram, crcKey);
  }
  if (op === ProtocolOp.Combined && datagram[0] === 0) {
    const packets: ProtocolPacket[] = [];
    forEachPacket(datagram, 0, end, (subOp, bytes, s, e) => packets.push(decodeBody(subOp, bytes, s, e)));
    return { op: ProtocolOp.Combined, packets };
  }
  let result: ProtocolPacket | undefined;
  forEachPacket(datagram, 0, end, (subOp, bytes, s, e) => {
    result = decodeBody(subOp, bytes, s, e);
  });
  return result!;
}

/** Encodes one packet without CRC (a Combined encodes its sub-packets, also without CRC). */
export function encodeBody(packet: ProtocolPacket): Uint8Array {
  switch (packet.op) {
    case ProtocolOp.SessionRequest: {
      const out = new Uint8Array(PacketSize.SessionRequest);
      out[1] = packet.op;
      putU32(out, 2, packet.protocolVersion);
      putU32(out, 6, packet.sessionId);
      putU32(out, 10, packet.maxLength);
      return out;
    }
    case ProtocolOp.SessionResponse: {
      const out = new Uint8Array(PacketSize.SessionResponse);
      out[1] = packet.op;
      putU32(out, 2, packet.sessionId);
      putU32(out, 6, packet.crcKey);
      out[10] = packet.crcBytes;
      out[11] = packet.format;
      out[12] = packet.unknownByte;
      putU32(out, 13, packet.maxLength);
      putU32(out, 17, packet.unknownTail);
      return out;
    }
    case ProtocolOp.Combined: {
      const parts = packet.packets.map(encodeBody);
      const total = parts.reduce((sum, p) => sum + subPacketPrefixBytes(p.length) + p.length, 2);
      const out = new Uint8Array(total);
      out[1] = packet.op;
      let at = 2;
      for (const part of parts) {
        at = putSubPacketPrefix(out, at, part.length);
        out.set(part, at);
        at += part.length;
      }
      return out;
    }
    case ProtocolOp.SessionDisconnect: {
      const out = new Uint8Array(PacketSize.SessionDisconnect);
      out[1] = packet.op;
      putU32(out, 2, packet.sessionId);
      putU16(out, 6, packet.reason);
      return out;
    }
    case ProtocolOp.KeepAlive:
      return Uint8Array.of(0, packet.op);
    case ProtocolOp.SessionStatRequest: {
      const out = new Uint8Array(PacketSize.SessionStatRequest);
      out[1] = packet.op;
      putU16(out, 2, packet.requestId);
      putU32(out, 4, packet.lastLocalDelta);
      putU32(out, 8, packet.averageDelta);
      putU32(out, 12, packet.lowDelta);
      putU32(out, 16, packet.highDelta);
      putU32(out, 20, packet.lastRemoteDelta);
      putU64(out, 24, packet.packetsSent);
      putU64(out, 32, packet.packetsReceived);
      return out;
    }
    case ProtocolOp.SessionStatResponse: {
      const out = new Uint8Array(PacketSize.SessionStatResponse);
      out[1] = packet.op;
      putU16(out, 2, packet.requestId);
      putU32(out, 4, packet.serverTime);
      putU64(out, 8, packet.clientPacketsSent);
      putU64(out, 16, packet.clientPacketsReceived);
      putU64(out, 24, packet.serverPacketsSent);
      putU64(out, 32, packet.serverPacketsReceived);
      return out;
    }
    case ProtocolOp.Packet:
    case ProtocolOp.Fragment: {
      const out = new Uint8Array(4 + packet.data.length);
      out[1] = packet.op;
      putU16(out, 2, packet.seq);
      out.set(packet.data, 4);
      return out;
    }
    case ProtocolOp.OutOfOrderAck:
    case ProtocolOp.Ack: {
      const out = new Uint8Array(PacketSize.Ack);
      out[1] = packet.op;
      putU16(out, 2, packet.seq);
      return out;
    }
    case ProtocolOp.OutOfSession: {
      const out = new Uint8Array(2 + packet.body.length);
      out[1] = packet.op;
      out.set(packet.body, 2);
      return out;
    }
  }
}

/** Encodes a whole datagram, appending the CRC when the opcode carries one (then `crcKey` is required). */
export function encodeDatagram(packet: ProtocolPacket, crcKey?: number): Uint8Array {
  const body = encodeBody(packet);
  if (!hasCrc(packet.op)) return body;
  if (crcKey === undefined) {
    throw new EqStreamError(EqStreamErrorCode.BadOption, `Cannot encode ${opName(packet.op)}: it needs a CRC key`);
  }
  const out = new Uint8Array(body.length + CRC_BYTES);
  out.set(body);
  writeCrc(out, body.length, crcKey);
  return out;
}
