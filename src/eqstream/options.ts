/**
 * Every knob of an EQStream session, with its default. docs/eqstream.md lists them with the reasons
 * behind each default.
 * @module
 */
import { EqStreamError, EqStreamErrorCode } from "./errors.ts";
import { EQ2_CAPTURE_PROFILE } from "./opcode_profile.ts";
import type { AppOpcodeProfile } from "./opcode_profile.ts";
import type { CongestionControlFactory } from "./congestion/congestion_control.ts";

/** Names of the built-in congestion controllers. */
export type CongestionControlName = "bbr" | "newreno";

/** Redundant re-sending of small reliable packets inside datagrams that go out anyway. */
export interface RedundancyOptions {
  /** Most extra copies of one packet (0 disables redundancy); default 4. */
  readonly maxCopies?: number;
  /** Only reliable packets of at most this many bytes get copies; default 255. */
  readonly maxPacketBytes?: number;
  /** Copies are added until the estimated chance that every copy is lost falls below this; default 0.001. */
  readonly targetLoss?: number;
}

/** Options of a session (both sides). All times are integer microseconds. */
export interface SessionOptions {
  /** Largest datagram this side accepts and sends; the smaller of both sides' values is used. Default 512 (the EQ2 client's). */
  readonly maxDatagramBytes?: number;
  /** Small packets wait at most this long to share a datagram; default 1 000 µs (1 ms). */
  readonly combineDelayUs?: number;
  /** A cumulative ack waits at most this long for more packets to cover; default 2 000 µs. */
  readonly ackDelayUs?: number;
  /** Ack at once after this many reliable packets arrived unacknowledged; default 2. */
  readonly ackEveryPackets?: number;
  /** Send 0x11 selective acks for packets that arrive ahead of a gap (once per packet); default true. */
  readonly selectiveAcks?: boolean;
  /** Most 0x11 selective acks in one datagram; default 64. */
  readonly maxSelectiveAcksPerDatagram?: number;
  /** Retransmission timeout floor; default 200 000 µs. */
  readonly rtoMinUs?: number;
  /** Retransmission timeout ceiling (backoff stops here); default 3 000 000 µs. */
  readonly rtoMaxUs?: number;
  /** Retransmission timeout before any RTT sample; default 1 000 000 µs. */
  readonly rtoInitialUs?: number;
  /** Smallest tail-loss probe timeout; default 10 000 µs. */
  readonly tlpMinUs?: number;
  /** Smallest reordering window of time-based loss detection (it is otherwise min RTT / 4); default 1 000 µs. */
  readonly reorderWindowMinUs?: number;
  /** Most retransmitted packets per poll (bounds a resend pass); default 64. */
  readonly maxRetransmitsPerPoll?: number;
  /** Give up (close with "timeout") when data is unacknowledged and nothing arrived for this long; default 30 s; at least `rtoInitialUs`. */
  readonly giveUpUs?: number;
  /** Close (with "idle") when nothing at all arrived for this long; default 45 s; at least `rtoInitialUs`. */
  readonly idleTimeoutUs?: number;
  /** Send a keep-alive after this long without sending anything; default 9 s. 0 disables. */
  readonly keepAliveUs?: number;
  /** Client: send a SessionStatRequest this often, so both sides learn each direction's datagram loss (0 = only at connect); default 2 s. */
  readonly statIntervalUs?: number;
  /** Client: first session-request retry after this long (doubling each time, up to 2 s); default 500 000 µs. */
  readonly connectRetryUs?: number;
  /** Client: give up connecting after this long; default 10 s. */
  readonly connectTimeoutUs?: number;
  /** Server: a session that sent nothing valid after its request is dropped after this long; default 10 s. */
  readonly handshakeTimeoutUs?: number;
  /** A graceful close waits at most this long for unacknowledged data; default 5 s. */
  readonly closeLingerUs?: number;
  /** Most bytes queued and unacknowledged before `sendApp` refuses; default 4 MiB. */
  readonly maxSendQueueBytes?: number;
  /** Largest application message either way, and largest fragment total accepted; default 512 KiB. */
  readonly maxMessageBytes?: number;
  /** Receiver: packets held ahead of a gap (and the sender's in-flight packet limit); default 1024. */
  readonly outOfOrderWindow?: number;
  /** Receiver: most bytes held ahead of a gap; default 1 MiB. */
  readonly maxOutOfOrderBytes?: number;
  /** Congestion controller: "bbr" (default), "newreno", or a factory. */
  readonly congestionControl?: CongestionControlName | CongestionControlFactory;
  /** Initial congestion window in datagrams; default 10. */
  readonly initialWindowPackets?: number;
  /** Send-rate cap in bytes per second (0 = none); default 0. */
  readonly maxSendRateBytesPerSec?: number;
  /** Pacing lets bursts of this much time at the pacing rate through at once; default 1 000 µs. */
  readonly pacingQuantumUs?: number;
  /**
   * When the pacing timer fires late, up to this much of the lateness is sent at once on top of the
   * quantum, so coarse runtime timers do not lower the sending rate; default 4 000 µs.
   */
  readonly maxPacingCatchUpUs?: number;
  /** Redundancy for small reliable packets. */
  readonly redundancy?: RedundancyOptions;
  /** Run the EQ2 key exchange and RC4; default true. */
  readonly keyExchange?: boolean;
  /** Server: compress server → client packets over the threshold; default true. */
  readonly compression?: boolean;
  /** Server: compress when opcode + payload exceed this many bytes; default 128. */
  readonly compressThresholdBytes?: number;
  /** Application opcode profile; default the captured client's. */
  readonly profile?: AppOpcodeProfile;
  /**
   * First sequence number of both directions; default 0, which is what the EQ2 client uses. Tests set
   * it near 65535 (on both ends) to cross the wrap-around quickly.
   */
  readonly initialSequence?: number;
}

/** Options after defaults, as the session uses them. */
export interface ResolvedSessionOptions {
  readonly maxDatagramBytes: number;
  readonly combineDelayUs: number;
  readonly ackDelayUs: number;
  readonly ackEveryPackets: number;
  readonly selectiveAcks: boolean;
  readonly maxSelectiveAcksPerDatagram: number;
  readonly rtoMinUs: number;
  readonly rtoMaxUs: number;
  readonly rtoInitialUs: number;
  readonly tlpMinUs: number;
  readonly reorderWindowMinUs: number;
  readonly maxRetransmitsPerPoll: number;
  readonly giveUpUs: number;
  readonly idleTimeoutUs: number;
  readonly keepAliveUs: number;
  readonly statIntervalUs: number;
  readonly connectRetryUs: number;
  readonly connectTimeoutUs: number;
  readonly handshakeTimeoutUs: number;
  readonly closeLingerUs: number;
  readonly maxSendQueueBytes: number;
  readonly maxMessageBytes: number;
  readonly outOfOrderWindow: number;
  readonly maxOutOfOrderBytes: number;
  readonly congestionControl: CongestionControlName | CongestionControlFactory;
  readonly initialWindowPackets: number;
  readonly maxSendRateBytesPerSec: number;
  readonly pacingQuantumUs: number;
  readonly maxPacingCatchUpUs: number;
  readonly redundancy: Required<RedundancyOptions>;
  readonly keyExchange: boolean;
  readonly compression: boolean;
  readonly compressThresholdBytes: number;
  readonly profile: AppOpcodeProfile;
  readonly initialSequence: number;
}

/** The defaults. */
export const DEFAULT_SESSION_OPTIONS: ResolvedSessionOptions = Object.freeze({
  maxDatagramBytes: 512,
  combineDelayUs: 1_000,
  ackDelayUs: 2_000,
  ackEveryPackets: 2,
  selectiveAcks: true,
  maxSelectiveAcksPerDatagram: 64,
  rtoMinUs: 200_000,
  rtoMaxUs: 3_000_000,
  rtoInitialUs: 1_000_000,
  tlpMinUs: 10_000,
  reorderWindowMinUs: 1_000,
  maxRetransmitsPerPoll: 64,
  giveUpUs: 30_000_000,
  idleTimeoutUs: 45_000_000,
  keepAliveUs: 9_000_000,
  statIntervalUs: 2_000_000,
  connectRetryUs: 500_000,
  connectTimeoutUs: 10_000_000,
  handshakeTimeoutUs: 10_000_000,
  closeLingerUs: 5_000_000,
  maxSendQueueBytes: 4 * 1024 * 1024,
  maxMessageBytes: 512 * 1024,
  outOfOrderWindow: 1024,
  maxOutOfOrderBytes: 1024 * 1024,
  congestionControl: "bbr",
  initialWindowPackets: 10,
  maxSendRateBytesPerSec: 0,
  pacingQuantumUs: 1_000,
  maxPacingCatchUpUs: 4_000,
  redundancy: Object.freeze({ maxCopies: 4, maxPacketBytes: 255, targetLoss: 0.001 }),
  keyExchange: true,
  compression: true,
  compressThresholdBytes: 128,
  profile: EQ2_CAPTURE_PROFILE,
  initialSequence: 0,
});

function check(name: string, value: number, min: number, max: number): void {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new EqStreamError(
      EqStreamErrorCode.BadOption,
      `Invalid option ${name}: ${value} is outside ${min}..${max}`,
    );
  }
}

/** Applies defaults and checks ranges; throws `EQSTREAM_BAD_OPTION` for a value out of range. */
export function resolveSessionOptions(options: SessionOptions = {}): ResolvedSessionOptions {
  const d = DEFAULT_SESSION_OPTIONS;
  const r: ResolvedSessionOptions = {
    ...d,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    redundancy: { ...d.redundancy, ...options.redundancy },
  } as ResolvedSessionOptions;
  check("maxDatagramBytes", r.maxDatagramBytes, 64, 65_507);
  check("combineDelayUs", r.combineDelayUs, 0, 1_000_000);
  check("ackDelayUs", r.ackDelayUs, 0, 1_000_000);
  check("ackEveryPackets", r.ackEveryPackets, 1, 1_000);
  check("maxSelectiveAcksPerDatagram", r.maxSelectiveAcksPerDatagram, 0, 1_000);
  check("rtoMinUs", r.rtoMinUs, 1_000, 60_000_000);
  check("rtoMaxUs", r.rtoMaxUs, r.rtoMinUs, 600_000_000);
  check("rtoInitialUs", r.rtoInitialUs, r.rtoMinUs, r.rtoMaxUs);
  check("tlpMinUs", r.tlpMinUs, 100, 60_000_000);
  check("reorderWindowMinUs", r.reorderWindowMinUs, 0, 10_000_000);
  check("maxRetransmitsPerPoll", r.maxRetransmitsPerPoll, 1, 100_000);
  // Giving up before the first resend could even happen would turn any lost packet into a disconnect.
  check("giveUpUs", r.giveUpUs, r.rtoInitialUs, 3_600_000_000);
  check("idleTimeoutUs", r.idleTimeoutUs, r.rtoInitialUs, 3_600_000_000);
  check("keepAliveUs", r.keepAliveUs, 0, 3_600_000_000);
  check("statIntervalUs", r.statIntervalUs, 0, 3_600_000_000);
  check("connectRetryUs", r.connectRetryUs, 1_000, 60_000_000);
  check("connectTimeoutUs", r.connectTimeoutUs, 1_000, 3_600_000_000);
  check("handshakeTimeoutUs", r.handshakeTimeoutUs, 1_000, 3_600_000_000);
  check("closeLingerUs", r.closeLingerUs, 0, 3_600_000_000);
  check("maxSendQueueBytes", r.maxSendQueueBytes, 1_024, 1 << 30);
  check("maxMessageBytes", r.maxMessageBytes, 16, 1 << 30);
  check("outOfOrderWindow", r.outOfOrderWindow, 1, 16_384);
  check("maxOutOfOrderBytes", r.maxOutOfOrderBytes, 0, 1 << 30);
  check("initialWindowPackets", r.initialWindowPackets, 1, 10_000);
  check("maxSendRateBytesPerSec", r.maxSendRateBytesPerSec, 0, 1e12);
  check("pacingQuantumUs", r.pacingQuantumUs, 0, 1_000_000);
  check("maxPacingCatchUpUs", r.maxPacingCatchUpUs, 0, 1_000_000);
  check("redundancy.maxCopies", r.redundancy.maxCopies, 0, 16);
  check("redundancy.maxPacketBytes", r.redundancy.maxPacketBytes, 0, 65_535);
  check("redundancy.targetLoss", r.redundancy.targetLoss, 1e-12, 1);
  check("initialSequence", r.initialSequence, 0, 0xffff);
  check("compressThresholdBytes", r.compressThresholdBytes, 0, 1 << 30);
  return r;
}
