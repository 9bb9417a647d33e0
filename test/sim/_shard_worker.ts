/** Worker of the sharding tests: runs one half of `runPair` and posts its logs (or its error). */
import { ShardChannel } from "../../sim/shard_channel.ts";
import { runPair, SIDE_ZERO } from "./_shard_pair.ts";

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
  close(): void;
};

scope.onmessage = async (event: MessageEvent) => {
  const { buffer, side, lookaheadUs, minLatencyUs } = event.data as {
    buffer: SharedArrayBuffer;
    side: 0 | 1;
    lookaheadUs: number;
    minLatencyUs: number;
  };
  const owns = (id: string) => SIDE_ZERO.has(id) === (side === 0);
  try {
    const shard = new ShardChannel(buffer, side, owns, lookaheadUs);
    const result = await runPair(shard, minLatencyUs);
    scope.postMessage({ ok: true, ...result, publishes: shard.publishes, waits: shard.waits });
  } catch (error) {
    scope.postMessage({ ok: false, error: String(error) });
  }
  scope.close();
};
