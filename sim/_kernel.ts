/**
 * What the simulation's components (virtual Platform, TCP model) need from the kernel.
 * @module
 */
import type { LogFields, LogLevel } from "../src/platform/platform.ts";
import type { SimEvent } from "./_event_queue.ts";
import type { SimHost, SimLink } from "./_host.ts";
import type { Trace } from "./_trace.ts";
import type { SimRng } from "./rng.ts";

/** Kinds of events, mixed into the trace hash. */
export const EVENT_KIND = {
  start: 1,
  timer: 2,
  datagram: 3,
  control: 4,
  settle: 5,
  tcp: 6,
  release: 7,
  drain: 8,
} as const;

/** Names of {@linkcode EVENT_KIND} values. */
export const EVENT_KIND_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(EVENT_KIND).map(([name, code]) => [code, name]),
);

/** TCP tuning, all optional. */
export interface TcpModelOptions {
  /** Largest segment the random chunking produces, bytes; default 16384. */
  readonly maxSegmentBytes?: number;
  /** Bytes in flight (unacknowledged) per direction; default 65536. */
  readonly windowBytes?: number;
  /** `write` returns false once this many bytes are buffered; default 16384. */
  readonly highWaterBytes?: number;
  /** `drain` fires when the buffer falls to this; default 0 (empty, as `node:net` does). */
  readonly lowWaterBytes?: number;
  /** Most bytes a connection may buffer before it is destroyed; default 64 MiB. */
  readonly maxBufferedBytes?: number;
  /** First retransmission timeout, µs; default 200 ms (doubles per retry, capped at 2 s). */
  readonly rtoUs?: number;
  /** A segment that cannot get through for this long fails the connection, µs; default 20 s. */
  readonly userTimeoutUs?: number;
  /** Bytes buffered for a connection not yet `start`ed before acknowledgements stop; default 4 MiB. */
  readonly receiveBufferBytes?: number;
}

/** Kernel services. */
export interface Kernel {
  readonly now: number;
  readonly running: boolean;
  readonly trace: Trace;
  readonly tcpOptions: Required<TcpModelOptions>;
  schedule(
    time: number,
    phase: number,
    kind: number,
    host: number,
    fn: (arg: unknown, event: SimEvent) => void,
    arg: unknown,
  ): SimEvent;
  cancel(event: SimEvent): void;
  /** Holds an event of a paused host until it resumes. */
  hold(host: SimHost, event: SimEvent): void;
  /** Settles a promise at the current virtual time (as an event while running). */
  settle(host: SimHost, settle: () => void): void;
  /** Runs `callback` right after the current event (and its promise continuations), at the same instant. */
  defer(host: SimHost, callback: () => void): void;
  /** Notes a callback's return value: a promise means asynchronous work is pending. */
  watch(result: unknown, host: number): void;
  uncaught(error: unknown, host: number): void;
  host(index: number): SimHost;
  hostByAddress(address: string, from: SimHost): SimHost | undefined;
  link(from: SimHost, to: SimHost): SimLink;
  rng(name: string): SimRng;
  log(host: SimHost, level: LogLevel, message: string, fields: LogFields | undefined): void;
  sendUdp(from: SimHost, srcPort: number, bytes: Uint8Array, address: string, port: number): void;
}
