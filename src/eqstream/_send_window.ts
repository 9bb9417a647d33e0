/** One reliable packet (one sequence number) on the sending side. */
export interface Unit {
  seq: number;
  /** Fragment (0x0d) rather than Packet (0x09). */
  frag: boolean;
  /** Bytes after the sequence number. */
  body: Uint8Array;
  /** Bytes of the whole sub-packet: opcode, sequence, body. */
  size: number;
  /** Bytes of `sendApp` data this packet carries (released from the send queue when it is acked). */
  queueBytes: number;
  acked: boolean;
  /** Counted in bytes-in-flight (sent, not acked, not declared lost). */
  inflight: boolean;
  /** Declared lost and waiting for a retransmission. */
  lost: boolean;
  /** Sent again after being declared lost (RTT samples from it are ambiguous). */
  retransmitted: boolean;
  firstSentAt: number;
  /** Time and global order of the latest (re)transmission; redundant copies do not move them. */
  xmitAt: number;
  xmitOrder: number;
  /** Order and time of the latest redundant copy (0 and -1 before any). */
  copyOrder: number;
  copyAt: number;
  /** Datagram of the first transmission, and the last datagram that carried any copy. */
  origDatagram: number;
  lastDatagram: number;
  copiesLeft: number;
  /** Delivery-rate sample state at the latest transmission. */
  rsDelivered: number;
  rsDeliveredAt: number;
  rsFirstSentAt: number;
  rsAppLimited: boolean;
  /** Links of the send-order list. */
  prev: Unit | undefined;
  next: Unit | undefined;
}

/** Sent-but-unacknowledged units indexed by sequence distance from the oldest one. */
export class SendRing {
  #items: Array<Unit | undefined> = new Array(64);
  #head = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The unit `offset` places after the oldest. */
  at(offset: number): Unit {
    return this.#items[(this.#head + offset) & (this.#items.length - 1)]!;
  }

  push(unit: Unit): void {
    if (this.#size === this.#items.length) {
      const grown = new Array<Unit | undefined>(this.#items.length * 2);
      for (let i = 0; i < this.#size; i++) grown[i] = this.at(i);
      this.#items = grown;
      this.#head = 0;
    }
    this.#items[(this.#head + this.#size) & (this.#items.length - 1)] = unit;
    this.#size++;
  }

  /** Removes the `count` oldest units. */
  shift(count: number): void {
    const mask = this.#items.length - 1;
    for (let i = 0; i < count; i++) this.#items[(this.#head + i) & mask] = undefined;
    this.#head = (this.#head + count) & mask;
    this.#size -= count;
  }

  clear(): void {
    this.#items = new Array(64);
    this.#head = 0;
    this.#size = 0;
  }
}

/** In-flight units in transmission order (oldest transmission first), as an intrusive list. */
export class SendOrder {
  head: Unit | undefined;
  tail: Unit | undefined;

  append(unit: Unit): void {
    unit.prev = this.tail;
    unit.next = undefined;
    if (this.tail) this.tail.next = unit;
    else this.head = unit;
    this.tail = unit;
  }

  remove(unit: Unit): void {
    if (unit.prev) unit.prev.next = unit.next;
    else this.head = unit.next;
    if (unit.next) unit.next.prev = unit.prev;
    else this.tail = unit.prev;
    unit.prev = undefined;
    unit.next = undefined;
  }

  clear(): void {
    this.head = undefined;
    this.tail = undefined;
  }
}
