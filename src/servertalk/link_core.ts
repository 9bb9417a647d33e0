/**
 * The sans-IO servertalk link: one side of one connection as a state machine fed bytes and time.
 *
 * `receive(chunk, nowUs)` takes bytes from the transport, the `send…` methods queue messages, and
 * `poll(nowUs)` returns `{ chunks, events, wakeAtUs, ended }`: bytes to write, what happened (in
 * order), when to call `poll` again at the latest, and whether the transport should now be ended.
 * The core owns no socket, timer or promise; `Link` (link.ts) drives it over a `TcpConnection`.
 *
 * It handles framing, the handshake, request ids and deadlines, error and retry replies,
 * notifications, streams (messages larger than a frame), heartbeats with load and RTT, LZ4,
 * back-pressure accounting, and protocol errors (a `Goodbye` with a code, then close).
 * @module
 */
import { ByteReader } from "../wire/byte_reader.ts";
import { ByteWriter } from "../wire/byte_writer.ts";
import { lz4Compress, lz4Decompress } from "../wire/lz4.ts";
import { WireError } from "../wire/wire_error.ts";
import { DeadlineHeap } from "./_deadline_heap.ts";
import {
  ALL_FEATURES,
  ErrorReply,
  Feature,
  Goodbye,
  Heartbeat,
  Hello,
  HELLO_MAGIC,
  type HelloMessage,
  PROTOCOL_VERSION,
  RetryReply,
  Welcome,
  type WelcomeMessage,
} from "./control.ts";
import {
  DEFAULT_MAX_FRAME_BYTES,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameFlag,
  headerBytes,
  KIND_MASK,
  REQUEST_ID_BYTES,
  writeFrameHeader,
} from "./frame.ts";
import { Opcode } from "./opcodes.ts";
import { ServertalkError, ServertalkErrorCode } from "./servertalk_error.ts";

/** Compression policy: never, when the payload reaches the threshold and shrinks, or for every payload. */
export type CompressionMode = "off" | "auto" | "always";

/** Limits and timers of a link. Every field has a documented default in {@linkcode LINK_DEFAULTS}. */
export interface LinkLimits {
  /** Largest frame accepted (and the largest this side asks the peer to send). */
  readonly maxFrameBytes?: number;
  /** Largest message, streamed or not, accepted from the peer. */
  readonly maxMessageBytes?: number;
  /** LZ4 policy for outgoing frames. */
  readonly compression?: CompressionMode;
  /** In `"auto"` mode, payloads of at least this many bytes are compressed (and sent so if smaller). */
  readonly compressThresholdBytes?: number;
  /** Above this many queued bytes the link reports back-pressure (`send` returns false). */
  readonly highWaterBytes?: number;
  /** Queuing past this many bytes fails with `SERVERTALK_QUEUE_FULL`. */
  readonly maxQueuedBytes?: number;
  /** Largest chunk handed to the transport at once. */
  readonly flushBytes?: number;
  /** Largest part of a streamed message. */
  readonly streamPartBytes?: number;
  /** Outgoing requests awaiting a reply, at most. */
  readonly maxPendingRequests?: number;
  /** Incoming requests not yet answered, at most; more get a retry reply. */
  readonly maxConcurrentRequests?: number;
  /** Incoming streams being received at once, at most. */
  readonly maxConcurrentStreams?: number;
  /** Received bytes held for ordering or reassembly, at most. */
  readonly maxInboundBytes?: number;
  /** Default deadline of a request. */
  readonly requestTimeoutUs?: number;
  /** How often a heartbeat is sent. */
  readonly heartbeatIntervalUs?: number;
  /** Close when nothing arrives for this long. */
  readonly heartbeatTimeoutUs?: number;
  /** Close when the handshake has not finished within this long. */
  readonly handshakeTimeoutUs?: number;
  /** The wait announced in automatic retry replies (too many concurrent requests). */
  readonly retryWaitMs?: number;
}

/** Defaults of {@linkcode LinkLimits}. */
export const LINK_DEFAULTS = {
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxMessageBytes: 10 * 1024 * 1024,
  compression: "auto",
  compressThresholdBytes: 1024,
  highWaterBytes: 1024 * 1024,
  maxQueuedBytes: 32 * 1024 * 1024,
  flushBytes: 64 * 1024,
  streamPartBytes: 64 * 1024,
  maxPendingRequests: 4096,
  maxConcurrentRequests: 1024,
  maxConcurrentStreams: 4,
  maxInboundBytes: 32 * 1024 * 1024,
  requestTimeoutUs: 10_000_000,
  heartbeatIntervalUs: 15_000_000,
  heartbeatTimeoutUs: 30_000_000,
  handshakeTimeoutUs: 10_000_000,
  retryWaitMs: 100,
} as const satisfies Required<LinkLimits>;

/** Options of {@linkcode LinkCore}. */
export interface LinkCoreOptions extends LinkLimits {
  /** The dialer sends the hello; the acceptor answers it. */
  readonly side: "dialer" | "acceptor";
  /** Features this side offers; default every implemented feature. */
  readonly features?: number;
}

/** Where a link is in its life. */
export type LinkState = "idle" | "hello-sent" | "awaiting-hello" | "authenticating" | "open" | "closed";

/** What a link reports through {@linkcode LinkCore.poll}, in order. */
export type LinkEvent =
  /** Acceptor: a hello arrived; answer with `accept` or `refuse`. */
  | { readonly type: "hello"; readonly hello: HelloMessage }
  /** The handshake finished; messages may flow. */
  | { readonly type: "open"; readonly hello: HelloMessage; readonly welcome: WelcomeMessage }
  /** A request (`requestId` > 0… any u32) or a one-way message (`requestId` undefined), in the order the peer sent them. */
  | {
    readonly type: "message";
    readonly opcode: number;
    readonly requestId: number | undefined;
    readonly payload: Uint8Array;
  }
  /** The successful reply to one of our requests. */
  | { readonly type: "response"; readonly requestId: number; readonly opcode: number; readonly payload: Uint8Array }
  /** One of our requests failed: error reply, timeout, or link closed. */
  | { readonly type: "failure"; readonly requestId: number; readonly error: ServertalkError }
  /** The peer asked us to retry one of our requests after `waitMs`. */
  | { readonly type: "retry"; readonly requestId: number; readonly waitMs: number; readonly reason: string }
  /** A heartbeat arrived: the peer's load, and the RTT when it echoed one of ours. */
  | { readonly type: "heartbeat"; readonly load: number; readonly rttUs: number | undefined }
  /** The send queue fell back below the high-water mark. */
  | { readonly type: "drain" }
  /** The link is closed; `byPeer` when the peer said goodbye or the transport closed. Always the last event. */
  | { readonly type: "closed"; readonly error: ServertalkError; readonly byPeer: boolean };

/** The result of {@linkcode LinkCore.poll}. */
export interface LinkPoll {
  /** Bytes to write to the transport, in order. */
  readonly chunks: Uint8Array[];
  readonly events: LinkEvent[];
  /** Call `poll` again no later than this (µs); `Infinity` when nothing is scheduled. */
  readonly wakeAtUs: number;
  /** After writing `chunks`, end the transport: the link is finished. */
  readonly ended: boolean;
}

/** Counters of one link. */
export interface LinkCounters {
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  messagesIn: number;
  messagesOut: number;
}

interface OutStream {
  readonly opcode: number;
  /** Kind bit plus Stream. */
  readonly flags: number;
  readonly id: number;
  readonly payload: Uint8Array;
  offset: number;
}

interface InStream {
  readonly opcode: number;
  readonly buffer: Uint8Array;
  filled: number;
  /** For ordered kinds: the hold-back slot this stream fills. */
  readonly slot: HeldSlot | undefined;
}

interface HeldSlot {
  event: LinkEvent | undefined;
  bytes: number;
}

const heartbeatWriter = new ByteWriter({ capacity: 64 });

function option<K extends keyof LinkLimits>(options: LinkLimits, key: K): NonNullable<LinkLimits[K]> {
  const value = options[key] ?? LINK_DEFAULTS[key];
  if (typeof value === "number" && !(Number.isFinite(value) && value >= 0)) {
    throw new ServertalkError(
      ServertalkErrorCode.BadArgument,
      `Invalid link option ${key}: ${value} is not a non-negative number`,
    );
  }
  return value as NonNullable<LinkLimits[K]>;
}

/** A servertalk link as a sans-IO state machine. See the module documentation. */
export class LinkCore {
  readonly side: "dialer" | "acceptor";
  readonly counters: LinkCounters = {
    bytesIn: 0,
    bytesOut: 0,
    framesIn: 0,
    framesOut: 0,
    messagesIn: 0,
    messagesOut: 0,
  };

  readonly #maxFrameBytes: number;
  readonly #maxMessageBytes: number;
  readonly #compression: CompressionMode;
  readonly #compressThreshold: number;
  readonly #highWater: number;
  readonly #maxQueued: number;
  readonly #flushBytes: number;
  readonly #streamPartBytes: number;
  readonly #maxPending: number;
  readonly #maxConcurrentRequests: number;
  readonly #maxConcurrentStreams: number;
  readonly #maxInbound: number;
  readonly #requestTimeoutUs: number;
  readonly #heartbeatIntervalUs: number;
  readonly #heartbeatTimeoutUs: number;
  readonly #handshakeTimeoutUs: number;
  readonly #retryWaitMs: number;
  readonly #features: number;

  #state: LinkState;
  #hello: HelloMessage | undefined;
  #welcome: WelcomeMessage | undefined;
  #helloId = 0;
  #peerMaxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
  #peerMaxMessageBytes = LINK_DEFAULTS.maxMessageBytes;
  #agreedFeatures = 0;

  readonly #decoder: FrameDecoder;
  #out: ByteWriter;
  readonly #outStreams: OutStream[] = [];
  #outStreamBytes = 0;
  #events: LinkEvent[] = [];
  #aboveHighWater = false;
  #ended = false;
  #goodbyeAfterStreams: ServertalkError | undefined;

  #nextId = 1;
  readonly #pending = new Set<number>();
  readonly #deadlines = new DeadlineHeap();
  readonly #incoming = new Set<number>();

  readonly #inStreams = [new Map<number, InStream>(), new Map<number, InStream>(), new Map<number, InStream>()];
  #inStreamCount = 0;
  readonly #held: HeldSlot[] = [];
  #heldHead = 0;
  #inboundBytes = 0;

  #lastReceivedUs = 0;
  #deadlineUs = Number.POSITIVE_INFINITY;
  #nextHeartbeatUs = Number.POSITIVE_INFINITY;
  #load = 0;
  #peerLoad = 0;
  #peerHeartbeatSentUs = 0;
  #peerHeartbeatReceivedUs = 0;
  #rttUs: number | undefined;

  constructor(options: LinkCoreOptions) {
    this.side = options.side;
    this.#maxFrameBytes = option(options, "maxFrameBytes");
    this.#maxMessageBytes = option(options, "maxMessageBytes");
    this.#compression = option(options, "compression");
    this.#compressThreshold = option(options, "compressThresholdBytes");
    this.#highWater = option(options, "highWaterBytes");
    this.#maxQueued = option(options, "maxQueuedBytes");
    this.#flushBytes = Math.max(1024, option(options, "flushBytes"));
    this.#streamPartBytes = Math.max(1024, option(options, "streamPartBytes"));
    this.#maxPending = option(options, "maxPendingRequests");
    this.#maxConcurrentRequests = option(options, "maxConcurrentRequests");
    this.#maxConcurrentStreams = option(options, "maxConcurrentStreams");
    this.#maxInbound = option(options, "maxInboundBytes");
    this.#requestTimeoutUs = option(options, "requestTimeoutUs");
    this.#heartbeatIntervalUs = option(options, "heartbeatIntervalUs");
    this.#heartbeatTimeoutUs = option(options, "heartbeatTimeoutUs");
    this.#handshakeTimeoutUs = option(options, "handshakeTimeoutUs");
    this.#retryWaitMs = option(options, "retryWaitMs");
    this.#features = (options.features ?? ALL_FEATURES) & ALL_FEATURES;
    if (this.#maxFrameBytes < 256) {
      throw new ServertalkError(
        ServertalkErrorCode.BadArgument,
        `Invalid link option maxFrameBytes: ${this.#maxFrameBytes} is below the minimum 256`,
      );
    }
    this.#decoder = new FrameDecoder({ maxFrameBytes: this.#maxFrameBytes });
    this.#out = new ByteWriter({ capacity: 4096, maxBytes: this.#maxQueued + this.#maxFrameBytes });
    this.#state = options.side === "dialer" ? "idle" : "awaiting-hello";
  }

  // ---------------------------------------------------------------------------------------------
  // State.

  get state(): LinkState {
    return this.#state;
  }
  /** The peer's hello (acceptor) or ours (dialer), once sent or received. */
  get hello(): HelloMessage | undefined {
    return this.#hello;
  }
  /** The acceptor's welcome, once the link is open. */
  get welcome(): WelcomeMessage | undefined {
    return this.#welcome;
  }
  /** Features both sides announced. */
  get features(): number {
    return this.#agreedFeatures;
  }
  /** Bytes queued and not yet handed out by `poll`. */
  get queuedBytes(): number {
    return this.#out.length + this.#outStreamBytes;
  }
  /** Whether the queue is below the high-water mark. */
  get writable(): boolean {
    return this.#state !== "closed" && !this.#aboveHighWater;
  }
  /** Outgoing requests awaiting a reply. */
  get pendingRequests(): number {
    return this.#pending.size;
  }
  /** Incoming requests not answered yet. */
  get openRequests(): number {
    return this.#incoming.size;
  }
  /** The last round-trip time measured from heartbeats, µs. */
  get rttUs(): number | undefined {
    return this.#rttUs;
  }
  /** The load the peer reported in its last heartbeat. */
  get peerLoad(): number {
    return this.#peerLoad;
  }
  /** Our load, sent in heartbeats (0 idle … 65535 overloaded). */
  get load(): number {
    return this.#load;
  }
  set load(value: number) {
    this.#load = Math.max(0, Math.min(0xffff, Math.round(value)));
  }

  // ---------------------------------------------------------------------------------------------
  // Handshake.

  /** Dialer: sends the hello. `magic`, `protocolVersion`, `features` and the frame limits are filled in. */
  start(
    hello: Omit<HelloMessage, "magic" | "protocolVersion" | "features" | "maxFrameBytes" | "maxMessageBytes"> & {
      /** Announce another protocol version (diagnostics: seeing a server refuse it). */
      readonly protocolVersion?: number;
    },
    nowUs: number,
  ): void {
    if (this.side !== "dialer" || this.#state !== "idle") {
      throw new ServertalkError(
        ServertalkErrorCode.BadArgument,
        `Cannot start link: it is a ${this.side} in state ${this.#state}`,
      );
    }
    const full: HelloMessage = {
      magic: HELLO_MAGIC,
      features: this.#features,
      ...hello,
      protocolVersion: hello.protocolVersion ?? PROTOCOL_VERSION,
      maxFrameBytes: this.#maxFrameBytes,
      maxMessageBytes: this.#maxMessageBytes,
    };
    this.#hello = full;
    this.#helloId = this.#allocateId();
    this.#writeFrame(Opcode.Hello, FrameFlag.Request, this.#helloId, Hello.encode(full));
    this.#state = "hello-sent";
    this.#lastReceivedUs = nowUs;
    this.#deadlineUs = nowUs + this.#handshakeTimeoutUs;
  }

  /** Acceptor: answers the hello with a welcome; the link opens. */
  accept(welcome: { serverName: string; role: number; linkId: number; buildId: string }, nowUs: number): void {
    if (this.#state !== "authenticating" || this.#hello === undefined) {
      throw new ServertalkError(ServertalkErrorCode.BadArgument, `Cannot accept link: it is in state ${this.#state}`);
    }
    const hello = this.#hello;
    this.#agreedFeatures = hello.features & this.#features;
    this.#peerMaxFrameBytes = hello.maxFrameBytes;
    this.#peerMaxMessageBytes = hello.maxMessageBytes;
    const full: WelcomeMessage = {
      protocolVersion: PROTOCOL_VERSION,
      features: this.#agreedFeatures,
      buildId: welcome.buildId,
      serverName: welcome.serverName,
      role: welcome.role,
      linkId: welcome.linkId,
      heartbeatIntervalMs: Math.round(this.#heartbeatIntervalUs / 1000),
      maxFrameBytes: this.#maxFrameBytes,
      maxMessageBytes: this.#maxMessageBytes,
    };
    this.#welcome = full;
    this.#incoming.delete(this.#helloId);
    this.#writeFrame(Opcode.Welcome, FrameFlag.Response, this.#helloId, Welcome.encode(full));
    this.#open(nowUs);
    this.#events.push({ type: "open", hello, welcome: full });
  }

  /** Acceptor: refuses the hello with `error`'s code and message; the link closes. */
  refuse(error: ServertalkError, nowUs: number): void {
    if (this.#state !== "authenticating") {
      throw new ServertalkError(ServertalkErrorCode.BadArgument, `Cannot refuse link: it is in state ${this.#state}`);
    }
    this.#writeFrame(
      Opcode.Hello,
      FrameFlag.Error,
      this.#helloId,
      ErrorReply.encode({
        code: error.code,
        message: error.message.slice(0, 1000),
        retryAfterMs: error.retryAfterMs ?? 0,
      }),
    );
    this.#finish(error, false, nowUs, false);
  }

  #open(nowUs: number): void {
    this.#state = "open";
    this.#lastReceivedUs = nowUs;
    this.#deadlineUs = Number.POSITIVE_INFINITY;
    this.#nextHeartbeatUs = nowUs + this.#heartbeatIntervalUs;
  }

  // ---------------------------------------------------------------------------------------------
  // Sending.

  #allocateId(): number {
    // Ids are u32 and skip 0; one still pending after wrapping around is skipped too.
    for (;;) {
      const id = this.#nextId;
      this.#nextId = id === 0xffff_ffff ? 1 : id + 1;
      if (!this.#pending.has(id)) return id;
    }
  }

  #checkOpen(what: string): void {
    if (this.#state !== "open") {
      throw new ServertalkError(ServertalkErrorCode.Closed, `Cannot send ${what}: link is ${this.#state}`);
    }
  }

  /** Sends a one-way message. Returns `writable` (false: wait for a `drain` event). */
  notify(opcode: number, payload: Uint8Array): boolean {
    this.#checkOpen("message");
    this.#enqueue(opcode, FrameFlag.Notify, this.#allocateStreamId(payload), payload);
    return !this.#aboveHighWater;
  }

  /** Queues an already framed one-way message (see {@linkcode prepareFrame}); used to fan one payload out. */
  notifyPrepared(frame: Uint8Array): boolean {
    this.#checkOpen("message");
    this.#reserve(frame.length);
    this.#out.bytes(frame);
    this.counters.framesOut++;
    this.counters.messagesOut++;
    this.#checkHighWater();
    return !this.#aboveHighWater;
  }

  #allocateStreamId(payload: Uint8Array): number {
    // A one-way message needs an id only when it will be streamed.
    return payload.length + REQUEST_ID_BYTES + FRAME_HEADER_BYTES > this.#frameLimit() ? this.#allocateId() : 0;
  }

  /** Sends a request; returns its id. Its outcome arrives as a `response`, `failure` or `retry` event. */
  request(opcode: number, payload: Uint8Array, nowUs: number, timeoutUs = this.#requestTimeoutUs): number {
    this.#checkOpen("request");
    if (this.#pending.size >= this.#maxPending) {
      throw new ServertalkError(
        ServertalkErrorCode.TooManyRequests,
        `Cannot send request: ${this.#pending.size} requests are pending, limit ${this.#maxPending}`,
      );
    }
    const id = this.#allocateId();
    this.#enqueue(opcode, FrameFlag.Request, id, payload);
    this.#pending.add(id);
    this.#deadlines.push(nowUs + timeoutUs, id);
    return id;
  }

  /** Sends a ping (a KeepAlive request) answered by the peer's core; its `response` event measures the RTT. */
  ping(nowUs: number, timeoutUs = this.#requestTimeoutUs): number {
    return this.request(Opcode.KeepAlive, this.#heartbeatPayload(nowUs), nowUs, timeoutUs);
  }

  #takeIncoming(id: number, what: string): void {
    if (!this.#incoming.delete(id)) {
      throw new ServertalkError(
        ServertalkErrorCode.BadArgument,
        `Cannot send ${what}: request ${id} is not awaiting a reply`,
      );
    }
  }

  /** Answers request `id` successfully. */
  respond(id: number, opcode: number, payload: Uint8Array): boolean {
    this.#checkOpen("response");
    this.#takeIncoming(id, "response");
    this.#enqueue(opcode, FrameFlag.Response, id, payload);
    return !this.#aboveHighWater;
  }

  /** Answers request `id` with an error: the requester must not retry it as is. */
  fail(
    id: number,
    opcode: number,
    error: { code: string; message: string; retryAfterMs?: number | undefined },
  ): boolean {
    this.#checkOpen("error reply");
    this.#takeIncoming(id, "error reply");
    this.#enqueue(
      opcode,
      FrameFlag.Error,
      id,
      ErrorReply.encode({
        code: error.code,
        message: error.message.slice(0, 1000),
        retryAfterMs: error.retryAfterMs ?? 0,
      }),
    );
    return !this.#aboveHighWater;
  }

  /** Answers request `id` with "retry after `waitMs`". */
  retry(id: number, opcode: number, waitMs: number, reason: string): boolean {
    this.#checkOpen("retry reply");
    this.#takeIncoming(id, "retry reply");
    this.#enqueue(opcode, FrameFlag.Retry, id, RetryReply.encode({ waitMs, reason: reason.slice(0, 1000) }));
    return !this.#aboveHighWater;
  }

  #frameLimit(): number {
    return Math.min(this.#peerMaxFrameBytes, this.#maxFrameBytes);
  }

  #reserve(bytes: number): void {
    const queued = this.#out.length + this.#outStreamBytes;
    if (queued + bytes > this.#maxQueued) {
      throw new ServertalkError(
        ServertalkErrorCode.QueueFull,
        `Cannot queue ${bytes} bytes: ${queued} are queued, limit ${this.#maxQueued}`,
      );
    }
  }

  #checkHighWater(): void {
    if (!this.#aboveHighWater && this.#out.length + this.#outStreamBytes > this.#highWater) this.#aboveHighWater = true;
  }

  #enqueue(opcode: number, kind: number, id: number, payload: Uint8Array): void {
    const length = payload.length;
    if (length > this.#peerMaxMessageBytes) {
      throw new ServertalkError(
        ServertalkErrorCode.MessageTooLarge,
        `Cannot send message 0x${
          opcode.toString(16)
        }: ${length} bytes exceed the peer's limit ${this.#peerMaxMessageBytes}`,
      );
    }
    this.#reserve(length + FRAME_HEADER_BYTES + REQUEST_ID_BYTES);
    this.counters.messagesOut++;
    if (length + headerBytes(kind) <= this.#frameLimit()) {
      this.#writeFrame(opcode, kind, id, payload);
    } else {
      if ((this.#agreedFeatures & Feature.Streams) === 0) {
        throw new ServertalkError(
          ServertalkErrorCode.MessageTooLarge,
          `Cannot send message 0x${
            opcode.toString(16)
          }: ${length} bytes exceed the frame limit ${this.#frameLimit()} and the peer does not accept streams`,
        );
      }
      const stream: OutStream = { opcode, flags: kind | FrameFlag.Stream, id, payload: payload.slice(), offset: 0 };
      this.#outStreams.push(stream);
      this.#outStreamBytes += length;
      // The first part goes out now, so that messages sent later cannot overtake it on the wire.
      this.#writeStreamPart(stream, true);
      if (stream.offset === length) this.#outStreams.pop();
    }
    this.#checkHighWater();
  }

  #writeStreamPart(stream: OutStream, first: boolean): void {
    const partLimit = Math.min(this.#streamPartBytes, this.#frameLimit() - FRAME_HEADER_BYTES - REQUEST_ID_BYTES - 5);
    const take = Math.min(partLimit, stream.payload.length - stream.offset);
    const slice = stream.payload.subarray(stream.offset, stream.offset + take);
    stream.offset += take;
    this.#outStreamBytes -= take;
    const last = stream.offset === stream.payload.length;
    let body = slice;
    if (first) {
      const writer = new ByteWriter({ capacity: take + 5, maxBytes: take + 5 });
      body = writer.uvarint(stream.payload.length).bytes(slice).finish();
    }
    this.#writeFrame(stream.opcode, stream.flags | (last ? FrameFlag.End : 0), stream.id, body);
  }

  /** Writes one frame, compressing the payload when the policy and the peer allow it. */
  #writeFrame(opcode: number, flags: number, id: number, payload: Uint8Array): void {
    let body = payload;
    if (
      this.#compression !== "off" && (this.#agreedFeatures & Feature.Compression) !== 0 && payload.length > 0 &&
      (this.#compression === "always" || payload.length >= this.#compressThreshold)
    ) {
      const packed = lz4Compress(payload);
      // "always" still never pushes a frame past the peer's limit (LZ4 grows incompressible input a little).
      if (
        packed.length < payload.length ||
        (this.#compression === "always" && packed.length + headerBytes(flags) <= this.#frameLimit())
      ) {
        body = packed;
        flags |= FrameFlag.Compressed;
      }
    }
    const out = this.#out;
    writeFrameHeader(out, { opcode, flags, id, payloadLength: body.length });
    out.bytes(body);
    this.counters.framesOut++;
  }

  /**
   * Frames a one-way message once, for sending the same bytes on many links with
   * {@linkcode notifyPrepared}. Compression follows `mode` (the peers must all accept it).
   */
  static prepareFrame(
    opcode: number,
    payload: Uint8Array,
    mode: CompressionMode = "off",
    thresholdBytes = 1024,
  ): Uint8Array {
    let flags: number = FrameFlag.Notify;
    let body = payload;
    if (mode !== "off" && payload.length > 0 && (mode === "always" || payload.length >= thresholdBytes)) {
      const packed = lz4Compress(payload);
      if (mode === "always" || packed.length < payload.length) {
        body = packed;
        flags |= FrameFlag.Compressed;
      }
    }
    const writer = new ByteWriter({ capacity: body.length + FRAME_HEADER_BYTES });
    writeFrameHeader(writer, { opcode, flags, id: 0, payloadLength: body.length });
    return writer.bytes(body).toBytes();
  }

  /** Whether frames prepared for broadcast may be compressed on this link. */
  get acceptsCompression(): boolean {
    return (this.#agreedFeatures & Feature.Compression) !== 0;
  }

  /** The largest payload that fits in one frame to this peer. */
  get maxFramePayload(): number {
    return this.#frameLimit() - FRAME_HEADER_BYTES - REQUEST_ID_BYTES;
  }

  #heartbeatPayload(nowUs: number): Uint8Array {
    const echo = this.#peerHeartbeatSentUs;
    heartbeatWriter.reset();
    Heartbeat.encodeInto(heartbeatWriter, {
      load: this.#load,
      sentUs: nowUs,
      echoUs: echo,
      heldUs: echo === 0 ? 0 : nowUs - this.#peerHeartbeatReceivedUs,
    });
    return heartbeatWriter.finish();
  }

  // ---------------------------------------------------------------------------------------------
  // Closing.

  /**
   * Closes the link: a `Goodbye` with `error`'s code and message follows whatever is queued (and,
   * when `graceful`, the rest of any stream being sent). Pending requests fail with `SERVERTALK_CLOSED`.
   */
  close(error: ServertalkError, nowUs: number, graceful = true): void {
    if (this.#state === "closed" || this.#goodbyeAfterStreams !== undefined) return;
    if (graceful && this.#outStreams.length > 0 && this.#state === "open") {
      this.#goodbyeAfterStreams = error;
      return;
    }
    // Even before the handshake the peer learns why it is being dropped.
    this.#finish(error, false, nowUs, this.#state !== "idle");
  }

  /** The transport closed (peer closed, reset, or failed). */
  transportClosed(cause: Error | undefined, nowUs: number): void {
    if (this.#state === "closed") return;
    const detail = cause === undefined ? "peer closed the connection" : cause.message;
    this.#finish(
      new ServertalkError(
        ServertalkErrorCode.ConnectionLost,
        `Link lost: ${detail}`,
        cause === undefined ? {} : { cause },
      ),
      true,
      nowUs,
      false,
    );
  }

  #finish(error: ServertalkError, byPeer: boolean, _nowUs: number, sayGoodbye: boolean): void {
    if (this.#state === "closed") return;
    if (sayGoodbye) {
      this.#outStreams.length = 0;
      this.#outStreamBytes = 0;
      // A goodbye must not fail for lack of room: it replaces whatever is queued if need be.
      const goodbye = Goodbye.encode({ code: error.code, message: error.message.slice(0, 1000) });
      if (this.#out.length + goodbye.length + FRAME_HEADER_BYTES > this.#maxQueued) this.#out.reset();
      const compression = this.#agreedFeatures;
      this.#agreedFeatures &= ~Feature.Compression;
      this.#writeFrame(Opcode.Goodbye, FrameFlag.Notify, 0, goodbye);
      this.#agreedFeatures = compression;
    }
    this.#state = "closed";
    this.#ended = true;
    this.#goodbyeAfterStreams = undefined;
    const reason = new ServertalkError(
      ServertalkErrorCode.Closed,
      `Cannot complete request: link closed (${error.code})`,
      {
        cause: error,
      },
    );
    for (const id of this.#pending) this.#events.push({ type: "failure", requestId: id, error: reason });
    this.#pending.clear();
    this.#deadlines.clear();
    this.#incoming.clear();
    for (const streams of this.#inStreams) streams.clear();
    this.#held.length = 0;
    this.#heldHead = 0;
    this.#inboundBytes = 0;
    this.#events.push({ type: "closed", error, byPeer });
  }

  // ---------------------------------------------------------------------------------------------
  // Receiving.

  /** Feeds bytes received from the transport. Protocol errors close the link (see the events). */
  receive(chunk: Uint8Array, nowUs: number): void {
    if (this.#state === "closed") return;
    this.counters.bytesIn += chunk.length;
    this.#lastReceivedUs = nowUs;
    this.#now = nowUs;
    try {
      this.#decoder.push(chunk, this.#onFrame);
    } catch (error) {
      // The state may have changed inside the frame callback.
      if ((this.#state as LinkState) === "closed") return;
      this.close(this.#asProtocolError(error), nowUs, false);
    }
  }

  #now = 0;

  #asProtocolError(error: unknown): ServertalkError {
    if (error instanceof ServertalkError) return error;
    if (error instanceof WireError) {
      return new ServertalkError(ServertalkErrorCode.BadPayload, `Cannot decode payload: ${error.message}`, {
        cause: error,
      });
    }
    const detail = error instanceof Error ? error.message : String(error);
    return new ServertalkError(ServertalkErrorCode.BadFrame, `Cannot process frame: ${detail}`, { cause: error });
  }

  readonly #onFrame = (opcode: number, flags: number, id: number, payload: Uint8Array): void => {
    if (this.#state === "closed") return;
    this.counters.framesIn++;
    if ((flags & FrameFlag.Compressed) !== 0) {
      try {
        payload = lz4Decompress(payload, this.#maxFrameBytes);
      } catch (cause) {
        throw new ServertalkError(
          ServertalkErrorCode.BadCompression,
          `Cannot decompress frame 0x${opcode.toString(16)}: ${(cause as Error).message}`,
          { cause },
        );
      }
    }
    if (this.#state !== "open") {
      this.#onHandshakeFrame(opcode, flags, id, payload);
      return;
    }
    if ((flags & FrameFlag.Stream) !== 0) {
      this.#onStreamPart(opcode, flags, id, payload);
      return;
    }
    this.#onMessage(opcode, flags & KIND_MASK, id, payload);
  };

  #onMessage(opcode: number, kind: number, id: number, payload: Uint8Array): void {
    switch (kind) {
      case FrameFlag.Notify:
        if (opcode === Opcode.KeepAlive) return this.#onHeartbeat(payload);
        if (opcode === Opcode.Goodbye) return this.#onGoodbye(payload);
        this.counters.messagesIn++;
        this.#deliver({ type: "message", opcode, requestId: undefined, payload }, payload.length, undefined);
        return;
      case FrameFlag.Request:
        this.counters.messagesIn++;
        if (opcode === Opcode.KeepAlive) {
          this.#incoming.add(id);
          this.respond(id, Opcode.KeepAlive, this.#heartbeatPayload(this.#now));
          return;
        }
        if (this.#incoming.has(id)) {
          throw new ServertalkError(
            ServertalkErrorCode.BadFrame,
            `Cannot accept request ${id}: the id is already in use`,
          );
        }
        this.#incoming.add(id);
        if (this.#incoming.size > this.#maxConcurrentRequests) {
          this.retry(
            id,
            opcode,
            this.#retryWaitMs,
            `${this.#incoming.size - 1} requests are in progress, limit ${this.#maxConcurrentRequests}`,
          );
          return;
        }
        this.#deliver({ type: "message", opcode, requestId: id, payload }, payload.length, undefined);
        return;
      case FrameFlag.Response:
        if (!this.#pending.delete(id)) return; // late reply to a request that timed out
        this.counters.messagesIn++;
        this.#events.push({ type: "response", requestId: id, opcode, payload });
        return;
      case FrameFlag.Error: {
        if (!this.#pending.delete(id)) return;
        this.counters.messagesIn++;
        const reply = ErrorReply.decode(payload);
        const options = reply.retryAfterMs > 0 ? { retryAfterMs: reply.retryAfterMs } : {};
        this.#events.push({
          type: "failure",
          requestId: id,
          error: new ServertalkError(reply.code, reply.message, options),
        });
        return;
      }
      case FrameFlag.Retry: {
        if (!this.#pending.delete(id)) return;
        this.counters.messagesIn++;
        const reply = RetryReply.decode(payload);
        this.#events.push({ type: "retry", requestId: id, waitMs: reply.waitMs, reason: reply.reason });
        return;
      }
    }
  }

  /** Queues an ordered event, behind any stream still being received. */
  #deliver(event: LinkEvent, bytes: number, slot: HeldSlot | undefined): void {
    if (slot !== undefined) {
      slot.event = event;
      this.#releaseHeld();
      return;
    }
    if (this.#heldHead === this.#held.length) {
      this.#events.push(event);
      return;
    }
    this.#addInbound(bytes);
    this.#held.push({ event, bytes });
  }

  #addInbound(bytes: number): void {
    this.#inboundBytes += bytes;
    if (this.#inboundBytes > this.#maxInbound) {
      throw new ServertalkError(
        ServertalkErrorCode.InboundOverflow,
        `Cannot hold received messages: ${this.#inboundBytes} bytes exceed limit ${this.#maxInbound}`,
      );
    }
  }

  #releaseHeld(): void {
    const held = this.#held;
    while (this.#heldHead < held.length) {
      const slot = held[this.#heldHead]!;
      if (slot.event === undefined) break;
      this.#events.push(slot.event);
      this.#inboundBytes -= slot.bytes;
      held[this.#heldHead++] = undefined as unknown as HeldSlot;
    }
    if (this.#heldHead === held.length) {
      held.length = 0;
      this.#heldHead = 0;
    }
  }

  #onStreamPart(opcode: number, flags: number, id: number, payload: Uint8Array): void {
    const kind = flags & KIND_MASK;
    const table = this.#inStreams[kind === FrameFlag.Request ? 0 : kind === FrameFlag.Response ? 1 : 2]!;
    let stream = table.get(id);
    let data = payload;
    if (stream === undefined) {
      if (this.#inStreamCount >= this.#maxConcurrentStreams) {
        throw new ServertalkError(
          ServertalkErrorCode.StreamLimit,
          `Cannot start stream ${id}: ${this.#inStreamCount} streams are open, limit ${this.#maxConcurrentStreams}`,
        );
      }
      const reader = new ByteReader(payload);
      const total = reader.uvarint();
      if (total > this.#maxMessageBytes) {
        throw new ServertalkError(
          ServertalkErrorCode.MessageTooLarge,
          `Cannot receive stream ${id}: length ${total} exceeds limit ${this.#maxMessageBytes}`,
        );
      }
      this.#addInbound(total);
      const ordered = kind !== FrameFlag.Response;
      let slot: HeldSlot | undefined;
      if (ordered) {
        slot = { event: undefined, bytes: total };
        this.#held.push(slot);
      }
      stream = { opcode, buffer: new Uint8Array(total), filled: 0, slot };
      table.set(id, stream);
      this.#inStreamCount++;
      data = reader.rest();
    }
    if (opcode !== stream.opcode || stream.filled + data.length > stream.buffer.length) {
      throw new ServertalkError(
        ServertalkErrorCode.StreamLimit,
        `Cannot receive stream ${id}: part does not match (opcode 0x${opcode.toString(16)}, ${
          stream.filled + data.length
        } of ${stream.buffer.length} bytes)`,
      );
    }
    stream.buffer.set(data, stream.filled);
    stream.filled += data.length;
    if ((flags & FrameFlag.End) === 0) return;
    if (stream.filled !== stream.buffer.length) {
      throw new ServertalkError(
        ServertalkErrorCode.StreamLimit,
        `Cannot receive stream ${id}: ended after ${stream.filled} of ${stream.buffer.length} bytes`,
      );
    }
    table.delete(id);
    this.#inStreamCount--;
    const message = stream.buffer;
    if (stream.slot === undefined) {
      this.#inboundBytes -= message.length;
      this.#onMessage(opcode, kind, id, message);
      return;
    }
    this.counters.messagesIn++;
    if (kind === FrameFlag.Request) {
      if (this.#incoming.has(id)) {
        throw new ServertalkError(
          ServertalkErrorCode.BadFrame,
          `Cannot accept request ${id}: the id is already in use`,
        );
      }
      this.#incoming.add(id);
    }
    this.#deliver(
      { type: "message", opcode, requestId: kind === FrameFlag.Request ? id : undefined, payload: message },
      message.length,
      stream.slot,
    );
  }

  #onHeartbeat(payload: Uint8Array): void {
    const beat = Heartbeat.decode(payload);
    this.#peerLoad = beat.load;
    this.#peerHeartbeatSentUs = beat.sentUs;
    this.#peerHeartbeatReceivedUs = this.#now;
    let rtt: number | undefined;
    if (beat.echoUs > 0) {
      rtt = Math.max(0, this.#now - beat.echoUs - beat.heldUs);
      this.#rttUs = rtt;
    }
    this.#events.push({ type: "heartbeat", load: beat.load, rttUs: rtt });
  }

  #onGoodbye(payload: Uint8Array): void {
    let error: ServertalkError;
    try {
      const goodbye = Goodbye.decode(payload);
      error = new ServertalkError(goodbye.code, goodbye.message);
    } catch (cause) {
      error = new ServertalkError(ServertalkErrorCode.BadPayload, "Peer said goodbye with an undecodable reason", {
        cause,
      });
    }
    this.#finish(error, true, this.#now, false);
  }

  #onHandshakeFrame(opcode: number, flags: number, id: number, payload: Uint8Array): void {
    const kind = flags & KIND_MASK;
    if (opcode === Opcode.Goodbye && kind === FrameFlag.Notify) return this.#onGoodbye(payload);
    if (
      this.#state === "awaiting-hello" && opcode === Opcode.Hello && kind === FrameFlag.Request &&
      (flags & FrameFlag.Stream) === 0
    ) {
      const hello = Hello.decode(payload);
      if (hello.magic !== HELLO_MAGIC) {
        throw new ServertalkError(
          ServertalkErrorCode.BadFrame,
          `Cannot accept hello: magic 0x${hello.magic.toString(16)} is wrong`,
        );
      }
      this.#hello = hello;
      this.#helloId = id;
      this.#incoming.add(id);
      this.#state = "authenticating";
      if (hello.protocolVersion !== PROTOCOL_VERSION) {
        this.refuse(
          new ServertalkError(
            ServertalkErrorCode.VersionMismatch,
            `Cannot accept protocol version ${hello.protocolVersion}: this server speaks ${PROTOCOL_VERSION}`,
          ),
          this.#now,
        );
        return;
      }
      this.#events.push({ type: "hello", hello });
      return;
    }
    if (this.#state === "hello-sent" && id === this.#helloId) {
      if (kind === FrameFlag.Response && opcode === Opcode.Welcome) {
        const welcome = Welcome.decode(payload);
        if (welcome.protocolVersion !== PROTOCOL_VERSION) {
          throw new ServertalkError(
            ServertalkErrorCode.VersionMismatch,
            `Cannot accept protocol version ${welcome.protocolVersion}: this side speaks ${PROTOCOL_VERSION}`,
          );
        }
        this.#welcome = welcome;
        this.#agreedFeatures = welcome.features & this.#features;
        this.#peerMaxFrameBytes = welcome.maxFrameBytes;
        this.#peerMaxMessageBytes = welcome.maxMessageBytes;
        this.#pending.delete(id);
        this.#open(this.#now);
        this.#events.push({ type: "open", hello: this.#hello!, welcome });
        return;
      }
      if (kind === FrameFlag.Error) {
        const reply = ErrorReply.decode(payload);
        const options = reply.retryAfterMs > 0 ? { retryAfterMs: reply.retryAfterMs } : {};
        this.#finish(new ServertalkError(reply.code, reply.message, options), true, this.#now, false);
        return;
      }
    }
    throw new ServertalkError(
      ServertalkErrorCode.NotAuthenticated,
      `Cannot accept frame 0x${opcode.toString(16)}: the link is not authenticated (state ${this.#state})`,
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Output and timers.

  /**
   * Returns what is ready: bytes to write (only when `writable` — pass false while the transport
   * waits for drain), events, the next wake-up time, and whether to end the transport.
   */
  poll(nowUs: number, writable = true): LinkPoll {
    this.#now = nowUs;
    this.#runTimers(nowUs);
    const chunks: Uint8Array[] = [];
    if (writable) {
      this.#pumpStreams();
      const out = this.#out;
      if (out.length > 0) {
        const chunk = out.toBytes();
        chunks.push(chunk);
        this.counters.bytesOut += chunk.length;
        // Keep a modest buffer: one huge burst should not pin its memory for the link's life.
        if (out.finish().buffer.byteLength > 4 * this.#flushBytes) {
          this.#out = new ByteWriter({ capacity: 4096, maxBytes: this.#maxQueued + this.#maxFrameBytes });
        } else {
          out.reset();
        }
      }
      if (this.#goodbyeAfterStreams !== undefined && this.#outStreams.length === 0) {
        const error = this.#goodbyeAfterStreams;
        this.#goodbyeAfterStreams = undefined;
        this.#finish(error, false, nowUs, true);
        const rest = this.#out.toBytes();
        this.#out.reset();
        this.counters.bytesOut += rest.length;
        chunks.push(rest);
      }
      if (this.#aboveHighWater && this.#out.length + this.#outStreamBytes <= this.#highWater / 2) {
        this.#aboveHighWater = false;
        if (this.#state !== "closed") this.#events.push({ type: "drain" });
      }
    }
    const events = this.#events;
    if (events.length > 0) this.#events = [];
    return { chunks, events, wakeAtUs: this.#wakeAt(), ended: this.#ended };
  }

  #pumpStreams(): void {
    const streams = this.#outStreams;
    while (streams.length > 0 && this.#out.length < this.#flushBytes) {
      const stream = streams[0]!;
      this.#writeStreamPart(stream, false);
      if (stream.offset === stream.payload.length) streams.shift();
    }
  }

  #runTimers(nowUs: number): void {
    if (this.#state === "closed") return;
    if (nowUs >= this.#deadlineUs) {
      this.close(
        new ServertalkError(
          ServertalkErrorCode.HandshakeTimeout,
          `Cannot open link: handshake did not finish within ${this.#handshakeTimeoutUs} µs`,
        ),
        nowUs,
        false,
      );
      return;
    }
    if (this.#state !== "open") return;
    if (nowUs - this.#lastReceivedUs >= this.#heartbeatTimeoutUs) {
      this.close(
        new ServertalkError(
          ServertalkErrorCode.HeartbeatTimeout,
          `Link timed out: nothing received for ${nowUs - this.#lastReceivedUs} µs (limit ${this.#heartbeatTimeoutUs})`,
        ),
        nowUs,
        false,
      );
      return;
    }
    if (nowUs >= this.#nextHeartbeatUs) {
      this.#writeFrame(Opcode.KeepAlive, FrameFlag.Notify, 0, this.#heartbeatPayload(nowUs));
      this.#nextHeartbeatUs = nowUs + this.#heartbeatIntervalUs;
    }
    const heap = this.#deadlines;
    while (heap.size > 0 && heap.peekDeadline() <= nowUs) {
      const id = heap.peekId();
      heap.pop();
      if (!this.#pending.delete(id)) continue;
      this.#events.push({
        type: "failure",
        requestId: id,
        error: new ServertalkError(ServertalkErrorCode.Timeout, `Request ${id} timed out`),
      });
    }
    // Drop stale heap entries so that they do not wake the driver for nothing.
    while (heap.size > 0 && !this.#pending.has(heap.peekId())) heap.pop();
  }

  #wakeAt(): number {
    if (this.#state === "closed") return Number.POSITIVE_INFINITY;
    if (this.#state !== "open") return this.#deadlineUs;
    return Math.min(
      this.#nextHeartbeatUs,
      this.#lastReceivedUs + this.#heartbeatTimeoutUs,
      this.#deadlines.peekDeadline(),
    );
  }
}
