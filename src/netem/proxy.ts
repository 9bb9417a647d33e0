/**
 * A userspace UDP impairment proxy: datagrams from clients to `listen` go to `forward`, replies go
 * back to the client that sent last. Each direction runs its own copy of the simulator's link model
 * (`sim/link_model.ts`: loss, MTU, corruption, duplication, bandwidth queue, delay and jitter,
 * reordering) with its own seeded random stream, and can be blocked (a partition) or clogged.
 * It works on any Platform: real sockets for `qeynos netem` and `--live` scenarios.
 * @module
 */
import type { Platform, UdpSocket } from "../platform/platform.ts";
import { EventQueue } from "../../sim/_event_queue.ts";
import { LinkCounters, LinkModel } from "../../sim/link_model.ts";
import { DROP, type LinkSpec } from "../../sim/link_spec.ts";
import { SimRng } from "../../sim/rng.ts";

/** `"up"`: client → forward target; `"down"`: target → client. */
export type NetemDirection = "up" | "down";

/** Options of {@linkcode NetemProxy.start}. */
export interface NetemOptions {
  /** Address and port to receive clients on (port 0: any free port). */
  readonly listen: { readonly address: string; readonly port: number };
  /** Where client datagrams go. */
  readonly forward: { readonly address: string; readonly port: number };
  /** Impairment of client → target. */
  readonly up: LinkSpec;
  /** Impairment of target → client; default the same as `up`. */
  readonly down?: LinkSpec;
  readonly seed: number;
  /** Datagrams held by a clog (per direction) before more are dropped; default 4096. */
  readonly clogLimit?: number;
  /** Called for each datagram forwarded (after impairment). */
  readonly onForward?: (direction: NetemDirection, bytes: Uint8Array) => void;
}

/** A pending forward. */
interface Pending {
  readonly direction: NetemDirection;
  readonly bytes: Uint8Array;
}

/** Statistics of one direction. */
export interface NetemStats {
  readonly direction: NetemDirection;
  readonly received: number;
  readonly forwarded: number;
  readonly dropped: number;
  readonly droppedByCause: Readonly<Record<string, number>>;
  readonly duplicated: number;
  readonly corrupted: number;
  readonly reordered: number;
  readonly maxQueueBytes: number;
  readonly latencyUs: ReturnType<LinkCounters["latency"]["summary"]>;
}

/** The proxy. */
export class NetemProxy {
  readonly #platform: Platform;
  readonly #options: NetemOptions;
  readonly #models: Record<NetemDirection, LinkModel>;
  readonly #counters: Record<NetemDirection, LinkCounters> = { up: new LinkCounters(), down: new LinkCounters() };
  readonly #queue = new EventQueue();
  readonly #blocked: Record<NetemDirection, boolean> = { up: false, down: false };
  readonly #clogged: Record<NetemDirection, Uint8Array[] | undefined> = { up: undefined, down: undefined };
  #listen: UdpSocket | undefined;
  #upstream: UdpSocket | undefined;
  #client: { address: string; port: number } | undefined;
  #timer: number | undefined;
  #timerAt = Infinity;
  #closed = false;
  #sentAt = 0;

  private constructor(platform: Platform, options: NetemOptions) {
    this.#platform = platform;
    this.#options = options;
    const model = (direction: NetemDirection, spec: LinkSpec) =>
      new LinkModel(spec, {
        rng: new SimRng(options.seed, `netem:${direction}`),
        counters: this.#counters[direction],
        emit: (bytes, atUs) => this.#schedule(direction, bytes, atUs),
      });
    this.#models = { up: model("up", options.up), down: model("down", options.down ?? options.up) };
  }

  /** Binds both sockets and starts forwarding. */
  static async start(platform: Platform, options: NetemOptions): Promise<NetemProxy> {
    const proxy = new NetemProxy(platform, options);
    proxy.#listen = await platform.udp.bind(options.listen, (bytes, address, port) => {
      proxy.#client = { address, port };
      proxy.#offer("up", bytes);
    });
    proxy.#upstream = await platform.udp.bind({ address: options.listen.address, port: 0 }, (bytes, address, port) => {
      if (address !== options.forward.address || port !== options.forward.port) return;
      proxy.#offer("down", bytes);
    });
    return proxy;
  }

  /** The address clients send to. */
  get listenAddress(): { address: string; port: number } {
    return this.#listen!.local;
  }

  /** The address the target sees datagrams from (and answers to). */
  get upstreamAddress(): { address: string; port: number } {
    return this.#upstream!.local;
  }

  /** Changes one direction's impairment (loss state and FIFO order carry over). */
  setSpec(direction: NetemDirection, spec: LinkSpec): void {
    this.#models[direction].setSpec(spec);
  }

  /** The spec of one direction. */
  spec(direction: NetemDirection): LinkSpec {
    return this.#models[direction].spec;
  }

  /** Drops everything in one direction (a partition) until unblocked. */
  setBlocked(direction: NetemDirection, blocked: boolean): void {
    this.#blocked[direction] = blocked;
  }

  /** Holds datagrams in one direction until `unclog`. */
  clog(direction: NetemDirection): void {
    this.#clogged[direction] ??= [];
  }

  /** Releases held datagrams through the impairment, in order. */
  unclog(direction: NetemDirection): void {
    const held = this.#clogged[direction];
    this.#clogged[direction] = undefined;
    for (const bytes of held ?? []) {
      this.#sentAt = this.#platform.clock.now();
      this.#models[direction].transmit(bytes, this.#sentAt);
    }
  }

  /** Statistics of both directions. */
  stats(): NetemStats[] {
    return (["up", "down"] as const).map((direction) => {
      const c = this.#counters[direction];
      const droppedByCause: Record<string, number> = {};
      for (const [cause, index] of Object.entries(DROP)) {
        if (c.dropped[index]! > 0) droppedByCause[cause] = c.dropped[index]!;
      }
      return {
        direction,
        received: c.sent,
        forwarded: c.delivered,
        dropped: c.droppedTotal,
        droppedByCause,
        duplicated: c.duplicated,
        corrupted: c.corrupted,
        reordered: c.reordered,
        maxQueueBytes: c.maxQueueBytes,
        latencyUs: c.latency.summary(),
      };
    });
  }

  /** The live counters of one direction. */
  counters(direction: NetemDirection): LinkCounters {
    return this.#counters[direction];
  }

  /** Stops: closes both sockets and drops what is pending. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) this.#platform.timers.clearTimeout(this.#timer);
    this.#queue.clear();
    this.#listen?.close();
    this.#upstream?.close();
  }

  #offer(direction: NetemDirection, bytes: Uint8Array): void {
    if (this.#closed) return;
    const copy = bytes.slice();
    const c = this.#counters[direction];
    if (this.#blocked[direction]) {
      c.sent++;
      c.bytesSent += copy.length;
      c.dropped[DROP.partition]!++;
      return;
    }
    const held = this.#clogged[direction];
    if (held !== undefined) {
      if (held.length >= (this.#options.clogLimit ?? 4096)) {
        c.sent++;
        c.dropped[DROP.clog_overflow]!++;
      } else held.push(copy);
      return;
    }
    this.#sentAt = this.#platform.clock.now();
    this.#models[direction].transmit(copy, this.#sentAt);
  }

  #schedule(direction: NetemDirection, bytes: Uint8Array, atUs: number): void {
    const sentAt = this.#sentAt;
    this.#queue.push(atUs, 0, 0, -1, this.#deliver, { direction, bytes, sentAt } as Pending & { sentAt: number });
    this.#arm();
  }

  #arm(): void {
    const next = this.#queue.peek();
    if (next === undefined || this.#closed) return;
    if (next.time >= this.#timerAt && this.#timer !== undefined) return;
    if (this.#timer !== undefined) this.#platform.timers.clearTimeout(this.#timer);
    this.#timerAt = next.time;
    this.#timer = this.#platform.timers.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#flush();
    }, Math.max(0, next.time - this.#platform.clock.now()));
  }

  #flush(): void {
    const now = this.#platform.clock.now();
    for (let next = this.#queue.peek(); next !== undefined && next.time <= now; next = this.#queue.peek()) {
      const event = this.#queue.pop()!;
      event.fn(event.arg, event);
    }
    this.#arm();
  }

  readonly #deliver = (arg: unknown): void => {
    const { direction, bytes, sentAt } = arg as Pending & { sentAt: number };
    const c = this.#counters[direction];
    if (this.#blocked[direction]) {
      c.dropped[DROP.partition]!++;
      return;
    }
    if (direction === "up") this.#upstream!.send(bytes, this.#options.forward.address, this.#options.forward.port);
    else if (this.#client !== undefined) this.#listen!.send(bytes, this.#client.address, this.#client.port);
    else {
      c.dropped[DROP.no_socket]!++;
      return;
    }
    c.delivered++;
    c.bytesDelivered += bytes.length;
    c.latency.record(this.#platform.clock.now() - sentAt);
    this.#options.onForward?.(direction, bytes);
  };
}
