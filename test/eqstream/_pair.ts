/**
 * Two sessions joined by a tiny seeded lossy channel with virtual time, for unit tests of the
 * sans-IO core (the properties run on the simulator instead).
 */
import type { Rng } from "../../src/platform/platform.ts";
import { decodeDatagram, ProtocolOp } from "../../src/eqstream/packets.ts";
import {
  type ClientSessionOptions,
  type ServerSessionOptions,
  Session,
  type SessionEvent,
} from "../../src/eqstream/session.ts";

/** A small deterministic generator (mulberry32). */
export function seededRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    u32: next,
    float: () => next() / 2 ** 32,
    fill(bytes: Uint8Array) {
      for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
      return bytes;
    },
  };
}

/** Impairment of one direction. */
export interface ChannelOptions {
  readonly loss?: number;
  readonly delayUs?: number;
  readonly jitterUs?: number;
  readonly duplicate?: number;
  /** Jitter never reorders: a datagram is not delivered before the one sent ahead of it (like udp_impair). */
  readonly fifo?: boolean;
  /** Drop everything while `blocked(now)` is true. */
  readonly blocked?: (nowUs: number) => boolean;
}

interface InFlight {
  readonly at: number;
  readonly order: number;
  readonly toServer: boolean;
  readonly bytes: Uint8Array;
}

/** Options of {@linkcode Pair}. */
export interface PairOptions {
  readonly seed?: number;
  readonly client?: ClientSessionOptions;
  readonly server?: ServerSessionOptions;
  readonly up?: ChannelOptions;
  readonly down?: ChannelOptions;
  /** Timers fire this much after the wake-up time a session asked for (coarse runtime timers). */
  readonly timerLatenessUs?: number;
}

/** A client and a server session on a virtual link. */
export class Pair {
  now = 0;
  readonly client: Session;
  server: Session | undefined;
  readonly clientEvents: SessionEvent[] = [];
  readonly serverEvents: SessionEvent[] = [];
  readonly sentUp: Uint8Array[] = [];
  readonly sentDown: Uint8Array[] = [];
  onClientEvent: (event: SessionEvent, pair: Pair) => void = () => {};
  onServerEvent: (event: SessionEvent, pair: Pair) => void = () => {};
  readonly #options: PairOptions;
  readonly #rng: Rng;
  readonly #net: Rng;
  #queue: InFlight[] = [];
  #order = 0;
  #lastUp = 0;
  #lastDown = 0;
  #clientWake = 0;
  #serverWake = Infinity;

  constructor(options: PairOptions = {}) {
    this.#options = options;
    this.#rng = seededRng(options.seed ?? 1);
    this.#net = seededRng((options.seed ?? 1) ^ 0x5bd1e995);
    this.client = Session.connect(options.client ?? {}, this.#rng, 0);
  }

  #send(bytes: Uint8Array, toServer: boolean): void {
    (toServer ? this.sentUp : this.sentDown).push(bytes);
    const channel = (toServer ? this.#options.up : this.#options.down) ?? {};
    if (channel.blocked?.(this.now)) return;
    const copies = channel.duplicate && this.#net.float() < channel.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      if (channel.loss && this.#net.float() < channel.loss) continue;
      const jitter = channel.jitterUs ? Math.floor((this.#net.float() * 2 - 1) * channel.jitterUs) : 0;
      let at = this.now + Math.max(0, (channel.delayUs ?? 10_000) + jitter);
      if (channel.fifo) {
        const last = toServer ? this.#lastUp : this.#lastDown;
        if (at < last) at = last;
        if (toServer) this.#lastUp = at;
        else this.#lastDown = at;
      }
      this.#queue.push({ at, order: this.#order++, toServer, bytes: bytes.slice() });
    }
  }

  // Like a driver: poll, send, dispatch events, and poll again while handlers produced something.
  #pollClient(): void {
    for (let round = 0; round < 8; round++) {
      const result = this.client.poll(this.now);
      for (const d of result.datagrams) this.#send(d, true);
      this.#clientWake = result.wakeAtUs + (this.#options.timerLatenessUs ?? 0);
      for (const e of result.events) {
        this.clientEvents.push(e);
        this.onClientEvent(e, this);
      }
      if (result.events.length === 0) return;
    }
  }

  #pollServer(): void {
    if (!this.server) return;
    for (let round = 0; round < 8; round++) {
      const result = this.server.poll(this.now);
      for (const d of result.datagrams) this.#send(d, false);
      this.#serverWake = result.wakeAtUs + (this.#options.timerLatenessUs ?? 0);
      for (const e of result.events) {
        this.serverEvents.push(e);
        this.onServerEvent(e, this);
      }
      if (result.events.length === 0) return;
    }
  }

  /** Polls both sides now (after the caller queued something). */
  pollBoth(): void {
    for (let i = 0; i < 4; i++) {
      this.#pollClient();
      this.#pollServer();
    }
  }

  /** Runs for `us` more of virtual time. */
  runFor(us: number): void {
    this.run(this.now + us);
  }

  /** Runs until `untilUs` (virtual) or until nothing is scheduled. */
  run(untilUs: number): void {
    let steps = 0;
    while (steps++ < 5_000_000) {
      let next = Math.min(this.#clientWake, this.#serverWake);
      let index = -1;
      for (let i = 0; i < this.#queue.length; i++) {
        const item = this.#queue[i]!;
        if (item.at < next || (item.at === next && index < 0)) {
          if (
            index < 0 || item.at < this.#queue[index]!.at ||
            (item.at === this.#queue[index]!.at && item.order < this.#queue[index]!.order)
          ) {
            index = i;
            next = item.at;
          }
        }
      }
      if (next > untilUs || next === Infinity) {
        this.now = untilUs;
        return;
      }
      this.now = Math.max(this.now, next);
      if (index >= 0 && this.#queue[index]!.at <= this.now) {
        const item = this.#queue.splice(index, 1)[0]!;
        if (item.toServer) {
          if (!this.server) {
            const packet = decodeDatagram(item.bytes);
            if (packet.op !== ProtocolOp.SessionRequest) continue;
            this.server = Session.accept(packet, this.#options.server ?? {}, this.#rng, this.now);
          } else this.server.receive(item.bytes, this.now);
          this.#pollServer();
        } else {
          this.client.receive(item.bytes, this.now);
          this.#pollClient();
        }
        continue;
      }
      if (this.#clientWake <= this.now) this.#pollClient();
      if (this.#serverWake <= this.now) this.#pollServer();
    }
    throw new Error("Pair.run did not settle");
  }
}
