/**
 * Wires sessions to a Platform: one UDP socket, one timer for all its sessions (the earliest wake-up
 * in a heap), and the poll → send → dispatch loop. The same code runs on real sockets and in `sim/`.
 *
 * Wake-ups are exact: when a session's next wake-up moves (earlier or later) its heap entry moves and
 * a timer follows the earliest one, so a timer seldom fires for a session with nothing due (a stale
 * early wake-up cost a timer event and an empty poll: nine in ten timer polls were such before).
 * Two timers share the work: a far one, left alone when something comes due sooner, and a near one
 * for that. A session's wake-up swings between its ack delay and its keep-alive with every other
 * datagram; with one timer each swing cost a cancel and a new timer, now it costs one of the two.
 * @module
 */
import type { Platform, TimerId, UdpSocket } from "../platform/platform.ts";
import type { EqStreamConnection } from "./connection.ts";

/** The shared poll loop and timer of one socket's sessions. */
export class Driver {
  readonly platform: Platform;
  socket: UdpSocket | undefined;
  /** Connections with a finite wake-up, a binary min-heap on `heapAt`; each knows its `heapIndex`. */
  readonly #heap: EqStreamConnection[] = [];
  /** The far timer: kept when the earliest wake-up comes sooner (it may then fire early, once). */
  #timer: TimerId | undefined;
  #timerAt = Infinity;
  /** The near timer: the earliest wake-up when it is sooner than the far timer. */
  #nearTimer: TimerId | undefined;
  #nearAt = Infinity;
  /** Nesting depth of loops that service many connections: the timer is re-armed once, at the end. */
  #batch = 0;
  #dirty: EqStreamConnection[] = [];
  /** A deferred flush of `#dirty` is on its way. */
  #flushQueued = false;
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
    if (this.#servicing.length === 0 && !this.#flushQueued) {
      this.#flushQueued = true;
      this.platform.timers.defer(this.#onFlush);
    }
  }

  readonly #onFlush = (): void => {
    this.#flushQueued = false;
    if (!this.#closed) this.#flushDirty();
  };

  #flushDirty(): void {
    // Servicing one may dirty others (a relay): keep going until nothing is left.
    this.#flushing = true;
    this.#batch++;
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
      this.#batch--;
    }
    this.#rearm();
  }

  #schedule(connection: EqStreamConnection): void {
    const at = connection.finished ? Infinity : connection.wakeAtUs;
    if (at === connection.heapAt) return;
    if (at === Infinity) this.#remove(connection);
    else if (connection.heapIndex < 0) this.#insert(connection, at);
    else this.#update(connection, at);
    if (this.#batch === 0) this.#rearm();
  }

  /** Makes sure a timer fires at the earliest wake-up, or sooner (never later). */
  #rearm(): void {
    if (this.#closed) return;
    const at = this.#heap.length > 0 ? this.#heap[0]!.heapAt : Infinity;
    const timers = this.platform.timers;
    if (at >= this.#timerAt) {
      // The far timer comes first: the near one is not needed.
      if (this.#nearTimer !== undefined) timers.clearTimeout(this.#nearTimer);
      this.#nearTimer = undefined;
      this.#nearAt = Infinity;
      return;
    }
    if (at === this.#nearAt) return;
    if (this.#nearTimer !== undefined) timers.clearTimeout(this.#nearTimer);
    this.#nearTimer = undefined;
    this.#nearAt = Infinity;
    if (this.#timer === undefined) {
      this.#timerAt = at;
      this.#timer = timers.setTimeout(this.#onTimer, Math.max(0, at - this.now()));
    } else {
      this.#nearAt = at;
      this.#nearTimer = timers.setTimeout(this.#onNearTimer, Math.max(0, at - this.now()));
    }
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#fire();
  };

  readonly #onNearTimer = (): void => {
    this.#nearTimer = undefined;
    this.#nearAt = Infinity;
    this.#fire();
  };

  #fire(): void {
    const now = this.now();
    const heap = this.#heap;
    this.#batch++;
    try {
      while (heap.length > 0 && heap[0]!.heapAt <= now) {
        const connection = heap[0]!;
        this.#remove(connection);
        if (!connection.finished) this.service(connection);
      }
    } finally {
      this.#batch--;
    }
    this.#rearm();
  }

  /** Stops the timers; sessions are not polled again. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.platform.timers.clearTimeout(this.#timer);
    if (this.#nearTimer !== undefined) this.platform.timers.clearTimeout(this.#nearTimer);
    this.#timer = undefined;
    this.#nearTimer = undefined;
    for (const connection of this.#heap) {
      connection.heapIndex = -1;
      connection.heapAt = Infinity;
    }
    this.#heap.length = 0;
    this.#dirty = [];
  }

  #insert(connection: EqStreamConnection, at: number): void {
    connection.heapAt = at;
    connection.heapIndex = this.#heap.length;
    this.#heap.push(connection);
    this.#up(connection.heapIndex);
  }

  #update(connection: EqStreamConnection, at: number): void {
    const earlier = at < connection.heapAt;
    connection.heapAt = at;
    if (earlier) this.#up(connection.heapIndex);
    else this.#down(connection.heapIndex);
  }

  #remove(connection: EqStreamConnection): void {
    const i = connection.heapIndex;
    if (i < 0) return;
    const heap = this.#heap;
    const last = heap.pop()!;
    connection.heapIndex = -1;
    connection.heapAt = Infinity;
    if (last === connection) return;
    heap[i] = last;
    last.heapIndex = i;
    this.#down(i);
    this.#up(last.heapIndex);
  }

  #up(i: number): void {
    const heap = this.#heap;
    const item = heap[i]!;
    const at = item.heapAt;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (p.heapAt <= at) break;
      heap[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    heap[i] = item;
    item.heapIndex = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const item = heap[i]!;
    const at = item.heapAt;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      let c = heap[left]!;
      if (right < n && heap[right]!.heapAt < c.heapAt) {
        child = right;
        c = heap[right]!;
      }
      if (c.heapAt >= at) break;
      heap[i] = c;
      c.heapIndex = i;
      i = child;
    }
    heap[i] = item;
    item.heapIndex = i;
  }
}
