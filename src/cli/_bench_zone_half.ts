/**
 * Worker thread of `qeynos bench zone --sim --shards 2`: runs one half of the simulation (the
 * server roles or the bots) and posts what it measured, or why it could not.
 * @module
 */
import { setLz4WasmSource } from "../wire/lz4.ts";
import { runZoneSim, type ZoneBenchOptions, type ZoneSimShard } from "./bench_zone.ts";

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = async (event: MessageEvent) => {
  const { options, half, lz4Wasm } = event.data as {
    options: ZoneBenchOptions;
    half: ZoneSimShard;
    lz4Wasm: Uint8Array;
  };
  setLz4WasmSource(() => lz4Wasm);
  try {
    scope.postMessage({ part: await runZoneSim(options, half) });
  } catch (error) {
    scope.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
};
