/** Per-session statistics: a plain snapshot object for status pages, scenario reports and benchmarks. */
export interface SessionStats {
  /** Datagrams sent and received (after CRC checks, received counts only valid ones). */
  readonly packetsSent: number;
  readonly packetsReceived: number;
  /** Datagram bytes each way. */
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /** Application packets and their payload bytes each way. */
  readonly appPacketsSent: number;
  readonly appPacketsReceived: number;
  readonly appBytesSent: number;
  readonly appBytesReceived: number;
  /** Datagrams dropped for a bad CRC. */
  readonly crcErrors: number;
  /** Reliable packets outside the receive window, or dropped because the out-of-order buffer was full. */
  readonly sequenceErrors: number;
  /** Reliable packets received more than once (retransmissions and redundant copies). */
  readonly duplicatesReceived: number;
  /** Other malformed input (typed errors that did not close the session). */
  readonly protocolErrors: number;
  /** Retransmission timeouts that fired. */
  readonly timeouts: number;
  /** Timeouts undone because an ack showed the packets had arrived (a delay spike, not a loss). */
  readonly timeoutsUndone: number;
  /** Reliable packets sent again after being declared lost, by timeout or tail probe. */
  readonly retransmissions: number;
  /** Redundant copies of small reliable packets riding in other datagrams. */
  readonly redundantCopies: number;
  /** Tail-loss probes sent. */
  readonly tailLossProbes: number;
  /** Resends proven needless (their ack came sooner than a round trip after them); each widens the reordering window. */
  readonly spuriousRetransmissions: number;
  /** Cumulative acks and 0x11 selective acks sent and received. */
  readonly acksSent: number;
  readonly selectiveAcksSent: number;
  readonly acksReceived: number;
  readonly selectiveAcksReceived: number;
  /** Smoothed, minimum, maximum and latest RTT in µs (0 before the first sample), and the RTT variation. */
  readonly rttAvgUs: number;
  readonly rttMinUs: number;
  readonly rttMaxUs: number;
  readonly rttVarUs: number;
  /** Current retransmission timeout, µs. */
  readonly rtoUs: number;
  /** Estimated share of datagrams lost on the way to the peer (or their acks on the way back), 0…1. */
  readonly lossRate: number;
  /** Reliable packets declared lost divided by reliable packets sent. */
  readonly retransmitRate: number;
  /** Bytes after compression (and the zlib flag) divided by bytes before, for packets this side sent (1 when nothing was compressed). */
  readonly compressionRatio: number;
  /** Congestion controller, its state, window (bytes), pacing rate (bytes/s) and bytes in flight. */
  readonly congestionControl: string;
  readonly congestionState: string;
  readonly cwndBytes: number;
  readonly pacingRateBytesPerSec: number;
  readonly inflightBytes: number;
  /** Bytes accepted by `sendApp` and not yet acknowledged. */
  readonly sendQueueBytes: number;
  /** Reliable packets held ahead of a gap, and fragment bytes waiting for the rest of their message. */
  readonly outOfOrderPackets: number;
  readonly reassemblyBytes: number;
  /** The negotiated largest datagram. */
  readonly maxDatagramBytes: number;
}
