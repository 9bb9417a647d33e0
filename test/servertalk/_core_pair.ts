/** Two sans-IO link cores wired back to back on a fake clock, for deterministic core tests. */
import { ServerRole } from "../../src/servertalk/control.ts";
import { LinkCore, type LinkCoreOptions, type LinkEvent } from "../../src/servertalk/link_core.ts";

export type Side = "dialer" | "acceptor";

export class CorePair {
  now = 1_000_000;
  readonly dialer: LinkCore;
  readonly acceptor: LinkCore;
  readonly events: Record<Side, LinkEvent[]> = { dialer: [], acceptor: [] };
  /** Bytes each side wrote, in order. */
  readonly wire: Record<Side, Uint8Array[]> = { dialer: [], acceptor: [] };
  /** When false, bytes written by that side are lost (a dead path). */
  readonly deliver: Record<Side, boolean> = { dialer: true, acceptor: true };
  /** Splits every chunk into pieces of at most this many bytes (TCP may cut anywhere). */
  chunkBytes = Number.POSITIVE_INFINITY;
  ended: Record<Side, boolean> = { dialer: false, acceptor: false };

  constructor(
    options: { dialer?: Omit<LinkCoreOptions, "side">; acceptor?: Omit<LinkCoreOptions, "side"> } = {},
  ) {
    this.dialer = new LinkCore({ ...options.dialer, side: "dialer" });
    this.acceptor = new LinkCore({ ...options.acceptor, side: "acceptor" });
  }

  core(side: Side): LinkCore {
    return side === "dialer" ? this.dialer : this.acceptor;
  }

  /** Exchanges bytes until both sides are quiet; returns the events seen in this call. */
  pump(rounds = 1000): Record<Side, LinkEvent[]> {
    const seen: Record<Side, LinkEvent[]> = { dialer: [], acceptor: [] };
    for (let i = 0; i < rounds; i++) {
      let moved = false;
      for (const side of ["dialer", "acceptor"] as const) {
        const other: Side = side === "dialer" ? "acceptor" : "dialer";
        const poll = this.core(side).poll(this.now);
        seen[side].push(...poll.events);
        this.events[side].push(...poll.events);
        if (poll.ended) this.ended[side] = true;
        for (const chunk of poll.chunks) {
          if (chunk.length === 0) continue;
          this.wire[side].push(chunk);
          moved = true;
          if (!this.deliver[side]) continue;
          for (let at = 0; at < chunk.length; at += this.chunkBytes) {
            this.core(other).receive(chunk.subarray(at, Math.min(chunk.length, at + this.chunkBytes)), this.now);
          }
        }
        if (poll.events.length > 0) moved = true;
      }
      if (!moved) return seen;
    }
    throw new Error("CorePair.pump did not settle");
  }

  /** Moves the clock and pumps. */
  advance(us: number): Record<Side, LinkEvent[]> {
    this.now += us;
    return this.pump();
  }

  /** Runs the handshake to an open link on both sides. */
  open(hello: Partial<Parameters<LinkCore["start"]>[0]> = {}): void {
    this.dialer.start(
      {
        buildId: "test",
        role: ServerRole.World,
        name: "world-1",
        account: "w",
        password: "pw",
        instance: "i1",
        ...hello,
      },
      this.now,
    );
    this.pump();
    this.acceptor.accept({ serverName: "login", role: ServerRole.Login, linkId: 1, buildId: "test" }, this.now);
    this.pump();
  }
}

/** Events of one type. */
export function ofType<T extends LinkEvent["type"]>(events: LinkEvent[], type: T): Extract<LinkEvent, { type: T }>[] {
  return events.filter((e) => e.type === type) as Extract<LinkEvent, { type: T }>[];
}
