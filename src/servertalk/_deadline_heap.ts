/** A binary min-heap of (deadline, id) pairs. Entries are removed lazily: the owner skips stale ones. */
export class DeadlineHeap {
  #deadlines: number[] = [];
  #ids: number[] = [];

  get size(): number {
    return this.#ids.length;
  }

  /** The earliest deadline, or `Infinity` when empty. */
  peekDeadline(): number {
    return this.#deadlines.length === 0 ? Number.POSITIVE_INFINITY : this.#deadlines[0]!;
  }

  /** The id of the earliest deadline (the heap must not be empty). */
  peekId(): number {
    return this.#ids[0]!;
  }

  push(deadline: number, id: number): void {
    const d = this.#deadlines;
    const ids = this.#ids;
    let i = d.length;
    d.push(deadline);
    ids.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (d[parent]! <= deadline) break;
      d[i] = d[parent]!;
      ids[i] = ids[parent]!;
      i = parent;
    }
    d[i] = deadline;
    ids[i] = id;
  }

  pop(): void {
    const d = this.#deadlines;
    const ids = this.#ids;
    const lastDeadline = d.pop()!;
    const lastId = ids.pop()!;
    const n = d.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && d[right]! < d[left]! ? right : left;
      if (d[child]! >= lastDeadline) break;
      d[i] = d[child]!;
      ids[i] = ids[child]!;
      i = child;
    }
    d[i] = lastDeadline;
    ids[i] = lastId;
  }

  clear(): void {
    this.#deadlines = [];
    this.#ids = [];
  }
}
