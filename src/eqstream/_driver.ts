/**
 * Wires sessions to a Platform: one UDP socket, one timer for all its sessions (the earliest wake-up
 * in a heap), and the poll → send → dispatch loop. The same code runs on real sockets and in `sim/`.
 * @module
 */
import type { Platform, TimerId, UdpSocket } from "../platform/platform.ts";
import type { EqStreamConnection } from "./connection.ts";

interface HeapEntry {
  at: number;
  connection: EqStreamConnection;
}

/** The shared poll loop and timer of one socket's sessions. */
export class Driver {
  readonly platform: Platform;
  socket: UdpSocket | undefined;
  readonly #heap: HeapEntry[] = [];
  #timer: TimerId | undefined;
  #timerAt = Infinity;
  #dirty: EqStreamConnection[] = [];
  #flushTimer: TimerId | undefined;
  /** Connections whose poll loop is running now (nested when a handler of one drives another). */
  readonly #servicing: EqStreamConnection[] = [];
  #flushing = false;
  #closed = false;
  readonly #observe: ((connection: EqStreamConnection) => void) | undefined;

  constructor(platform: Platform, observe?: (connection: EqStreamConnection) => void) {
    this.platform = platform;
    this.#observe = observe;
  }

  now(): number {
    return this.platform.clock.now();
  }

  /** Polls a connection until it has nothing more to say, then arms its wake-up. */
  service(connection: EqStreamConnection): void {
    this.#servicing.push(connection);
    try {
      connection.serviceNow(this.now(), this);
    } finally {
      this.#servicing.pop();
    }
    this.#observe?.(connection);
    this.#schedule(connection);
    // What the handlers sent to other connections goes out now, in this turn, not at their next timer.
    if (this.#servicing.length === 0 && !this.#flushing && this.#dirty.length > 0) this.#flushDirty();
  }

  /** Sends datagrams of a connection. */
  send(connection: EqStreamConnection, datagrams: readonly Uint8Array[]): void {
    const socket = this.socket;
    if (socket === undefined) return;
    for (const datagram of datagrams) socket.send(datagram, connection.remote.address, connection.remote.port);
  }

  /**
   * A connection has new data queued. Inside one of its own handlers its running poll loop picks the
   * data up. Inside another connection's handler it is flushed as soon as that poll loop ends; outside
   * any handler, on the next turn, together with everything else queued in this turn.
   */
  markDirty(connection: EqStreamConnection): void {
    if (this.#closed || connection.dirty || this.#servicing.includes(connection)) return;
    connection.dirty = true;
    this.#dirty.push(connection);
    if (this.#servicing.length === 0 && this.#flushTimer === undefined) {
      this.#flushTimer = this.platform.timers.setTimeout(() => this.#flushDirty(), 0);
    }
  }

  #flushDirty(): void {
    if (this.#flushTimer !== undefined) {
      this.platform.timers.clearTimeout(this.#flushTimer);
      this.#flushTimer = undefined;
    }
    // Servicing one may dirty others (a relay): keep going until nothing is left.
    this.#flushing = true;
    try {
      while (this.#dirty.length > 0) {
        const dirty = this.#dirty;
        this.#dirty = [];
        for (const connection of dirty) {
          connection.dirty = false;
          if (!connection.finished) this.service(connection);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  #schedule(connection: EqStreamConnection): void {
    const at = connection.wakeAtUs;
    if (at === Infinity || connection.finished) return;
    if (connection.heapAt <= at) return; // An earlier (or equal) wake-up is already queued.
    connection.heapAt = at;
    this.#push({ at, connection });
    if (at < this.#timerAt) this.#arm(at);
  }

  #arm(at: number): void {
    if (this.#closed) return;
    if (this.#timer !== undefined) this.platform.timers.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = this.platform.timers.setTimeout(() => this.#fire(), Math.max(0, at - this.now()));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.now();
    while (this.#heap.length > 0 && this.#heap[0]!.at <= now) {
      const entry = this.#pop();
      const connection = entry.connection;
      if (connection.heapAt !== entry.at) continue; // Superseded by an earlier wake-up.
      connection.heapAt = Infinity;
      if (!connection.finished) this.service(connection);
    }
    // Drop stale entries at the top, then re-arm for the earliest real one.
    while (this.#heap.length > 0 && this.#heap[0]!.connection.heapAt !== this.#heap[0]!.at) this.#pop();
    if (this.#heap.length > 0) this.#arm(this.#heap[0]!.at);
  }

  /** Stops the timers; sessions are not polled again. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.platform.timers.clearTimeout(this.#timer);
    if (this.#flushTimer !== undefined) this.platform.timers.clearTimeout(this.#flushTimer);
    this.#timer = undefined;
    this.#flushTimer = undefined;
    this.#heap.length = 0;
    this.#dirty = [];
  }

  #push(entry: HeapEntry): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= entry.at) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  #pop(): HeapEntry {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && heap[right]!.at < heap[left]!.at ? right : left;
        if (heap[child]!.at >= last.at) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}
