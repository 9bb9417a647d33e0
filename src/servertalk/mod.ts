/**
 * servertalk: typed, authenticated, multiplexed TCP messaging between the login, world and zone
 * roles. The wire format and the API are documented in `docs/servertalk.md`.
 *
 * ```ts
 * const server = new ServertalkServer(platform, { name: "login", role: ServerRole.Login, authenticator });
 * server.handle(LSInfo, (ctx) => ctx.reply({ worldId: 1, name: ctx.message.name }));
 * await server.listen({ port: 9100 });
 *
 * const client = new ServertalkClient(platform, {
 *   address: "127.0.0.1", port: 9100, name: "world-1", role: ServerRole.World, account: "world1", password,
 * });
 * client.onConnect(async (link) => void await link.request(LSInfo, info));
 * await client.dial();
 * ```
 * @module
 */
export * from "./auth.ts";
export * from "./client.ts";
export * from "./control.ts";
export * from "./frame.ts";
export * from "./link.ts";
export * from "./link_core.ts";
export * from "./messages.ts";
export * from "./metrics.ts";
export * from "./mock_link.ts";
export * from "./opcodes.ts";
export * from "./pipe.ts";
export * from "./router.ts";
export * from "./schema.ts";
export * from "./server.ts";
export * from "./servertalk_error.ts";
