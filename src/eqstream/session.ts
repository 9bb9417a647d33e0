/**
 * The sans-IO EQStream session: one end (server or client) of one connection. It is fed datagrams
 * and time, and asked what to send and when to be woken:
 *
 * ```ts
 * session.receive(datagram, nowUs);
 * session.sendApp(opcode, payload);
 * const { datagrams, events, wakeAtUs } = session.poll(nowUs);
 * ```
 *
 * It owns no socket, timer or clock; a driver (`server.ts`, `client.ts`) wires it to a Platform.
 * @module
 */
import type { Rng } from "../platform/platform.ts";
import { ByteArena } from "../wire/byte_arena.ts";
import { DatagramBuilder } from "./_datagram_builder.ts";
import { SendOrder, SendRing, type Unit } from "./_send_window.ts";
import {
  AppDecoder,
  AppEncoder,
  checkKeyRequest,
  decodeKeyReply,
  encodeKeyReply,
  encodeKeyRequest,
  forEachAppPacket,
  KEY_REPLY_BYTES,
  maxEncodedBytes,
  opcodeBytes,
  RC4_KEY_BYTES,
} from "./app_codec.ts";
import { createCongestionControl } from "./congestion/mod.ts";
import type { CongestionControl } from "./congestion/congestion_control.ts";
import { EqStreamError, EqStreamErrorCode } from "./errors.ts";
import { AppOpcodeName } from "./opcode_profile.ts";
import { type ResolvedSessionOptions, resolveSessionOptions, type SessionOptions } from "./options.ts";
import {
  DISCONNECT_REASON_APPLICATION,
  encodeBody,
  EQ2_PROTOCOL_VERSION,
  forEachPacket,
  hasCrc,
  ProtocolOp,
  putU32,
  readU16,
  readU32,
  type SessionRequest,
  verifyCrc,
} from "./packets.ts";
import type { SessionStats } from "./stats.ts";

/** Where a session is in its life. */
export type SessionState = "connecting" | "keying" | "open" | "closing" | "closed";

/** Why a session closed. */
export type CloseReason =
  /** `close()` was called. */
  | "local"
  /** The peer sent SessionDisconnect. */
  | "peer"
  /** Data stayed unacknowledged with nothing heard from the peer for `giveUpUs`. */
  | "timeout"
  /** Nothing heard from the peer for `idleTimeoutUs`. */
  | "idle"
  /** The peer broke the protocol (the `error` of the event says how). */
  | "protocol_error"
  /** The peer said it has no such session. */
  | "out_of_session"
  /** Client: no SessionResponse within `connectTimeoutUs`. */
  | "connect_timeout"
  /** Server: no valid packet after the SessionRequest within `handshakeTimeoutUs`. */
  | "handshake_timeout"
  /** Server: the same address started a new session. */
  | "replaced";

/** What a session reports from `poll`. */
export type SessionEvent =
  /** Client: the SessionResponse arrived. Server: the first valid packet after the request arrived. */
  | { readonly type: "connected" }
  /** Application packets can flow (the key exchange finished, or there is none). */
  | { readonly type: "ready" }
  /** An application packet arrived, decrypted and inflated. */
  | { readonly type: "app"; readonly opcode: number; readonly payload: Uint8Array }
  /** The send queue fell below half its limit after `sendApp` refused. */
  | { readonly type: "drain" }
  /** Bad input that did not end the session. */
  | { readonly type: "error"; readonly error: EqStreamError }
  /** The session is over; the last event it reports. */
  | {
    readonly type: "closed";
    readonly reason: CloseReason;
    readonly error?: EqStreamError;
    /** The reason code of the peer's SessionDisconnect, when it sent one. */
    readonly peerReason?: number;
  };

/** The result of {@linkcode Session.poll}. */
export interface PollResult {
  /** Datagrams to send now, in order. */
  readonly datagrams: readonly Uint8Array[];
  /** Events since the last poll, in order. */
  readonly events: readonly SessionEvent[];
  /** Call `poll` again at this time (µs) even if nothing arrives; `Infinity` once closed. */
  readonly wakeAtUs: number;
}

/** Extra options of a client session. */
export interface ClientSessionOptions extends SessionOptions {
  /** Session id to ask for; default random. */
  readonly sessionId?: number;
}

/** Extra options of a server session. */
export interface ServerSessionOptions extends SessionOptions {
  /** CRC key to hand out; default random (the EQ2Emu server always uses 0x33624702). */
  readonly crcKey?: number;
}

const NONE: readonly never[] = Object.freeze([]);
/** Bytes a unit's body may take so that it fits a datagram with one ack beside it. */
const UNIT_OVERHEAD = 16;
/** Loss-estimate smoothing per sample. */
const LOSS_ALPHA = 1 / 32;
/** Longest session-request retry interval. */
const CONNECT_RETRY_MAX_US = 2_000_000;
/** A loss rate measured from the peer's counters is trusted this long. */
const STAT_LOSS_VALID_US = 30_000_000;
/** Datagram count at which one counter interval weighs as much as all before it. */
const STAT_LOSS_WEIGHT_PACKETS = 200;
/** Widest reordering window, in quarters of the min RTT (it never exceeds the smoothed RTT). */
const MAX_REORDER_MULTIPLIER = 8;
/** Entries of the send-counter history (one per millisecond at most). */
const SENT_HISTORY = 512;
/** Datagrams remembered for the fallback loss estimate (see `#unsampled`); a power of two. */
const DATAGRAM_SAMPLES = 1024;
/** Newest selective acks repeated in each ack datagram while a gap lasts. */
const SACK_REPEAT = 4;
/** Copies of a SessionDisconnect sent when closing. */
const DISCONNECT_COPIES = 2;
/** Chunk size of a session's arena (encoded packets and unit bodies, released in order as acks come). */
const ARENA_CHUNK_BYTES = 2048;

interface PendingApp {
  readonly opcode: number;
  readonly payload: Uint8Array;
}

interface OutOfOrderEntry {
  readonly frag: boolean;
  readonly data: Uint8Array;
}

/** One end of an EQStream connection, as a state machine. */
export class Session {
  readonly #side: "server" | "client";
  readonly #o: ResolvedSessionOptions;
  readonly #rng: Rng;
  #state: SessionState;
  #sessionId: number;
  #crcKey = 0;
  #maxLen: number;
  #unitBodyMax: number;
  #established: boolean;
  readonly #createdAt: number;
  #now: number;
  #lastRecvAt: number;
  #lastSendAt: number;

  // Output of the current poll.
  #events: SessionEvent[] = [];
  #out: Uint8Array[] = [];
  #builder: DatagramBuilder;

  // Control packets waiting to go out.
  #needSessionRequest = false;
  #needSessionResponse = false;
  #needStatRequest = false;
  #statResponse: Uint8Array | undefined;
  #needKeepAlive = false;
  #disconnectsLeft = 0;
  #nextConnectAt = 0;
  #connectBackoff: number;
  #closeDeadline = Infinity;
  #closeReason: CloseReason | undefined;
  #closeError: EqStreamError | undefined;
  #peerReason: number | undefined;
  #closedReported = false;

  // Application layer.
  readonly #arena = new ByteArena(ARENA_CHUNK_BYTES);
  readonly #encoder: AppEncoder;
  readonly #decoder: AppDecoder;
  #keyed = false;
  #keyRequestQueued = false;
  #preKey: PendingApp[] = [];

  // Send side.
  #messages: Uint8Array[] = [];
  #messageHead = 0;
  #messageBytes = 0;
  #oldestMessageAt = 0;
  #fragMessage: Uint8Array | undefined;
  #fragOffset = 0;
  #sendQueueBytes = 0;
  #drainWanted = false;
  readonly #ring = new SendRing();
  #sndUna = 0;
  #sndNxt = 0;
  readonly #order = new SendOrder();
  #lost: Unit[] = [];
  #probe: Unit | undefined;
  #redundant: Unit[] = [];
  #inflight = 0;
  readonly #cc: CongestionControl;
  #tokens = 0;
  #tokensAt = 0;
  /** When pacing last asked to be woken for its next token (0: it did not). */
  #paceWakeAt = 0;
  #xmitCounter = 0;
  #paced = 0;
  #datagramCounter = 0;
  /**
   * Datagrams that carried new packets and have no loss sample yet: slot `id % DATAGRAM_SAMPLES` holds
   * `id + 1` (0: free; wrapping at 2^32). Bounded: a datagram still unsampled after that many more is
   * forgotten (a window holds at most `outOfOrderWindow`, default 1024, packets anyway).
   */
  readonly #unsampled = new Uint32Array(DATAGRAM_SAMPLES);

  // RTT and loss detection.
  #srtt = 0;
  #rttVar = 0;
  #minRtt = 0;
  #maxRtt = 0;
  #rto: number;
  #rtoBackoff = 0;
  #rackXmitOrder = 0;
  #rackRtt = 0;
  #rackTimerAt = Infinity;
  #tlpFired = false;
  #rtoEpoch = 0;
  #spuriousRto = false;
  #rtoRecovery = false;
  #lastDeliveryAt = 0;
  #reorderMultiplier = 1;
  #cleanRecoveries = 0;
  #spuriousResends = 0;
  #fallbackLoss = 0;
  #statLoss = 0;
  #statLossAt = -1;
  readonly #statRequests = new Map<number, number>();
  #statCutSent = -1;
  #statCutPeer = 0;
  #nextStatAt = 0;
  #nextKeyNudgeAt = Infinity;
  readonly #sentTimes = new Float64Array(SENT_HISTORY).fill(-1);
  readonly #sentCounts = new Float64Array(SENT_HISTORY);
  #sentHead = 0;

  // Delivery-rate sampling.
  #delivered = 0;
  #deliveredAt = 0;
  #firstSentAt = 0;
  #appLimitedUntil = 0;

  // The ack event being gathered while one datagram is processed.
  #evAcked = 0;
  #evRtt = 0;
  #evRttSentAt = -1;
  #evNewestSentAt = -1;
  #evPriorDelivered = -1;
  #evPriorAt = 0;
  #evSendElapsed = 0;
  #evAppLimited = false;
  #evDatagrams: number[] = [];

  // Receive side.
  #rcvNxt = 0;
  readonly #ooo = new Map<number, OutOfOrderEntry>();
  #oooBytes = 0;
  #reasmTotal = -1;
  #reasmParts: Uint8Array[] = [];
  #reasmBytes = 0;
  #ackPending = 0;
  #ackDueAt = Infinity;
  #dupAck = false;
  #sacks: number[] = [];
  readonly #recentSacks: number[] = [];
  #recentSackAt = 0;

  // Counters.
  #packetsSent = 0;
  #packetsReceived = 0;
  #bytesSent = 0;
  #bytesReceived = 0;
  #appPacketsSent = 0;
  #appPacketsReceived = 0;
  #appBytesSent = 0;
  #appBytesReceived = 0;
  #crcErrors = 0;
  #sequenceErrors = 0;
  #duplicates = 0;
  #protocolErrors = 0;
  #timeouts = 0;
  #timeoutsUndone = 0;
  #retransmissions = 0;
  #lostUnits = 0;
  #unitsSent = 0;
  #copies = 0;
  #probes = 0;
  #acksSent = 0;
  #sacksSent = 0;
  #acksReceived = 0;
  #sacksReceived = 0;

  private constructor(
    side: "server" | "client",
    options: SessionOptions,
    rng: Rng,
    nowUs: number,
    init: { sessionId: number; maxLength?: number },
  ) {
    this.#side = side;
    this.#o = resolveSessionOptions(options);
    this.#rng = rng;
    this.#createdAt = nowUs;
    this.#now = nowUs;
    this.#lastRecvAt = nowUs;
    this.#lastSendAt = nowUs;
    this.#sessionId = init.sessionId >>> 0;
    this.#maxLen = Math.min(this.#o.maxDatagramBytes, init.maxLength ?? this.#o.maxDatagramBytes);
    this.#unitBodyMax = this.#maxLen - UNIT_OVERHEAD;
    this.#builder = new DatagramBuilder(this.#maxLen);
    this.#established = side === "client";
    this.#state = side === "client" ? "connecting" : this.#o.keyExchange ? "keying" : "open";
    this.#connectBackoff = this.#o.connectRetryUs;
    this.#sndUna = this.#sndNxt = this.#rcvNxt = this.#o.initialSequence;
    this.#rto = this.#o.rtoInitialUs;
    this.#encoder = new AppEncoder(side, {
      compression: this.#o.compression,
      compressThreshold: this.#o.compressThresholdBytes,
      arena: this.#arena,
    });
    this.#decoder = new AppDecoder(side, { maxBytes: this.#o.maxMessageBytes });
    this.#keyed = !this.#o.keyExchange;
    this.#cc = createCongestionControl(this.#o.congestionControl, {
      mss: this.#maxLen,
      initialWindowPackets: this.#o.initialWindowPackets,
      random: () => rng.float(),
    });
  }

  /** A client session that will send its SessionRequest on the first poll. */
  static connect(options: ClientSessionOptions, rng: Rng, nowUs: number): Session {
    const session = new Session("client", options, rng, nowUs, { sessionId: options.sessionId ?? rng.u32() });
    session.#needSessionRequest = true;
    session.#nextConnectAt = nowUs + session.#o.connectRetryUs;
    return session;
  }

  /**
   * A server session for a received SessionRequest; the SessionResponse goes out on the first poll.
   * Throws `EQSTREAM_BAD_SESSION_REQUEST` when the requested max length is too small to work with.
   */
  static accept(request: SessionRequest, options: ServerSessionOptions, rng: Rng, nowUs: number): Session {
    if (request.maxLength < 64) {
      throw new EqStreamError(
        EqStreamErrorCode.BadSessionRequest,
        `Cannot accept session request: max length ${request.maxLength} is below 64`,
      );
    }
    const session = new Session("server", options, rng, nowUs, {
      sessionId: request.sessionId,
      maxLength: request.maxLength,
    });
    session.#crcKey = (options.crcKey ?? rng.u32()) >>> 0;
    session.#needSessionResponse = true;
    return session;
  }

  /** "server" or "client". */
  get side(): "server" | "client" {
    return this.#side;
  }

  get state(): SessionState {
    return this.#state;
  }

  get sessionId(): number {
    return this.#sessionId;
  }

  /** The CRC key (0 on a client before the SessionResponse). */
  get crcKey(): number {
    return this.#crcKey;
  }

  /** Server: a valid packet followed the SessionRequest (the handshake is plausible). */
  get established(): boolean {
    return this.#established;
  }

  /** Bytes accepted by `sendApp` and not yet acknowledged. */
  get sendQueueBytes(): number {
    return this.#sendQueueBytes;
  }

  /** The negotiated largest datagram. */
  get maxDatagramBytes(): number {
    return this.#maxLen;
  }

  // ---------------------------------------------------------------------------------------------
  // Application interface

  /**
   * Queues an application packet. It is encrypted (and compressed) now, in order, and sent within
   * the combine delay. Throws `EQSTREAM_NOT_OPEN`, `EQSTREAM_MESSAGE_TOO_LARGE` or `EQSTREAM_SEND_QUEUE_FULL`.
   */
  sendApp(opcode: number, payload: Uint8Array): void {
    if (this.#state === "closing" || this.#state === "closed") {
      throw new EqStreamError(EqStreamErrorCode.NotOpen, `Cannot send: the session is ${this.#state}`);
    }
    if (!Number.isInteger(opcode) || opcode < 0 || opcode > 0xffff) {
      throw new EqStreamError(EqStreamErrorCode.BadOption, `Cannot send: opcode ${opcode} is outside 0..65535`);
    }
    const size = this.#appSize(opcode, payload);
    // The peer refuses fragments over maxMessageBytes, so count the worst case of the wire form.
    const wire = maxEncodedBytes(
      this.#side,
      opcode,
      payload.length,
      this.#o.compression ? this.#o.compressThresholdBytes : Infinity,
    );
    if (wire > this.#o.maxMessageBytes) {
      throw new EqStreamError(
        EqStreamErrorCode.MessageTooLarge,
        `Cannot send: message of up to ${wire} bytes on the wire exceeds limit ${this.#o.maxMessageBytes}`,
      );
    }
    if (this.#sendQueueBytes + size > this.#o.maxSendQueueBytes) {
      this.#drainWanted = true;
      throw new EqStreamError(
        EqStreamErrorCode.SendQueueFull,
        `Cannot send: ${this.#sendQueueBytes + size} queued bytes exceed limit ${this.#o.maxSendQueueBytes}`,
      );
    }
    this.#appPacketsSent++;
    this.#appBytesSent += payload.length;
    if (!this.#keyed || this.#state === "connecting") {
      this.#preKey.push({ opcode, payload: payload.slice() });
      this.#sendQueueBytes += size;
      return;
    }
    this.#queueMessage(this.#encoder.encode(opcode, payload));
  }

  /** Bytes of an application packet before compression: the server's flag byte, the opcode, the payload. */
  #appSize(opcode: number, payload: Uint8Array): number {
    return (this.#side === "server" ? 1 : 0) + opcodeBytes(opcode) + payload.length;
  }

  /**
   * Closes the session. A graceful close (the default) first delivers what is queued, for at most
   * `closeLingerUs`; then a SessionDisconnect goes out and the `closed` event follows.
   */
  close(reason: CloseReason = "local", options: { readonly graceful?: boolean } = {}): void {
    if (this.#state === "closing" || this.#state === "closed") return;
    if ((options.graceful ?? true) && this.#state !== "connecting") {
      this.#state = "closing";
      this.#closeReason = reason;
      this.#closeDeadline = this.#now + this.#o.closeLingerUs;
      return;
    }
    this.#finish(reason, undefined, true);
  }

  /** Server: the same address sent another SessionRequest. Answers it again when it is for this session. */
  handleSessionRequest(request: SessionRequest): boolean {
    if (request.sessionId >>> 0 !== this.#sessionId) return false;
    if (!this.#established) this.#needSessionResponse = true;
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Receiving

  /**
   * Feeds one datagram. The session takes ownership of `datagram`: it decrypts in place and may keep
   * views of it. Bad input is counted (and reported as an event) and never throws.
   */
  receive(datagram: Uint8Array, nowUs: number): void {
    this.#advance(nowUs);
    if (this.#state === "closed") return;
    try {
      this.#receive(datagram);
    } catch (error) {
      if (!(error instanceof EqStreamError)) throw error;
      this.#onError(error);
    }
    this.#finishAckEvent();
  }

  #receive(datagram: Uint8Array): void {
    if (datagram.length < 2) {
      throw new EqStreamError(
        EqStreamErrorCode.Truncated,
        `Cannot decode datagram: needs 2 bytes, got ${datagram.length}`,
      );
    }
    if (datagram[0] !== 0) {
      throw new EqStreamError(
        EqStreamErrorCode.UnknownOpcode,
        `Cannot decode datagram: first byte 0x${datagram[0]!.toString(16).padStart(2, "0")} is not 0x00`,
      );
    }
    const op = datagram[1]!;
    let end = datagram.length;
    if (hasCrc(op)) {
      if (this.#state === "connecting") return; // No key yet: nothing CRC'd can be ours.
      try {
        end = verifyCrc(datagram, this.#crcKey);
      } catch (error) {
        if (error instanceof EqStreamError && error.code === EqStreamErrorCode.BadCrc) this.#crcErrors++;
        throw error;
      }
      if (!this.#established) {
        this.#established = true;
        this.#events.push({ type: "connected" });
      }
    }
    this.#packetsReceived++;
    this.#bytesReceived += datagram.length;
    this.#lastRecvAt = this.#now;
    forEachPacket(datagram, 0, end, (subOp, bytes, start, subEnd) => {
      try {
        this.#handlePacket(subOp, bytes, start, subEnd);
      } catch (error) {
        if (!(error instanceof EqStreamError)) throw error;
        this.#onError(error);
      }
    });
  }

  #handlePacket(op: number, bytes: Uint8Array, start: number, end: number): void {
    const length = end - start;
    const need = (n: number, what: string) => {
      if (length < n) {
        throw new EqStreamError(EqStreamErrorCode.Truncated, `Cannot decode ${what}: needs ${n} bytes, got ${length}`);
      }
    };
    switch (op) {
      case ProtocolOp.Packet:
      case ProtocolOp.Fragment:
        need(4, op === ProtocolOp.Packet ? "Packet" : "Fragment");
        if (this.#state === "connecting") return;
        this.#receiveReliable(op === ProtocolOp.Fragment, readU16(bytes, start + 2), bytes.subarray(start + 4, end));
        return;
      case ProtocolOp.Ack:
        need(4, "Ack");
        this.#acksReceived++;
        this.#onAck(readU16(bytes, start + 2));
        return;
      case ProtocolOp.OutOfOrderAck:
        need(4, "OutOfOrderAck");
        this.#sacksReceived++;
        this.#onSack(readU16(bytes, start + 2));
        return;
      case ProtocolOp.KeepAlive:
        // Answer, but not when something went out recently: two peers must not ping-pong forever.
        if (this.#now - this.#lastSendAt >= Math.min(this.#o.keepAliveUs / 2 || 1_000_000, 1_000_000)) {
          this.#needKeepAlive = true;
        }
        return;
      case ProtocolOp.SessionResponse:
        need(21, "SessionResponse");
        this.#onSessionResponse(bytes, start);
        return;
      case ProtocolOp.SessionDisconnect: {
        need(8, "SessionDisconnect");
        if (readU32(bytes, start + 2) !== this.#sessionId) return;
        this.#peerReason = readU16(bytes, start + 6);
        this.#finish("peer", undefined, false);
        return;
      }
      case ProtocolOp.OutOfSession:
        this.#finish("out_of_session", undefined, false);
        return;
      case ProtocolOp.SessionStatRequest:
        need(40, "SessionStatRequest");
        if (this.#side === "server") this.#onStatRequest(bytes, start);
        return;
      case ProtocolOp.SessionStatResponse:
        need(40, "SessionStatResponse");
        if (this.#side === "client") this.#onStatResponse(bytes, start);
        return;
      case ProtocolOp.SessionRequest:
        return;
      default:
        throw new EqStreamError(
          EqStreamErrorCode.UnknownOpcode,
          `Cannot handle packet: unknown opcode 0x${op.toString(16).padStart(2, "0")}`,
        );
    }
  }

  #onSessionResponse(bytes: Uint8Array, start: number): void {
    if (this.#side !== "client" || this.#state !== "connecting") return;
    if (readU32(bytes, start + 2) !== this.#sessionId) return;
    this.#crcKey = readU32(bytes, start + 6);
    const maxLength = readU32(bytes, start + 13);
    if (maxLength >= 64 && maxLength < this.#maxLen) {
      this.#maxLen = maxLength;
      this.#unitBodyMax = maxLength - UNIT_OVERHEAD;
    }
    this.#needSessionRequest = false;
    this.#needStatRequest = true;
    this.#nextStatAt = this.#now + this.#o.statIntervalUs;
    this.#connectBackoff = this.#o.connectRetryUs;
    this.#nextKeyNudgeAt = this.#now + this.#connectBackoff;
    this.#state = this.#o.keyExchange ? "keying" : "open";
    this.#events.push({ type: "connected" });
    if (!this.#o.keyExchange) this.#becomeReady();
  }

  #onStatResponse(bytes: Uint8Array, start: number): void {
    const sent = this.#statRequests.get(readU16(bytes, start + 2));
    if (sent === undefined) return;
    this.#statRequests.delete(readU16(bytes, start + 2));
    // Everything we sent before the request reached the server before it (or was lost).
    const peerReceived = readU32(bytes, start + 36);
    if (this.#statCutSent >= 0 && sent > this.#statCutSent) {
      this.#statSample(sent - this.#statCutSent, (peerReceived - this.#statCutPeer) >>> 0);
    }
    this.#statCutSent = sent;
    this.#statCutPeer = peerReceived;
  }

  #onStatRequest(bytes: Uint8Array, start: number): void {
    // What the client received of ours, against what we had sent one round trip ago.
    const peerReceived = readU32(bytes, start + 36);
    if (this.#srtt > 0) {
      const sent = this.#sentBefore(this.#now - this.#srtt);
      if (this.#statCutSent >= 0 && sent > this.#statCutSent) {
        this.#statSample(sent - this.#statCutSent, (peerReceived - this.#statCutPeer) >>> 0);
      }
      this.#statCutSent = sent;
      this.#statCutPeer = peerReceived;
    }
    const response = new Uint8Array(40);
    response[1] = ProtocolOp.SessionStatResponse;
    response[2] = bytes[start + 2]!;
    response[3] = bytes[start + 3]!;
    putU32(response, 4, Math.floor(this.#now / 1000) >>> 0);
    // The client's own counters come back, then ours.
    response.set(bytes.subarray(start + 24, start + 40), 8);
    putU32(response, 28, this.#packetsSent >>> 0);
    putU32(response, 36, this.#packetsReceived >>> 0);
    this.#statResponse = response;
    if (this.#o.keyExchange && !this.#keyRequestQueued) {
      this.#keyRequestQueued = true;
      this.#queueMessage(encodeKeyRequest(this.#o.profile.opcode(AppOpcodeName.KeyRequest)));
    }
  }

  #receiveReliable(frag: boolean, seq: number, data: Uint8Array): void {
    const offset = (seq - this.#rcvNxt) & 0xffff;
    if (offset >= 0x8000) {
      this.#duplicates++;
      this.#dupAck = true;
      this.#scheduleAck(this.#now + this.#o.ackDelayUs);
      return;
    }
    if (offset === 0) {
      this.#deliver(frag, data);
      this.#rcvNxt = (this.#rcvNxt + 1) & 0xffff;
      this.#ackPending++;
      for (;;) {
        const next = this.#ooo.get(this.#rcvNxt);
        if (next === undefined || this.#state === "closed") break;
        this.#ooo.delete(this.#rcvNxt);
        this.#oooBytes -= next.data.length;
        this.#deliver(next.frag, next.data);
        this.#rcvNxt = (this.#rcvNxt + 1) & 0xffff;
        this.#ackPending++;
      }
      const due = this.#ackPending >= this.#o.ackEveryPackets || this.#ooo.size > 0
        ? this.#now
        : this.#now + this.#o.ackDelayUs;
      this.#scheduleAck(due);
      return;
    }
    if (offset >= this.#o.outOfOrderWindow) {
      this.#sequenceErrors++;
      return;
    }
    if (this.#ooo.has(seq)) {
      this.#duplicates++;
      return;
    }
    if (this.#oooBytes + data.length > this.#o.maxOutOfOrderBytes) {
      this.#sequenceErrors++;
      return;
    }
    this.#ooo.set(seq, { frag, data });
    this.#oooBytes += data.length;
    if (this.#o.selectiveAcks && this.#sacks.length < this.#o.outOfOrderWindow) this.#sacks.push(seq);
    this.#scheduleAck(this.#now);
  }

  #scheduleAck(at: number): void {
    if (at < this.#ackDueAt) this.#ackDueAt = at;
  }

  #deliver(frag: boolean, data: Uint8Array): void {
    if (this.#state === "closed") return;
    if (this.#reasmTotal >= 0) {
      if (!frag) {
        this.#fatal(
          new EqStreamError(
            EqStreamErrorCode.BadFragment,
            `Cannot reassemble: a Packet arrived after ${this.#reasmBytes} of ${this.#reasmTotal} fragment bytes`,
          ),
        );
        return;
      }
      this.#reasmParts.push(data);
      this.#reasmBytes += data.length;
      if (this.#reasmBytes > this.#reasmTotal) {
        this.#fatal(
          new EqStreamError(
            EqStreamErrorCode.BadFragment,
            `Cannot reassemble: fragments carry ${this.#reasmBytes} bytes, more than the total ${this.#reasmTotal}`,
          ),
        );
        return;
      }
      if (this.#reasmBytes === this.#reasmTotal) {
        const whole = new Uint8Array(this.#reasmTotal);
        let at = 0;
        for (const part of this.#reasmParts) {
          whole.set(part, at);
          at += part.length;
        }
        this.#reasmTotal = -1;
        this.#reasmParts = [];
        this.#reasmBytes = 0;
        this.#reliableData(whole);
      }
      return;
    }
    if (!frag) {
      this.#reliableData(data);
      return;
    }
    if (data.length < 4) {
      this.#fatal(
        new EqStreamError(
          EqStreamErrorCode.BadFragment,
          `Cannot reassemble: first fragment has ${data.length} bytes, fewer than its 4-byte total`,
        ),
      );
      return;
    }
    const total = readU32(data, 0);
    if (total > this.#o.maxMessageBytes) {
      this.#fatal(
        new EqStreamError(
          EqStreamErrorCode.FragmentTooLarge,
          `Cannot decode fragment: total length ${total} exceeds limit ${this.#o.maxMessageBytes}`,
        ),
      );
      return;
    }
    const chunk = data.subarray(4);
    if (chunk.length >= total) {
      if (chunk.length === total && total > 0) this.#reliableData(chunk);
      else {
        this.#fatal(
          new EqStreamError(
            EqStreamErrorCode.BadFragment,
            `Cannot reassemble: first fragment carries ${chunk.length} bytes of a ${total}-byte total`,
          ),
        );
      }
      return;
    }
    this.#reasmTotal = total;
    this.#reasmParts = [chunk];
    this.#reasmBytes = chunk.length;
  }

  #reliableData(data: Uint8Array): void {
    try {
      forEachAppPacket(data, (bytes) => this.#appBytes(bytes));
    } catch (error) {
      if (!(error instanceof EqStreamError)) throw error;
      // The RC4 stream and the inflater must see every packet in order: losing one loses the stream.
      this.#fatal(error);
    }
  }

  #appBytes(bytes: Uint8Array): void {
    if (this.#state === "closed") return;
    if (!this.#keyed) {
      if (this.#side === "server") {
        const key = decodeKeyReply(bytes);
        this.#setKey(key);
      } else {
        checkKeyRequest(bytes, this.#o.profile.opcode(AppOpcodeName.KeyRequest));
        const key = this.#rng.fill(new Uint8Array(RC4_KEY_BYTES));
        const filler = this.#rng.fill(new Uint8Array(KEY_REPLY_BYTES - 8 - RC4_KEY_BYTES));
        this.#queueMessage(encodeKeyReply(key, filler));
        this.#setKey(key);
      }
      return;
    }
    let packet;
    try {
      packet = this.#decoder.decode(bytes);
    } catch (error) {
      if (error instanceof EqStreamError && error.code === EqStreamErrorCode.BadAppPacket) {
        this.#onError(error);
        return;
      }
      throw error;
    }
    this.#appPacketsReceived++;
    this.#appBytesReceived += packet.payload.length;
    this.#events.push({ type: "app", opcode: packet.opcode, payload: packet.payload });
  }

  #setKey(key: Uint8Array): void {
    this.#encoder.setKey(key);
    this.#decoder.setKey(key);
    this.#keyed = true;
    this.#becomeReady();
  }

  #becomeReady(): void {
    if (this.#state === "keying" || this.#state === "connecting") this.#state = "open";
    this.#events.push({ type: "ready" });
    const pending = this.#preKey;
    this.#preKey = [];
    for (const app of pending) {
      this.#sendQueueBytes -= this.#appSize(app.opcode, app.payload);
      this.#queueMessage(this.#encoder.encode(app.opcode, app.payload));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Acks and loss detection

  #onAck(seq: number): void {
    const offset = (seq - this.#sndUna) & 0xffff;
    if (offset >= this.#ring.size) return; // Stale, or for something never sent.
    for (let i = 0; i <= offset; i++) {
      const unit = this.#ring.at(i);
      if (!unit.acked) this.#unitDelivered(unit);
    }
    this.#ring.shift(offset + 1);
    this.#sndUna = (seq + 1) & 0xffff;
  }

  #onSack(seq: number): void {
    const offset = (seq - this.#sndUna) & 0xffff;
    if (offset >= this.#ring.size) return;
    const unit = this.#ring.at(offset);
    if (!unit.acked) this.#unitDelivered(unit);
  }

  #unitDelivered(unit: Unit): void {
    const now = this.#now;
    // A transmission from before the last timeout got through: the path was slow, not broken.
    if (this.#rtoEpoch > 0 && !unit.retransmitted && unit.xmitOrder <= this.#rtoEpoch) this.#spuriousRto = true;
    unit.acked = true;
    if (unit.inflight) {
      unit.inflight = false;
      this.#inflight -= unit.size;
      this.#order.remove(unit);
    }
    unit.lost = false;
    if (this.#probe === unit) this.#probe = undefined;
    this.#sendQueueBytes -= unit.queueBytes;
    this.#lastDeliveryAt = now;
    this.#evAcked += unit.size;
    this.#delivered += unit.size;
    this.#deliveredAt = now;
    if (unit.rsDelivered >= this.#evPriorDelivered) {
      this.#evPriorDelivered = unit.rsDelivered;
      this.#evPriorAt = unit.rsDeliveredAt;
      this.#evSendElapsed = unit.xmitAt - unit.rsFirstSentAt;
      this.#evAppLimited = unit.rsAppLimited;
      this.#firstSentAt = unit.xmitAt;
    }
    if (unit.xmitAt > this.#evNewestSentAt) this.#evNewestSentAt = unit.xmitAt;
    if (!unit.retransmitted) {
      // Redundant copies count as part of the first transmission (Karn: only resends make samples ambiguous).
      if (unit.firstSentAt > this.#evRttSentAt) {
        this.#evRttSentAt = unit.firstSentAt;
        this.#evRtt = now - unit.firstSentAt;
      }
      this.#evDatagrams.push(unit.origDatagram);
    }
    // Time-based loss detection keys on the newest transmission known delivered. A resent packet's ack
    // may answer either copy, so it does not move that mark; one arriving sooner than a round trip
    // after the resend proves the resend was needless, and the reordering window widens.
    if (!unit.retransmitted) {
      if (unit.xmitOrder > this.#rackXmitOrder) {
        this.#rackXmitOrder = unit.xmitOrder;
        this.#rackRtt = now - unit.xmitAt;
      }
    } else if (this.#minRtt > 0 && now - unit.xmitAt < this.#minRtt) {
      if (this.#rtoEpoch > 0) this.#spuriousRto = true;
      this.#spuriousResends++;
      this.#reorderMultiplier = Math.min(this.#reorderMultiplier + 1, MAX_REORDER_MULTIPLIER);
      this.#cleanRecoveries = 0;
    }
    this.#tlpFired = false;
    this.#rtoBackoff = 0;
    this.#rtoRecovery = false;
  }

  #finishAckEvent(): void {
    if (this.#evAcked === 0) return;
    const now = this.#now;
    if (this.#evRttSentAt >= 0) this.#rttSample(Math.max(this.#evRtt, 1));
    let rate = 0;
    if (this.#evPriorDelivered >= 0) {
      const interval = Math.max(this.#evSendElapsed, now - this.#evPriorAt);
      if (interval > 0 && interval >= this.#minRtt / 2) {
        rate = ((this.#delivered - this.#evPriorDelivered) * 1e6) / interval;
      }
    }
    if (this.#appLimitedUntil > 0 && this.#delivered > this.#appLimitedUntil) this.#appLimitedUntil = 0;
    this.#cc.onAck({
      nowUs: now,
      ackedBytes: this.#evAcked,
      inflightBytes: this.#inflight,
      srttUs: this.#srtt || this.#o.rtoInitialUs,
      rttUs: this.#evRttSentAt >= 0 ? Math.max(this.#evRtt, 1) : 0,
      rttVarUs: this.#rttVar,
      minRttUs: this.#minRtt,
      deliveryRate: rate,
      appLimited: this.#evAppLimited,
      priorDelivered: Math.max(this.#evPriorDelivered, 0),
      delivered: this.#delivered,
      newestSentAtUs: this.#evNewestSentAt,
    });
    this.#sampleLossFromAcks();
    this.#evAcked = 0;
    this.#evRtt = 0;
    this.#evRttSentAt = -1;
    this.#evNewestSentAt = -1;
    this.#evPriorDelivered = -1;
    this.#evDatagrams.length = 0;
    if (this.#spuriousRto) this.#undoRto();
    this.#detectLosses();
    if (this.#drainWanted && this.#sendQueueBytes <= this.#o.maxSendQueueBytes / 2) {
      this.#drainWanted = false;
      this.#events.push({ type: "drain" });
    }
  }

  #rttSample(rtt: number): void {
    if (this.#srtt === 0) {
      this.#srtt = rtt;
      this.#rttVar = rtt / 2;
      this.#minRtt = rtt;
    } else {
      this.#rttVar = 0.75 * this.#rttVar + 0.25 * Math.abs(this.#srtt - rtt);
      this.#srtt = 0.875 * this.#srtt + 0.125 * rtt;
      if (rtt < this.#minRtt) this.#minRtt = rtt;
    }
    if (rtt > this.#maxRtt) this.#maxRtt = rtt;
    this.#rto = Math.min(Math.max(this.#srtt + Math.max(4 * this.#rttVar, 1_000), this.#o.rtoMinUs), this.#o.rtoMaxUs);
  }

  /**
   * Fallback loss estimate (used until the peer's packet counters arrive in a stat exchange): one
   * sample per datagram that carried new packets, lost when one of them was declared lost.
   * Redundant copies hide losses from it, so it only steers redundancy until real counters come.
   */
  #sampleLossFromAcks(): void {
    for (const d of this.#evDatagrams) {
      if (this.#takeUnsampled(d)) this.#fallbackSample(0);
    }
  }

  /** A packet first sent in datagram `d` was declared lost: that datagram counts as lost once. */
  #datagramLost(d: number): void {
    if (this.#takeUnsampled(d)) this.#fallbackSample(1);
  }

  /** Whether datagram `d` was waiting for its loss sample; it is not any more. */
  #takeUnsampled(d: number): boolean {
    const slot = d & (DATAGRAM_SAMPLES - 1);
    if (this.#unsampled[slot] !== (d + 1) >>> 0) return false;
    this.#unsampled[slot] = 0;
    return true;
  }

  #fallbackSample(lost: 0 | 1): void {
    this.#fallbackLoss += LOSS_ALPHA * (lost - this.#fallbackLoss);
  }

  /** Datagram loss towards the peer, from its counters when known. (A method: private getters are slow in V8.) */
  #lossEstimate(): number {
    if (this.#statLossAt >= 0 && this.#now - this.#statLossAt <= STAT_LOSS_VALID_US) return Math.max(0, this.#statLoss);
    return this.#fallbackLoss;
  }

  /** A loss sample from counters: `sent` of our datagrams over an interval, of which the peer got `received`. */
  #statSample(sent: number, received: number): void {
    if (sent <= 0) return;
    // Samples are not clamped at zero: timing noise in the counter cut is symmetric and must average out.
    const loss = Math.min(1, 1 - received / sent);
    const weight = sent / (sent + STAT_LOSS_WEIGHT_PACKETS);
    this.#statLoss = this.#statLossAt < 0 ? loss : this.#statLoss + weight * (loss - this.#statLoss);
    this.#statLossAt = this.#now;
  }

  /** Copies a small packet gets: enough that all of them being lost is below the target. */
  #copiesFor(unit: Unit): number {
    const r = this.#o.redundancy;
    if (r.maxCopies === 0 || unit.size > r.maxPacketBytes) return 0;
    const loss = this.#lossEstimate();
    if (loss < r.targetLoss) return 0;
    let chance = loss;
    let copies = 0;
    while (chance > r.targetLoss && copies < r.maxCopies) {
      chance *= loss;
      copies++;
    }
    return copies;
  }

  #reorderWindow(): number {
    const window = Math.max((this.#minRtt / 4) * this.#reorderMultiplier, this.#o.reorderWindowMinUs);
    return this.#srtt > 0 ? Math.min(window, this.#srtt) : window;
  }

  /** RACK: a packet sent before one that was delivered is lost once a reordering window has passed. */
  #detectLosses(): void {
    this.#rackTimerAt = Infinity;
    if (this.#rackXmitOrder === 0) return;
    const now = this.#now;
    const reorder = this.#reorderWindow();
    let lostBytes = 0;
    let newestLostAt = -1;
    for (let unit = this.#order.head; unit !== undefined;) {
      if (unit.xmitOrder >= this.#rackXmitOrder) break;
      const next: Unit | undefined = unit.next;
      // A redundant copy sent after the delivered packet may still arrive: judge the unit by its copy.
      if (unit.copyOrder >= this.#rackXmitOrder) {
        unit = next;
        continue;
      }
      const deadline = Math.max(unit.xmitAt, unit.copyAt) + this.#rackRtt + reorder;
      if (now < deadline) {
        if (deadline < this.#rackTimerAt) this.#rackTimerAt = deadline;
        // Without copies, deadlines only grow along the list.
        if (unit.copyOrder === 0) break;
        unit = next;
        continue;
      }
      this.#markLost(unit);
      lostBytes += unit.size;
      if (unit.xmitAt > newestLostAt) newestLostAt = unit.xmitAt;
      this.#datagramLost(unit.origDatagram);
      unit = next;
    }
    if (lostBytes > 0) {
      // After enough recoveries without a needless resend, narrow the reordering window again.
      if (++this.#cleanRecoveries >= 16 && this.#reorderMultiplier > 1) {
        this.#reorderMultiplier--;
        this.#cleanRecoveries = 0;
      }
      this.#cc.onLoss({ nowUs: now, lostBytes, inflightBytes: this.#inflight, newestLostSentAtUs: newestLostAt });
    }
  }

  #markLost(unit: Unit): void {
    if (unit.inflight) {
      unit.inflight = false;
      this.#inflight -= unit.size;
      this.#order.remove(unit);
    }
    if (unit.lost) return;
    unit.lost = true;
    this.#lostUnits++;
    // Keep the retransmission queue in sequence order: the oldest gap blocks delivery.
    const key = (unit.seq - this.#sndUna) & 0xffff;
    let i = this.#lost.length;
    while (i > 0 && ((this.#lost[i - 1]!.seq - this.#sndUna) & 0xffff) > key) i--;
    this.#lost.splice(i, 0, unit);
  }

  #onRto(): void {
    this.#timeouts++;
    this.#rtoBackoff++;
    // The timeout already probes the path; a tail probe on top would only add to the trickle.
    this.#tlpFired = true;
    this.#rtoEpoch = this.#xmitCounter;
    this.#rtoRecovery = true;
    // An outage is not random loss: it does not feed the loss estimate that drives redundancy.
    for (let unit = this.#order.head; unit !== undefined;) {
      const next: Unit | undefined = unit.next;
      this.#markLost(unit);
      this.#takeUnsampled(unit.origDatagram);
      unit = next;
    }
    this.#cc.onRto(this.#now);
  }

  /**
   * Undoes a spurious timeout: packets it declared lost and that were not resent yet go back in
   * flight at their original send times, and time-based detection judges them again.
   */
  #undoRto(): void {
    this.#timeoutsUndone++;
    this.#cc.onRtoUndone(this.#now);
    this.#spuriousRto = false;
    this.#rtoEpoch = 0;
    this.#rtoBackoff = 0;
    const keep: Unit[] = [];
    for (const unit of this.#lost) {
      if (unit.acked || !unit.lost) continue;
      if (unit.retransmitted) {
        keep.push(unit);
        continue;
      }
      unit.lost = false;
      unit.inflight = true;
      this.#inflight += unit.size;
      this.#lostUnits--;
      this.#insertInOrder(unit);
    }
    this.#lost = keep;
  }

  /** Puts a unit back into the send-order list at the place of its transmission. */
  #insertInOrder(unit: Unit): void {
    let after = this.#order.tail;
    while (after !== undefined && after.xmitOrder > unit.xmitOrder) after = after.prev;
    if (after === undefined) {
      unit.prev = undefined;
      unit.next = this.#order.head;
      if (this.#order.head) this.#order.head.prev = unit;
      else this.#order.tail = unit;
      this.#order.head = unit;
      return;
    }
    unit.prev = after;
    unit.next = after.next;
    if (after.next) after.next.prev = unit;
    else this.#order.tail = unit;
    after.next = unit;
  }

  #currentRto(): number {
    return Math.min(this.#rto * 2 ** Math.min(this.#rtoBackoff, 30), this.#o.rtoMaxUs);
  }

  /** The retransmission timer runs from the oldest transmission in flight, restarted by each ack that delivers. */
  #rtoAt(): number {
    const head = this.#order.head;
    if (head === undefined) return Infinity;
    return Math.max(head.xmitAt, this.#lastDeliveryAt) + this.#currentRto();
  }

  #tlpAt(): number {
    if (this.#tlpFired || this.#srtt === 0) return Infinity;
    const tail = this.#order.tail;
    if (tail === undefined) return Infinity;
    return tail.xmitAt + Math.max(2 * this.#srtt + this.#o.ackDelayUs, this.#o.tlpMinUs);
  }

  #fireTlp(): void {
    this.#tlpFired = true;
    // Probe with the oldest packet still in flight: it is the one blocking delivery.
    for (let i = 0; i < this.#ring.size; i++) {
      const unit = this.#ring.at(i);
      if (unit.inflight) {
        unit.inflight = false;
        this.#inflight -= unit.size;
        this.#order.remove(unit);
        this.#probe = unit;
        this.#probes++;
        return;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Sending

  #queueMessage(bytes: Uint8Array): void {
    if (this.#messageHead === this.#messages.length) {
      this.#messages.length = 0;
      this.#messageHead = 0;
    }
    if (this.#messageBytes === 0 && this.#fragMessage === undefined) this.#oldestMessageAt = this.#now;
    this.#messages.push(bytes);
    this.#messageBytes += bytes.length;
    this.#sendQueueBytes += bytes.length;
  }

  #hasNewData(): boolean {
    return this.#fragMessage !== undefined || this.#messageHead < this.#messages.length;
  }

  /** Whether queued data should go now rather than wait to be combined with more. */
  #newDataDue(): boolean {
    if (!this.#hasNewData()) return false;
    return this.#fragMessage !== undefined || this.#messageBytes >= this.#unitBodyMax || this.#inflight === 0 ||
      this.#now >= this.#oldestMessageAt + this.#o.combineDelayUs || this.#state === "closing";
  }

  #windowOpen(): boolean {
    return this.#ring.size < this.#o.outOfOrderWindow - 1;
  }

  #cwndAllows(size: number): boolean {
    return this.#inflight === 0 || this.#inflight + size <= this.#cc.cwndBytes;
  }

  #pacingRate(): number {
    const cap = this.#o.maxSendRateBytesPerSec;
    let rate = this.#cc.pacingRate;
    // Never pace slower than an initial window per round trip: small flows must not queue behind
    // a rate their own sparse samples taught the controller (the window still bounds them).
    if (rate > 0 && this.#srtt > 0) {
      rate = Math.max(rate, (this.#o.initialWindowPackets * this.#maxLen * 1e6) / this.#srtt);
    }
    if (cap > 0) return rate > 0 ? Math.min(rate, cap) : cap;
    return rate;
  }

  #refillTokens(): void {
    const rate = this.#pacingRate();
    // A timer that fires late (Deno's fire about 1.2 ms after a 1 ms request) must not cost the time it
    // overslept: the tokens of the lateness are kept on top of the quantum, bounded by maxPacingCatchUpUs.
    const late = this.#paceWakeAt > 0
      ? Math.min(this.#o.maxPacingCatchUpUs, Math.max(0, this.#now - this.#paceWakeAt))
      : 0;
    this.#paceWakeAt = 0;
    const burst = Math.max(2 * this.#maxLen, (rate * (this.#o.pacingQuantumUs + late)) / 1e6);
    if (rate <= 0) {
      this.#tokens = Infinity;
    } else {
      if (!Number.isFinite(this.#tokens)) this.#tokens = burst;
      this.#tokens = Math.min(burst, this.#tokens + ((this.#now - this.#tokensAt) * rate) / 1e6);
    }
    this.#tokensAt = this.#now;
  }

  /** Size of the body of the next new unit, or -1 when the next message must wait for a fresh datagram. */
  #nextUnit(room: number): Unit | undefined {
    const bodyRoom = Math.min(this.#unitBodyMax, room - 4);
    if (bodyRoom < 16) return undefined;
    let body: Uint8Array;
    let frag = false;
    let queueBytes = 0;
    if (this.#fragMessage !== undefined) {
      const message = this.#fragMessage;
      const n = Math.min(bodyRoom, message.length - this.#fragOffset);
      body = message.subarray(this.#fragOffset, this.#fragOffset + n);
      this.#fragOffset += n;
      queueBytes = n;
      frag = true;
      if (this.#fragOffset === message.length) this.#fragMessage = undefined;
    } else {
      const first = this.#messages[this.#messageHead]!;
      const escape = first[0] === 0 ? 1 : 0;
      if (first.length + escape > this.#unitBodyMax) {
        // Too big for any datagram: fragment it (the reassembled data carries the escape byte).
        const whole = new Uint8Array(first.length + escape);
        whole.set(first, escape);
        this.#takeMessage();
        const n = Math.min(bodyRoom - 4, whole.length);
        body = new Uint8Array(4 + n);
        putU32(body, 0, whole.length);
        body.set(whole.subarray(0, n), 4);
        this.#fragMessage = whole;
        this.#fragOffset = n;
        queueBytes = first.length;
        frag = true;
      } else if (first.length + escape > bodyRoom) {
        return undefined;
      } else {
        // Bundle following small packets into one AppCombined while they fit.
        let count = 1;
        let combined = 2 + 1 + first.length;
        while (first.length < 0xff && this.#messageHead + count < this.#messages.length) {
          const next = this.#messages[this.#messageHead + count]!;
          if (next.length >= 0xff || combined + 1 + next.length > bodyRoom) break;
          combined += 1 + next.length;
          count++;
        }
        if (count === 1) {
          body = escape ? this.#arena.alloc(first.length + 1) : first;
          if (escape) body.set(first, 1);
          queueBytes = first.length;
          this.#takeMessage();
        } else {
          body = this.#arena.alloc(combined);
          body[1] = ProtocolOp.AppCombined;
          let at = 2;
          for (let i = 0; i < count; i++) {
            const message = this.#takeMessage();
            body[at++] = message.length;
            body.set(message, at);
            at += message.length;
            queueBytes += message.length;
          }
        }
      }
    }
    const seq = this.#sndNxt;
    this.#sndNxt = (seq + 1) & 0xffff;
    const unit: Unit = {
      seq,
      frag,
      body,
      size: 4 + body.length,
      queueBytes,
      acked: false,
      inflight: false,
      lost: false,
      retransmitted: false,
      firstSentAt: this.#now,
      xmitAt: this.#now,
      xmitOrder: 0,
      origDatagram: this.#datagramCounter,
      lastDatagram: -1,
      copyOrder: 0,
      copyAt: -1,
      copiesLeft: 0,
      rsDelivered: 0,
      rsDeliveredAt: 0,
      rsFirstSentAt: 0,
      rsAppLimited: false,
      prev: undefined,
      next: undefined,
    };
    this.#ring.push(unit);
    return unit;
  }

  #takeMessage(): Uint8Array {
    const message = this.#messages[this.#messageHead]!;
    this.#messages[this.#messageHead] = undefined as unknown as Uint8Array;
    this.#messageHead++;
    this.#messageBytes -= message.length;
    if (this.#messageHead < this.#messages.length) this.#oldestMessageAt = this.#now;
    return message;
  }

  /** Records a (re)transmission of `unit` in the datagram being built. */
  #transmit(unit: Unit): void {
    const now = this.#now;
    if (this.#inflight === 0) {
      this.#firstSentAt = now;
      this.#deliveredAt = now;
    }
    unit.rsDelivered = this.#delivered;
    unit.rsDeliveredAt = this.#deliveredAt;
    unit.rsFirstSentAt = this.#firstSentAt;
    unit.rsAppLimited = this.#appLimitedUntil > 0;
    unit.xmitAt = now;
    unit.xmitOrder = ++this.#xmitCounter;
    unit.lastDatagram = this.#datagramCounter;
    unit.inflight = true;
    this.#inflight += unit.size;
    this.#order.append(unit);
    this.#paced += unit.size;
    this.#builder.addSequenced(unit.frag ? ProtocolOp.Fragment : ProtocolOp.Packet, unit.seq, unit.body);
  }

  #controlDue(): boolean {
    return this.#needStatRequest || this.#statResponse !== undefined || this.#needKeepAlive ||
      this.#disconnectsLeft > 0 || this.#sacks.length > 0 || (this.#hasAckToSend() && this.#now >= this.#ackDueAt);
  }

  #hasAckToSend(): boolean {
    return this.#ackPending > 0 || this.#dupAck;
  }

  /** Datagrams sent up to time `at`, from a short history. */
  #sentBefore(at: number): number {
    const times = this.#sentTimes;
    const n = times.length;
    let best = 0;
    for (let i = 0; i < n; i++) {
      const k = (this.#sentHead + n - 1 - i) % n;
      if (times[k]! <= at && times[k]! >= 0) {
        best = this.#sentCounts[k]!;
        break;
      }
    }
    return best;
  }

  #sendRaw(bytes: Uint8Array): void {
    this.#out.push(bytes);
    this.#packetsSent++;
    // Keep a coarse history of the send counter (one entry per millisecond at most).
    const last = (this.#sentHead + SENT_HISTORY - 1) % SENT_HISTORY;
    if (this.#sentTimes[last]! >= 0 && this.#now - this.#sentTimes[last]! < 1_000) {
      this.#sentCounts[last] = this.#packetsSent;
    } else {
      this.#sentTimes[this.#sentHead] = this.#now;
      this.#sentCounts[this.#sentHead] = this.#packetsSent;
      this.#sentHead = (this.#sentHead + 1) % SENT_HISTORY;
    }
    this.#bytesSent += bytes.length;
    this.#lastSendAt = this.#now;
  }

  /** The handshake packets (they travel alone, outside the datagram builder). */
  #sendHandshake(): void {
    if (this.#needSessionRequest) {
      this.#needSessionRequest = false;
      this.#sendRaw(encodeBody({
        op: ProtocolOp.SessionRequest,
        protocolVersion: EQ2_PROTOCOL_VERSION,
        sessionId: this.#sessionId,
        maxLength: this.#o.maxDatagramBytes,
      }));
    }
    if (this.#needSessionResponse) {
      this.#needSessionResponse = false;
      this.#sendRaw(encodeBody({
        op: ProtocolOp.SessionResponse,
        sessionId: this.#sessionId,
        crcKey: this.#crcKey,
        crcBytes: 2,
        format: 0,
        unknownByte: 0,
        maxLength: this.#maxLen,
        unknownTail: 0,
      }));
    }
  }

  #addDisconnect(): void {
    this.#disconnectsLeft--;
    const packet = new Uint8Array(8);
    packet[1] = ProtocolOp.SessionDisconnect;
    putU32(packet, 2, this.#sessionId);
    packet[6] = DISCONNECT_REASON_APPLICATION >>> 8;
    packet[7] = DISCONNECT_REASON_APPLICATION & 0xff;
    this.#builder.addRaw(packet);
  }

  #addStatRequest(): void {
    this.#needStatRequest = false;
    const requestId = this.#rng.u32() & 0xffff;
    // The counters include the datagram that carries them, like the EQ2 client's.
    const sent = this.#packetsSent + 1;
    this.#statRequests.set(requestId, sent);
    if (this.#statRequests.size > 8) this.#statRequests.delete(this.#statRequests.keys().next().value!);
    this.#builder.addRaw(encodeBody({
      op: ProtocolOp.SessionStatRequest,
      requestId,
      lastLocalDelta: 0,
      averageDelta: 0,
      lowDelta: 0,
      highDelta: 0,
      lastRemoteDelta: 0,
      packetsSent: BigInt(sent),
      packetsReceived: BigInt(this.#packetsReceived),
    }));
  }

  /** Stat packets, keep-alive, the cumulative ack and selective acks that are due, into the datagram begun. */
  #addControl(): void {
    const builder = this.#builder;
    if (this.#needStatRequest) this.#addStatRequest();
    if (this.#statResponse !== undefined) {
      builder.addRaw(this.#statResponse);
      this.#statResponse = undefined;
    }
    if (this.#needKeepAlive) {
      this.#needKeepAlive = false;
      builder.addEmpty(ProtocolOp.KeepAlive);
    }
    if (this.#hasAckToSend() && builder.fits(4)) {
      builder.addU16(ProtocolOp.Ack, (this.#rcvNxt - 1) & 0xffff);
      this.#acksSent++;
      this.#ackPending = 0;
      this.#dupAck = false;
      this.#ackDueAt = Infinity;
    }
    if (this.#sacks.length === 0 && this.#ooo.size === 0) return;
    let sacks = 0;
    const acking = builder.count > 0;
    while (this.#sacks.length > 0 && sacks < this.#o.maxSelectiveAcksPerDatagram && builder.fits(4)) {
      const seq = this.#sacks.shift()!;
      // Only still-useful ones: a packet since delivered in order is covered by the cumulative ack.
      if (((seq - this.#rcvNxt) & 0xffff) >= 0x8000) continue;
      builder.addU16(ProtocolOp.OutOfOrderAck, seq);
      this.#sacksSent++;
      sacks++;
      this.#recentSacks[this.#recentSackAt++ % SACK_REPEAT] = seq;
    }
    // While a gap lasts, repeat the newest few selective acks in later ack datagrams (as TCP repeats
    // its SACK blocks): one lost ack must not make the sender resend what already arrived.
    if ((acking || sacks > 0) && this.#ooo.size > 0) {
      for (let i = 0; i < SACK_REPEAT && i < this.#recentSackAt; i++) {
        const seq = this.#recentSacks[(this.#recentSackAt - 1 - i) % SACK_REPEAT]!;
        if (i < sacks || !this.#ooo.has(seq) || !builder.fits(4)) continue;
        builder.addU16(ProtocolOp.OutOfOrderAck, seq);
        this.#sacksSent++;
      }
    }
  }

  #sendAll(): void {
    if (this.#needSessionRequest || this.#needSessionResponse) this.#sendHandshake();
    if (this.#state === "connecting") return;
    if (this.#state === "closed" && this.#disconnectsLeft === 0) return;

    this.#refillTokens();
    let retransmitBudget = this.#o.maxRetransmitsPerPoll;
    const dataDue = this.#newDataDue();
    const builder = this.#builder;
    for (let guard = 0; guard < 100_000; guard++) {
      const sendingData = this.#state !== "closed" && this.#tokens > 0;
      const haveProbe = sendingData && this.#probe !== undefined;
      const haveLost = sendingData && retransmitBudget > 0 && this.#firstLost() !== undefined &&
        this.#cwndAllows(this.#firstLost()!.size);
      const haveNew = sendingData && dataDue && this.#hasNewData() && this.#windowOpen() &&
        this.#cwndAllows(Math.min(this.#messageBytes + 4, this.#maxLen));
      const copiesDue = this.#copiesDue();
      if (!this.#controlDue() && !haveProbe && !haveLost && !haveNew && !copiesDue) break;

      builder.begin(this.#maxLen);
      const datagramId = this.#datagramCounter;
      // The rare parts live in their own methods: a small loop body is one every engine optimizes.
      if (this.#disconnectsLeft > 0) this.#addDisconnect();
      if (this.#state !== "closed") this.#addControl();
      let carriesData = false;
      let freshData = false;
      const pacedBefore = this.#paced;
      if (haveProbe && this.#probe !== undefined && builder.fits(this.#probe.size)) {
        const unit = this.#probe;
        this.#probe = undefined;
        unit.retransmitted = true;
        this.#retransmissions++;
        this.#transmit(unit);
        carriesData = true;
      }
      if (haveLost) {
        for (;;) {
          const unit = this.#firstLost();
          if (unit === undefined || retransmitBudget === 0 || !this.#cwndAllows(unit.size)) break;
          if (!builder.fits(unit.size)) break;
          this.#lost.shift();
          unit.lost = false;
          unit.retransmitted = true;
          this.#retransmissions++;
          retransmitBudget--;
          this.#transmit(unit);
          carriesData = true;
          // A resent small packet gets copies too (losing the resend would cost another round trip),
          // unless the resend follows a timeout: copies do not help across an outage.
          const copies = this.#rtoRecovery ? 0 : this.#copiesFor(unit);
          if (copies > 0) {
            if (unit.copiesLeft <= 0) this.#redundant.push(unit);
            unit.copiesLeft = copies;
          }
        }
      }
      if (haveNew || (sendingData && dataDue && carriesData)) {
        while (this.#hasNewData() && this.#windowOpen()) {
          const room = builder.room;
          if (!this.#cwndAllows(Math.min(this.#unitBodyMax, room) + 4)) break;
          const unit = this.#nextUnit(room);
          if (unit === undefined) break;
          unit.copiesLeft = this.#copiesFor(unit);
          if (unit.copiesLeft > 0) this.#redundant.push(unit);
          this.#unitsSent++;
          this.#transmit(unit);
          carriesData = true;
          freshData = true;
        }
      }
      if (builder.count > 0 || copiesDue) this.#addCopies(datagramId);
      const datagram = builder.finish(this.#crcKey);
      if (datagram === undefined) break;
      this.#sendRaw(datagram);
      if (freshData) this.#unsampled[datagramId & (DATAGRAM_SAMPLES - 1)] = datagramId + 1;
      this.#datagramCounter++;
      // Pacing spends on packets that count in flight; redundant copies only fill room in datagrams that go anyway.
      if (carriesData) this.#tokens -= this.#paced - pacedBefore;
    }
    if (!this.#hasNewData() && this.#inflight < this.#cc.cwndBytes && this.#state === "open") {
      // Nothing more to send: rate samples taken now reflect the application, not the path.
      this.#appLimitedUntil = this.#delivered + this.#inflight || 1;
    }
  }

  /** Gap after the last datagram before copies go out on their own (when no other datagram takes them). */
  #copyInterval(): number {
    return Math.max(this.#srtt / 4, 2 * this.#o.combineDelayUs, 1_000);
  }

  #hasCopies(): boolean {
    const list = this.#redundant;
    while (list.length > 0) {
      const unit = list[list.length - 1]!;
      if (!unit.acked && unit.copiesLeft > 0) return true;
      list.pop();
    }
    return false;
  }

  #copiesDue(): boolean {
    return this.#state !== "closed" && this.#now >= this.#lastSendAt + this.#copyInterval() && this.#hasCopies();
  }

  #firstLost(): Unit | undefined {
    while (this.#lost.length > 0 && (this.#lost[0]!.acked || !this.#lost[0]!.lost)) this.#lost.shift();
    return this.#lost[0];
  }

  /**
   * Fills what room is left with copies of small unacknowledged packets, newest first: each packet's
   * copies then ride in the datagrams right after its own, a tick apart, not behind older backlog.
   */
  #addCopies(datagramId: number): void {
    const list = this.#redundant;
    for (let i = list.length - 1; i >= 0; i--) {
      const unit = list[i]!;
      if (unit.acked || unit.copiesLeft <= 0 || unit.lost || unit.lastDatagram === datagramId) continue;
      if (!this.#builder.fits(unit.size)) continue;
      this.#builder.addSequenced(unit.frag ? ProtocolOp.Fragment : ProtocolOp.Packet, unit.seq, unit.body);
      unit.copiesLeft--;
      unit.lastDatagram = datagramId;
      unit.copyOrder = ++this.#xmitCounter;
      unit.copyAt = this.#now;
      this.#copies++;
    }
    let keep = 0;
    for (let i = 0; i < list.length; i++) {
      const unit = list[i]!;
      if (!unit.acked && unit.copiesLeft > 0) list[keep++] = unit;
    }
    list.length = keep;
  }

  // ---------------------------------------------------------------------------------------------
  // Timers and polling

  #advance(nowUs: number): void {
    if (nowUs > this.#now) this.#now = nowUs;
  }

  #runTimers(): void {
    const now = this.#now;
    switch (this.#state) {
      case "closed":
        return;
      case "connecting":
        if (now >= this.#createdAt + this.#o.connectTimeoutUs) {
          this.#finish(
            "connect_timeout",
            new EqStreamError(
              EqStreamErrorCode.ConnectTimeout,
              `Cannot connect: no session response within ${this.#o.connectTimeoutUs} µs`,
            ),
            false,
          );
        } else if (now >= this.#nextConnectAt) {
          this.#needSessionRequest = true;
          this.#connectBackoff = Math.min(this.#connectBackoff * 2, CONNECT_RETRY_MAX_US);
          this.#nextConnectAt = now + this.#connectBackoff;
        }
        return;
    }
    if (!this.#established) {
      if (now >= this.#createdAt + this.#o.handshakeTimeoutUs) this.#finish("handshake_timeout", undefined, false);
      return;
    }
    if (now >= this.#lastRecvAt + this.#o.idleTimeoutUs) {
      this.#finish("idle", undefined, true);
      return;
    }
    if (this.#ring.size > 0 && now >= this.#lastRecvAt + this.#o.giveUpUs) {
      this.#finish("timeout", undefined, true);
      return;
    }
    if (this.#state === "closing") {
      if (this.#ring.size === 0 && !this.#hasNewData() && this.#preKey.length === 0) {
        this.#finish(this.#closeReason ?? "local", undefined, true);
        return;
      }
      if (now >= this.#closeDeadline) {
        this.#finish(this.#closeReason ?? "local", undefined, true);
        return;
      }
    }
    if (now >= this.#rackTimerAt) this.#detectLosses();
    if (now >= this.#rtoAt()) this.#onRto();
    else if (now >= this.#tlpAt()) this.#fireTlp();
    if (this.#o.keepAliveUs > 0 && now >= this.#lastSendAt + this.#o.keepAliveUs) this.#needKeepAlive = true;
    // The server sends its key request when the stat request arrives; that one is not resent by the
    // sequencing layer, so ask again (backing off) until the key request shows up.
    if (this.#side === "client" && this.#state === "keying" && now >= this.#nextKeyNudgeAt) {
      this.#needStatRequest = true;
      this.#connectBackoff = Math.min(this.#connectBackoff * 2, CONNECT_RETRY_MAX_US);
      this.#nextKeyNudgeAt = now + this.#connectBackoff;
    }
    if (this.#side === "client" && this.#o.statIntervalUs > 0 && now >= this.#nextStatAt) {
      this.#needStatRequest = true;
      this.#nextStatAt = now + this.#o.statIntervalUs;
    }
  }

  /** Runs timers, then returns what to send, what happened, and when to poll next. */
  poll(nowUs: number): PollResult {
    this.#advance(nowUs);
    this.#runTimers();
    this.#sendAll();
    if (this.#state === "closed" && !this.#closedReported) {
      this.#closedReported = true;
      this.#releaseAll();
      this.#events.push({
        type: "closed",
        reason: this.#closeReason ?? "local",
        ...(this.#closeError ? { error: this.#closeError } : {}),
        ...(this.#peerReason !== undefined ? { peerReason: this.#peerReason } : {}),
      });
    }
    const datagrams = this.#out.length > 0 ? this.#out : NONE;
    const events = this.#events.length > 0 ? this.#events : NONE;
    if (datagrams !== NONE) this.#out = [];
    if (events !== NONE) this.#events = [];
    return { datagrams, events, wakeAtUs: this.#wakeAt() };
  }

  #wakeAt(): number {
    const now = this.#now;
    if (this.#state === "closed") return Infinity;
    if (this.#state === "connecting") {
      return Math.min(this.#nextConnectAt, this.#createdAt + this.#o.connectTimeoutUs);
    }
    if (!this.#established) return this.#createdAt + this.#o.handshakeTimeoutUs;
    let at = this.#lastRecvAt + this.#o.idleTimeoutUs;
    if (this.#ring.size > 0) at = Math.min(at, this.#lastRecvAt + this.#o.giveUpUs);
    if (this.#o.keepAliveUs > 0) at = Math.min(at, this.#lastSendAt + this.#o.keepAliveUs);
    if (this.#side === "client" && this.#o.statIntervalUs > 0) at = Math.min(at, this.#nextStatAt);
    if (this.#side === "client" && this.#state === "keying") at = Math.min(at, this.#nextKeyNudgeAt);
    if (this.#state === "closing") at = Math.min(at, this.#closeDeadline);
    if (this.#hasAckToSend()) at = Math.min(at, this.#ackDueAt);
    at = Math.min(at, this.#rackTimerAt, this.#rtoAt(), this.#tlpAt());
    if (this.#hasCopies()) at = Math.min(at, this.#lastSendAt + this.#copyInterval());
    const pending = this.#probe !== undefined || this.#firstLost() !== undefined ||
      (this.#hasNewData() && this.#windowOpen());
    if (pending) {
      if (this.#hasNewData() && !this.#newDataDue()) at = Math.min(at, this.#oldestMessageAt + this.#o.combineDelayUs);
      else if (this.#tokens <= 0) {
        const rate = this.#pacingRate();
        this.#paceWakeAt = now + Math.max(1, Math.ceil(((1 - this.#tokens) * 1e6) / rate));
        at = Math.min(at, this.#paceWakeAt);
      } else if (this.#firstLost() !== undefined && this.#cwndAllows(this.#firstLost()!.size)) {
        at = Math.min(at, now + this.#o.pacingQuantumUs);
      }
    }
    return Math.max(at, now + 1);
  }

  #onError(error: EqStreamError): void {
    if (error.code !== EqStreamErrorCode.BadCrc) this.#protocolErrors++;
    this.#events.push({ type: "error", error });
  }

  #fatal(error: EqStreamError): void {
    this.#protocolErrors++;
    this.#finish("protocol_error", error, true);
  }

  /** Ends the session now; `notify` sends SessionDisconnect copies first. */
  #finish(reason: CloseReason, error: EqStreamError | undefined, notify: boolean): void {
    if (this.#state === "closed") return;
    const wasConnecting = this.#state === "connecting";
    this.#state = "closed";
    this.#closeReason = reason;
    this.#closeError = error;
    this.#disconnectsLeft = notify && !wasConnecting && this.#established ? DISCONNECT_COPIES : 0;
  }

  #releaseAll(): void {
    this.#messages = [];
    this.#messageHead = 0;
    this.#messageBytes = 0;
    this.#fragMessage = undefined;
    this.#preKey = [];
    this.#ring.clear();
    this.#order.clear();
    this.#lost = [];
    this.#redundant = [];
    this.#probe = undefined;
    this.#inflight = 0;
    this.#sendQueueBytes = 0;
    this.#ooo.clear();
    this.#oooBytes = 0;
    this.#reasmParts = [];
    this.#reasmBytes = 0;
    this.#reasmTotal = -1;
    this.#sacks = [];
    this.#unsampled.fill(0);
  }

  // ---------------------------------------------------------------------------------------------
  // Statistics

  /** A snapshot of this session's statistics. */
  get stats(): SessionStats {
    const totals = this.#encoder.totals;
    return {
      packetsSent: this.#packetsSent,
      packetsReceived: this.#packetsReceived,
      bytesSent: this.#bytesSent,
      bytesReceived: this.#bytesReceived,
      appPacketsSent: this.#appPacketsSent,
      appPacketsReceived: this.#appPacketsReceived,
      appBytesSent: this.#appBytesSent,
      appBytesReceived: this.#appBytesReceived,
      crcErrors: this.#crcErrors,
      sequenceErrors: this.#sequenceErrors,
      duplicatesReceived: this.#duplicates,
      protocolErrors: this.#protocolErrors,
      timeouts: this.#timeouts,
      timeoutsUndone: this.#timeoutsUndone,
      retransmissions: this.#retransmissions,
      redundantCopies: this.#copies,
      tailLossProbes: this.#probes,
      spuriousRetransmissions: this.#spuriousResends,
      acksSent: this.#acksSent,
      selectiveAcksSent: this.#sacksSent,
      acksReceived: this.#acksReceived,
      selectiveAcksReceived: this.#sacksReceived,
      rttAvgUs: Math.round(this.#srtt),
      rttMinUs: Math.round(this.#minRtt),
      rttMaxUs: Math.round(this.#maxRtt),
      rttVarUs: Math.round(this.#rttVar),
      rtoUs: Math.round(this.#currentRto()),
      lossRate: this.#lossEstimate(),
      retransmitRate: this.#unitsSent === 0 ? 0 : this.#lostUnits / this.#unitsSent,
      compressionRatio: totals.plainBytes === 0 ? 1 : totals.wireBytes / totals.plainBytes,
      congestionControl: this.#cc.name,
      congestionState: this.#cc.state,
      cwndBytes: Math.round(this.#cc.cwndBytes),
      pacingRateBytesPerSec: Math.round(this.#pacingRate()),
      inflightBytes: this.#inflight,
      sendQueueBytes: this.#sendQueueBytes,
      outOfOrderPackets: this.#ooo.size,
      reassemblyBytes: this.#reasmBytes,
      maxDatagramBytes: this.#maxLen,
    };
  }
}
