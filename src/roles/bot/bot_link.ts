/**
 * A bot's view of one EQStream connection: typed messages in, a way to wait for the next message of
 * given kinds (with a timeout), and a hook for messages that arrive on their own (chat, movement).
 * @module
 */
import { connect, type EqStreamConnection, type SessionOptions } from "../../eqstream/mod.ts";
import type { Platform } from "../../platform/platform.ts";
import { RoleError, RoleErrorCode } from "../role_error.ts";

/** Messages kept while nobody waits for them, at most (older ones are dropped). */
const MAX_QUEUED = 256;

interface Waiter<M> {
  readonly kinds: ReadonlySet<string>;
  readonly resolve: (message: M) => void;
  readonly reject: (error: Error) => void;
  readonly timer: number;
}

/** One connection of a bot. */
export class BotLink<M extends { readonly kind: string }> {
  readonly #platform: Platform;
  readonly #what: string;
  readonly #decode: (opcode: number, payload: Uint8Array) => M | undefined;
  readonly #onMessage: (message: M) => boolean;
  readonly #queue: M[] = [];
  readonly #waiters: Waiter<M>[] = [];
  #connection: EqStreamConnection | undefined;
  #closedReason: string | undefined;

  /**
   * `decode` turns a packet into a message (undefined: ignore it); `onMessage` sees every message
   * first and returns true when it consumed it.
   */
  constructor(
    platform: Platform,
    what: string,
    decode: (opcode: number, payload: Uint8Array) => M | undefined,
    onMessage: (message: M) => boolean = () => false,
  ) {
    this.#platform = platform;
    this.#what = what;
    this.#decode = decode;
    this.#onMessage = onMessage;
  }

  /** Why the connection closed, once it has. */
  get closedReason(): string | undefined {
    return this.#closedReason;
  }

  get open(): boolean {
    return this.#connection !== undefined && this.#closedReason === undefined;
  }

  /** Connects (session handshake and key exchange). */
  async connect(
    target: { readonly address: string; readonly port: number },
    options: SessionOptions & { readonly bindAddress?: string } = {},
  ): Promise<void> {
    try {
      this.#connection = await connect(this.#platform, target, options, {
        app: (_c, opcode, payload) => this.#receive(opcode, payload),
        closed: (_c, reason) => this.#closed(reason),
      });
    } catch (error) {
      throw new RoleError(
        RoleErrorCode.Timeout,
        `Cannot connect to the ${this.#what} server at ${target.address}:${target.port}: ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error },
      );
    }
  }

  /** Sends an encoded message; false if the connection is gone or saturated. */
  send(opcode: number, payload: Uint8Array): boolean {
    const connection = this.#connection;
    if (connection === undefined || this.#closedReason !== undefined) return false;
    try {
      connection.sendApp(opcode, payload);
      return true;
    } catch {
      return false;
    }
  }

  /** The next message of one of `kinds` (queued or future); rejects after `timeoutUs` or when the connection closes. */
  expect<K extends M["kind"]>(kinds: readonly K[], timeoutUs: number): Promise<Extract<M, { kind: K }>> {
    const wanted = new Set<string>(kinds);
    const index = this.#queue.findIndex((m) => wanted.has(m.kind));
    if (index >= 0) return Promise.resolve(this.#queue.splice(index, 1)[0] as Extract<M, { kind: K }>);
    if (this.#closedReason !== undefined) {
      return Promise.reject(
        new RoleError(
          RoleErrorCode.Protocol,
          `The ${this.#what} connection closed (${this.#closedReason}) while waiting for ${kinds.join(" or ")}`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter<M> = {
        kinds: wanted,
        resolve: resolve as (message: M) => void,
        reject,
        timer: this.#platform.timers.setTimeout(() => {
          const at = this.#waiters.indexOf(waiter);
          if (at >= 0) this.#waiters.splice(at, 1);
          reject(
            new RoleError(
              RoleErrorCode.Timeout,
              `No ${kinds.join(" or ")} from the ${this.#what} server within ${Math.round(timeoutUs / 1000)} ms`,
            ),
          );
        }, timeoutUs),
      };
      this.#waiters.push(waiter);
    });
  }

  /** Closes gracefully (queued packets are delivered first). */
  close(): void {
    this.#connection?.close("local");
  }

  /** Resolves once the session has ended (at most `timeoutUs`). */
  async closed(timeoutUs: number): Promise<void> {
    const deadline = this.#platform.clock.now() + timeoutUs;
    while (this.#connection !== undefined && !this.#connection.finished && this.#platform.clock.now() < deadline) {
      await new Promise<void>((resolve) => this.#platform.timers.setTimeout(resolve, 10_000));
    }
  }

  #receive(opcode: number, payload: Uint8Array): void {
    let message: M | undefined;
    try {
      message = this.#decode(opcode, payload);
    } catch {
      return; // a message this bot cannot read: ignore it as a real client would
    }
    if (message === undefined || this.#onMessage(message)) return;
    const at = this.#waiters.findIndex((w) => w.kinds.has(message.kind));
    if (at >= 0) {
      const [waiter] = this.#waiters.splice(at, 1);
      this.#platform.timers.clearTimeout(waiter!.timer);
      waiter!.resolve(message);
      return;
    }
    this.#queue.push(message);
    if (this.#queue.length > MAX_QUEUED) this.#queue.shift();
  }

  #closed(reason: string): void {
    this.#closedReason = reason;
    for (const waiter of this.#waiters.splice(0)) {
      this.#platform.timers.clearTimeout(waiter.timer);
      waiter.reject(
        new RoleError(
          RoleErrorCode.Protocol,
          `The ${this.#what} connection closed (${reason}) while waiting for ${[...waiter.kinds].join(" or ")}`,
        ),
      );
    }
  }
}
