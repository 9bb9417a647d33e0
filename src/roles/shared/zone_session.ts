/**
 * EQStream tuning of zone sessions, shared by both ends (the zone server and the bot client).
 * @module
 */

/**
 * Both ends of a zone session delay a lone ack up to 25 ms (EQStream's default is 2 ms): movement
 * arrives 10 times a second each way, so acks mostly ride on updates instead of costing a datagram
 * each. It must be the same on both ends: a sender's tail-loss probe waits twice the round trip plus
 * its *own* ack delay, so a peer that acks later than that draws a spurious probe per packet.
 */
export const ZONE_ACK_DELAY_US = 25_000;
