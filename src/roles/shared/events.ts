/**
 * What the roles report to an observer: one typed event per thing a scenario check, a benchmark or a
 * status page may want to count or verify. Pass `observer` in a role's options to receive them; events
 * are delivered synchronously, in order, with the role's clock time.
 * @module
 */
import type { ServerStatus } from "./capacity.ts";

/** Why a player left a zone. */
export type LeaveCause = "logout" | "linkdead" | "zoned" | "kicked" | "drain" | "superseded";

/** Events of the login role. */
export type LoginEvent =
  | { readonly type: "login.accepted"; readonly account: string; readonly accountId: number; readonly created: boolean }
  | { readonly type: "login.refused"; readonly account: string; readonly reason: string }
  | { readonly type: "world.registered"; readonly worldId: number; readonly name: string }
  | { readonly type: "world.down"; readonly worldId: number; readonly name: string; readonly reason: string }
  | {
    readonly type: "world.status";
    readonly worldId: number;
    readonly name: string;
    readonly status: ServerStatus;
    readonly numPlayers: number;
  }
  | { readonly type: "play.granted"; readonly accountId: number; readonly charId: number; readonly worldId: number }
  | { readonly type: "play.refused"; readonly accountId: number; readonly charId: number; readonly reason: string };

/** Events of the world role. */
export type WorldEvent =
  | {
    readonly type: "character.created";
    readonly charId: number;
    readonly accountId: number;
    readonly name: string;
  }
  | { readonly type: "character.deleted"; readonly charId: number; readonly accountId: number }
  | {
    readonly type: "character.saved";
    readonly charId: number;
    readonly generation: number;
    readonly zone: string;
    readonly x: number;
    readonly y: number;
    readonly z: number;
  }
  | {
    readonly type: "character.save_refused";
    readonly charId: number;
    readonly generation: number;
    readonly reason: string;
  }
  | {
    readonly type: "player.assigned";
    readonly charId: number;
    readonly name: string;
    readonly zoneServer: string;
    readonly zoneName: string;
    readonly instanceId: number;
    readonly generation: number;
  }
  | { readonly type: "player.offline"; readonly charId: number; readonly name: string; readonly reason: string }
  | {
    readonly type: "chat.routed";
    readonly kind: number;
    readonly senderId: number;
    readonly messageId: number;
    readonly recipients: readonly number[];
  }
  | { readonly type: "zone.registered"; readonly zoneServer: string; readonly address: string; readonly port: number }
  | { readonly type: "zone.down"; readonly zoneServer: string; readonly reason: string }
  | {
    readonly type: "instance.booted";
    readonly zoneServer: string;
    readonly zoneName: string;
    readonly instanceId: number;
  }
  | { readonly type: "notice.issued"; readonly id: number; readonly text: string; readonly ttlUs: number }
  | { readonly type: "world.registered"; readonly worldId: number }
  | { readonly type: "world.unregistered"; readonly reason: string };

/** Events of the zone role. */
export type ZoneEvent =
  | {
    readonly type: "player.entered";
    readonly charId: number;
    readonly name: string;
    readonly zoneName: string;
    readonly instanceId: number;
    readonly generation: number;
  }
  | {
    readonly type: "player.left";
    readonly charId: number;
    readonly zoneName: string;
    readonly instanceId: number;
    readonly cause: LeaveCause;
    readonly saved: boolean;
  }
  | { readonly type: "player.linkdead"; readonly charId: number }
  | {
    /** A say or shout, with the players in range that it was sent to. */
    readonly type: "chat.local";
    readonly kind: number;
    readonly senderId: number;
    readonly messageId: number;
    readonly instanceId: number;
    readonly recipients: readonly number[];
  }
  | {
    /** A routed tell or channel line handed to local players. */
    readonly type: "chat.delivered";
    readonly kind: number;
    readonly senderId: number;
    readonly messageId: number;
    readonly recipients: readonly number[];
    /** Listed recipients no longer here. */
    readonly missed: readonly number[];
  }
  | { readonly type: "instance.booted"; readonly zoneName: string; readonly instanceId: number }
  | { readonly type: "notice.shown"; readonly id: number; readonly players: number };

/** Events common to every role. */
export type CommonEvent =
  | {
    readonly type: "status.changed";
    readonly from: ServerStatus;
    readonly to: ServerStatus;
    readonly players: number;
  }
  | { readonly type: "drain.started" }
  | { readonly type: "drain.finished"; readonly players: number };

/** Every event, stamped with who reported it and when. */
export type RoleEvent = (LoginEvent | WorldEvent | ZoneEvent | CommonEvent) & {
  readonly role: "login" | "world" | "zone";
  /** The server's name (login: "login"; world: its name; zone: its name). */
  readonly server: string;
  /** Platform clock time, µs. */
  readonly atUs: number;
};

/** Receives role events. */
export type RoleObserver = (event: RoleEvent) => void;

/** Distributes `Omit<Event, stamp>` to an optional observer with the stamp added. */
export function emitter(
  role: RoleEvent["role"],
  server: () => string,
  now: () => number,
  observer: RoleObserver | undefined,
): (event: LoginEvent | WorldEvent | ZoneEvent | CommonEvent) => void {
  if (observer === undefined) return () => {};
  return (event) => observer({ ...event, role, server: server(), atUs: now() } as RoleEvent);
}
