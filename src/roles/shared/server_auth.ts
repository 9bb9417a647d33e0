/**
 * servertalk authentication backed by the store: world and zone servers log in with server accounts
 * (`qeynos account add NAME --kind world|zone`); IP bans come from the store's bans.
 * @module
 */
import { createAuthenticator, type PolicyAuthenticator, ServerRole, verifyPasswordSync } from "../../servertalk/mod.ts";
import { type Store, STORE_ERROR_CODES, StoreError } from "../../store/mod.ts";

/**
 * An authenticator for `ServertalkServer` that looks accounts up in `store`. A world account may only
 * act as a world, a zone account only as a zone. `hashing: "sync"` compares passwords synchronously,
 * which the simulator needs to stay deterministic.
 */
export function storeAuthenticator(
  store: Store,
  options: { readonly hashing?: "sync" | "async" } = {},
): PolicyAuthenticator {
  return createAuthenticator({
    accounts: {
      findAccount: async (name) => {
        const c = await store.servers.credentials(name);
        return c && {
          account: c.name,
          passwordHash: c.passwordHash,
          enabled: c.enabled,
          roles: [c.kind === "world" ? ServerRole.World : ServerRole.Zone],
        };
      },
    },
    bans: {
      findBan: async (address, wallMs) => {
        let bans;
        try {
          bans = await store.bans.active({ ip: address }, wallMs);
        } catch (error) {
          // Not an IP address (an in-process pipe, a simulated host name): nothing can ban it.
          if (error instanceof StoreError && error.code === STORE_ERROR_CODES.INVALID_ADDRESS) return undefined;
          throw error;
        }
        const ban = bans[0];
        if (ban === undefined) return undefined;
        return { address, reason: ban.reason, ...(ban.expiresMs === null ? {} : { expiresAtMs: ban.expiresMs }) };
      },
    },
    ...(options.hashing === "sync" ? { verify: verifyPasswordSync } : {}),
  });
}
