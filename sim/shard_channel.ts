/**
 * Two simulations in two threads acting as one: each runs some of the hosts, and datagrams between
 * their hosts cross here. Synchronisation is conservative and continuous: each side publishes its
 * _clock_ (no datagram it sends from now on leaves earlier) as it goes, and runs an event only if
 * the event is earlier than the other side's clock plus the _lookahead_ (the shortest latency
 * between the sides), so nothing the other side has yet to send can arrive before it. Neither side
 * waits for the other to finish a window: either may run up to one lookahead ahead of the other.
 *
 * The meeting point is a `SharedArrayBuffer` (create it with {@linkcode ShardChannel.createBuffer},
 * give it to both threads). Each side owns a control block (its clock and how far it has read the
 * other's datagrams, published under a sequence lock) and a ring its crossing datagrams are written
 * to. The receiving side orders them by their place in the sender's stream, never by when it
 * happened to read them, so the run does not depend on the threads' timing: same seed, same split
 * ⇒ same run.
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
   * Hands over the datagrams sent to the other side since the last call, and promises that none
   * sent from now on leaves before `clockUs`, unless one of those the other side sent and this
   * side has not received yet arrives sooner. Blocks only while the other side has not read enough
   * to make room for them.
   */
  publish(outgoing: readonly CrossDatagram[], clockUs: number): void;
  /**
   * Appends the datagrams the other side has handed over since the last call to `into`, and
   * returns the earliest time the other side can still send a datagram at (so nothing more from
   * it arrives before that plus the lookahead).
   */
  receive(into: CrossDatagram[]): number;
  /** Blocks until the other side publishes again (throws if it stopped early). */
  waitForOther(): void;
  /** Tells the other side this one stopped early (its waits then throw). */
  abort(reason: string): void;
}

/** Default bytes of one side's ring of datagrams in flight to the other: 16 MiB. */
export const DEFAULT_SHARD_RING_BYTES = 16 * 1024 * 1024;

/** Real ms to poll the other side before sleeping on it (waking from a sleep costs ~0.1 ms). */
const SPIN_MS = 0.2;
/** The real clock, captured at load: the simulator's guard replaces the global one during a run. */
const realNow = performance.now.bind(performance);
/** Longest single sleep while waiting, ms (the abort flag is checked between sleeps). */
const WAIT_SLICE_MS = 1000;

// Header: Int32 abort flag, Int32 ring size, then the reason of an abort (u32 length, UTF-8).
const ABORT = 0;
const RING_BYTES = 1;
const REASON_AT = 8;
const REASON_BYTES = 448;
// Control block of a side, 64 bytes from CTRL_AT + side * 64. Int32 words: sequence lock (odd while
// writing; also what the other side sleeps on), "asleep" flag. Float64 words from byte 8: clock,
// records of the other side read, bytes of the other side's ring read, records written, bytes written.
const CTRL_AT = REASON_AT + REASON_BYTES;
const CTRL_BYTES = 64;
const SEQ = 0;
const ASLEEP = 1;
const CLOCK = 1;
const READ_RECORDS = 2;
const READ_BYTES = 3;
const WRITTEN_RECORDS = 4;
const WRITTEN_BYTES = 5;
const RINGS_AT = CTRL_AT + 2 * CTRL_BYTES;
// Record: f64 at, f64 sentAt, u32 from, u32 to, u16 srcPort, u16 dstPort, u32 length, bytes (padded to 8).
// A record that would not fit before the ring's end starts at its beginning instead; a header that does not
// fit is implied, one that does is written with `from` = WRAP.
const RECORD_HEAD = 32;
const WRAP = 0xffffffff;

/** What one side last published. */
interface Published {
  clock: number;
  readRecords: number;
  readBytes: number;
  writtenRecords: number;
  writtenBytes: number;
}

/** One side of a pair of simulations, over a shared buffer. */
export class ShardChannel implements SimShard {
  readonly lookaheadUs: number;
  /** Which side this is. */
  readonly side: 0 | 1;
  readonly #owns: (id: string) => boolean;
  readonly #header: Int32Array;
  readonly #buffer: SharedArrayBuffer;
  readonly #ringBytes: number;
  readonly #mine: { readonly seq: Int32Array; readonly words: Float64Array };
  readonly #theirs: { readonly seq: Int32Array; readonly words: Float64Array };
  readonly #myRing: DataView;
  readonly #myRingBytes: Uint8Array;
  readonly #theirRing: DataView;
  readonly #theirRingBytes: Uint8Array;
  /** What this side has published (and will publish next). */
  readonly #state: Published = { clock: 0, readRecords: 0, readBytes: 0, writtenRecords: 0, writtenBytes: 0 };
  /** What the other side last published, as read. */
  readonly #other: Published = { clock: 0, readRecords: 0, readBytes: 0, writtenRecords: 0, writtenBytes: 0 };
  /** The other side's lock word when it was last read. */
  #seen = 0;
  /** Records (and ring bytes) of the other side received; published as read with the next clock. */
  #received = 0;
  #receivedBytes = 0;
  /** Arrival times of the records this side wrote that the other may not have read yet (from `#sentBase`). */
  #sentArrivals: number[] = [];
  #sentBase = 0;
  /** Times this side published. */
  publishes = 0;
  /** Times this side had to wait for the other. */
  waits = 0;
  /** Time spent waiting for the other side, ms of real time (for reports). */
  waitedMs = 0;

  /** A buffer for a pair with up to `ringBytes` of datagrams in flight each way. */
  static createBuffer(ringBytes = DEFAULT_SHARD_RING_BYTES): SharedArrayBuffer {
    if (!Number.isInteger(ringBytes) || ringBytes < 1024 || ringBytes % 8 !== 0) {
      throw new RangeError(`Invalid shard ring size: ${ringBytes} (a multiple of 8, at least 1024)`);
    }
    const buffer = new SharedArrayBuffer(RINGS_AT + 2 * ringBytes);
    new Int32Array(buffer, 0, 2)[RING_BYTES] = ringBytes;
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
    this.#header = new Int32Array(buffer, 0, 2);
    this.#ringBytes = buffer.byteLength >= RINGS_AT ? this.#header[RING_BYTES]! : 0;
    if (!(this.#ringBytes > 0) || buffer.byteLength !== RINGS_AT + 2 * this.#ringBytes) {
      throw new RangeError("Invalid shard buffer: create it with ShardChannel.createBuffer");
    }
    const block = (s: number) => ({
      seq: new Int32Array(buffer, CTRL_AT + s * CTRL_BYTES, 2),
      words: new Float64Array(buffer, CTRL_AT + s * CTRL_BYTES, CTRL_BYTES / 8),
    });
    const ring = (s: number) => new DataView(buffer, RINGS_AT + s * this.#ringBytes, this.#ringBytes);
    this.#mine = block(side);
    this.#theirs = block(1 - side);
    this.#myRing = ring(side);
    this.#theirRing = ring(1 - side);
    this.#myRingBytes = new Uint8Array(buffer, this.#myRing.byteOffset, this.#ringBytes);
    this.#theirRingBytes = new Uint8Array(buffer, this.#theirRing.byteOffset, this.#ringBytes);
    this.side = side;
    this.#owns = owns;
    this.lookaheadUs = lookaheadUs;
  }

  owns(id: string): boolean {
    return this.#owns(id);
  }

  publish(outgoing: readonly CrossDatagram[], clockUs: number): void {
    for (const d of outgoing) this.#write(d);
    const state = this.#state;
    state.clock = clockUs;
    // Received datagrams count as read only now, with a clock that accounts for them.
    state.readRecords = this.#received;
    state.readBytes = this.#receivedBytes;
    this.#store();
  }

  receive(into: CrossDatagram[]): number {
    this.#load();
    const other = this.#other;
    const view = this.#theirRing;
    const size = this.#ringBytes;
    let read = this.#receivedBytes;
    for (let n = this.#received; n < other.writtenRecords; n++) {
      let at = read % size;
      if (size - at < RECORD_HEAD || view.getUint32(at + 16, true) === WRAP) {
        read += size - at;
        at = 0;
      }
      const length = view.getUint32(at + 28, true);
      into.push({
        at: view.getFloat64(at, true),
        sentAt: view.getFloat64(at + 8, true),
        from: view.getUint32(at + 16, true),
        to: view.getUint32(at + 20, true),
        srcPort: view.getUint16(at + 24, true),
        dstPort: view.getUint16(at + 26, true),
        // A copy (from a slab: an ArrayBuffer each costs ~1 µs): the ring is written over once read.
        bytes: copyBytesRange(this.#theirRingBytes, at + RECORD_HEAD, at + RECORD_HEAD + length),
      });
      read += RECORD_HEAD + ((length + 7) & ~7);
    }
    this.#received = other.writtenRecords;
    this.#receivedBytes = read;
    // What the other side has not read yet may still make it send before its published clock.
    const firstUnread = other.readRecords - this.#sentBase;
    if (firstUnread > 1024) {
      this.#sentArrivals.splice(0, firstUnread);
      this.#sentBase = other.readRecords;
    }
    const arrivals = this.#sentArrivals;
    let bound = other.clock;
    for (let i = other.readRecords - this.#sentBase; i < arrivals.length; i++) {
      if (arrivals[i]! < bound) bound = arrivals[i]!;
    }
    return bound;
  }

  waitForOther(): void {
    const seq = this.#theirs.seq;
    // Waits for news since the last look (something published after it ends the wait at once).
    const seen = this.#seen;
    const started = realNow();
    this.waits++;
    try {
      for (let spins = 1; Atomics.load(seq, SEQ) === seen; spins++) {
        if ((spins & 255) !== 0) continue;
        this.#checkAbort();
        if (realNow() - started > SPIN_MS) break;
      }
      while (Atomics.load(seq, SEQ) === seen) {
        this.#checkAbort();
        Atomics.store(this.#mine.seq, ASLEEP, 1);
        Atomics.wait(seq, SEQ, seen, WAIT_SLICE_MS);
        Atomics.store(this.#mine.seq, ASLEEP, 0);
      }
    } finally {
      this.waitedMs += realNow() - started;
    }
  }

  abort(reason: string): void {
    const bytes = new TextEncoder().encode(reason).subarray(0, REASON_BYTES - 4);
    new DataView(this.#buffer, REASON_AT, REASON_BYTES).setUint32(0, bytes.length, true);
    new Uint8Array(this.#buffer, REASON_AT + 4, bytes.length).set(bytes);
    Atomics.store(this.#header, ABORT, 1);
    // Wake the other side if it sleeps on this side's lock.
    Atomics.add(this.#mine.seq, SEQ, 2);
    Atomics.notify(this.#mine.seq, SEQ);
  }

  #checkAbort(): void {
    if (Atomics.load(this.#header, ABORT) === 0) return;
    const length = new DataView(this.#buffer, REASON_AT, REASON_BYTES).getUint32(0, true);
    const reason = new TextDecoder().decode(new Uint8Array(this.#buffer, REASON_AT + 4, length).slice());
    throw new Error(`Cannot go on: the other half of the simulation stopped (${reason})`);
  }

  /** Publishes `#state` under the sequence lock, waking the other side if it sleeps. */
  #store(): void {
    const { seq, words } = this.#mine;
    const state = this.#state;
    const version = Atomics.add(seq, SEQ, 1) + 1; // odd: being written
    words[CLOCK] = state.clock;
    words[READ_RECORDS] = state.readRecords;
    words[READ_BYTES] = state.readBytes;
    words[WRITTEN_RECORDS] = state.writtenRecords;
    words[WRITTEN_BYTES] = state.writtenBytes;
    Atomics.store(seq, SEQ, version + 1);
    this.publishes++;
    if (Atomics.load(this.#theirs.seq, ASLEEP) !== 0) Atomics.notify(seq, SEQ);
  }

  /** Reads what the other side last published into `#other` (a consistent copy). */
  #load(): void {
    const { seq, words } = this.#theirs;
    const other = this.#other;
    for (;;) {
      const before = Atomics.load(seq, SEQ);
      if ((before & 1) !== 0) continue;
      this.#seen = before;
      other.clock = words[CLOCK]!;
      other.readRecords = words[READ_RECORDS]!;
      other.readBytes = words[READ_BYTES]!;
      other.writtenRecords = words[WRITTEN_RECORDS]!;
      other.writtenBytes = words[WRITTEN_BYTES]!;
      if (Atomics.load(seq, SEQ) === before) return;
    }
  }

  /** Writes one record to this side's ring, waiting for the other side to read if it is full. */
  #write(d: CrossDatagram): void {
    const size = this.#ringBytes;
    const need = RECORD_HEAD + ((d.bytes.length + 7) & ~7);
    if (need > size / 2) {
      throw new RangeError(`Cannot pass a datagram of ${d.bytes.length} bytes to the other half of the simulation`);
    }
    const state = this.#state;
    let at = state.writtenBytes % size;
    const skip = size - at < need ? size - at : 0;
    // What the other side read may be more than last seen, never less: look again only when full.
    while (state.writtenBytes + skip + need - this.#other.readBytes > size) {
      this.#load();
      if (state.writtenBytes + skip + need - this.#other.readBytes <= size) break;
      // Full: let the other side see what is there, then wait for it to read.
      this.#store();
      this.waitForOther();
    }
    if (skip > 0) {
      if (skip >= RECORD_HEAD) this.#myRing.setUint32(at + 16, WRAP, true);
      state.writtenBytes += skip;
      at = 0;
    }
    const view = this.#myRing;
    view.setFloat64(at, d.at, true);
    view.setFloat64(at + 8, d.sentAt, true);
    view.setUint32(at + 16, d.from, true);
    view.setUint32(at + 20, d.to, true);
    view.setUint16(at + 24, d.srcPort, true);
    view.setUint16(at + 26, d.dstPort, true);
    view.setUint32(at + 28, d.bytes.length, true);
    this.#myRingBytes.set(d.bytes, at + RECORD_HEAD);
    state.writtenBytes += need;
    state.writtenRecords++;
    this.#sentArrivals.push(d.at);
  }
}
