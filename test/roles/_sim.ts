/**
 * Helpers for role tests on the simulator: run a test body inside a simulation, an in-memory store,
 * and small typed clients for the EQ2 login and Qeynos world/zone protocols.
 */
import { Simulation } from "../../sim/mod.ts";
import type { Platform } from "../../src/platform/platform.ts";
import { BotLink } from "../../src/roles/bot/bot_link.ts";
import { type Cluster, type ClusterOptions, startCluster } from "../../src/roles/cluster.ts";
import {
  Eq2Login,
  type Eq2LoginInput,
  type Eq2LoginMessage,
  QEYNOS_PROTOCOL_VERSION,
  type QeynosInput,
  type QeynosMessage,
  QeynosWorld,
} from "../../src/roles/messages/mod.ts";
import { openSqliteStore, type Store } from "../../src/store/mod.ts";

/**
 * Runs `body` as a control callback of `sim` and the simulation until it settles; returns its value
 * or throws its error. Fails if the simulation stops first.
 */
export async function runSim<T>(sim: Simulation, body: () => Promise<T>, untilUs = 600_000_000): Promise<T> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  sim.at(sim.now, () =>
    body().then(
      (value) => void (outcome = { ok: true, value }),
      (error) => void (outcome = { ok: false, error }),
    ));
  const result = await sim.run({ untilUs, stopWhen: () => outcome !== undefined });
  if (outcome === undefined) {
    throw new Error(`The simulation ended (${result.reason} at ${result.simTimeUs} µs) before the test body settled`);
  }
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** An in-memory store for the simulator (synchronous bcrypt at the lowest cost). */
export function memoryStore(platform: Platform): Promise<Store> {
  return openSqliteStore(":memory:", { platform, hashing: "sync", bcryptCost: 4 });
}

/**
 * Adds host `id` running every role in one process (in-memory store, one zone server, accounts created
 * at their first login), with `options` on top; `started` gets the cluster once it runs.
 */
export function addClusterHost(
  sim: Simulation,
  id: string,
  options: Partial<ClusterOptions> = {},
  started?: (cluster: Cluster) => void,
): void {
  sim.addHost(id, {
    start: async (platform) => {
      const cluster = await startCluster(platform, {
        store: await memoryStore(platform),
        address: sim.address(id),
        hashing: "sync",
        zoneServers: 1,
        login: { autoCreateAccounts: true },
        ...options,
      });
      started?.(cluster);
    },
  });
}

/** A client speaking the EQ2 login protocol (client 546). */
export class LoginClient {
  readonly link: BotLink<Eq2LoginMessage>;
  readonly #version: number;

  private constructor(link: BotLink<Eq2LoginMessage>, version: number) {
    this.link = link;
    this.#version = version;
  }

  static async connect(
    platform: Platform,
    target: { address: string; port: number },
    bindAddress: string,
    version = 546,
  ): Promise<LoginClient> {
    const link = new BotLink<Eq2LoginMessage>(platform, "login", (o, p) => Eq2Login.decode(o, p, version));
    await link.connect(target, { bindAddress });
    return new LoginClient(link, version);
  }

  send(message: Eq2LoginInput): void {
    const { opcode, payload } = Eq2Login.encode(message, this.#version);
    this.link.send(opcode, payload);
  }

  expect<K extends Eq2LoginMessage["kind"]>(kind: K, timeoutUs = 5_000_000) {
    return this.link.expect([kind], timeoutUs);
  }

  /** Sends a login request and returns the reply's code. */
  async login(username: string, password: string): Promise<number> {
    this.send({ kind: "LoginRequest", username, password, version: this.#version });
    return (await this.expect("LoginReply")).loginResponse;
  }

  close(): void {
    this.link.close();
  }
}

/** A client speaking the Qeynos world/zone protocol. */
export class WorldClient {
  readonly link: BotLink<QeynosMessage>;
  /** Every message received, in order (also those taken by `expect`). */
  readonly received: QeynosMessage[] = [];

  private constructor(link: BotLink<QeynosMessage>) {
    this.link = link;
  }

  static async connect(
    platform: Platform,
    target: { address: string; port: number },
    bindAddress: string,
    options: { readonly idleTimeoutUs?: number; readonly giveUpUs?: number } = {},
  ): Promise<WorldClient> {
    const holder: { client?: WorldClient } = {};
    const link = new BotLink<QeynosMessage>(platform, "world", (o, p) => {
      const message = QeynosWorld.decode(o, p, QEYNOS_PROTOCOL_VERSION);
      holder.client?.received.push(message);
      return message;
    });
    holder.client = new WorldClient(link);
    await link.connect(target, { bindAddress, ...options });
    return holder.client;
  }

  send(message: QeynosInput): void {
    const { opcode, payload } = QeynosWorld.encode(message, QEYNOS_PROTOCOL_VERSION);
    this.link.send(opcode, payload);
  }

  expect<K extends QeynosMessage["kind"]>(kind: K, timeoutUs = 5_000_000) {
    return this.link.expect([kind], timeoutUs);
  }

  /** Received messages of one kind. */
  all<K extends QeynosMessage["kind"]>(kind: K): Extract<QeynosMessage, { kind: K }>[] {
    return this.received.filter((m): m is Extract<QeynosMessage, { kind: K }> => m.kind === kind);
  }

  close(): void {
    this.link.close();
  }
}

export { Simulation };
