/**
 * The kernel's event queue: a binary min-heap ordered by (time, phase, insertion sequence).
 * Cancelled events stay in the heap and are skipped when popped; the heap is rebuilt without them
 * when they outnumber the live ones, so cancel-heavy timer use cannot grow it without bound.
 * @module
 */

/** Phases order events that fall on the same microsecond. */
export const PHASE = {
  /** Faults, scheduled callbacks, host starts, promise settlement. */
  control: 0,
  /** Datagram and TCP segment arrivals. */
  network: 1,
  /** Host timers. */
  timer: 2,
} as const;

/** A scheduled event. `fn(arg, event)` runs when the event fires. */
export class SimEvent {
  /** Virtual time in µs. */
  time: number;
  /** `time * 4 + phase`: the primary sort key. */
  key: number;
  /** Insertion sequence: the tie-breaker. */
  seq: number;
  /** A small integer naming the kind of event, mixed into the trace hash. */
  kind: number;
  /** Host index the event belongs to, or -1. */
  host: number;
  fn: (arg: unknown, event: SimEvent) => void;
  arg: unknown;
  cancelled = false;
  /** Whether the event is in the heap now. */
  queued = false;
  /** Free slot for the owner (timer ids, incarnations). */
  tag = 0;

  constructor(
    time: number,
    phase: number,
    seq: number,
    kind: number,
    host: number,
    fn: (arg: unknown, event: SimEvent) => void,
    arg: unknown,
  ) {
    this.time = time;
    this.key = time * 4 + phase;
    this.seq = seq;
    this.kind = kind;
    this.host = host;
    this.fn = fn;
    this.arg = arg;
  }

  /** The event's phase. */
  get phase(): number {
    return this.key - this.time * 4;
  }
}

function less(a: SimEvent, b: SimEvent): boolean {
  return a.key < b.key || (a.key === b.key && a.seq < b.seq);
}

/** The heap. */
export class EventQueue {
  #heap: SimEvent[] = [];
  #cancelled = 0;
  #seq = 0;

  /** Live (not cancelled) events queued. */
  get size(): number {
    return this.#heap.length - this.#cancelled;
  }

  /**
   * Creates and queues an event. Events of one time and phase run in the order of `seq`, by default
   * the order they were queued in; a given one must exceed any the queue hands out (below 2^52).
   */
  push(
    time: number,
    phase: number,
    kind: number,
    host: number,
    fn: (arg: unknown, event: SimEvent) => void,
    arg: unknown,
    seq: number = this.#seq++,
  ): SimEvent {
    const event = new SimEvent(time, phase, seq, kind, host, fn, arg);
    this.#insert(event);
    return event;
  }

  /** Re-queues a popped, not cancelled event at a new time (a fresh sequence number keeps FIFO order). */
  requeue(event: SimEvent, time: number, phase: number): void {
    event.time = time;
    event.key = time * 4 + phase;
    event.seq = this.#seq++;
    this.#insert(event);
  }

  #insert(event: SimEvent): void {
    event.queued = true;
    const heap = this.#heap;
    let i = heap.length;
    heap.push(event);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!less(event, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = event;
  }

  /** Marks an event cancelled; it will never be returned by {@linkcode pop}. */
  cancel(event: SimEvent): void {
    if (event.cancelled) return;
    event.cancelled = true;
    if (!event.queued) return;
    this.#cancelled++;
    if (this.#cancelled > 1024 && this.#cancelled * 2 > this.#heap.length) this.#compact();
  }

  /** The earliest live event without removing it, or `undefined`. */
  peek(): SimEvent | undefined {
    const heap = this.#heap;
    while (heap.length > 0 && heap[0]!.cancelled) {
      this.#removeTop().queued = false;
      this.#cancelled--;
    }
    return heap[0];
  }

  /** Removes and returns the earliest live event, or `undefined`. */
  pop(): SimEvent | undefined {
    const heap = this.#heap;
    while (heap.length > 0) {
      const top = this.#removeTop();
      top.queued = false;
      if (!top.cancelled) return top;
      this.#cancelled--;
    }
    return undefined;
  }

  #removeTop(): SimEvent {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    const n = heap.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      let child = heap[l]!;
      if (r < n) {
        const right = heap[r]!;
        if (less(right, child)) {
          c = r;
          child = right;
        }
      }
      if (!less(child, last)) break;
      heap[i] = child;
      i = c;
    }
    heap[i] = last;
    return top;
  }

  #compact(): void {
    const live = this.#heap.filter((e) => {
      if (e.cancelled) e.queued = false;
      return !e.cancelled;
    });
    live.sort((a, b) => (a.key - b.key) || (a.seq - b.seq));
    this.#heap = live;
    this.#cancelled = 0;
  }

  /** Drops every event. */
  clear(): void {
    for (const e of this.#heap) e.queued = false;
    this.#heap = [];
    this.#cancelled = 0;
  }
}
