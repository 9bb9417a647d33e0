/**
 * The hot path of `MoveUpdates`, the message a zone sends most: the zone encodes each moved spawn's
 * entry once and puts the same bytes in the batch of every player who sees it; a client reads the
 * entries without building an object per update. The bytes are those of the `MoveUpdates` layout
 * and the checks those of the message codec (test/roles/messages/move_updates_test.ts compares both).
 * @module
 */
import { ByteArena } from "../../wire/byte_arena.ts";
import { AppMessageError } from "./app_message_error.ts";
import { MAX_MOVE_UPDATES } from "./qeynos_world.ts";

/** Bytes of one entry: spawnId and sequence (u32 LE), then x, y, z, heading (f32 LE). */
export const MOVE_ENTRY_BYTES = 24;
/** Bytes before the entries: serverTimeMs (u32 LE) and the count (u8). */
const HEADER_BYTES = 5;

/** One spawn's latest position, as `MoveUpdates` carries it. */
export interface MoveRecord {
  readonly spawnId: number;
  readonly sequence: number;
  readonly position: { readonly x: number; readonly y: number; readonly z: number; readonly heading: number };
}

const arena = new ByteArena();

/** The encoded entry of `record` (24 bytes). */
export function encodeMoveEntry(record: MoveRecord): Uint8Array {
  const out = arena.alloc(MOVE_ENTRY_BYTES);
  const view = new DataView(out.buffer, out.byteOffset, MOVE_ENTRY_BYTES);
  view.setUint32(0, record.spawnId, true);
  view.setUint32(4, record.sequence, true);
  view.setFloat32(8, record.position.x, true);
  view.setFloat32(12, record.position.y, true);
  view.setFloat32(16, record.position.z, true);
  view.setFloat32(20, record.position.heading, true);
  return out;
}

/**
 * A `MoveUpdates` payload from encoded entries (at most {@linkcode MAX_MOVE_UPDATES}). The result is
 * carved from a shared arena: the caller hands it on (sending copies it) and does not keep it.
 */
export function encodeMoveUpdates(serverTimeMs: number, entries: readonly Uint8Array[]): Uint8Array {
  const count = entries.length;
  if (count > MAX_MOVE_UPDATES) {
    throw new RangeError(`Cannot encode MoveUpdates: ${count} entries exceed ${MAX_MOVE_UPDATES}`);
  }
  const out = arena.alloc(HEADER_BYTES + count * MOVE_ENTRY_BYTES);
  const time = serverTimeMs >>> 0;
  out[0] = time & 0xff;
  out[1] = (time >>> 8) & 0xff;
  out[2] = (time >>> 16) & 0xff;
  out[3] = time >>> 24;
  out[4] = count;
  let at = HEADER_BYTES;
  for (const entry of entries) {
    for (let i = 0; i < MOVE_ENTRY_BYTES; i++) out[at + i] = entry[i]!;
    at += MOVE_ENTRY_BYTES;
  }
  return out;
}

/**
 * Reads a `MoveUpdates` payload: checks all of it first (length, count, finite coordinates, as the
 * message codec does), then calls `visit` for each entry. Throws `APP_MESSAGE_MALFORMED` otherwise.
 * Returns the entry count.
 */
export function forEachMoveUpdate(
  payload: Uint8Array,
  visit: (spawnId: number, sequence: number) => void,
): number {
  const fail = (detail: string): never => {
    throw new AppMessageError("APP_MESSAGE_MALFORMED", `Cannot decode MoveUpdates: ${detail}`);
  };
  if (payload.length < HEADER_BYTES) fail(`${payload.length} bytes is shorter than its header`);
  const count = payload[4]!;
  if (payload.length !== HEADER_BYTES + count * MOVE_ENTRY_BYTES) {
    fail(`${payload.length} bytes do not hold exactly ${count} entries of ${MOVE_ENTRY_BYTES} bytes`);
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  for (let at = HEADER_BYTES + 8; at < payload.length; at += MOVE_ENTRY_BYTES) {
    for (let f = 0; f < 16; f += 4) {
      if (!Number.isFinite(view.getFloat32(at + f, true))) fail(`a coordinate at offset ${at + f} is not finite`);
    }
  }
  for (let at = HEADER_BYTES; at < payload.length; at += MOVE_ENTRY_BYTES) {
    visit(view.getUint32(at, true), view.getUint32(at + 4, true));
  }
  return count;
}
