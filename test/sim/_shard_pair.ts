/**
 * A three-host exchange for the sharding tests: `a` (one half) sends to `b` and `c` (the other
 * half), which answer and talk to each other, over lossy links with random latency. Each host
 * logs what it receives and when; a sharded run must log exactly what a single simulation does.
 */
import type { Platform } from "../../src/platform/platform.ts";
import type { SimShard } from "../../sim/shard_channel.ts";
import { Simulation } from "../../sim/simulation.ts";

/** Hosts of the half that is side 0. */
export const SIDE_ZERO = new Set(["a"]);

/** Runs the exchange (sharded when `shard` is given); per-host logs. */
export async function runPair(
  shard?: SimShard,
  minLatencyUs = 1000,
): Promise<{ logs: Record<string, string[]> }> {
  const sim = new Simulation({ seed: 7, ...(shard === undefined ? {} : { shard }) });
  const logs: Record<string, string[]> = { a: [], b: [], c: [] };
  const host = (id: string, talk: (p: Platform, send: (to: string, bytes: Uint8Array) => void) => void) =>
    sim.addHost(id, {
      async start(p) {
        const socket = await p.udp.bind({ port: 9 }, (bytes, address) => {
          logs[id]!.push(`${p.clock.now()} ${address} ${bytes.join(",")}`);
          // Answer everything but answers, once.
          if (bytes[0]! < 200) socket.send(new Uint8Array([bytes[0]! + 100, ...bytes.subarray(1)]), address, 9);
        });
        talk(p, (to, bytes) => socket.send(bytes, sim.address(to), 9));
      },
    });
  const chatter = (peers: string[], tag: number) => (p: Platform, send: (to: string, bytes: Uint8Array) => void) => {
    let n = 0;
    const tick = () => {
      n++;
      for (const peer of peers) send(peer, new Uint8Array([tag, n & 255, p.rng.u32() & 255]));
      if (n < 300) p.timers.setTimeout(tick, 1000 + (p.rng.u32() % 5000));
    };
    tick();
  };
  host("a", chatter(["b", "c"], 1));
  host("b", chatter(["a", "c"], 2));
  host("c", chatter(["a"], 3));
  sim.setLinkDefaults({
    latency: { dist: "uniform", min: minLatencyUs, max: minLatencyUs + 3000 },
    loss: 0.1,
    dup: 0.05,
  });
  // In three runs: each side must hand over its clock where a run stops, or the other cannot finish.
  for (const untilUs of [300_000, 900_000, 1_500_000]) await sim.run({ untilUs });
  return { logs };
}
