/**
 * Server states in the Diarkis sense: ONLINE takes new players, TAKEN keeps the ones it has but takes
 * no new ones, OFFLINE is shutting down. A capacity rule moves a server between ONLINE and TAKEN as its
 * population crosses thresholds (with hysteresis, so it does not flap at the boundary); an operator may
 * pin a state; OFFLINE is final.
 * @module
 */
import { RoleError, RoleErrorCode } from "../role_error.ts";

/** The three server states. */
export const ServerStatus = {
  Online: "online",
  Taken: "taken",
  Offline: "offline",
} as const;

/** One of {@linkcode ServerStatus}. */
export type ServerStatus = typeof ServerStatus[keyof typeof ServerStatus];

/** Options of {@linkcode CapacityState}. */
export interface CapacityOptions {
  /** Players at most; the rule is measured against it. */
  readonly maxPlayers: number;
  /** TAKEN once players ≥ `takenAt` × maxPlayers; default 1. */
  readonly takenAt?: number;
  /** ONLINE again once players < `resumeAt` × maxPlayers; default 0.9. */
  readonly resumeAt?: number;
}

/** A transition, for logs and observers. */
export interface StatusChange {
  readonly from: ServerStatus;
  readonly to: ServerStatus;
  readonly players: number;
  readonly reason: "capacity" | "operator" | "drain";
}

/** The state of one server and its capacity rule. */
export class CapacityState {
  readonly maxPlayers: number;
  readonly #takenAt: number;
  readonly #resumeAt: number;
  #status: ServerStatus = ServerStatus.Online;
  #pinned: ServerStatus | undefined;
  #players = 0;

  constructor(options: CapacityOptions) {
    const { maxPlayers } = options;
    const takenAt = options.takenAt ?? 1;
    const resumeAt = options.resumeAt ?? 0.9;
    if (!Number.isInteger(maxPlayers) || maxPlayers < 1) {
      throw new RoleError(RoleErrorCode.BadOption, `Invalid maxPlayers: ${maxPlayers} is not a positive integer`);
    }
    if (!(takenAt > 0 && takenAt <= 1) || !(resumeAt > 0 && resumeAt <= takenAt)) {
      throw new RoleError(
        RoleErrorCode.BadOption,
        `Invalid capacity thresholds: takenAt ${takenAt} and resumeAt ${resumeAt} must satisfy 0 < resumeAt ≤ takenAt ≤ 1`,
      );
    }
    this.maxPlayers = maxPlayers;
    this.#takenAt = takenAt;
    this.#resumeAt = resumeAt;
  }

  get status(): ServerStatus {
    return this.#status;
  }

  get players(): number {
    return this.#players;
  }

  /** Whether a new player may come in now. */
  get accepting(): boolean {
    return this.#status === ServerStatus.Online;
  }

  /** Free places before the capacity rule says TAKEN. */
  get room(): number {
    return Math.max(0, Math.ceil(this.#takenAt * this.maxPlayers) - this.#players);
  }

  /** Applies the rule to a new population; returns the change, if any. */
  evaluate(players: number): StatusChange | undefined {
    this.#players = players;
    if (this.#status === ServerStatus.Offline || this.#pinned !== undefined) return undefined;
    const from = this.#status;
    if (from === ServerStatus.Online && players >= this.#takenAt * this.maxPlayers) {
      this.#status = ServerStatus.Taken;
    } else if (from === ServerStatus.Taken && players < this.#resumeAt * this.maxPlayers) {
      this.#status = ServerStatus.Online;
    }
    return from === this.#status ? undefined : { from, to: this.#status, players, reason: "capacity" };
  }

  /** Pins a state (ONLINE or TAKEN) set by an operator; `undefined` hands control back to the rule. */
  pin(status: typeof ServerStatus.Online | typeof ServerStatus.Taken | undefined): StatusChange | undefined {
    if (this.#status === ServerStatus.Offline) return undefined;
    this.#pinned = status;
    const from = this.#status;
    if (status === undefined) return this.evaluate(this.#players);
    this.#status = status;
    return from === status ? undefined : { from, to: status, players: this.#players, reason: "operator" };
  }

  /** OFFLINE for good (draining). */
  offline(): StatusChange | undefined {
    const from = this.#status;
    this.#status = ServerStatus.Offline;
    return from === ServerStatus.Offline
      ? undefined
      : { from, to: ServerStatus.Offline, players: this.#players, reason: "drain" };
  }
}
