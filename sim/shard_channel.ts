/**
 * Two simulations in two threads acting as one: each runs some of the hosts, and datagrams between
 * their hosts cross here. The pair advances in windows (conservative synchronisation): a window
 * ends `lookaheadUs` after the earliest event either side has, and no datagram between the sides
 * can arrive sooner than that, so each side runs its window alone and the two meet at its end to
 * swap the datagrams sent meanwhile. Same seed, same split ⇒ same run.
 *
 * The meeting point is a `SharedArrayBuffer` (create it with {@linkcode ShardChannel.createBuffer},
 * give it to both threads); each side writes into its own slot, alternating between two slots so
 * the other side can still be reading the previous window's.
 * @module
 */

import { copyBytesRange } from "./_slab.ts";

/** A datagram from a host of one side to a host of the other. */
export interface CrossDatagram {
  /** Arrival time, µs of virtual time. */
  readonly at: number;
  /** Send time, µs. */
  readonly sentAt: number;
  /** Host index of the sender and of the receiver (the same on both sides). */
  readonly from: number;
  readonly to: number;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly bytes: Uint8Array;
}

/** What a simulation needs to run as one side of a pair. */
export interface SimShard {
  /** Whether this side runs the host `id` (the other side runs the rest). */
  owns(id: string): boolean;
  /** The shortest one-way latency of any link between the sides, µs (every crossing datagram is checked). */
  readonly lookaheadUs: number;
  /**
   * Gives the other side the datagrams sent to it and the time of this side's next event, and
   * returns the same from the other side. Blocks until the other side calls it too.
   */
  exchange(outgoing: readonly CrossDatagram[], nextUs: number): { incoming: CrossDatagram[]; otherNextUs: number };
  /** Tells the other side this one stopped early (its `exchange` then throws). */
  abort(reason: string): void;
}

/** Default bytes of one slot (one side's datagrams of one window): 8 MiB. */
export const DEFAULT_SHARD_SLOT_BYTES = 8 * 1024 * 1024;

/** Real ms to poll the other side's counter before sleeping on it (waking from a sleep costs ~0.1 ms). */
const SPIN_MS = 0.2;
/** The real clock, captured at load: the simulator's guard replaces the global one during a run. */
const realNow = performance.now.bind(performance);
/** Longest single sleep while waiting, ms (the abort flag is checked between sleeps). */
const WAIT_SLICE_MS = 1000;

// Control words (Int32): published round of side 0, of side 1, abort flag, slot size.
const CTRL_ROUND = 0;
const CTRL_ABORT = 2;
const CTRL_SLOT_BYTES = 3;
const CTRL_BYTES = 64;
/** Reason of an abort, UTF-8, after the control words. */
const REASON_BYTES = 448;
const HEADER_BYTES = CTRL_BYTES + REASON_BYTES;
// Slot: f64 next, u32 count, u32 bytes used, then records.
const SLOT_HEAD = 16;
// Record: f64 at, f64 sentAt, u32 from, u32 to, u16 srcPort, u16 dstPort, u32 length, bytes (padded to 8).
const RECORD_HEAD = 32;

/** One side of a pair of simulations, over a shared buffer. */
export class ShardChannel implements SimShard {
  readonly lookaheadUs: number;
  readonly #side: 0 | 1;
  readonly #owns: (id: string) => boolean;
  readonly #ctrl: Int32Array;
  readonly #buffer: SharedArrayBuffer;
  readonly #slotBytes: number;
  #round = 0;
  /** Time spent waiting for the other side, ms of real time (for reports). */
  waitedMs = 0;

  /** A buffer for a pair whose windows carry at most `slotBytes` of datagrams each way. */
  static createBuffer(slotBytes = DEFAULT_SHARD_SLOT_BYTES): SharedArrayBuffer {
    if (!Number.isInteger(slotBytes) || slotBytes < 1024 || slotBytes % 8 !== 0) {
      throw new RangeError(`Invalid shard slot size: ${slotBytes} (a multiple of 8, at least 1024)`);
    }
    const buffer = new SharedArrayBuffer(HEADER_BYTES + 4 * slotBytes);
    new Int32Array(buffer, 0, CTRL_BYTES / 4)[CTRL_SLOT_BYTES] = slotBytes;
    return buffer;
  }

  /**
   * @param buffer from {@linkcode ShardChannel.createBuffer}, the same for both sides
   * @param side 0 or 1 (each side takes one)
   * @param owns whether this side runs a host
   * @param lookaheadUs the shortest one-way latency between the sides' hosts, µs (> 0)
   */
  constructor(
    buffer: SharedArrayBuffer,
    side: 0 | 1,
    owns: (id: string) => boolean,
    lookaheadUs: number,
  ) {
    if (!(lookaheadUs > 0) || !Number.isFinite(lookaheadUs)) {
      throw new RangeError(`Invalid shard lookahead: ${lookaheadUs} µs (must be positive)`);
    }
    this.#buffer = buffer;
    this.#ctrl = new Int32Array(buffer, 0, CTRL_BYTES / 4);
    this.#slotBytes = this.#ctrl[CTRL_SLOT_BYTES]!;
    if (!(this.#slotBytes > 0) || buffer.byteLength !== HEADER_BYTES + 4 * this.#slotBytes) {
      throw new RangeError("Invalid shard buffer: create it with ShardChannel.createBuffer");
    }
    this.#side = side;
    this.#owns = owns;
    this.lookaheadUs = lookaheadUs;
  }

  owns(id: string): boolean {
    return this.#owns(id);
  }

  /** Windows exchanged so far. */
  get rounds(): number {
    return this.#round;
  }

  #slot(side: number, round: number): DataView {
    const offset = HEADER_BYTES + (side * 2 + (round & 1)) * this.#slotBytes;
    return new DataView(this.#buffer, offset, this.#slotBytes);
  }

  exchange(outgoing: readonly CrossDatagram[], nextUs: number): { incoming: CrossDatagram[]; otherNextUs: number } {
    const round = ++this.#round;
    this.#write(this.#slot(this.#side, round), outgoing, nextUs);
    Atomics.store(this.#ctrl, CTRL_ROUND + this.#side, round);
    Atomics.notify(this.#ctrl, CTRL_ROUND + this.#side);
    this.#await(CTRL_ROUND + 1 - this.#side, round);
    return this.#read(this.#slot(1 - this.#side, round));
  }

  abort(reason: string): void {
    const bytes = new TextEncoder().encode(reason).subarray(0, REASON_BYTES - 4);
    const view = new DataView(this.#buffer, CTRL_BYTES, REASON_BYTES);
    view.setUint32(0, bytes.length, true);
    new Uint8Array(this.#buffer, CTRL_BYTES + 4, bytes.length).set(bytes);
    Atomics.store(this.#ctrl, CTRL_ABORT, 1);
    Atomics.notify(this.#ctrl, CTRL_ROUND);
    Atomics.notify(this.#ctrl, CTRL_ROUND + 1);
  }

  /** Waits until the other side published `round` (or aborted). */
  #await(index: number, round: number): void {
    const ctrl = this.#ctrl;
    if (Atomics.load(ctrl, index) >= round) return;
    const started = realNow();
    for (let spins = 1; Atomics.load(ctrl, index) < round; spins++) {
      if ((spins & 255) === 0 && realNow() - started > SPIN_MS) break;
    }
    for (;;) {
      const seen = Atomics.load(ctrl, index);
      if (seen >= round) break;
      if (Atomics.load(ctrl, CTRL_ABORT) !== 0) {
        const view = new DataView(this.#buffer, CTRL_BYTES, REASON_BYTES);
        const length = view.getUint32(0, true);
        const reason = new TextDecoder().decode(new Uint8Array(this.#buffer, CTRL_BYTES + 4, length).slice());
        throw new Error(`Cannot go on: the other half of the simulation stopped (${reason})`);
      }
      Atomics.wait(ctrl, index, seen, WAIT_SLICE_MS);
    }
    this.waitedMs += realNow() - started;
  }

  #write(view: DataView, datagrams: readonly CrossDatagram[], nextUs: number): void {
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    let at = SLOT_HEAD;
    for (const d of datagrams) {
      const size = RECORD_HEAD + ((d.bytes.length + 7) & ~7);
      if (at + size > view.byteLength) {
        throw new RangeError(
          `Cannot pass ${datagrams.length} datagrams to the other half of the simulation: more than the ${view.byteLength} bytes of a window`,
        );
      }
      view.setFloat64(at, d.at, true);
      view.setFloat64(at + 8, d.sentAt, true);
      view.setUint32(at + 16, d.from, true);
      view.setUint32(at + 20, d.to, true);
      view.setUint16(at + 24, d.srcPort, true);
      view.setUint16(at + 26, d.dstPort, true);
      view.setUint32(at + 28, d.bytes.length, true);
      bytes.set(d.bytes, at + RECORD_HEAD);
      at += size;
    }
    view.setFloat64(0, nextUs, true);
    view.setUint32(8, datagrams.length, true);
    view.setUint32(12, at, true);
  }

  #read(view: DataView): { incoming: CrossDatagram[]; otherNextUs: number } {
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const count = view.getUint32(8, true);
    const incoming: CrossDatagram[] = new Array(count);
    let at = SLOT_HEAD;
    for (let i = 0; i < count; i++) {
      const length = view.getUint32(at + 28, true);
      incoming[i] = {
        at: view.getFloat64(at, true),
        sentAt: view.getFloat64(at + 8, true),
        from: view.getUint32(at + 16, true),
        to: view.getUint32(at + 20, true),
        srcPort: view.getUint16(at + 24, true),
        dstPort: view.getUint16(at + 26, true),
        // A copy (from a slab: an ArrayBuffer each costs ~1 µs): the slot is rewritten two windows later.
        bytes: copyBytesRange(bytes, at + RECORD_HEAD, at + RECORD_HEAD + length),
      };
      at += RECORD_HEAD + ((length + 7) & ~7);
    }
    return { incoming, otherNextUs: view.getFloat64(0, true) };
  }
}
