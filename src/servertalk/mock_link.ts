/**
 * A stand-in peer for testing handlers without sockets: the handlers run on a real acceptor link
 * (the same dispatch, ordering and reply code as in production) connected through an in-process
 * pipe to a recording peer. `deliver` and `request` play the peer; `sent` lists what the handlers
 * sent back on their own.
 * @module
 */
import type { Platform } from "../platform/platform.ts";
import { ServerRole } from "./control.ts";
import type { Link, RawReply, ReplyOf, RequestOptions } from "./link.ts";
import { MESSAGES } from "./messages.ts";
import { opcodeName } from "./opcodes.ts";
import { Router } from "./router.ts";
import type { MessageType } from "./schema.ts";
import { ServertalkClient } from "./client.ts";
import { ServertalkServer } from "./server.ts";

/** An opcode no message uses, sent by `settle`. */
const SETTLE_OPCODE = 0xfffe;

/** A message the handlers under test sent to the mock peer. */
export interface SentMessage {
  readonly opcode: number;
  /** The declared type's name, or the opcode in hex. */
  readonly name: string;
  /** Decoded when the opcode is declared in `MESSAGES` (or in `types`), else the raw payload. */
  readonly message: unknown;
}

/** Options of {@linkcode createMockLink}. */
export interface MockLinkOptions {
  /** The peer's server name; default `"mock-peer"`. */
  readonly peerName?: string;
  /** The peer's role; default world. */
  readonly peerRole?: number;
  /** Extra declared types to decode `sent` messages with. */
  readonly types?: readonly MessageType<unknown, unknown>[];
}

/** A handler test harness; see the module documentation. */
export interface MockLink {
  /** The link the handlers see (`ctx.link`). */
  readonly link: Link;
  /** One-way messages the handlers sent, in order. */
  readonly sent: SentMessage[];
  /** Delivers a one-way message to the handlers. */
  deliver<T>(type: MessageType<T, unknown>, value: T): void;
  /** Sends a request to the handlers and resolves with their reply. */
  request<T, R>(type: MessageType<T, R>, value: T, options?: RequestOptions): Promise<ReplyOf<R>>;
  /** Sends a raw request. */
  requestRaw(opcode: number, payload: Uint8Array): Promise<RawReply>;
  /** Resolves once everything delivered so far has been handled and what it sent has arrived. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** Connects `router`'s handlers to a recording peer. */
export async function createMockLink(
  platform: Platform,
  router: Router,
  options: MockLinkOptions = {},
): Promise<MockLink> {
  const server = new ServertalkServer(platform, {
    name: "under-test",
    role: ServerRole.World,
    requireAuth: false,
    router,
  });
  const accepted = Promise.withResolvers<Link>();
  server.onConnect((link) => accepted.resolve(link));
  const sent: SentMessage[] = [];
  const types = new Map<number, MessageType<unknown, unknown>>();
  for (const type of [...MESSAGES, ...(options.types ?? [])]) types.set(type.opcode, type);
  const peer = new ServertalkClient(platform, {
    name: options.peerName ?? "mock-peer",
    role: (options.peerRole ?? ServerRole.World) as ServerRole,
    connect: () => server.connectInProcess(),
    reconnect: { enabled: false },
    router: new Router().handleUnknown((ctx) => {
      const type = types.get(ctx.opcode);
      sent.push({
        opcode: ctx.opcode,
        name: type?.name ?? opcodeName(ctx.opcode),
        message: type === undefined ? ctx.payload : type.decode(ctx.payload),
      });
    }),
  });
  const peerLink = await peer.dial();
  const link = await accepted.promise;
  return {
    link,
    sent,
    deliver: (type, value) => void peerLink.send(type, value),
    request: (type, value, requestOptions) => peerLink.request(type, value, requestOptions),
    requestRaw: (opcode, payload) => peerLink.requestRaw(opcode, payload),
    // A request for an opcode nobody declared is dispatched behind everything delivered before it,
    // and its (error) reply travels behind everything the handlers sent: its answer means "settled".
    settle: async () => {
      await peerLink.requestRaw(SETTLE_OPCODE, new Uint8Array(0)).catch(() => undefined);
    },
    close: async () => {
      await peer.close();
      await server.shutdown({ graceUs: 1_000_000 });
    },
  };
}
