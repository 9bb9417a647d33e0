/**
 * Handler registration: `handle(Type, ...handlers)` chains (several handlers per message, run in
 * order, each calling `next(err)`), `hookAll` middleware that runs before every message, and
 * fallbacks for opcodes nobody declared. One Router may serve many links.
 * @module
 */
import type { Link } from "./link.ts";
import type { MessageType } from "./schema.ts";
import { ServertalkError, ServertalkErrorCode } from "./servertalk_error.ts";

/** Continues the chain; with an error, stops it (a request then gets an error reply). */
export type Next = (error?: unknown) => void;

/**
 * A message handler. A handler that declares the `next` parameter must call it (synchronously or
 * later) to continue the chain or, with an error, to stop it. A handler of one parameter continues
 * the chain when it returns, or when the promise it returns resolves (a rejection stops it).
 */
export type Handler<T = unknown, R = unknown> = (ctx: MessageContext<T, R>, next: Next) => void | Promise<void>;

/** What a handler receives for one message. */
export interface MessageContext<T = unknown, R = unknown> {
  readonly link: Link;
  readonly opcode: number;
  /** The declared type, or `undefined` for a raw (undeclared) opcode. */
  readonly type: MessageType<T, R> | undefined;
  /** The decoded message; the raw payload for an undeclared opcode. */
  readonly message: T;
  /** The payload bytes as received (decompressed, reassembled). */
  readonly payload: Uint8Array;
  /** The request id, or `undefined` for a one-way message. */
  readonly requestId: number | undefined;
  /** Whether a reply is expected. */
  readonly isRequest: boolean;
  /** Whether a reply (of any kind) was sent. */
  readonly replied: boolean;
  /** Replies with a value of the request's declared reply type. */
  reply(value: R): void;
  /** Replies with raw bytes under `opcode`. */
  replyRaw(opcode: number, payload: Uint8Array): void;
  /** Replies with an error: the requester must not retry as is. */
  fail(code: string, message: string): void;
  /** Replies "busy, retry after `waitMs`". */
  retry(waitMs: number, reason: string): void;
}

/** The handlers that run for one opcode. */
export interface Route {
  readonly type: MessageType<unknown, unknown> | undefined;
  readonly chain: readonly Handler<never, never>[];
}

/** Registered handlers, shared by every link of a server or client. */
export class Router {
  readonly #routes = new Map<
    number,
    { type: MessageType<unknown, unknown> | undefined; chain: Handler<never, never>[] }
  >();
  readonly #hooks: Handler<unknown, unknown>[] = [];
  readonly #fallback: Handler<Uint8Array, Uint8Array>[] = [];
  /** Merged chains (hooks + handlers), rebuilt after any registration. */
  readonly #cache = new Map<number, Route | undefined>();

  /**
   * Adds `handlers` to the chain of `type` (after any added before). Messages of the type are
   * decoded before the chain runs; requests are answered through `ctx.reply`.
   */
  handle<T, R>(type: MessageType<T, R>, ...handlers: Handler<T, R>[]): this {
    const route = this.#routes.get(type.opcode);
    if (route !== undefined && route.type !== type) {
      const existing = route.type === undefined ? "raw handlers" : route.type.name;
      throw new ServertalkError(
        ServertalkErrorCode.BadArgument,
        `Cannot handle ${type.name}: opcode 0x${type.opcode.toString(16)} already has ${existing}`,
      );
    }
    if (route === undefined) this.#routes.set(type.opcode, { type, chain: [...handlers] as Handler<never, never>[] });
    else route.chain.push(...handlers as Handler<never, never>[]);
    this.#cache.clear();
    return this;
  }

  /** Adds raw handlers for an opcode (the message is its payload bytes). */
  handleRaw(opcode: number, ...handlers: Handler<Uint8Array, Uint8Array>[]): this {
    const route = this.#routes.get(opcode);
    if (route !== undefined && route.type !== undefined) {
      throw new ServertalkError(
        ServertalkErrorCode.BadArgument,
        `Cannot handle opcode 0x${opcode.toString(16)} raw: ${route.type.name} is declared for it`,
      );
    }
    if (route === undefined) this.#routes.set(opcode, { type: undefined, chain: [...handlers] });
    else route.chain.push(...handlers);
    this.#cache.clear();
    return this;
  }

  /** Handlers for any opcode without a route: such messages are delivered raw, never dropped. */
  handleUnknown(...handlers: Handler<Uint8Array, Uint8Array>[]): this {
    this.#fallback.push(...handlers);
    this.#cache.clear();
    return this;
  }

  /** Middleware run before the handlers of every message (requests and one-way messages alike). */
  hookAll(...handlers: Handler<unknown, unknown>[]): this {
    this.#hooks.push(...handlers);
    this.#cache.clear();
    return this;
  }

  /** The route for `opcode`: hooks first, then its handlers (or the fallback). `undefined` if nothing would run. */
  route(opcode: number): Route | undefined {
    const cached = this.#cache.get(opcode);
    if (cached !== undefined || this.#cache.has(opcode)) return cached;
    const built = this.#build(opcode);
    // Unknown opcodes are cached too, but a hostile peer must not grow the cache without bound.
    if (this.#cache.size < 4096) this.#cache.set(opcode, built);
    return built;
  }

  #build(opcode: number): Route | undefined {
    const route = this.#routes.get(opcode);
    if (route === undefined) {
      if (this.#fallback.length === 0) return undefined;
      return { type: undefined, chain: [...this.#hooks, ...this.#fallback] as Handler<never, never>[] };
    }
    return this.#hooks.length === 0
      ? route
      : { type: route.type, chain: [...this.#hooks, ...route.chain] as Handler<never, never>[] };
  }
}
