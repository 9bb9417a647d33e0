import type { SocketAddress } from "../platform/platform.ts";
import type { Driver } from "./_driver.ts";
import type { EqStreamError } from "./errors.ts";
import type { CloseReason, Session, SessionState } from "./session.ts";
import type { SessionStats } from "./stats.ts";

/** Callbacks of a server or client. All are optional; they run synchronously, in order. */
export interface EqStreamHandlers {
  /** Server: a session's handshake completed (its first valid packet arrived). Client: the server answered. */
  opened?(connection: EqStreamConnection): void;
  /** The key exchange finished: application packets flow both ways from now on. */
  ready?(connection: EqStreamConnection): void;
  /** An application packet arrived: its opcode and decrypted, inflated payload (which the handler owns). */
  app?(connection: EqStreamConnection, opcode: number, payload: Uint8Array): void;
  /** The send queue, once full, fell below half its limit. */
  drain?(connection: EqStreamConnection): void;
  /** Bad input that did not end the session (it was counted and dropped). */
  error?(connection: EqStreamConnection, error: EqStreamError): void;
  /** The session ended. The last callback of a connection. */
  closed?(connection: EqStreamConnection, reason: CloseReason, error?: EqStreamError): void;
}

/** One EQStream connection as the application sees it, on the server or the client side. */
export class EqStreamConnection {
  /** The peer's address and port. */
  readonly remote: SocketAddress;
  /** Free for the application (the role keeps its per-connection state here). */
  data: unknown = undefined;
  readonly #session: Session;
  readonly #driver: Driver;
  readonly #handlers: EqStreamHandlers;
  #onFinished: ((connection: EqStreamConnection) => void) | undefined;
  /** @internal Wake-up time the session asked for. */
  wakeAtUs = 0;
  /** @internal Time of this connection's entry in the driver's heap (Infinity: not in it). */
  heapAt = Infinity;
  /** @internal Position in the driver's heap, or -1. */
  heapIndex = -1;
  /** @internal Queued for a flush on the next turn. */
  dirty = false;
  /** @internal The `closed` event was delivered. */
  finished = false;

  /** @internal Made by the server and client drivers. */
  constructor(
    session: Session,
    context: {
      readonly driver: Driver;
      readonly remote: SocketAddress;
      readonly handlers: EqStreamHandlers;
      readonly onFinished?: (connection: EqStreamConnection) => void;
    },
  ) {
    this.#session = session;
    this.#driver = context.driver;
    this.remote = context.remote;
    this.#handlers = context.handlers;
    this.#onFinished = context.onFinished;
  }

  /** The session id (chosen by the client). */
  get sessionId(): number {
    return this.#session.sessionId;
  }

  /** "connecting", "keying", "open", "closing" or "closed". */
  get state(): SessionState {
    return this.#session.state;
  }

  /** A snapshot of the session's statistics. */
  get stats(): SessionStats {
    return this.#session.stats;
  }

  /** Bytes accepted by `sendApp` and not yet acknowledged (for back-pressure). */
  get bufferedBytes(): number {
    return this.#session.sendQueueBytes;
  }

  /** The sans-IO session underneath. */
  get session(): Session {
    return this.#session;
  }

  /**
   * Sends an application packet (encrypted and, server side, compressed as the EQ2 client expects).
   * Packets queued before the key exchange finishes wait for it. Throws an `EqStreamError` with code
   * `EQSTREAM_NOT_OPEN`, `EQSTREAM_MESSAGE_TOO_LARGE` or `EQSTREAM_SEND_QUEUE_FULL`.
   */
  sendApp(opcode: number, payload: Uint8Array): void {
    this.#session.sendApp(opcode, payload);
    this.#driver.markDirty(this);
  }

  /** Closes the session: by default after delivering what is queued (at most `closeLingerUs`). */
  close(reason: CloseReason = "local", options: { readonly graceful?: boolean } = {}): void {
    this.#session.close(reason, options);
    this.#driver.markDirty(this);
  }

  /** @internal Polls until quiet, sending datagrams and dispatching events. */
  serviceNow(nowUs: number, driver: Driver): void {
    for (let round = 0; round < 64; round++) {
      const result = this.#session.poll(nowUs);
      if (result.datagrams.length > 0) driver.send(this, result.datagrams);
      this.wakeAtUs = result.wakeAtUs;
      if (result.events.length === 0) return;
      for (const event of result.events) this.#dispatch(event);
      if (this.finished) return;
    }
  }

  #dispatch(event: ReturnType<Session["poll"]>["events"][number]): void {
    const h = this.#handlers;
    switch (event.type) {
      case "app":
        h.app?.(this, event.opcode, event.payload);
        return;
      case "connected":
        h.opened?.(this);
        return;
      case "ready":
        h.ready?.(this);
        return;
      case "drain":
        h.drain?.(this);
        return;
      case "error":
        h.error?.(this, event.error);
        return;
      case "closed":
        this.finished = true;
        this.#onFinished?.(this);
        this.#onFinished = undefined;
        h.closed?.(this, event.reason, event.error);
        return;
    }
  }
}
