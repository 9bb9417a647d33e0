/**
 * Internal state of a simulated host and of a directed link.
 * @module
 */
import type { Platform, TcpConnection } from "../src/platform/platform.ts";
import type { SimEvent } from "./_event_queue.ts";
import type { LinkSpec } from "./link_spec.ts";
import type { LinkModel } from "./link_model.ts";

/** Host states. */
export const HOST_STATUS = { up: 0, paused: 1, crashed: 2 } as const;

/** A host's start function: runs at the beginning of the run and after every restart. */
export type HostStart = (platform: Platform) => void | Promise<void>;

/** A bound simulated UDP socket. */
export interface UdpBinding {
  readonly port: number;
  readonly handler: (bytes: Uint8Array, address: string, port: number) => unknown;
}

/** A TCP listener's state. */
export interface TcpListenerState {
  readonly port: number;
  readonly incarnation: number;
  readonly onConnection: (connection: TcpConnection) => unknown;
}

/** A datagram on its way. */
export class Datagram {
  constructor(
    readonly link: SimLink,
    readonly bytes: Uint8Array,
    readonly srcPort: number,
    readonly dstPort: number,
    readonly sentAt: number,
  ) {}
}

/** A simulated host. */
export class SimHost {
  readonly index: number;
  readonly id: string;
  readonly address: string;
  status: number = HOST_STATUS.up;
  /** Run by the other side of a sharded pair: it never starts here, datagrams to it cross over. */
  remote = false;
  incarnation = 0;
  platform!: Platform;
  readonly starts: HostStart[] = [];
  readonly udp: Map<number, UdpBinding> = new Map();
  readonly tcpListeners: Map<number, TcpListenerState> = new Map();
  readonly tcpPorts: Set<number> = new Set();
  nextUdpPort = 49152;
  nextTcpPort = 49152;
  /** Events that fell due while paused, in order. */
  held: SimEvent[] = [];
  heldDatagrams = 0;
  /** Outgoing links indexed by destination host index. */
  readonly links: (SimLink | undefined)[] = [];
  // Clock: host time = anchorHost + (sim time - anchorSim) * rate.
  rate = 1;
  anchorSim = 0;
  anchorHost = 0;
  /** Wall-clock step, µs. */
  wallOffsetUs = 0;

  constructor(index: number, id: string, address: string) {
    this.index = index;
    this.id = id;
    this.address = address;
  }

  /** Monotonic host time (µs) at simulated time `simNow`. */
  hostNow(simNow: number): number {
    return this.rate === 1
      ? this.anchorHost + simNow - this.anchorSim
      : Math.floor(this.anchorHost + (simNow - this.anchorSim) * this.rate);
  }

  /** Simulated delay for a host-clock delay. */
  simDelay(hostDelayUs: number): number {
    return this.rate === 1 ? hostDelayUs : Math.ceil(hostDelayUs / this.rate);
  }

  /** A free ephemeral port of `kind`, or 0 when all are taken. */
  ephemeral(kind: "udp" | "tcp"): number {
    const used = (port: number) => kind === "udp" ? this.udp.has(port) : this.tcpPorts.has(port);
    for (let tries = 0; tries < 16384; tries++) {
      const port = kind === "udp" ? this.nextUdpPort : this.nextTcpPort;
      const next = port >= 65535 ? 49152 : port + 1;
      if (kind === "udp") this.nextUdpPort = next;
      else this.nextTcpPort = next;
      if (!used(port)) return port;
    }
    return 0;
  }
}

/** One direction between two hosts. */
export class SimLink {
  readonly from: SimHost;
  readonly to: SimHost;
  readonly model: LinkModel;
  /** The spec set for this direction with `setLink` (merged over the defaults), if any. */
  override: LinkSpec | undefined;
  /** Number of active partitions that cut this direction. */
  blocked = 0;
  clogged = false;
  /** Datagrams held by a clog. */
  readonly clogHeld: Datagram[] = [];
  // The datagram being transmitted (read by the model's emit callback).
  curSrc = 0;
  curDst = 0;
  curSentAt = 0;
  // TCP: arrival time of the last segment per direction (FIFO), and counters.
  tcpSegments = 0;
  tcpBytes = 0;

  constructor(from: SimHost, to: SimHost, model: LinkModel) {
    this.from = from;
    this.to = to;
    this.model = model;
  }
}
