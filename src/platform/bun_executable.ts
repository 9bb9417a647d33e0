// Entry point of the `bun build --compile` executable (deno task compile:bun). Bun-only: the
// `type: "file"` import embeds the LZ4 WebAssembly module in the executable, and Deno does not
// know that import type, so deno.json excludes this one file. The worker module of
// `bench zone --shards 2` is the executable's second entry point.
import process from "node:process";
import { readFileSync } from "node:fs";
import lz4WasmPath from "lz4-wasm-nodejs/lz4_wasm_nodejs_bg.wasm" with { type: "file" };
import { setLz4WasmSource } from "../wire/lz4.ts";
import { main } from "../main.ts";
import { setZoneSimHalfWorkerUrl } from "../cli/bench_zone.ts";

setLz4WasmSource(() => readFileSync(lz4WasmPath));
// `compile:bun` builds the worker as a second entry point; embedded paths are relative to src/.
setZoneSimHalfWorkerUrl("./cli/_bench_zone_half.ts");
process.exitCode = await main(process.argv.slice(2));
