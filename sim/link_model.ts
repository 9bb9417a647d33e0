/**
 * The per-direction impairment pipeline, shared by the simulator's network and the `qeynos netem`
 * proxy so that both apply exactly the same fault model:
 *
 *   loss (Bernoulli or Gilbert-Elliott) → MTU (drop or truncate) → corruption (bit flips) →
 *   duplication → per copy: bandwidth (serialization behind a bounded drop-tail queue) →
 *   delay (distribution + jitter) → FIFO order, unless picked for reordering.
 *
 * Partitions, clogs and host state are the caller's business (they depend on topology).
 * @module
 */
import { copyBytes } from "./_slab.ts";
import { Histogram } from "./histogram.ts";
import {
  type DelaySampler,
  delaySampler,
  DROP,
  DROP_CAUSES,
  type DropCause,
  type LinkSpec,
  minDelayUs,
} from "./link_spec.ts";
import type { SimRng } from "./rng.ts";

/** Counters of one directed link. */
export class LinkCounters {
  /** Datagrams offered to the link. */
  sent = 0;
  delivered = 0;
  bytesSent = 0;
  bytesDelivered = 0;
  /** Extra copies made by duplication. */
  duplicated = 0;
  corrupted = 0;
  truncated = 0;
  reordered = 0;
  /** Datagrams held by a clog or a paused receiver and released later. */
  held = 0;
  /** Drops indexed like {@linkcode DROP_CAUSES}. */
  readonly dropped: Float64Array = new Float64Array(DROP_CAUSES.length);
  /** Highest bottleneck queue occupancy seen, in bytes. */
  maxQueueBytes = 0;
  /** One-way latency of delivered datagrams, µs. */
  readonly latency: Histogram = new Histogram();

  /** Drops of one cause. */
  drops(cause: DropCause): number {
    return this.dropped[DROP[cause]]!;
  }

  /** Total drops. */
  get droppedTotal(): number {
    let sum = 0;
    for (const n of this.dropped) sum += n;
    return sum;
  }
}

/** Receives each datagram that survives the pipeline, with its delivery time. */
export type LinkEmit = (bytes: Uint8Array, atUs: number) => void;

/** Options of {@linkcode LinkModel}. */
export interface LinkModelOptions {
  readonly rng: SimRng;
  readonly emit: LinkEmit;
  /** Called for each datagram (or copy) the pipeline drops, with the index of its cause in `DROP_CAUSES`. */
  readonly drop?: (cause: number, bytes: Uint8Array) => void;
  readonly counters?: LinkCounters;
}

const DEFAULT_QUEUE_BYTES = 65_536;
const DEFAULT_OVERHEAD = 28;

/** One direction of a link. */
export class LinkModel {
  readonly counters: LinkCounters;
  #rng: SimRng;
  #emit: LinkEmit;
  #drop: ((cause: number, bytes: Uint8Array) => void) | undefined;
  #spec: LinkSpec = {};
  // Compiled spec.
  #lossP = 0;
  #gilbert = false;
  #gP = 0;
  #gR = 0;
  #gBad = 1;
  #gGood = 0;
  #mtu = 0;
  #truncate = false;
  #corrupt = 0;
  #corruptBits = 1;
  #dup = 0;
  #reorder = 0;
  #reorderDelay = 1000;
  #jitter = 0;
  #sample: DelaySampler = () => 0;
  #constantDelay = true;
  #minDelay = 0;
  #bitsPerUs = 0;
  #queueBytes = DEFAULT_QUEUE_BYTES;
  #overhead = DEFAULT_OVERHEAD;
  // State.
  #bad = false;
  #lastAt = 0;
  #linkFreeAt = 0;
  #qFinish = new Float64Array(64);
  #qSize = new Float64Array(64);
  #qHead = 0;
  #qLen = 0;
  #qBytes = 0;

  constructor(spec: LinkSpec, options: LinkModelOptions) {
    this.#rng = options.rng;
    this.#emit = options.emit;
    this.#drop = options.drop;
    this.counters = options.counters ?? new LinkCounters();
    this.setSpec(spec);
  }

  /** The current spec. */
  get spec(): LinkSpec {
    return this.#spec;
  }

  /** The lowest delay the current spec can give a datagram (before queueing), µs. */
  get minDelayUs(): number {
    return this.#minDelay;
  }

  /** Bytes now in the bottleneck queue (including the datagram being serialized) at `nowUs`. */
  queueBytesAt(nowUs: number): number {
    this.#expire(nowUs);
    return this.#qBytes;
  }

  /** One propagation delay draw (distribution plus jitter), µs: the TCP model's segment latency. */
  sampleDelay(rng: SimRng): number {
    let t = this.#constantDelay ? this.#minDelay : this.#sample(rng);
    if (this.#jitter > 0) t += Math.round(rng.float() * this.#jitter);
    return t;
  }

  /** The long-run datagram loss probability (for Gilbert-Elliott, the stationary rate). */
  get lossProbability(): number {
    if (!this.#gilbert) return this.#lossP;
    const sum = this.#gP + this.#gR;
    if (sum === 0) return this.#bad ? this.#gBad : this.#gGood;
    return (this.#gP / sum) * this.#gBad + (this.#gR / sum) * this.#gGood;
  }

  /** Bottleneck bandwidth in bits per µs (0: unlimited). */
  get bitsPerUs(): number {
    return this.#bitsPerUs;
  }

  /** Changes the spec; loss state, FIFO order and queue contents carry over. */
  setSpec(spec: LinkSpec): void {
    this.#spec = spec;
    const loss = spec.loss;
    this.#gilbert = false;
    this.#lossP = 0;
    if (typeof loss === "number") this.#lossP = loss;
    else if (loss?.model === "bernoulli") this.#lossP = loss.p;
    else if (loss?.model === "gilbert") {
      this.#gilbert = true;
      this.#gP = loss.p;
      this.#gR = loss.r;
      this.#gBad = loss.bad ?? 1;
      this.#gGood = loss.good ?? 0;
    }
    this.#mtu = spec.mtu ?? 0;
    this.#truncate = spec.mtuMode === "truncate";
    this.#corrupt = spec.corrupt ?? 0;
    this.#corruptBits = spec.corruptBits ?? 1;
    this.#dup = spec.dup ?? 0;
    this.#jitter = spec.jitter ?? 0;
    this.#reorder = spec.reorder ?? 0;
    this.#reorderDelay = spec.reorderDelay ?? Math.max(2 * this.#jitter, 1000);
    this.#sample = delaySampler(spec.latency);
    this.#constantDelay = spec.latency === undefined || typeof spec.latency === "number" ||
      spec.latency.dist === "constant";
    this.#minDelay = minDelayUs(spec.latency);
    this.#bitsPerUs = (spec.bandwidth ?? 0) / 1e6;
    this.#queueBytes = spec.queueBytes ?? DEFAULT_QUEUE_BYTES;
    this.#overhead = spec.overhead ?? DEFAULT_OVERHEAD;
  }

  /**
   * Offers one datagram sent at `nowUs`. `bytes` must be the caller's private copy (corruption flips
   * its bits in place). Calls `emit` zero, one or two times; returns the number of copies emitted.
   */
  transmit(bytes: Uint8Array, nowUs: number): number {
    const c = this.counters;
    const rng = this.#rng;
    c.sent++;
    c.bytesSent += bytes.length;
    if (this.#gilbert) {
      if (this.#bad) {
        if (this.#gR > 0 && rng.float() < this.#gR) this.#bad = false;
      } else if (this.#gP > 0 && rng.float() < this.#gP) this.#bad = true;
      const p = this.#bad ? this.#gBad : this.#gGood;
      if (p > 0 && rng.float() < p) return this.#dropped(DROP.loss, bytes);
    } else if (this.#lossP > 0 && rng.float() < this.#lossP) {
      return this.#dropped(DROP.loss, bytes);
    }
    let data = bytes;
    if (this.#mtu > 0 && data.length > this.#mtu) {
      if (!this.#truncate) return this.#dropped(DROP.mtu, bytes);
      data = data.subarray(0, this.#mtu);
      c.truncated++;
    }
    if (this.#corrupt > 0 && data.length > 0 && rng.float() < this.#corrupt) {
      for (let i = 0; i < this.#corruptBits; i++) {
        const bit = rng.below(data.length * 8);
        data[bit >>> 3]! ^= 1 << (bit & 7);
      }
      c.corrupted++;
    }
    if (this.#dup > 0 && rng.float() < this.#dup) {
      c.duplicated++;
      return this.#forward(data, nowUs) + this.#forward(copyBytes(data), nowUs);
    }
    return this.#forward(data, nowUs);
  }

  #forward(data: Uint8Array, nowUs: number): number {
    const rng = this.#rng;
    let t = nowUs;
    if (this.#bitsPerUs > 0) {
      const size = data.length + this.#overhead;
      this.#expire(nowUs);
      if (this.#qBytes + size > this.#queueBytes) return this.#dropped(DROP.queue, data);
      const start = this.#linkFreeAt > nowUs ? this.#linkFreeAt : nowUs;
      const finish = start + Math.ceil((size * 8) / this.#bitsPerUs);
      this.#linkFreeAt = finish;
      this.#enqueue(finish, size);
      if (this.#qBytes > this.counters.maxQueueBytes) this.counters.maxQueueBytes = this.#qBytes;
      t = finish;
    }
    t += this.#constantDelay ? this.#minDelay : this.#sample(rng);
    if (this.#jitter > 0) t += Math.round(rng.float() * this.#jitter);
    if (this.#reorder > 0 && rng.float() < this.#reorder) {
      t += this.#reorderDelay;
      this.counters.reordered++;
    } else {
      if (t < this.#lastAt) t = this.#lastAt;
      this.#lastAt = t;
    }
    this.#emit(data, t);
    return 1;
  }

  #dropped(cause: number, bytes: Uint8Array): 0 {
    this.counters.dropped[cause]!++;
    if (this.#drop !== undefined) this.#drop(cause, bytes);
    return 0;
  }

  #enqueue(finish: number, size: number): void {
    if (this.#qLen === this.#qFinish.length) {
      const cap = this.#qFinish.length * 2;
      const f = new Float64Array(cap);
      const s = new Float64Array(cap);
      for (let i = 0; i < this.#qLen; i++) {
        const j = (this.#qHead + i) % this.#qFinish.length;
        f[i] = this.#qFinish[j]!;
        s[i] = this.#qSize[j]!;
      }
      this.#qFinish = f;
      this.#qSize = s;
      this.#qHead = 0;
    }
    const j = (this.#qHead + this.#qLen) % this.#qFinish.length;
    this.#qFinish[j] = finish;
    this.#qSize[j] = size;
    this.#qLen++;
    this.#qBytes += size;
  }

  #expire(nowUs: number): void {
    while (this.#qLen > 0 && this.#qFinish[this.#qHead]! <= nowUs) {
      this.#qBytes -= this.#qSize[this.#qHead]!;
      this.#qHead = (this.#qHead + 1) % this.#qFinish.length;
      this.#qLen--;
    }
  }
}
