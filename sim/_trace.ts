/**
 * The trace hash: every event (time, kind, host) and the details components mix in (datagram
 * lengths and payload bytes, drop decisions, TCP segments) fold into two 32-bit FNV-style lanes.
 * Optionally each event is also recorded compactly, so two runs can be compared event by event.
 * @module
 */

const P1 = 0x01000193;
const P2 = 0x5bd1e995;

/** One recorded event. */
export interface TraceRecord {
  readonly index: number;
  readonly timeUs: number;
  readonly kind: number;
  readonly host: number;
  /** Kind-specific details (e.g. link, length, port). */
  readonly a: number;
  readonly b: number;
  /** The trace hash after this event. */
  readonly hash: string;
}

/** The trace. */
export class Trace {
  h1 = 0x811c9dc5;
  h2 = 0x2545f491;
  #limit: number;
  #count = 0;
  #time: Float64Array;
  #meta: Int32Array;
  #detail: Float64Array;
  #hash: Uint32Array;
  #a = 0;
  #b = 0;

  /** `recordLimit` events are kept for comparison (0: none). */
  constructor(recordLimit = 0) {
    this.#limit = recordLimit;
    const initial = Math.min(recordLimit, 4096);
    this.#time = new Float64Array(initial);
    this.#meta = new Int32Array(initial * 2);
    this.#detail = new Float64Array(initial * 2);
    this.#hash = new Uint32Array(initial * 2);
  }

  /** Mixes one number (any safe integer) into both lanes. */
  mix(x: number): void {
    const lo = x | 0;
    const hi = (x / 4294967296) | 0;
    this.h1 = Math.imul(Math.imul(this.h1 ^ lo, P1) ^ hi, P1);
    this.h2 = Math.imul(Math.imul(this.h2 ^ hi, P2) ^ lo, P2) ^ (this.h2 >>> 15);
  }

  /** Mixes up to 64 bytes from each end of `bytes`, and its length. */
  mixBytes(bytes: Uint8Array): void {
    const n = bytes.length;
    let h = n;
    const head = n < 64 ? n : 64;
    for (let i = 0; i < head; i++) h = Math.imul(h ^ bytes[i]!, P1);
    for (let i = n - 64 > head ? n - 64 : head; i < n; i++) h = Math.imul(h ^ bytes[i]!, P1);
    this.mix(h);
  }

  /** Notes details of the current event for the recorder (kept only when recording). */
  detail(a: number, b: number): void {
    this.#a = a;
    this.#b = b;
  }

  /** Whether events are being recorded. */
  get recording(): boolean {
    return this.#limit > 0;
  }

  /** Records the event just finished (call after its effects were mixed in). */
  record(timeUs: number, kind: number, host: number): void {
    const i = this.#count;
    if (i >= this.#limit) return;
    if (i === this.#time.length) this.#grow();
    this.#time[i] = timeUs;
    this.#meta[2 * i] = kind;
    this.#meta[2 * i + 1] = host;
    this.#detail[2 * i] = this.#a;
    this.#detail[2 * i + 1] = this.#b;
    this.#hash[2 * i] = this.h1 >>> 0;
    this.#hash[2 * i + 1] = this.h2 >>> 0;
    this.#a = 0;
    this.#b = 0;
    this.#count = i + 1;
  }

  #grow(): void {
    const cap = Math.min(this.#limit, this.#time.length * 2 || 4096);
    const time = new Float64Array(cap);
    time.set(this.#time);
    const meta = new Int32Array(cap * 2);
    meta.set(this.#meta);
    const detail = new Float64Array(cap * 2);
    detail.set(this.#detail);
    const hash = new Uint32Array(cap * 2);
    hash.set(this.#hash);
    this.#time = time;
    this.#meta = meta;
    this.#detail = detail;
    this.#hash = hash;
  }

  /** Recorded events. */
  get recordedCount(): number {
    return this.#count;
  }

  /** One recorded event. */
  at(index: number): TraceRecord | undefined {
    if (index < 0 || index >= this.#count) return undefined;
    return {
      index,
      timeUs: this.#time[index]!,
      kind: this.#meta[2 * index]!,
      host: this.#meta[2 * index + 1]!,
      a: this.#detail[2 * index]!,
      b: this.#detail[2 * index + 1]!,
      hash: hex(this.#hash[2 * index]!, this.#hash[2 * index + 1]!),
    };
  }

  /** The hash as 16 hex digits. */
  digest(): string {
    return hex(this.h1 >>> 0, this.h2 >>> 0);
  }
}

function hex(a: number, b: number): string {
  return a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0");
}
