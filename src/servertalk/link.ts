/**
 * A live servertalk link: a {@linkcode LinkCore} driven over a `TcpConnection` (real TCP, TLS, the
 * simulator's TCP model, or an in-process pipe), with typed sends, promise-based requests with
 * automatic retries, and per-link ordered dispatch of received messages to handler chains.
 *
 * Ordering: messages from the peer run through their handlers one at a time, in the order the peer
 * sent them; the next message's chain starts only when the previous chain has finished (see
 * `Handler` in router.ts). Replies to our own requests are not queued behind handlers, so a handler
 * may await a request on the same link.
 * @module
 */
import type { Platform, TcpConnection, TimerId } from "../platform/platform.ts";
import { ByteWriter } from "../wire/byte_writer.ts";
import type { HelloMessage, WelcomeMessage } from "./control.ts";
import { LINK_DEFAULTS, LinkCore, type LinkEvent, type LinkLimits } from "./link_core.ts";
import { opcodeName } from "./opcodes.ts";
import type { Handler, MessageContext, Next, Router } from "./router.ts";
import type { MessageType } from "./schema.ts";
import { ServertalkError, ServertalkErrorCode } from "./servertalk_error.ts";

/** Options of a link: the core's limits plus dispatch and request behaviour. */
export interface LinkOptions extends LinkLimits {
  /** A handler chain that has not finished after this long is abandoned; default 30 s. */
  readonly handlerTimeoutUs?: number;
  /** Received messages waiting for their handlers, in bytes, at most; default 32 MiB. */
  readonly maxInboundQueueBytes?: number;
  /** How many times a request is sent again after retry replies; default 2. */
  readonly requestRetries?: number;
  /** After the goodbye, how long to wait for the peer to close before dropping the connection; default 2 s. */
  readonly lingerUs?: number;
}

/** Defaults of the options {@linkcode LinkOptions} adds to the core's. */
export const LINK_DRIVER_DEFAULTS = {
  handlerTimeoutUs: 30_000_000,
  maxInboundQueueBytes: 32 * 1024 * 1024,
  requestRetries: 2,
  lingerUs: 2_000_000,
} as const;

/** Who is at the other end of a link. */
export interface PeerInfo {
  /** The peer's server name. */
  readonly name: string;
  /** The peer's `ServerRole`. */
  readonly role: number;
  /** The account the peer authenticated as (known to the accepting side only; empty otherwise). */
  readonly account: string;
  readonly buildId: string;
  readonly protocolVersion: number;
  /** Feature bits both sides use. */
  readonly features: number;
}

/** Options of one request. */
export interface RequestOptions {
  /** Deadline from now; default the link's `requestTimeoutUs`. */
  readonly timeoutUs?: number;
  /** Retries after retry replies; default the link's `requestRetries`. */
  readonly retries?: number;
}

/** The reply to a raw request, or to a typed request whose type declares no reply. */
export interface RawReply {
  readonly opcode: number;
  readonly payload: Uint8Array;
}

/** What a request resolves to: the declared reply's value, or the raw reply. */
export type ReplyOf<R> = [R] extends [never] ? RawReply : R;

/** Why a link closed. */
export interface CloseInfo {
  readonly error: ServertalkError;
  /** True when the peer said goodbye or the transport closed under us. */
  readonly byPeer: boolean;
}

/** Counters and gauges of one link. */
export interface LinkMetrics {
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly framesIn: number;
  readonly framesOut: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  /** Bytes queued in the link and the transport. */
  readonly queuedBytes: number;
  /** Received messages waiting for their handlers. */
  readonly inboxDepth: number;
  readonly pendingRequests: number;
  /** Last measured round trip, µs (heartbeats or pings). */
  readonly rttUs: number | undefined;
  readonly peerLoad: number;
}

/** Callbacks a server or client installs on its links. */
export interface LinkHooks {
  /** Acceptor: a hello arrived; call `link.accept` or `link.refuse` (a returned promise is awaited by simulations). */
  onHello?(link: Link, hello: HelloMessage): void | Promise<void>;
  onOpen?(link: Link): void;
  onClose?(link: Link, info: CloseInfo): void;
  onHeartbeat?(link: Link, load: number, rttUs: number | undefined): void;
}

interface PendingRequest {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: ServertalkError) => void;
  readonly type: MessageType<unknown, unknown> | undefined;
  readonly opcode: number;
  readonly value: unknown;
  readonly payload: Uint8Array | undefined;
  readonly timeoutUs: number;
  retriesLeft: number;
  /** For pings: when it was sent. */
  readonly sentUs: number;
}

interface InboxItem {
  readonly opcode: number;
  readonly requestId: number | undefined;
  readonly payload: Uint8Array;
}

/** Replies on behalf of a handler context. */
interface ReplySender {
  respond(id: number, opcode: number, type: MessageType<unknown> | undefined, value: unknown): void;
  fail(id: number, opcode: number, code: string, message: string): void;
  retry(id: number, opcode: number, waitMs: number, reason: string): void;
}

let nextLinkId = 1;

/** A live servertalk link. Created by `ServertalkServer`, `ServertalkClient` or `connectPipe`. */
export class Link {
  /** This process's number for the link (for logs). */
  readonly id: number = nextLinkId++;
  readonly #platform: Platform;
  readonly #connection: TcpConnection;
  readonly #core: LinkCore;
  readonly #router: Router;
  readonly #hooks: LinkHooks;
  readonly #handlerTimeoutUs: number;
  readonly #maxInboxBytes: number;
  readonly #requestRetries: number;
  readonly #requestTimeoutUs: number;
  readonly #lingerUs: number;
  readonly #flushBytes: number;

  readonly #scratch: ByteWriter;
  readonly #pending = new Map<number, PendingRequest>();
  readonly #inbox: InboxItem[] = [];
  #inboxHead = 0;
  #inboxBytes = 0;
  #busy = false;
  #draining = false;
  #closing = false;

  #writable = true;
  #servicing = false;
  #serviceAgain = false;
  /** A deferred end-of-turn flush is on its way (cleared when the timers are cancelled). */
  #flushQueued = false;
  #wakeTimer: TimerId | undefined;
  #wakeAtUs = Number.POSITIVE_INFINITY;
  #lingerTimer: TimerId | undefined;
  #transportEnded = false;
  #transportClosed = false;

  #peer: PeerInfo | undefined;
  #closeInfo: CloseInfo | undefined;
  readonly #opened = Promise.withResolvers<WelcomeMessage>();
  readonly #closed = Promise.withResolvers<CloseInfo>();
  #drainWaiters: Array<() => void> = [];
  readonly #sender: ReplySender;

  /** @internal Use `ServertalkServer`, `ServertalkClient` or `connectPipe`. */
  constructor(
    platform: Platform,
    connection: TcpConnection,
    options: LinkOptions & {
      readonly side: "dialer" | "acceptor";
      readonly router: Router;
      readonly hooks?: LinkHooks;
      readonly features?: number;
    },
  ) {
    this.#platform = platform;
    this.#connection = connection;
    this.#core = new LinkCore(options);
    this.#router = options.router;
    this.#hooks = options.hooks ?? {};
    this.#handlerTimeoutUs = options.handlerTimeoutUs ?? LINK_DRIVER_DEFAULTS.handlerTimeoutUs;
    this.#maxInboxBytes = options.maxInboundQueueBytes ?? LINK_DRIVER_DEFAULTS.maxInboundQueueBytes;
    this.#requestRetries = options.requestRetries ?? LINK_DRIVER_DEFAULTS.requestRetries;
    this.#requestTimeoutUs = options.requestTimeoutUs ?? LINK_DEFAULTS.requestTimeoutUs;
    this.#lingerUs = options.lingerUs ?? LINK_DRIVER_DEFAULTS.lingerUs;
    this.#flushBytes = options.flushBytes ?? LINK_DEFAULTS.flushBytes;
    this.#scratch = new ByteWriter({
      capacity: 1024,
      maxBytes: (options.maxMessageBytes ?? LINK_DEFAULTS.maxMessageBytes) + 1024,
    });
    // Promises nobody awaits must not be reported as unhandled.
    this.#opened.promise.catch(() => {});
    this.#sender = {
      respond: (id, opcode, type, value) => {
        if (this.#core.state !== "open") return;
        let payload: Uint8Array;
        if (type === undefined) {
          payload = value as Uint8Array;
        } else {
          this.#scratch.reset();
          type.encodeInto(this.#scratch, value);
          payload = this.#scratch.finish();
        }
        this.#core.respond(id, opcode, payload);
        this.#afterSend();
      },
      fail: (id, opcode, code, message) => {
        if (this.#core.state !== "open") return;
        this.#core.fail(id, opcode, { code, message });
        this.#afterSend();
      },
      retry: (id, opcode, waitMs, reason) => {
        if (this.#core.state !== "open") return;
        this.#core.retry(id, opcode, waitMs, reason);
        this.#afterSend();
      },
    };
    connection.start({
      data: (bytes) => {
        this.#core.receive(bytes, this.#platform.clock.now());
        this.#service();
        return this.#takeAsyncWork();
      },
      drain: () => {
        this.#writable = true;
        this.#service();
        return this.#takeAsyncWork();
      },
      close: (error) => {
        this.#transportClosed = true;
        if (this.#lingerTimer !== undefined) this.#platform.timers.clearTimeout(this.#lingerTimer);
        this.#core.transportClosed(error, this.#platform.clock.now());
        this.#service();
        return this.#takeAsyncWork();
      },
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Identity and state.

  /** The peer, once the handshake is done (or, for an acceptor, once the hello arrived). */
  get peer(): PeerInfo | undefined {
    return this.#peer;
  }
  /** The peer's address. */
  get remote(): { readonly address: string; readonly port: number } {
    return this.#connection.remote;
  }
  /** Our address. */
  get local(): { readonly address: string; readonly port: number } {
    return this.#connection.local;
  }
  /** `"open"` once the handshake is done; `"closed"` at the end. */
  get state(): string {
    return this.#core.state;
  }
  /** Whether the send queue is below its high-water mark. */
  get writable(): boolean {
    return this.#core.writable;
  }
  /** Resolves with the welcome when the handshake finishes; rejects if refused or closed first. */
  get opened(): Promise<WelcomeMessage> {
    return this.#opened.promise;
  }
  /** Resolves when the link is closed, with why. */
  get closed(): Promise<CloseInfo> {
    return this.#closed.promise;
  }
  /** Why the link closed, once it has. */
  get closeInfo(): CloseInfo | undefined {
    return this.#closeInfo;
  }
  /** Last measured round-trip time, µs. */
  get rttUs(): number | undefined {
    return this.#core.rttUs;
  }
  /** Load the peer reported in its last heartbeat (0 idle … 65535 overloaded). */
  get peerLoad(): number {
    return this.#core.peerLoad;
  }
  /** Our load, sent with each heartbeat. */
  get load(): number {
    return this.#core.load;
  }
  set load(value: number) {
    this.#core.load = value;
  }

  metrics(): LinkMetrics {
    const c = this.#core.counters;
    return {
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      framesIn: c.framesIn,
      framesOut: c.framesOut,
      messagesIn: c.messagesIn,
      messagesOut: c.messagesOut,
      queuedBytes: this.#core.queuedBytes + this.#connection.bufferedBytes,
      inboxDepth: this.#inbox.length - this.#inboxHead,
      pendingRequests: this.#pending.size,
      rttUs: this.#core.rttUs,
      peerLoad: this.#core.peerLoad,
    };
  }

  /** @internal The core, for the server's broadcast and tests. */
  get core(): LinkCore {
    return this.#core;
  }

  // ---------------------------------------------------------------------------------------------
  // Handshake (driven by the server and client).

  /** @internal Dialer: sends the hello. */
  start(hello: Parameters<LinkCore["start"]>[0]): void {
    this.#core.start(hello, this.#platform.clock.now());
    this.#service();
  }

  /** @internal Acceptor: accepts the hello. */
  accept(welcome: Parameters<LinkCore["accept"]>[0]): void {
    if (this.#core.state !== "authenticating") return; // closed while authenticating
    this.#core.accept(welcome, this.#platform.clock.now());
    this.#service();
  }

  /** @internal Acceptor: refuses the hello with a typed code the peer sees. */
  refuse(error: ServertalkError): void {
    if (this.#core.state !== "authenticating") return;
    this.#core.refuse(error, this.#platform.clock.now());
    this.#service();
  }

  // ---------------------------------------------------------------------------------------------
  // Sending.

  #encode<T>(type: MessageType<T, unknown>, value: T): Uint8Array {
    this.#scratch.reset();
    type.encodeInto(this.#scratch, value);
    return this.#scratch.finish();
  }

  /**
   * Sends a one-way message. Returns false when the queue is above its high-water mark: wait for
   * {@linkcode drained} before sending more. Throws `SERVERTALK_CLOSED` when the link is not open and
   * `SERVERTALK_QUEUE_FULL` past the hard limit.
   */
  send<T>(type: MessageType<T, unknown>, value: T): boolean {
    this.#core.notify(type.opcode, this.#encode(type, value));
    return this.#afterSend();
  }

  /** Sends a one-way message with a raw payload. */
  sendRaw(opcode: number, payload: Uint8Array): boolean {
    this.#core.notify(opcode, payload);
    return this.#afterSend();
  }

  /** @internal Queues a frame prepared once for many links (broadcast). */
  sendPrepared(frame: Uint8Array): boolean {
    this.#core.notifyPrepared(frame);
    return this.#afterSend();
  }

  /** Resolves when the send queue falls below its high-water mark (at once if it is). */
  drained(): Promise<void> {
    if (this.#core.writable || this.#core.state === "closed") return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * Sends a request and resolves with the decoded reply. Rejects with a `ServertalkError`: the
   * responder's error code, `SERVERTALK_TIMEOUT`, `SERVERTALK_RETRY_LATER` (retries used up),
   * `SERVERTALK_CLOSED`, `SERVERTALK_BAD_PAYLOAD` or `SERVERTALK_UNEXPECTED_REPLY`.
   */
  request<T, R>(type: MessageType<T, R>, value: T, options: RequestOptions = {}): Promise<ReplyOf<R>> {
    return this.#request(type as MessageType<unknown, unknown>, value, undefined, type.opcode, options) as Promise<
      ReplyOf<R>
    >;
  }

  /** Sends a request with a raw payload; resolves with the raw reply. */
  requestRaw(opcode: number, payload: Uint8Array, options: RequestOptions = {}): Promise<RawReply> {
    return this.#request(undefined, undefined, payload, opcode, options) as Promise<RawReply>;
  }

  #request(
    type: MessageType<unknown, unknown> | undefined,
    value: unknown,
    payload: Uint8Array | undefined,
    opcode: number,
    options: RequestOptions,
  ): Promise<unknown> {
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const pending: PendingRequest = {
      resolve,
      reject,
      type,
      opcode,
      value,
      payload,
      timeoutUs: options.timeoutUs ?? this.#requestTimeoutUs,
      retriesLeft: options.retries ?? this.#requestRetries,
      sentUs: 0,
    };
    try {
      this.#sendRequest(pending);
    } catch (error) {
      return Promise.reject(error);
    }
    return promise;
  }

  #sendRequest(pending: PendingRequest): void {
    const body = pending.type === undefined ? pending.payload! : this.#encode(pending.type, pending.value);
    const id = this.#core.request(pending.opcode, body, this.#platform.clock.now(), pending.timeoutUs);
    this.#pending.set(id, pending);
    this.#afterSend();
  }

  /** Measures the round trip with a ping answered by the peer's link core; resolves to µs. */
  ping(options: { timeoutUs?: number } = {}): Promise<number> {
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const now = this.#platform.clock.now();
    try {
      const id = this.#core.ping(now, options.timeoutUs ?? this.#requestTimeoutUs);
      this.#pending.set(id, {
        resolve,
        reject,
        type: undefined,
        opcode: -1,
        value: undefined,
        payload: undefined,
        timeoutUs: 0,
        retriesLeft: 0,
        sentUs: now,
      });
      this.#afterSend();
    } catch (error) {
      return Promise.reject(error);
    }
    return promise.then(() => this.#platform.clock.now() - now);
  }

  /** After queuing: flush at once for the first message of a turn or a chunk's worth, else at the turn's end. */
  #afterSend(): boolean {
    if (this.#core.queuedBytes >= this.#flushBytes) {
      this.#service();
    } else if (!this.#flushQueued && !this.#servicing) {
      // The first send of an event-loop turn goes out at once (a lone request waits for nothing);
      // the deferred flush ends the turn, and what is sent meanwhile leaves together then.
      this.#flushQueued = true;
      this.#platform.timers.defer(this.#flush);
      this.#service();
    }
    return this.#core.writable;
  }

  readonly #flush = (): Promise<void> | undefined => {
    if (!this.#flushQueued) return undefined; // cancelled with the timers
    this.#flushQueued = false;
    this.#service();
    return this.#takeAsyncWork();
  };

  /**
   * Promises started by handlers or the hello hook during the current callback, handed back to
   * whoever called it: the simulator's kernel then runs their continuations at the right virtual
   * time (real runtimes ignore the value).
   */
  #asyncWork: Promise<unknown>[] | undefined;

  #trackAsync(promise: Promise<unknown>): void {
    (this.#asyncWork ??= []).push(promise);
  }

  #takeAsyncWork(): Promise<void> | undefined {
    const work = this.#asyncWork;
    if (work === undefined) return undefined;
    this.#asyncWork = undefined;
    return Promise.allSettled(work).then(() => undefined);
  }

  // ---------------------------------------------------------------------------------------------
  // Closing.

  /**
   * Closes gracefully: requests arriving from now on get a retry reply, messages already received
   * are handled, queued sends are flushed, then a goodbye with `code` goes out and the connection ends.
   * Resolves when the link is closed.
   */
  close(
    code: string = ServertalkErrorCode.Shutdown,
    message = "Link closed by its owner",
  ): Promise<CloseInfo> {
    if (this.#core.state === "closed") return this.#closed.promise;
    this.#closing = true;
    this.#closeError = new ServertalkError(code, message);
    this.#maybeFinishClose();
    return this.#closed.promise;
  }

  #closeError: ServertalkError | undefined;

  #maybeFinishClose(): void {
    if (!this.#closing || this.#busy || this.#inboxHead < this.#inbox.length) return;
    const error = this.#closeError!;
    if (this.#core.state === "open") this.#core.close(error, this.#platform.clock.now(), true);
    else this.#core.close(error, this.#platform.clock.now(), false);
    this.#service();
  }

  /** Drops the connection at once (no goodbye). */
  destroy(): void {
    if (!this.#transportClosed) this.#connection.destroy();
  }

  // ---------------------------------------------------------------------------------------------
  // The driver loop.

  #service(): void {
    if (this.#servicing) {
      this.#serviceAgain = true;
      return;
    }
    this.#servicing = true;
    try {
      for (let rounds = 0; rounds < 1000; rounds++) {
        this.#serviceAgain = false;
        const now = this.#platform.clock.now();
        const ended = this.#core.state === "closed";
        const poll = this.#core.poll(now, this.#writable || ended);
        if (!this.#transportClosed) {
          for (const chunk of poll.chunks) {
            if (!this.#connection.write(chunk)) this.#writable = false;
          }
        }
        for (const event of poll.events) this.#onEvent(event);
        if (poll.ended && !this.#transportEnded) {
          this.#transportEnded = true;
          this.#endTransport();
        }
        this.#arm(poll.wakeAtUs, now);
        if (!this.#serviceAgain && poll.events.length === 0 && (poll.chunks.length === 0 || !this.#writable)) break;
      }
    } finally {
      this.#servicing = false;
    }
  }

  #endTransport(): void {
    this.#cancelTimers();
    if (this.#transportClosed) return;
    this.#connection.end();
    this.#lingerTimer = this.#platform.timers.setTimeout(() => {
      this.#lingerTimer = undefined;
      if (!this.#transportClosed) this.#connection.destroy();
    }, this.#lingerUs);
  }

  #cancelTimers(): void {
    const timers = this.#platform.timers;
    if (this.#wakeTimer !== undefined) timers.clearTimeout(this.#wakeTimer);
    this.#wakeTimer = undefined;
    this.#flushQueued = false;
    this.#wakeAtUs = Number.POSITIVE_INFINITY;
  }

  #arm(wakeAtUs: number, nowUs: number): void {
    if (this.#transportEnded || wakeAtUs === Number.POSITIVE_INFINITY) return;
    if (this.#wakeTimer !== undefined && wakeAtUs >= this.#wakeAtUs) return;
    if (this.#wakeTimer !== undefined) this.#platform.timers.clearTimeout(this.#wakeTimer);
    this.#wakeAtUs = wakeAtUs;
    this.#wakeTimer = this.#platform.timers.setTimeout(() => {
      this.#wakeTimer = undefined;
      this.#wakeAtUs = Number.POSITIVE_INFINITY;
      this.#service();
      return this.#takeAsyncWork();
    }, Math.max(1, wakeAtUs - nowUs));
  }

  #onEvent(event: LinkEvent): void {
    switch (event.type) {
      case "message":
        this.#enqueue(event.opcode, event.requestId, event.payload);
        return;
      case "response": {
        const pending = this.#pending.get(event.requestId);
        if (pending === undefined) return;
        this.#pending.delete(event.requestId);
        this.#settle(pending, event.opcode, event.payload);
        return;
      }
      case "failure": {
        const pending = this.#pending.get(event.requestId);
        if (pending === undefined) return;
        this.#pending.delete(event.requestId);
        pending.reject(event.error);
        return;
      }
      case "retry": {
        const pending = this.#pending.get(event.requestId);
        if (pending === undefined) return;
        this.#pending.delete(event.requestId);
        this.#retry(pending, event.waitMs, event.reason);
        return;
      }
      case "heartbeat":
        this.#hooks.onHeartbeat?.(this, event.load, event.rttUs);
        return;
      case "drain": {
        const waiters = this.#drainWaiters;
        this.#drainWaiters = [];
        for (const resolve of waiters) resolve();
        return;
      }
      case "hello":
        this.#peer = {
          name: event.hello.name,
          role: event.hello.role,
          account: event.hello.account,
          buildId: event.hello.buildId,
          protocolVersion: event.hello.protocolVersion,
          features: event.hello.features,
        };
        if (this.#hooks.onHello === undefined) {
          this.refuse(
            new ServertalkError(ServertalkErrorCode.AuthUnavailable, "Cannot accept link: nobody accepts hellos here"),
          );
        } else {
          const pending = this.#hooks.onHello(this, event.hello);
          if (pending !== undefined) this.#trackAsync(pending);
        }
        return;
      case "open":
        if (this.#core.side === "dialer") {
          this.#peer = {
            name: event.welcome.serverName,
            role: event.welcome.role,
            account: "",
            buildId: event.welcome.buildId,
            protocolVersion: event.welcome.protocolVersion,
            features: event.welcome.features,
          };
        } else {
          this.#peer = { ...this.#peer!, features: event.welcome.features };
        }
        this.#opened.resolve(event.welcome);
        this.#hooks.onOpen?.(this);
        return;
      case "closed":
        this.#onClosed({ error: event.error, byPeer: event.byPeer });
        return;
    }
  }

  #settle(pending: PendingRequest, opcode: number, payload: Uint8Array): void {
    if (pending.opcode === -1 || pending.type === undefined || pending.type.reply === undefined) {
      pending.resolve({ opcode, payload });
      return;
    }
    const reply = pending.type.reply;
    if (opcode !== reply.opcode) {
      pending.reject(
        new ServertalkError(
          ServertalkErrorCode.UnexpectedReply,
          `Cannot accept reply to ${pending.type.name}: opcode ${opcodeName(opcode)} is not ${reply.name}'s ${
            opcodeName(reply.opcode)
          }`,
        ),
      );
      return;
    }
    try {
      pending.resolve(reply.decode(payload));
    } catch (error) {
      pending.reject(error as ServertalkError);
    }
  }

  #retry(pending: PendingRequest, waitMs: number, reason: string): void {
    if (pending.retriesLeft <= 0 || this.#closing) {
      pending.reject(
        new ServertalkError(
          ServertalkErrorCode.RetryLater,
          `Cannot complete request: peer asked to retry later (${reason})`,
          {
            retryAfterMs: waitMs,
          },
        ),
      );
      return;
    }
    pending.retriesLeft--;
    this.#platform.timers.setTimeout(() => {
      try {
        this.#sendRequest(pending);
      } catch (error) {
        pending.reject(error as ServertalkError);
      }
    }, Math.max(1, waitMs) * 1000);
  }

  #onClosed(info: CloseInfo): void {
    if (this.#closeInfo !== undefined) return;
    this.#closeInfo = info;
    this.#closing = true;
    this.#inbox.length = 0;
    this.#inboxHead = 0;
    this.#inboxBytes = 0;
    const reason = new ServertalkError(
      ServertalkErrorCode.Closed,
      `Cannot complete request: link closed (${info.error.code})`,
      {
        cause: info.error,
      },
    );
    for (const pending of this.#pending.values()) pending.reject(reason);
    this.#pending.clear();
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
    this.#opened.reject(info.error);
    this.#closed.resolve(info);
    this.#hooks.onClose?.(this, info);
  }

  // ---------------------------------------------------------------------------------------------
  // Ordered dispatch.

  #enqueue(opcode: number, requestId: number | undefined, payload: Uint8Array): void {
    if (this.#closing && requestId !== undefined) {
      this.#sender.retry(requestId, opcode, 1000, "link is closing");
      return;
    }
    this.#inboxBytes += payload.length;
    if (this.#inboxBytes > this.#maxInboxBytes) {
      this.#core.close(
        new ServertalkError(
          ServertalkErrorCode.InboundOverflow,
          `Cannot queue message for its handler: ${this.#inboxBytes} bytes waiting exceed limit ${this.#maxInboxBytes}`,
        ),
        this.#platform.clock.now(),
        false,
      );
      this.#serviceAgain = true;
      return;
    }
    if (!this.#busy && this.#inboxHead === this.#inbox.length) {
      // Nothing waiting: dispatch at once, without queuing.
      this.#inboxBytes -= payload.length;
      this.#dispatch(opcode, requestId, payload);
      this.#maybeFinishClose();
      return;
    }
    this.#inbox.push({ opcode, requestId, payload });
    if (!this.#busy) this.#pump();
  }

  #pump(): void {
    const inbox = this.#inbox;
    while (!this.#busy && this.#inboxHead < inbox.length) {
      const item = inbox[this.#inboxHead]!;
      inbox[this.#inboxHead++] = undefined as unknown as InboxItem;
      this.#inboxBytes -= item.payload.length;
      this.#dispatch(item.opcode, item.requestId, item.payload);
    }
    if (this.#inboxHead === inbox.length) {
      inbox.length = 0;
      this.#inboxHead = 0;
    }
    this.#maybeFinishClose();
  }

  #dispatch(opcode: number, requestId: number | undefined, payload: Uint8Array): void {
    const route = this.#router.route(opcode);
    if (route === undefined) {
      if (requestId !== undefined) {
        this.#sender.fail(requestId, opcode, ServertalkErrorCode.NoHandler, `No handler for ${opcodeName(opcode)}`);
      } else {
        this.#platform.log.warn("servertalk: no handler for message", { link: this.id, opcode: opcodeName(opcode) });
      }
      return;
    }
    let message: unknown = payload;
    if (route.type !== undefined) {
      try {
        message = route.type.decode(payload);
      } catch (error) {
        const failure = error as ServertalkError;
        if (requestId !== undefined) {
          this.#sender.fail(requestId, opcode, failure.code, failure.message);
        } else {
          this.#core.close(failure, this.#platform.clock.now(), false);
          this.#serviceAgain = true;
        }
        return;
      }
    }
    const context = new Context(this, this.#sender, opcode, route.type, message, payload, requestId);
    const chain = route.chain;
    // The common case, one handler without `next` that finishes synchronously, needs no chain runner.
    if (chain.length === 1 && chain[0]!.length < 2) {
      let result: void | Promise<void>;
      try {
        result = chain[0]!(context as unknown as MessageContext<never, never>, noop);
      } catch (error) {
        this.#onChainDone(context, error ?? new Error("handler threw"), true);
        return;
      }
      if (result === undefined || typeof (result as Promise<void>).then !== "function") {
        this.#onChainDone(context, undefined, true);
        return;
      }
      this.#busy = true;
      this.#trackAsync(result);
      let settled = false;
      let timer: TimerId | undefined;
      const settle = (error: unknown) => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) this.#platform.timers.clearTimeout(timer);
        this.#onChainDone(context, error, false);
      };
      timer = this.#platform.timers.setTimeout(() => {
        timer = undefined;
        settle(
          new ServertalkError(
            ServertalkErrorCode.HandlerTimeout,
            `Handler chain for ${opcodeName(opcode)} did not finish within ${this.#handlerTimeoutUs} µs`,
          ),
        );
      }, this.#handlerTimeoutUs);
      (result as Promise<void>).then(
        () => settle(undefined),
        (error) => settle(error ?? new Error("handler rejected")),
      );
      return;
    }
    const run = new ChainRun(
      context,
      route.chain,
      this.#platform,
      this.#handlerTimeoutUs,
      this.#onChainDone,
      this.#onAsync,
    );
    this.#busy = true;
    run.start();
  }

  readonly #onAsync = (promise: Promise<unknown>): void => this.#trackAsync(promise);

  readonly #onChainDone = (context: Context, error: unknown, synchronous: boolean): void => {
    if (error !== undefined) {
      const failure = error instanceof ServertalkError ? error : new ServertalkError(
        ServertalkErrorCode.HandlerFailed,
        error instanceof Error ? error.message : String(error),
      );
      if (!(error instanceof ServertalkError) || error.code === ServertalkErrorCode.HandlerTimeout) {
        this.#platform.log.error("servertalk: handler failed", {
          link: this.id,
          opcode: opcodeName(context.opcode),
          error: failure.message,
        });
      }
      if (context.isRequest && !context.replied) context.fail(failure.code, failure.message);
    } else if (context.isRequest && !context.replied) {
      context.fail(
        ServertalkErrorCode.NoReply,
        `Handler chain for ${opcodeName(context.opcode)} finished without replying`,
      );
    }
    this.#busy = false;
    if (!synchronous) {
      this.#pump();
      this.#service();
    }
  };
}

/** The context of one message; see {@linkcode MessageContext}. */
class Context implements MessageContext<unknown, unknown> {
  readonly link: Link;
  readonly opcode: number;
  readonly type: MessageType<unknown, unknown> | undefined;
  readonly message: unknown;
  readonly payload: Uint8Array;
  readonly requestId: number | undefined;
  readonly #sender: ReplySender;
  #replied = false;

  constructor(
    link: Link,
    sender: ReplySender,
    opcode: number,
    type: MessageType<unknown, unknown> | undefined,
    message: unknown,
    payload: Uint8Array,
    requestId: number | undefined,
  ) {
    this.link = link;
    this.#sender = sender;
    this.opcode = opcode;
    this.type = type;
    this.message = message;
    this.payload = payload;
    this.requestId = requestId;
  }

  get isRequest(): boolean {
    return this.requestId !== undefined;
  }
  get replied(): boolean {
    return this.#replied;
  }

  #claim(what: string): number {
    if (this.requestId === undefined) {
      throw new ServertalkError(
        ServertalkErrorCode.BadArgument,
        `Cannot ${what}: ${opcodeName(this.opcode)} is a one-way message`,
      );
    }
    if (this.#replied) {
      throw new ServertalkError(
        ServertalkErrorCode.BadArgument,
        `Cannot ${what}: request ${this.requestId} was already answered`,
      );
    }
    this.#replied = true;
    return this.requestId;
  }

  reply(value: unknown): void {
    const reply = this.type?.reply;
    if (reply === undefined) {
      throw new ServertalkError(
        ServertalkErrorCode.BadArgument,
        `Cannot reply to ${opcodeName(this.opcode)}: it declares no reply type (use replyRaw)`,
      );
    }
    const id = this.#claim("reply");
    this.#sender.respond(id, reply.opcode, reply, value);
  }

  replyRaw(opcode: number, payload: Uint8Array): void {
    this.#sender.respond(this.#claim("reply"), opcode, undefined, payload);
  }

  fail(code: string, message: string): void {
    this.#sender.fail(this.#claim("fail"), this.opcode, code, message);
  }

  retry(waitMs: number, reason: string): void {
    this.#sender.retry(this.#claim("retry"), this.opcode, waitMs, reason);
  }
}

/** Runs one message's handler chain; see `Handler` for the rules about `next`. */
class ChainRun {
  readonly #context: Context;
  readonly #chain: readonly Handler<never, never>[];
  readonly #platform: Platform;
  readonly #timeoutUs: number;
  readonly #done: (context: Context, error: unknown, synchronous: boolean) => void;
  readonly #onAsync: (promise: Promise<unknown>) => void;
  #index = 0;
  #token = 0;
  #waiting = false;
  #stepping = false;
  /** True while `start` runs: a chain that ends then ended synchronously. */
  #starting = false;
  #finished = false;
  #timer: TimerId | undefined;

  constructor(
    context: Context,
    chain: readonly Handler<never, never>[],
    platform: Platform,
    timeoutUs: number,
    done: (context: Context, error: unknown, synchronous: boolean) => void,
    onAsync: (promise: Promise<unknown>) => void,
  ) {
    this.#onAsync = onAsync;
    this.#context = context;
    this.#chain = chain;
    this.#platform = platform;
    this.#timeoutUs = timeoutUs;
    this.#done = done;
  }

  start(): void {
    this.#starting = true;
    try {
      this.#step();
    } finally {
      this.#starting = false;
    }
  }

  #step(): void {
    this.#stepping = true;
    try {
      while (!this.#finished) {
        if (this.#waiting) {
          this.#armTimeout();
          return;
        }
        const handler = this.#chain[this.#index++];
        if (handler === undefined) {
          this.#finish(undefined);
          return;
        }
        const token = ++this.#token;
        this.#waiting = true;
        let result: void | Promise<void>;
        const usesNext = handler.length >= 2;
        try {
          // Routes are keyed by opcode, so the context matches the handler's declared type.
          result = handler(
            this.#context as unknown as MessageContext<never, never>,
            usesNext ? ((error?: unknown) => this.#next(token, error)) : noop,
          );
        } catch (error) {
          this.#next(token, error ?? new Error("handler threw"));
          continue;
        }
        const isPromise = result !== undefined && typeof (result as Promise<void>).then === "function";
        if (isPromise) {
          this.#onAsync(result as Promise<void>);
          (result as Promise<void>).then(
            () => {
              if (!usesNext) this.#next(token, undefined);
            },
            (error) => this.#next(token, error ?? new Error("handler rejected")),
          );
        } else if (!usesNext) {
          this.#waiting = false;
        }
      }
    } finally {
      this.#stepping = false;
    }
  }

  #next(token: number, error: unknown): void {
    if (token !== this.#token || !this.#waiting || this.#finished) return; // late or repeated call
    this.#waiting = false;
    if (error !== undefined && error !== null) {
      this.#finish(error);
      return;
    }
    if (!this.#stepping) this.#step();
  }

  #armTimeout(): void {
    if (this.#timer !== undefined) return;
    this.#timer = this.#platform.timers.setTimeout(() => {
      this.#timer = undefined;
      if (this.#finished) return;
      this.#token++;
      this.#finish(
        new ServertalkError(
          ServertalkErrorCode.HandlerTimeout,
          `Handler chain for ${opcodeName(this.#context.opcode)} did not finish within ${this.#timeoutUs} µs`,
        ),
      );
    }, this.#timeoutUs);
  }

  #finish(error: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#timer !== undefined) this.#platform.timers.clearTimeout(this.#timer);
    this.#done(this.#context, error, this.#starting);
  }
}

const noop: Next = () => {};
