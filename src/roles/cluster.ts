/**
 * Every role in one process: login, one world and N zone servers sharing one store, talking over
 * servertalk's in-process pipes (the same link code, handshake and authentication as over TCP). This
 * is what `qeynos serve` runs by default, and what a simulation starts on one host.
 * @module
 */
import type { Platform } from "../platform/platform.ts";
import { type Store, STORE_ERROR_CODES, StoreError } from "../store/mod.ts";
import type { RoleObserver } from "./shared/events.ts";
import { type LoginOptions, type LoginServer, startLogin } from "./login/login_server.ts";
import { RoleError, RoleErrorCode } from "./role_error.ts";
import { startWorld, type WorldOptions, type WorldServer } from "./world/world_server.ts";
import { startZone, type ZoneOptions, type ZoneServer } from "./zone/zone_server.ts";

/** The server accounts of a single-process cluster. */
export const CLUSTER_ACCOUNTS = { world: "qeynos-world", zone: "qeynos-zone" } as const;

/** Credentials of one server account. */
export interface ServerCredentials {
  readonly account: string;
  readonly password: string;
}

function randomPassword(platform: Platform): string {
  const bytes = platform.rng.fill(new Uint8Array(24));
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/**
 * Makes sure the world and zone server accounts of a single-process cluster exist, with fresh random
 * passwords (they never leave the process, so each start sets new ones). An account of that name that
 * is not a server account of the right kind is an error.
 */
export async function provisionClusterAccounts(
  platform: Platform,
  store: Store,
): Promise<{ readonly world: ServerCredentials; readonly zone: ServerCredentials }> {
  const ensure = async (name: string, kind: "world" | "zone"): Promise<ServerCredentials> => {
    const password = randomPassword(platform);
    const existing = await store.servers.findByName(name);
    if (existing === undefined) {
      try {
        await store.servers.create({ name, kind, password });
      } catch (error) {
        if (error instanceof StoreError && error.code === STORE_ERROR_CODES.DUPLICATE_NAME) {
          throw new RoleError(
            RoleErrorCode.BadConfig,
            `Cannot set up server account ${name}: a player account has that name`,
            { cause: error },
          );
        }
        throw error;
      }
    } else if (existing.kind !== kind) {
      throw new RoleError(
        RoleErrorCode.BadConfig,
        `Cannot set up server account ${name}: it is a ${existing.kind} account`,
      );
    } else {
      if (!existing.enabled) await store.servers.setEnabled(existing.id, true);
      await store.servers.setPassword(existing.id, { password });
    }
    return { account: name, password };
  };
  return { world: await ensure(CLUSTER_ACCOUNTS.world, "world"), zone: await ensure(CLUSTER_ACCOUNTS.zone, "zone") };
}

/** Options of {@linkcode startCluster}. */
export interface ClusterOptions {
  readonly store: Store;
  /** Bind address of every role's EQStream socket; default "127.0.0.1". */
  readonly address?: string;
  /** Address clients are told to connect to (world and zones); default the bind address. */
  readonly publicAddress?: string;
  /** Login UDP port; default 9100. */
  readonly loginPort?: number;
  /** World UDP port; default 9200. */
  readonly worldPort?: number;
  /** First zone server's UDP port (the others count up; 0: any free ports); default 9300. */
  readonly zonePort?: number;
  /** Zone servers; default 2. */
  readonly zoneServers?: number;
  /** Options for login beyond the ones above. */
  readonly login?: Partial<Omit<LoginOptions, "store" | "observer">>;
  /** Options for the world beyond the ones above. */
  readonly world?: Partial<Omit<WorldOptions, "store" | "login" | "observer">>;
  /** Options for every zone server beyond the ones above. */
  readonly zone?: Partial<Omit<ZoneOptions, "world" | "observer" | "name">>;
  /** `"sync"` for the simulator (see the roles' options). */
  readonly hashing?: "sync" | "async";
  /** Receives every role's events. */
  readonly observer?: RoleObserver;
  /** Wait this long for the world and zones to register; default 10 s. */
  readonly readyTimeoutUs?: number;
}

/** A running single-process cluster. */
export interface Cluster {
  readonly login: LoginServer;
  readonly world: WorldServer;
  readonly zones: readonly ZoneServer[];
  /** Graceful shutdown: logins stop, zones save and disconnect their players, world and login close. */
  close(options?: { readonly graceUs?: number }): Promise<void>;
  /** Everything a status page shows, per role. */
  report(): Record<string, unknown>;
}

/**
 * Starts login, a world and `zoneServers` zone servers on one Platform, provisioning their server
 * accounts, and resolves once the world is registered with login and every zone with the world.
 */
export async function startCluster(platform: Platform, options: ClusterOptions): Promise<Cluster> {
  const { store } = options;
  const credentials = await provisionClusterAccounts(platform, store);
  const address = options.address ?? "127.0.0.1";
  const hashing = options.hashing === undefined ? {} : { hashing: options.hashing };
  const observer = options.observer === undefined ? {} : { observer: options.observer };
  const publicAddress = options.publicAddress === undefined ? {} : { publicAddress: options.publicAddress };
  const login = await startLogin(platform, {
    ...options.login,
    store,
    address,
    port: options.loginPort ?? 9100,
    ...hashing,
    ...observer,
  });
  const world = await startWorld(platform, {
    ...options.world,
    store,
    address,
    port: options.worldPort ?? 9200,
    ...publicAddress,
    login: { ...credentials.world, connect: () => login.connectInProcess() },
    ...hashing,
    ...observer,
  });
  const zones: ZoneServer[] = [];
  const count = options.zoneServers ?? 2;
  const firstPort = options.zonePort ?? 9300;
  for (let i = 0; i < count; i++) {
    zones.push(
      await startZone(platform, {
        ...options.zone,
        name: `zone-${i + 1}`,
        address,
        port: firstPort === 0 ? 0 : firstPort + i,
        ...publicAddress,
        world: { ...credentials.zone, connect: () => world.connectInProcess() },
        ...observer,
      }),
    );
  }
  const deadline = platform.clock.now() + (options.readyTimeoutUs ?? 10_000_000);
  const ready = () =>
    world.worldId !== 0 && login.worlds().some((w) => w.up) &&
    world.zoneServers().filter((z) => z.up).length === count;
  while (!ready()) {
    if (platform.clock.now() >= deadline) {
      throw new RoleError(
        RoleErrorCode.Timeout,
        `Cannot start the cluster: world ${world.worldId === 0 ? "not registered with login" : "registered"}, ${
          world.zoneServers().filter((z) => z.up).length
        } of ${count} zone servers registered in time`,
      );
    }
    await new Promise<void>((resolve) => platform.timers.setTimeout(resolve, 10_000));
  }
  return {
    login,
    world,
    zones,
    async close(closeOptions = {}) {
      const graceUs = closeOptions.graceUs ?? 10_000_000;
      login.drain();
      await world.drain({ graceUs: 0 });
      await Promise.all(zones.map((zone) => zone.close({ graceUs })));
      await world.close({ graceUs: 0 });
      await login.close();
    },
    report() {
      return { login: login.report(), world: world.report(), zones: zones.map((z) => z.report()) };
    },
  };
}
