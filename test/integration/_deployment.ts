/**
 * A multi-process deployment on loopback for tests: a data directory with the server accounts, a
 * configuration file with free ports, and `qeynos serve --roles …` processes.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConsoleLog, createRealPlatform } from "../../src/platform/mod.ts";
import { openStore } from "../../src/store/mod.ts";
import { freeTcpPort, freeUdpPort, type ServeProcess, startQeynos } from "./_serve_process.ts";

export interface Deployment {
  readonly dir: string;
  readonly config: string;
  readonly ports: {
    login: number;
    loginTcp: number;
    world: number;
    worldTcp: number;
    zones: number[];
    admin: number[];
  };
  readonly env: Record<string, string>;
  /** Starts `qeynos serve --roles <roles> --config <file> [--zone NAME]`. */
  start(roles: string, zone?: string): ServeProcess;
  cleanup(): void;
}

/** Creates the data directory (with server accounts) and the configuration file. */
export async function createDeployment(
  options: { zones: number; linkDeadMs?: number; maxPlayersPerInstance?: number },
): Promise<Deployment> {
  const dir = mkdtempSync(join(tmpdir(), "qeynos-deploy-"));
  const dataDir = join(dir, "data");
  const platform = createRealPlatform(createConsoleLog({ level: "warn" }));
  const store = await openStore({ dataDir }, { platform, bcryptCost: 4 });
  await store.servers.create({ name: "world-qeynos", kind: "world", password: "world-password" });
  await store.servers.create({ name: "zone-servers", kind: "zone", password: "zone-password" });
  await store.close();
  const ports = {
    login: await freeUdpPort(),
    loginTcp: await freeTcpPort(),
    world: await freeUdpPort(),
    worldTcp: await freeTcpPort(),
    zones: [] as number[],
    admin: [] as number[],
  };
  for (let i = 0; i < options.zones; i++) ports.zones.push(await freeUdpPort());
  for (let i = 0; i < options.zones + 2; i++) ports.admin.push(await freeTcpPort());
  const zones = ports.zones.map((port, i) => `
  - name: zone-${i + 1}
    port: ${port}
    world: { address: 127.0.0.1, port: ${ports.worldTcp}, account: zone-servers, passwordEnv: QEYNOS_ZONE_PASSWORD }
    linkDeadMs: ${options.linkDeadMs ?? 30_000}
    admin: { port: ${ports.admin[i + 2]} }`).join("");
  const config = join(dir, "qeynos.yaml");
  writeFileSync(
    config,
    `# Test deployment
store: { dataDir: ${JSON.stringify(dataDir)} }
login:
  port: ${ports.login}
  servertalk: { port: ${ports.loginTcp} }
  autoCreateAccounts: true
  admin: { port: ${ports.admin[0]} }
world:
  name: Qeynos
  port: ${ports.world}
  servertalk: { port: ${ports.worldTcp} }
  login: { address: 127.0.0.1, port: ${ports.loginTcp}, account: world-qeynos, passwordEnv: QEYNOS_WORLD_PASSWORD }
  maxPlayersPerInstance: ${options.maxPlayersPerInstance ?? 500}
  admin: { port: ${ports.admin[1]} }
zones:${zones}
`,
  );
  const env = { QEYNOS_WORLD_PASSWORD: "world-password", QEYNOS_ZONE_PASSWORD: "zone-password" };
  return {
    dir,
    config,
    ports,
    env,
    start: (roles, zone) =>
      startQeynos(
        ["serve", "--roles", roles, "--config", config, ...(zone === undefined ? [] : ["--zone", zone])],
        env,
      ),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
