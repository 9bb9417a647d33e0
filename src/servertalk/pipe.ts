/**
 * An in-process duplex byte pipe with the shape of a TCP connection, so that roles running in one
 * process talk through the very same link code (framing, handshake, auth, ordering, back-pressure)
 * as roles on different machines. Delivery is asynchronous (one event-loop turn, through the
 * platform's timers) and bounded: `write` returns false above the high-water mark and `drain` follows.
 * @module
 */
import type { Platform, SocketAddress, TcpConnection, TcpHandlers } from "../platform/platform.ts";

/** Options of {@linkcode createPipe}. */
export interface PipeOptions {
  /** Bytes in flight per direction above which `write` returns false; default 1 MiB. */
  readonly highWaterBytes?: number;
}

let nextPipePort = 1;

class PipeEnd implements TcpConnection {
  readonly local: SocketAddress;
  readonly remote: SocketAddress;
  peer!: PipeEnd;
  readonly #platform: Platform;
  readonly #highWater: number;
  #handlers: TcpHandlers | undefined;
  /** Chunks the peer wrote to us, not yet delivered. */
  #inbox: Uint8Array[] = [];
  #inboxBytes = 0;
  #scheduled = false;
  /** Bytes we wrote that the peer has not taken yet. */
  #inFlight = 0;
  #wantDrain = false;
  #ending = false;
  #peerEnded = false;
  #closed = false;

  constructor(platform: Platform, local: SocketAddress, remote: SocketAddress, highWater: number) {
    this.#platform = platform;
    this.local = local;
    this.remote = remote;
    this.#highWater = highWater;
  }

  get bufferedBytes(): number {
    return this.#inFlight;
  }

  start(handlers: TcpHandlers): void {
    if (this.#handlers !== undefined) throw new Error("Cannot start pipe connection: already started");
    this.#handlers = handlers;
    if (this.#closed) {
      this.#platform.timers.defer(() => handlers.close(undefined));
      return;
    }
    this.#schedule();
  }

  write(bytes: Uint8Array): boolean {
    if (this.#closed || this.#ending) return false;
    this.#inFlight += bytes.length;
    this.peer.#receive(bytes);
    if (this.#inFlight >= this.#highWater) {
      this.#wantDrain = true;
      return false;
    }
    return true;
  }

  end(): void {
    if (this.#closed || this.#ending) return;
    this.#ending = true;
    this.peer.#peerEnded = true;
    this.peer.#schedule();
  }

  destroy(): void {
    if (this.#closed) return;
    this.#inbox = [];
    this.#inboxBytes = 0;
    this.#ending = true;
    this.peer.#peerEnded = true;
    this.peer.#schedule();
    this.#finish(undefined);
  }

  #receive(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#inbox.push(bytes);
    this.#inboxBytes += bytes.length;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#handlers === undefined || this.#closed) return;
    this.#scheduled = true;
    this.#platform.timers.defer(() => this.#deliver());
  }

  #deliver(): void {
    this.#scheduled = false;
    const handlers = this.#handlers;
    if (handlers === undefined || this.#closed) return;
    const chunks = this.#inbox;
    this.#inbox = [];
    const bytes = this.#inboxBytes;
    this.#inboxBytes = 0;
    for (const chunk of chunks) {
      if (this.#closed) return;
      handlers.data(chunk);
    }
    this.peer.#delivered(bytes);
    if (this.#peerEnded && this.#inbox.length === 0) {
      // The peer finished; like the TCP adapter, finish our side too, and both sides close.
      this.#finish(undefined);
      this.peer.#finish(undefined);
    }
  }

  #delivered(bytes: number): void {
    this.#inFlight -= bytes;
    if (this.#wantDrain && this.#inFlight < this.#highWater / 2 && !this.#closed) {
      this.#wantDrain = false;
      this.#handlers?.drain();
    }
  }

  #finish(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#inbox = [];
    const handlers = this.#handlers;
    if (handlers !== undefined) {
      handlers.close(error);
    }
  }
}

/** Two connected ends: whatever one writes, the other receives. */
export function createPipe(platform: Platform, options: PipeOptions = {}): [TcpConnection, TcpConnection] {
  const highWater = options.highWaterBytes ?? 1024 * 1024;
  const port = nextPipePort++;
  const a: SocketAddress = { address: "in-process", port };
  const b: SocketAddress = { address: "in-process", port: port + 1_000_000 };
  const left = new PipeEnd(platform, a, b, highWater);
  const right = new PipeEnd(platform, b, a, highWater);
  left.peer = right;
  right.peer = left;
  return [left, right];
}
